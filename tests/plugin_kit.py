"""Throwaway county plugins for tests: a real package, really pip-installed (into a
folder of its own, so the shared venv stays clean), run through the real ``fanpin``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
version = "{version}"

[project.entry-points.fanpin_forms]
{entry} = "{module}"

[tool.hatch.build.targets.wheel]
packages = ["{module}"]
"""


def install_plugin(root: Path, *, dist: str, entry: str, code: str, files: dict[str, str] | None = None,
                   version: str = "0.1") -> Path:
    """Build package ``dist`` (module ``fanpin_forms_<entry>``) under ``root``, install it
    with pip into ``root/site`` and return that folder (put it on PYTHONPATH)."""
    module = f"fanpin_forms_{entry}"
    pkg = root / dist
    (pkg / module).mkdir(parents=True)
    (pkg / "pyproject.toml").write_text(PYPROJECT.format(dist=dist, version=version, entry=entry, module=module),
                                        encoding="utf-8")
    (pkg / module / "__init__.py").write_text(textwrap.dedent(code), encoding="utf-8")
    for name, text in (files or {}).items():
        (pkg / module / name).write_text(text, encoding="utf-8")
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(pkg)], check=True, capture_output=True, timeout=300)
    return site


def run_fanpin(site: Path, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess:
    """The real ``fanpin`` with the plugin folder on the path (no county chosen unless ``env`` says)."""
    keep = ("FANPIN_FORMS_HOME", "FANPIN_FORMS_SECRET_FILE")  # the test's own ledger and key, never the user's
    full = {k: v for k, v in os.environ.items() if not k.startswith("FANPIN_FORMS_") or k in keep}
    full.update(PYTHONPATH=str(site), PYTHONIOENCODING="utf-8", **(env or {}))
    return subprocess.run([sys.executable, "-m", "fanpin_forms", *args], env=full, capture_output=True, text=True,
                          cwd=cwd, timeout=300)
