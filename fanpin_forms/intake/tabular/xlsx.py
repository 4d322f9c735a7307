"""Excel workbooks (.xlsx/.xlsm), streamed cell by cell under the caps."""


from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

from ...errors import Code, DataError, Location, did_you_mean
from ...util import limits
from ...util.zipguard import ZipLimitError, safe_zip
from .common import (HeaderScore, SourceTable, _build_table, _find_header, _os_reason, _too_many_columns,
                     _too_many_rows, _unreadable, _xlsx_value, get_column_letter)


# ----------------------------------------------------------------------------- xlsx

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _not_xlsx_reason(p: Path, head: bytes) -> str:
    if p.name.startswith("~$"):
        return "这是 Excel/WPS 打开文件时生成的临时文件，请选择原文件"
    if not head:
        return "文件是空的（0 字节）"
    if head.startswith(_OLE2_MAGIC):
        return "文件是旧版 .xls 格式或设置了打开密码，请用 Excel/WPS 另存为不加密的 .xlsx"
    if head.lstrip().startswith(b"<"):
        return "文件其实是网页（HTML/XML）格式，只是后缀为 .xlsx，请用 Excel/WPS 另存为 .xlsx"
    return "文件不是有效的 .xlsx 文件（可能已损坏，或是改了后缀名的其他格式）"


def _read_xlsx(
    p: Path, shown: str, sheet: str | None, header_score: HeaderScore | None
) -> SourceTable:
    import openpyxl

    try:
        fh = p.open("rb")
    except OSError as exc:
        raise _unreadable(shown, _os_reason(exc)) from None
    with fh, warnings.catch_warnings():
        # openpyxl warns about unsupported extensions, odd styles, bad dates...
        warnings.simplefilter("ignore")
        head = fh.read(8)
        if not head.startswith(_ZIP_MAGIC):
            raise _unreadable(shown, _not_xlsx_reason(p, head))
        fh.seek(0)
        try:
            safe_zip(fh).close()  # the zip's directory against the caps, nothing unpacked yet
            fh.seek(0)
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except ZipLimitError as exc:
            raise DataError.of(Code.DATA_ZIP_LIMIT, Location(file=shown), why=exc.why) from None
        except Exception:  # zipfile/XML/KeyError...: the user needs a reason, not a traceback
            raise _unreadable(shown, "文件已损坏，或不是有效的 .xlsx 文件") from None
        try:
            return _read_workbook(wb, p, shown, sheet, header_score)
        finally:
            wb.close()


def _sheet_cells(ws) -> Iterator[tuple[int, int, object]]:
    """(row, column, value) of every cell the sheet's XML holds, streamed.

    openpyxl's row iterators pad: every row to its last cell and every missing
    row as an empty one, so a stray cell in XFD or one row numbered 300,000,000
    allocates gigabytes. This reads the XML itself, one cell at a time, dropping
    each element once read, and lets openpyxl's own cell parser turn a ``<c>``
    into its value (shared strings, numbers, dates by style)."""
    from openpyxl.worksheet._reader import CELL_TAG, DATA_TAG, ROW_TAG, WorkSheetParser
    from openpyxl.xml.functions import iterparse

    wb = ws.parent
    with ws._get_source() as src:  # noqa: SLF001 - the sheet's XML stream, as openpyxl opens it
        parser = WorkSheetParser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,  # noqa: SLF001
                                 date_formats=wb._date_formats,  # noqa: SLF001
                                 timedelta_formats=wb._timedelta_formats)  # noqa: SLF001
        sheet_data = row_element = None
        for event, element in iterparse(src, events=("start", "end")):
            if element.tag == DATA_TAG and event == "start":
                sheet_data = element
            elif element.tag == ROW_TAG:
                if event == "start":
                    r = element.get("r")
                    parser.row_counter = int(r) if r is not None else parser.row_counter + 1
                    parser.col_counter = 0
                    row_element = element
                else:
                    if sheet_data is not None:
                        sheet_data.remove(element)
                    row_element = None
            elif element.tag == CELL_TAG and event == "end" and row_element is not None:
                cell = parser.parse_cell(element)
                row_element.remove(element)
                yield parser.row_counter, cell["column"], cell["value"]


