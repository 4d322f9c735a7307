"""The streamed .xlsx reader of ``ledger import`` gives what openpyxl gives, row for row, and
keeps memory flat (the peak is measured by benchmarks/bench_ledger.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from openpyxl import Workbook, load_workbook

from fanpin_forms.errors import DataError
from fanpin_forms.intake.tabular.common import _trim, _xlsx_value
from fanpin_forms.ledger.xlsxstream import open_rows
from fanpin_forms.util import limits

cells = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2099, 12, 31)),
    st.datetimes(min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
        lambda d: d.replace(microsecond=0)),
)


def expected(path: Path) -> list[tuple[int, tuple]]:
    ws = load_workbook(path, read_only=True, data_only=True).active
    out = []
    for number, row in enumerate(ws.iter_rows(values_only=True), 1):
        values = _trim(_xlsx_value(v) for v in row)
        if values:
            out.append((number, values))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cells, max_size=6), max_size=8), write_only=st.booleans())
def test_streamed_rows_equal_openpyxl(tmp_path_factory, rows, write_only):
    path = tmp_path_factory.mktemp("x") / "a.xlsx"
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet("台账") if write_only else wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    _name, got = open_rows(path, path.name, None)
    assert list(got) == expected(path)


def test_gaps_and_row_numbers_are_kept(tmp_path):
    path = tmp_path / "gaps.xlsx"
    wb = Workbook()
    ws = wb.active
    ws["C3"] = "户编号"
    ws["E3"] = "户主姓名"
    ws["C7"] = "A-1"
    ws["E7"] = dt.date(2022, 6, 1)
    wb.save(path)
    name, rows = open_rows(path, path.name, None)
    assert name == "Sheet"
    assert list(rows) == [(3, (None, None, "户编号", None, "户主姓名")), (7, (None, None, "A-1", None, dt.date(2022, 6, 1)))]


def test_row_cap_while_streaming(tmp_path, monkeypatch):
    path = tmp_path / "many.xlsx"
    wb = Workbook()
    for i in range(12):
        wb.active.append([f"行{i}"])
    wb.save(path)
    monkeypatch.setattr(limits, "SHEET_MAX_ROWS", 10)
    _name, rows = open_rows(path, path.name, None)
    with pytest.raises(DataError, match="10"):
        list(rows)


def test_damaged_xlsx_is_a_chinese_error(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(DataError, match="bad.xlsx") as exc:
        name, rows = open_rows(path, path.name, None)
        list(rows)
    assert "无法读取表格" in str(exc.value)
