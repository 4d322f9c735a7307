"""The shipped household generator: valid, distinct, seeded; the sample scripts built on
it still write the shipped sample files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from fanpin_forms.testing.households import households, write_xlsx

ROOT = Path(__file__).resolve().parent.parent


def test_same_seed_same_rows_other_seed_other_rows():
    assert households(20, seed=3) == households(20, seed=3)
    assert households(20, seed=3) != households(20, seed=4)


def test_every_generated_household_loads_without_a_problem(app, tmp_path):
    rows = households(60, seed=11)
    assert len({r["身份证号码"] for r in rows}) == 60
    result = app.load_and_check(app.form("annex2"), write_xlsx(tmp_path / "hh.xlsx", rows))
    assert result.errors == []
    assert len(result.records) == 60


def _contents(path: Path) -> list:
    wb = load_workbook(path)
    return [(ws.title, [[(c.value, c.number_format) for c in row] for row in ws.iter_rows()],
             sorted(map(str, ws.merged_cells.ranges))) for ws in wb]


@pytest.mark.parametrize("script, shipped", [("make_sample.py", "households.xlsx"), ("make_ledger.py", "ledger.xlsx")])
def test_sample_scripts_still_write_the_shipped_samples(script, shipped, tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(f"sample_{script[:-3]}", ROOT / "samples" / script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    out = module.main(tmp_path / shipped)
    assert _contents(out) == _contents(ROOT / "samples" / shipped)

