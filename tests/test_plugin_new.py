"""``fanpin plugin new`` writes a package whose tests pass as generated, installed beside Yueyang."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fanpin_forms.cli import cli
from fanpin_forms.errors import Code

from .plugin_kit import run_fanpin


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("kit")
    out = root / "fanpin-forms-pingjiang"
    result = CliRunner().invoke(cli, ["plugin", "new", "平江县", "--code", "pingjiang", "-o", str(out),
                                      "--province", "湖南省", "--city", "岳阳市"])
    assert result.exit_code == 0, result.output
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(out)], check=True, capture_output=True, timeout=300)
    return out, site


def test_the_package_has_what_a_plugin_needs(generated):
    out, _site = generated
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"pyproject.toml", "README.md", "tests/test_pingjiang.py", "fanpin_forms_pingjiang/__init__.py",
            "fanpin_forms_pingjiang/rules.py", "fanpin_forms_pingjiang/annex2_extra.yaml"} <= names
    assert 'pingjiang = "fanpin_forms_pingjiang"' in (out / "pyproject.toml").read_text(encoding="utf-8")
    assert "待核实" in (out / "fanpin_forms_pingjiang" / "__init__.py").read_text(encoding="utf-8")


def test_its_tests_pass_as_generated(generated):
    out, site = generated
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANPIN_FORMS_")}
    env["PYTHONPATH"] = str(site)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(out / "tests")],
                         capture_output=True, text=True, env=env, cwd=out, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_both_counties_installed_every_command_takes_county(generated, tmp_path):
    _out, site = generated
    ambiguous = run_fanpin(site, "fields", "annex2")
    assert ambiguous.returncode != 0 and "pingjiang" in ambiguous.stderr and "yueyang" in ambiguous.stderr
    for county, has_helper in (("yueyang", False), ("pingjiang", True)):
        after = run_fanpin(site, "fields", "annex2", "--county", county)
        assert after.returncode == 0, after.stderr
        assert ("帮扶责任人" in after.stdout) is has_helper


@pytest.mark.parametrize("args, code", [
    (["平江县", "--code", "PingJiang"], Code.KIT_BAD_CODE),
    (["Pingjiang", "--code", "pingjiang"], Code.KIT_BAD_NAME),
])
def test_bad_names_are_refused(tmp_path, args, code):
    result = CliRunner().invoke(cli, ["plugin", "new", *args, "-o", str(tmp_path / "p")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert code.value.split("「")[0] in result.output
    assert not (tmp_path / "p").exists()


def test_an_existing_folder_is_never_overwritten(tmp_path):
    out = tmp_path / "p"
    out.mkdir()
    (out / "mine.txt").write_text("keep", encoding="utf-8")
    result = CliRunner().invoke(cli, ["plugin", "new", "平江县", "--code", "pingjiang", "-o", str(out)])
    assert result.exit_code == 1 and "不会被覆盖" in result.output
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert not list(tmp_path.glob(".*"))
