"""Read a clerk's ledger sheet in chunks: .xlsx/.xls/.ods through python-calamine, .csv
through :func:`fanpin_forms.intake.tabular.read_table`.

The header is found as ``read_table`` finds it (the first of the top rows with two known
headers); cell values get the same clean-up; row numbers are the rows as Excel shows
them. Rows come back as :class:`~fanpin_forms.intake.tabular.SourceTable` chunks of
:data:`CHUNK_ROWS`, so a caller validates and writes one chunk at a time and keeps only
a chunk in memory beside the workbook's own cell store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import Code, DataError, Location, Problem
from ..intake.tabular import SourceRow, SourceTable, read_table
from ..intake.tabular.common import HEADER_SEARCH_ROWS, HeaderScore, _find_header, _header_text, _trim, _xlsx_value
from ..util import limits
from ..util.limits import human_bytes

CHUNK_ROWS = 2000
WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".ods")
#: read row by row (:mod:`.xlsxstream`); the others through python-calamine
STREAMED = (".xlsx", ".xlsm")
DELIMITED = (".csv",)


@dataclass
class Sheet:
    path: Path
    sheet: str | None
    headers: list[str]
    header_row: int
    chunks: Iterator[SourceTable]


def open_sheet(path: Path, *, sheet: str | None = None, header_score: HeaderScore | None = None) -> Sheet:
    suffix = path.suffix.lower()
    shown = path.name
    if suffix in DELIMITED:
        table = read_table(path, sheet=sheet, header_score=header_score)
        return Sheet(path, table.sheet, table.headers, table.header_row, _chunked_table(table))
    if suffix not in WORKBOOKS:
        raise DataError.of(Code.LEDGER_UNSUPPORTED_FILE, Location(file=shown), suffix=suffix or "（无扩展名）")
    return _open_workbook(path, shown, sheet, header_score)


def _chunked_table(table: SourceTable) -> Iterator[SourceTable]:
    if not table.rows:
        yield table
    for i in range(0, len(table.rows), CHUNK_ROWS):
        yield SourceTable(table.path, table.sheet, table.headers, table.header_row, table.rows[i:i + CHUNK_ROWS])


def _open_workbook(path: Path, shown: str, sheet: str | None, header_score: HeaderScore | None) -> Sheet:
    where = Location(file=shown)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError.of(Code.LEDGER_SHEET_UNREADABLE, where, why=exc.strerror or "无法打开") from None
    if size > limits.DATA_XLSX_MAX_BYTES:
        raise DataError.of(Code.DATA_FILE_TOO_LARGE, where, size=human_bytes(size), kind="表格文件",
                           max=human_bytes(limits.DATA_XLSX_MAX_BYTES))
    if path.suffix.lower() in STREAMED:
        from .xlsxstream import open_rows

        name, rows = open_rows(path, shown, sheet)
    else:
        name, rows = _calamine_rows(path, shown, sheet)
    return _chunked_rows(path, shown, name, rows, header_score)


def _calamine_rows(path: Path, shown: str, sheet: str | None) -> tuple[str, Iterator[tuple[int, tuple[object, ...]]]]:
    """An .xls/.ods sheet's name and non-empty rows, through python-calamine (which holds the sheet in memory)."""
    from python_calamine import CalamineWorkbook

    where = Location(file=shown)
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = wb.sheet_names
        if sheet is not None:
            match = [n for n in names if n.lower() == sheet.lower()]
            if not match:
                raise DataError.of(Code.LEDGER_SHEET_UNREADABLE, where, why=f"没有名为「{sheet}」的工作表")
            ws = wb.get_sheet_by_name(match[0])
        else:
            ws = wb.get_sheet_by_index(0)
    except DataError:
        raise
    except Exception as exc:  # calamine raises its own error kinds for a damaged workbook
        raise DataError.of(Code.LEDGER_SHEET_UNREADABLE, where, why=type(exc).__name__) from None
    name = ws.name
    if ws.height > limits.SHEET_MAX_ROWS:
        raise DataError.of(Code.DATA_TOO_MANY_ROWS, Location(file=shown, sheet=name), max=limits.SHEET_MAX_ROWS)
    first_row = (ws.start or (0, 0))[0] + 1
    first_col = (ws.start or (0, 0))[1]
    if first_col:  # values are padded to column A, as the streamed .xlsx rows are
        return name, (((n, (None,) * first_col + v) for n, v in _rows(ws, first_row)))
    return name, _rows(ws, first_row)


def _chunked_rows(path: Path, shown: str, name: str, rows: Iterator[tuple[int, tuple[object, ...]]],
                  header_score: HeaderScore | None) -> Sheet:
    """The header found in the top rows, then the rest as chunks of :data:`CHUNK_ROWS`."""
    first_col = 0
    top: list[tuple[int, tuple[object, ...]]] = []
    for number, values in rows:
        top.append((number, values))
        if len(top) >= HEADER_SEARCH_ROWS:
            break
    loc = Location(file=shown, sheet=name)
    if not top:
        raise DataError.of(Code.DATA_FILE_EMPTY, loc)
    index = _find_header(top, header_score)
    if index is None:
        raise DataError.of(Code.DATA_NO_HEADER, loc, rows=top[-1][0])
    header_row, header_values = top[index]
    columns: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    for i, value in enumerate(header_values):
        text = _header_text(value)
        if text is None:
            continue
        if text in seen:
            from openpyxl.utils import get_column_letter
            problems.append(Problem(Code.DATA_DUPLICATE_HEADER, {
                "header": text, "first": get_column_letter(seen[text] + first_col + 1),
                "second": get_column_letter(i + first_col + 1)}, Location(file=shown, sheet=name, row=header_row)))
            continue
        seen[text] = i
        columns.append((i, text))
    if problems:
        raise DataError(problems)
    rest = top[index + 1:]

    def chunks() -> Iterator[SourceTable]:
        batch: list[SourceRow] = []
        yielded = False
        for number, values in _chain(rest, rows):
            n = len(values)
            batch.append(SourceRow(number, {h: values[i] if i < n else None for i, h in columns}))
            if len(batch) >= CHUNK_ROWS:
                yield SourceTable(path, name, [h for _, h in columns], header_row, batch)
                yielded, batch = True, []
        if batch or not yielded:
            yield SourceTable(path, name, [h for _, h in columns], header_row, batch)

    return Sheet(path, name, [h for _, h in columns], header_row, chunks())


def _chain(first, then):
    yield from first
    yield from then


def _rows(ws, first_row: int) -> Iterator[tuple[int, tuple[object, ...]]]:
    """Non-empty rows as (Excel row number, cleaned values)."""
    for offset, raw in enumerate(ws.iter_rows()):
        if len(raw) > limits.SHEET_MAX_COLUMNS:
            raw = raw[:limits.SHEET_MAX_COLUMNS]
        values = _trim(_xlsx_value(v) for v in raw)
        if values:
            yield first_row + offset, values
