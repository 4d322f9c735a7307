"""docs/plugin_tutorial.md: its files make a plugin that installs, loads and passes its own
tests; it names every hook, every County value and the scaffold."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fanpin_forms import hookspecs
from fanpin_forms.forms.county import POLICY_VALUES

from .conftest import ROOT, TEST_ENV
from .plugin_kit import run_fanpin

DOC = ROOT / "docs" / "plugin_tutorial.md"
BLOCK = re.compile(r"^```(\w+)\n# 文件：(\S+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _files() -> dict[str, str]:
    return {path: body for _, path, body in BLOCK.findall(DOC.read_text(encoding="utf-8"))}


def test_the_tutorial_names_every_hook_value_and_tool():
    text = DOC.read_text(encoding="utf-8")
    hooks = [n for n, fn in vars(hookspecs).items() if getattr(fn, "fanpin_forms_spec", None) is not None]
    assert len(hooks) >= 10
    for name in [*hooks, *POLICY_VALUES, "fanpin plugin new", "fanpin_forms.testing", "sources", "reads="]:
        assert name in text, name


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tutorial")
    pkg = root / "fanpin-forms-shifan"
    files = _files()
    assert {"pyproject.toml", "fanpin_forms_shifan/__init__.py", "tests/test_shifan.py"} <= set(files)
    for path, body in files.items():
        (pkg / path).parent.mkdir(parents=True, exist_ok=True)
        (pkg / path).write_text(body, encoding="utf-8")
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(pkg)], check=True, capture_output=True, timeout=300)
    return pkg, site


def test_the_tutorial_plugin_passes_its_own_tests(installed):
    pkg, site = installed
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANPIN_FORMS_")}
    env["PYTHONPATH"] = str(site)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(pkg / "tests")],
                         capture_output=True, text=True, env=env, cwd=pkg, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_the_installed_tutorial_plugin_is_a_county_of_fanpin(installed, tmp_path):
    _, site = installed
    env = {k: os.environ[k] for k in TEST_ENV if k in os.environ and k != "FANPIN_FORMS_COUNTY"}
    listed = run_fanpin(site, "plugins", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "shifan" in listed.stdout and "register_notices" in listed.stdout
    forms = run_fanpin(site, "forms", "--county", "shifan", cwd=tmp_path, env=env)
    assert forms.returncode == 0, forms.stderr
    assert "2022.2+sf1" in forms.stdout
    none = run_fanpin(site, "forms", cwd=tmp_path, env=env)
    assert none.returncode != 0 and "shifan" in none.stderr and "yueyang" in none.stderr