def _cell_name(row: int, column: int) -> str:
    """``XFD5`` as Excel names a cell; a column beyond any letters by its number."""
    letters = get_column_letter(column) if column <= 18_278 else f"第{column}列"  # ZZZ is the last name
    return f"{letters}{row}"


def _sheet_rows(ws, shown: str) -> list[tuple[int, tuple[object, ...]]]:
    """Non-empty rows of a worksheet as (Excel row number, trimmed values), within the caps."""
    title = ws.title
    rows: list[tuple[int, tuple[object, ...]]] = []
    number, values, cells = 0, {}, 0

    def flush() -> None:
        if not values:
            return
        if len(rows) >= limits.SHEET_MAX_ROWS:
            raise _too_many_rows(shown, title)
        row: list[object] = [None] * max(values)
        for column, value in values.items():
            row[column - 1] = value
        rows.append((number, tuple(row)))
        values.clear()

    try:
        for row_number, column, raw in _sheet_cells(ws):
            value = _xlsx_value(raw)
            if value is None:
                continue
            if row_number > limits.EXCEL_MAX_ROW or column > limits.EXCEL_MAX_COLUMN:
                raise DataError.of(Code.DATA_BEYOND_EXCEL, Location(file=shown, sheet=title),
                                   cell=_cell_name(row_number, column), rows=limits.EXCEL_MAX_ROW,
                                   columns=get_column_letter(limits.EXCEL_MAX_COLUMN))
            if column > limits.SHEET_MAX_COLUMNS:
                raise _too_many_columns(shown, title, row_number, column)
            if row_number != number:
                flush()
                number = row_number
            cells += 1
            if cells > limits.SHEET_MAX_CELLS:
                raise DataError.of(Code.DATA_TOO_MANY_CELLS, Location(file=shown, sheet=title),
                                   max=limits.SHEET_MAX_CELLS)
            values[column] = value
        flush()
    except DataError:
        raise
    except Exception:  # XML/zip/value errors in a damaged sheet
        raise _unreadable(shown, f"工作表「{title}」已损坏，无法读取", sheet=title) from None
    return rows


def _read_workbook(
    wb, p: Path, shown: str, sheet: str | None, header_score: HeaderScore | None
) -> SourceTable:
    worksheets = list(wb.worksheets)  # chartsheets are not data
    if sheet is not None:
        ws = _pick_sheet(worksheets, sheet)
        if ws is None:
            titles = [w.title for w in worksheets]
            raise DataError.of(
                Code.DATA_UNKNOWN_SHEET,
                Location(file=shown),
                sheet=sheet,
                hint=did_you_mean(sheet, titles),
                known="、".join(titles),
            )
        return _build_table(p, shown, ws.title, _sheet_rows(ws, shown), header_score)

    active = wb.active if wb.active in worksheets else None
    visible = [w for w in worksheets if w.sheet_state == "visible"]
    hidden = [w for w in worksheets if w.sheet_state != "visible"]
    order = ([active] if active is not None else []) + [w for w in visible + hidden if w is not active]
    # The first sheet with a header and rows under it; sheets that are empty,
    # headerless or header-only (instructions, code lists) are passed over.
    # Any other problem (duplicate header...) belongs to that sheet and is raised.
    first_with_data: tuple[str, list] | None = None
    for ws in order:
        rows = _sheet_rows(ws, shown)
        if not rows:
            continue
        header_index = _find_header(rows, header_score)
        if header_index is not None and header_index < len(rows) - 1:
            return _build_table(p, shown, ws.title, rows, header_score, header_index)
        if first_with_data is None:
            first_with_data = (ws.title, rows)
    if first_with_data is not None:
        title, rows = first_with_data
        return _build_table(p, shown, title, rows, header_score)  # raises NO_HEADER/EMPTY
    raise DataError.of(Code.DATA_FILE_EMPTY, Location(file=shown))


def _pick_sheet(worksheets: list, name: str):
    for ws in worksheets:
        if ws.title == name:
            return ws
    # Excel sheet names are unique regardless of case, so this cannot be ambiguous.
    wanted = name.strip().casefold()
    for ws in worksheets:
        if ws.title.strip().casefold() == wanted:
            return ws
    return None


