"""An .xlsx sheet's rows, streamed: memory stays flat however many rows the sheet has.

python-calamine reads a whole sheet into memory before the first row comes back (about
1 KB per row of the household sheet: 100 MB for 100,000 rows) and has no streaming
reader, so ``ledger import`` reads .xlsx here instead (.xls and .ods stay with
calamine: old system exports, at most 65,536 rows in an .xls).

openpyxl (read-only) parses what a sheet needs from the rest of the workbook: the sheet
names and their parts, the shared strings, which cell styles are dates, the date epoch;
the sheet's XML itself is read row by row with lxml's ``iterparse`` and each row is
dropped once read. The zip's directory is checked against the caps
(:func:`~fanpin_forms.util.zipguard.safe_zip`) before anything is unpacked; entities
are not resolved and nothing is fetched.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path

from ..errors import Code, DataError, Location
from ..intake.tabular.common import _too_many_columns, _trim, _xlsx_value
from ..util import limits
from ..util.zipguard import ZipLimitError, safe_zip

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _VALUE = _NS + "row", _NS + "c", _NS + "v"


def _column(ref: str) -> int:
    """``AB12`` → 28."""
    n = 0
    for ch in ref:
        o = ord(ch)
        if 65 <= o <= 90:
            n = n * 26 + o - 64
        elif 97 <= o <= 122:
            n = n * 26 + o - 96
        else:
            break
    return n


class _Cells:
    """What a ``<c>`` element holds, as openpyxl would give it with ``values_only``."""

    def __init__(self, wb, ws):
        from openpyxl.utils.datetime import from_excel

        self.from_excel = from_excel
        self.shared = ws._shared_strings  # noqa: SLF001 - the workbook's string table, as openpyxl read it
        self.dates = wb._date_formats  # noqa: SLF001 - style ids whose number format is a date
        self.durations = wb._timedelta_formats  # noqa: SLF001
        self.epoch = wb.epoch

    def value(self, c) -> object:
        t = c.get("t")
        if t == "inlineStr":
            return "".join(c.itertext())
        v = c.findtext(_VALUE)
        if v is None:
            return None
        if t == "s":
            return str(self.shared[int(v)])
        if t in ("str", "e"):
            return v
        if t == "b":
            return v.strip() in ("1", "true")
        if t == "d":
            return dt.datetime.fromisoformat(v)
        number: int | float = int(v) if v.lstrip("-").isdigit() else float(v)
        style = c.get("s")
        if style is not None:
            s = int(style)
            if s in self.dates:
                return self.from_excel(number, self.epoch)
            if s in self.durations:
                return self.from_excel(number, self.epoch, timedelta=True)
        return number


def open_rows(path: Path, shown: str, sheet: str | None) -> tuple[str, Iterator[tuple[int, tuple[object, ...]]]]:
    """The name of the sheet (``sheet``, else the first) and its non-empty rows as
    (Excel row number, cleaned values), streamed. The workbook stays open while the rows are read."""
    import openpyxl
    from lxml import etree

    where = Location(file=shown)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise DataError.of(Code.LEDGER_SHEET_UNREADABLE, where, why=exc.strerror or "无法打开") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions and styles it does not know
            safe_zip(fh).close()
            fh.seek(0)
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except ZipLimitError as exc:
        fh.close()
        raise DataError.of(Code.DATA_ZIP_LIMIT, where, why=exc.why) from None
    except Exception as exc:  # zip, XML, missing parts: a damaged or foreign file
        fh.close()
        raise DataError.of(Code.LEDGER_SHEET_UNREADABLE, where, why=type(exc).__name__) from None
    sheets = list(wb.worksheets)
    if sheet is not None:
        match = [w for w in sheets if w.title.lower() == sheet.lower()]
        if not match:
            wb.close()
            fh.close()
            raise DataError.of(Code.LEDGER_SHEET_UNREADABLE, where, why=f"没有名为「{sheet}」的工作表")
        ws = match[0]
    elif sheets:
        ws = sheets[0]
    else:
        wb.close()
        fh.close()
        raise DataError.of(Code.DATA_FILE_EMPTY, where)
    name = ws.title
    cells = _Cells(wb, ws)

    def rows() -> Iterator[tuple[int, tuple[object, ...]]]:
        count = 0
        number = 0
        try:
            with ws._get_source() as src:  # noqa: SLF001 - the sheet's XML stream, as openpyxl opens it
                parser = etree.iterparse(src, events=("end",), tag=_ROW, resolve_entities=False, no_network=True,
                                         huge_tree=False)
                for _, row in parser:
                    r = row.get("r")
                    number = int(r) if r else number + 1
                    values: dict[int, object] = {}
                    col = 0
                    for c in row.iterchildren(_CELL):
                        ref = c.get("r")
                        col = _column(ref) if ref else col + 1
                        value = _xlsx_value(cells.value(c))
                        if value is None:
                            continue
                        if col > limits.SHEET_MAX_COLUMNS:
                            raise _too_many_columns(shown, name, number, col)
                        values[col] = value
                    row.clear()
                    while row.getprevious() is not None:
                        del row.getparent()[0]
                    if not values:
                        continue
                    count += 1
                    if count > limits.SHEET_MAX_ROWS:
                        raise DataError.of(Code.DATA_TOO_MANY_ROWS, Location(file=shown, sheet=name),
                                           max=limits.SHEET_MAX_ROWS)
                    out: list[object] = [None] * max(values)
                    for k, v in values.items():
                        out[k - 1] = v
                    yield number, _trim(out)
        except DataError:
            raise
        except Exception as exc:  # XML or zip damage past the directory
            raise DataError.of(Code.LEDGER_SHEET_UNREADABLE, Location(file=shown, sheet=name),
                               why=f"工作表已损坏（{type(exc).__name__}）") from None
        finally:
            wb.close()
            fh.close()

    return name, rows()


__all__ = ["open_rows"]
