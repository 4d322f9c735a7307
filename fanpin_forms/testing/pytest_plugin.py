"""pytest plugin shipped with fanpin-forms (entry point ``pytest11``).

Tests never touch the machine's own QR key or ledger database:

* one installation key for the whole test session, in a temporary folder (set before
  any module-scoped fixture prints a form, so forms printed there read back in tests);
* every test gets its own ``FANPIN_FORMS_HOME`` (the ``fanpin_home`` fixture), so the
  default ledger is a fresh file; ``FANPIN_FORMS_COUNTY`` and
  ``FANPIN_FORMS_DATABASE_URL`` of the environment are cleared.
"""

from __future__ import annotations

import os

import pytest

SECRET_ENV = "FANPIN_FORMS_SECRET_FILE"


@pytest.fixture(scope="session", autouse=True)
def fanpin_secret(tmp_path_factory):
    """The session's installation key file."""
    path = tmp_path_factory.mktemp("fanpin-secret") / "secret"
    before = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = str(path)
    yield path
    if before is None:
        os.environ.pop(SECRET_ENV, None)
    else:
        os.environ[SECRET_ENV] = before


@pytest.fixture(autouse=True)
def fanpin_home(fanpin_secret, tmp_path_factory, monkeypatch):
    """A fresh, private FANPIN_FORMS_HOME for this test."""
    home = tmp_path_factory.mktemp("fanpin-home")
    monkeypatch.setenv("FANPIN_FORMS_HOME", str(home))
    monkeypatch.setenv(SECRET_ENV, str(fanpin_secret))
    monkeypatch.delenv("FANPIN_FORMS_COUNTY", raising=False)
    monkeypatch.delenv("FANPIN_FORMS_DATABASE_URL", raising=False)
    return home
