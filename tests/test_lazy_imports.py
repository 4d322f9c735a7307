"""Importing the form language, privacy, intake or the render package loads no office
library: each runs in a fresh interpreter and its ``sys.modules`` is inspected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert _loaded_after("from fanpin_forms.render import BOX_TICKED, build_template") != []
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
