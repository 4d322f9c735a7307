"""Real .xls and .ods imported (python-calamine reads them): written in the test by xlwt (BIFF8,
as Excel 97–2003 and old system exports save it) and odfpy (OpenDocument, as LibreOffice/WPS
save it) from the same rows as an .xlsx, with dates as date cells and numbers as numbers;
errors name the row as Excel (or Calc) shows it.

(LibreOffice here has Writer only, no Calc, so it cannot convert sheets.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import household, make_id, write_xlsx
from fanpin_forms.cli import cli
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.models import FieldValue, Household


def _table(rows: list[dict], title: str | None) -> list[list[object]]:
    headers = list(dict.fromkeys(k for r in rows for k in r))
    out: list[list[object]] = [[title]] if title else []
    out.append(headers)
    for r in rows:
        out.append([dt.date.fromisoformat(v) if isinstance(v, str) and v[:2] == "20" and len(v) == 10 else v
                    for v in (r.get(h) for h in headers)])
    return out


def write_xls(path: Path, rows: list[dict], *, title: str | None = None) -> Path:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Sheet")
    dates = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for i, row in enumerate(_table(rows, title)):
        for j, v in enumerate(row):
            if isinstance(v, dt.date):
                ws.write(i, j, v, dates)
            elif v is not None:
                ws.write(i, j, v)
    wb.save(str(path))
    return path


def write_ods(path: Path, rows: list[dict], *, title: str | None = None) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Sheet")
    for row in _table(rows, title):
        tr = TableRow()
        for v in row:
            if v is None:
                tr.addElement(TableCell())
                continue
            if isinstance(v, dt.date):
                cell = TableCell(valuetype="date", datevalue=v.isoformat())
            elif isinstance(v, (int, float)):
                cell = TableCell(valuetype="float", value=v)
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text=str(v)))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


GOOD = [household(**{"户编号": "X-1", "身份证号码": make_id(seq="001"), "户主姓名": "张三", "家庭人口": 4,
                     "入户核实日期": "2022-06-01"}),
        household(**{"户编号": "X-2", "身份证号码": make_id(seq="002"), "户主姓名": "李四", "三保障问题": "②",
                     "入户核实日期": "2022-06-03"})]
BAD = [household(**{"户编号": "Y-1", "身份证号码": make_id(seq="011")}),
       household(**{"户编号": "Y-2", "身份证号码": make_id(seq="012")[:-1] + "0"}),  # wrong check digit
       household(**{"户编号": "Y-3", "身份证号码": make_id(seq="013"), "家庭人口": "很多"})]


@pytest.fixture(scope="module")
def sheets(tmp_path_factory) -> dict[str, list[Path]]:
    d = tmp_path_factory.mktemp("formats")
    made = {}
    for fmt, write in (("xlsx", write_xlsx), ("xls", write_xls), ("ods", write_ods)):
        made[fmt] = [write(d / f"好.{fmt}", GOOD, title="杨林村监测对象台账"), write(d / f"坏.{fmt}", BAD, title="台账")]
    assert made["xls"][0].read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2/BIFF file
    assert made["ods"][0].read_bytes()[30:77] == b"mimetypeapplication/vnd.oasis.opendocument.spre"
    return made


def stored(url: str) -> dict[str, dict[str, str]]:
    ledger = Ledger.open(url)
    try:
        with ledger.read() as s:
            out: dict[str, dict[str, str]] = {}
            q = sa.select(Household.household_no, FieldValue.field, FieldValue.value).join(
                FieldValue, sa.text("field_values.case_id IN (SELECT id FROM cases WHERE household_id = households.id)"))
            for no, key, value in s.execute(q):
                out.setdefault(no, {})[key] = value
            return out
    finally:
        ledger.close()


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_xls_and_ods_import_as_the_xlsx_does(runner, ledger_url, tmp_path, sheets, fmt):
    good = sheets[fmt][0]
    result = runner.invoke(cli, ["ledger", "import", str(good), "--db", ledger_url])
    assert result.exit_code == 0, result.output
    assert "新增 2 户" in result.output
    again = runner.invoke(cli, ["ledger", "import", str(good), "--db", ledger_url])
    assert "未变 2 户" in again.output
    reference = str(tmp_path / "ref.sqlite3")
    assert runner.invoke(cli, ["ledger", "import", str(sheets["xlsx"][0]), "--db", reference]).exit_code == 0
    assert stored(ledger_url) == stored(reference)  # the same values, dates and codes as from the .xlsx


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_xls_and_ods_errors_name_the_excel_row(runner, ledger_url, sheets, fmt):
    bad = sheets[fmt][1]
    result = runner.invoke(cli, ["ledger", "import", str(bad), "--db", ledger_url])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "台账未作任何改动" in result.output
    assert f"坏.{fmt} 工作表「Sheet」 第4行 「身份证号码」" in result.output
    assert f"坏.{fmt} 工作表「Sheet」 第5行 「家庭人口」" in result.output
    assert make_id(seq="012")[:-1] + "0" not in result.output  # the ID number masked in the message
    assert stored(ledger_url) == {}
