"""Importing the form language, privacy, intake or the render package loads no office
library: each runs in a fresh interpreter and its ``sys.modules`` is inspected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fanpin_forms.intake.checks import Finding

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("openpyxl", "docx", "lxml", "jinja2", "PIL", "numpy")


def _loaded_after(statement: str) -> list[str]:
    code = (f"import sys, json\n{statement}\n"
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", [
    "fanpin_forms", "fanpin_forms.forms", "fanpin_forms.forms.spec", "fanpin_forms.forms.catalog",
    "fanpin_forms.privacy", "fanpin_forms.privacy.leakguard", "fanpin_forms.intake.tabular",
    "fanpin_forms.intake.load", "fanpin_forms.render", "fanpin_forms.app",
])
def test_import_loads_no_office_library(module):
    assert _loaded_after(f"import {module}") == []


def test_render_names_still_resolve_on_first_use():
    assert _loaded_after("from fanpin_forms.render import qr_png, build_template") != []
    from fanpin_forms import render

    assert set(render.__all__) <= set(dir(render))
    for name in render.__all__:
        assert getattr(render, name) is not None
    with pytest.raises(AttributeError):
        render.no_such_name  # noqa: B018


def test_reading_a_csv_does_not_load_openpyxl(tmp_path):
    data = tmp_path / "hh.csv"
    data.write_text("户主姓名,人口数\n张三,3\n", encoding="utf-8")
    assert "openpyxl" not in _loaded_after(
        f"from fanpin_forms.intake.tabular import read_table\nread_table({str(data)!r})")


def test_low_level_modules_do_not_load_the_composition_root():
    code = ("import sys\nimport fanpin_forms.intake.load, fanpin_forms.forms.catalog, fanpin_forms.render.fill\n"
            "print('fanpin_forms.app' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_load_and_check_takes_its_parts_explicitly():
    from fanpin_forms.app import App
    from fanpin_forms.intake.load import load_and_check

    app = App("yueyang")
    form = app.form("annex2")
    data = ROOT / "samples" / "households.xlsx"
    via_app = app.load_and_check(form, data)
    direct = load_and_check(form, data, county=app.county, field_types=app.field_types,
                            record_checks=app.record_checks)
    assert via_app.records and [r.row for r in direct.records] == [r.row for r in via_app.records]
    seen = []

    def refuse_first(record, form, county):
        seen.append(record.row)
        if record.row == via_app.records[0].row:
            yield Finding.error(None, "测试")

    only = load_and_check(form, data, county=app.county, field_types=app.field_types,
                          record_checks=[("test", refuse_first)])
    assert seen == [r.row for r in via_app.records]
    assert [r.row for r in only.records] == seen[1:] and len(only.errors) == 1
