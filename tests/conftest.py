"""Shared fixtures. Tests use the real plugin stack: the county plugins installed in
the venv (``make test`` installs plugins/yueyang and plugins/pingjiang), the real specs,
the real CLI.

With two counties installed a county must be chosen: the core's tests are written
against 岳阳县, so they run with ``FANPIN_FORMS_COUNTY=yueyang`` (:data:`TEST_COUNTY`,
set for the whole session and again for every test; a test about choosing a county
deletes or changes it). 平江县's own tests are in plugins/pingjiang/tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from fanpin_forms.app import App
from fanpin_forms.privacy.idcard import check_char

ROOT = Path(__file__).resolve().parent.parent
SEED = Path(__file__).resolve().parent / "data" / "seed_notice_yueyang_2022.txt"  # copy of the notice


#: the PostgreSQL server ``scripts/test-services.sh`` starts (read before the clean-up below)
PG_URL_ENV = "FANPIN_FORMS_TEST_PG_URL"
PG_URL = os.environ.get(PG_URL_ENV)
#: set by .ci/run: a missing server is a failure there, not a skip
PG_REQUIRED = os.environ.get("FANPIN_FORMS_REQUIRE_PG") == "1"

#: the county the core's tests run with (both bundled counties are installed)
TEST_COUNTY = "yueyang"
os.environ["FANPIN_FORMS_COUNTY"] = TEST_COUNTY  # for session- and module-scoped fixtures too
#: module-scoped fixtures run before each test's own FANPIN_FORMS_HOME is set: they get this
#: session folder, never the user's ledger
os.environ["FANPIN_FORMS_HOME"] = _SESSION_HOME = tempfile.mkdtemp(prefix="fanpin-tests-home-")
atexit.register(shutil.rmtree, _SESSION_HOME, True)
#: what a test's own ``fanpin`` process keeps of the environment: its county, ledger home and QR key
TEST_ENV = ("FANPIN_FORMS_COUNTY", "FANPIN_FORMS_HOME", "FANPIN_FORMS_SECRET_FILE")


@pytest.fixture(autouse=True)
def _no_env_leaks(monkeypatch, fanpin_home):
    """Nothing of the environment's FANPIN_FORMS_* reaches a test; the shipped pytest
    plugin (fanpin_forms.testing.pytest_plugin) has already given it a session key and
    its own FANPIN_FORMS_HOME, so the default ledger is never the user's."""
    for name in list(os.environ):
        if name.startswith("FANPIN_FORMS_") and name not in ("FANPIN_FORMS_HOME", "FANPIN_FORMS_SECRET_FILE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FANPIN_FORMS_COUNTY", TEST_COUNTY)


@pytest.fixture(scope="session")
def app() -> App:
    return App(TEST_COUNTY)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def make_id(prefix: str = "430621", birth: str = "19800101", seq: str = "001") -> str:
    first17 = prefix + birth + seq
    return first17 + check_char(first17)


def household(**overrides) -> dict:
    """One valid household row with the Chinese headers clerks use."""
    row = {"户编号": "T-001", "户主姓名": "张三", "身份证号码": make_id(), "家庭人口": 4, "联系电话": "13807301234",
           "乡镇（街道）": "荣家湾镇", "村（社区）": "杨林村", "村民小组": "三组", "三保障问题": "①③", "风险类型": "⑥"}
    row.update(overrides)
    return row


def write_xlsx(path: Path, rows: list[dict], *, title: str | None = None) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    headers = list(dict.fromkeys(k for r in rows for k in r))
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers])
    wb.save(path)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path) -> str:
    """A fresh, empty ledger database: a SQLite file, or the test PostgreSQL with an empty schema."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    if not PG_URL:
        if PG_REQUIRED:
            pytest.fail(f"{PG_URL_ENV} is not set: run the tests through scripts/test-services.sh")
        pytest.skip(f"no PostgreSQL: {PG_URL_ENV} is not set (make test / scripts/test-services.sh sets it)")
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return PG_URL
