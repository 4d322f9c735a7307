"""Read a clerk's data file (.xlsx/.xlsm, .csv, .json, .jsonl) into raw rows.

This module knows nothing about forms: it finds the header row, names the
columns and returns every non-blank data row with its row number *as the user
sees it* (the Excel row number, the CSV record number as Excel shows it when the
CSV is opened, the 1-based JSON array item, the JSONL line). Mapping headers to
form fields happens elsewhere.

Value rules, the same for every format:

* strings are stripped (including full-width spaces and zero-width characters at
  either end); an empty string becomes ``None``;
* xlsx numbers stay numbers (``int`` when the float is integral), dates come
  back as :class:`datetime.date` (or :class:`datetime.datetime` when a time of
  day is set); CSV cells are always strings (an 18-digit ID stays text);
* JSON values keep their JSON type (nested lists/objects are kept, with the
  same string and number clean-up applied inside them).

Header text has *all* whitespace removed (``"身份证\\n号码"`` -> ``"身份证号码"``,
``"姓　　名"`` -> ``"姓名"``), except that a run of whitespace between two ASCII
letters/digits becomes one space (``"ID\\nnumber"`` -> ``"ID number"``). JSON
keys get the same treatment, so the lead's header mapping sees one spelling.

Either a complete :class:`SourceTable` comes back or a
:class:`~fanpin_forms.errors.DataError` listing the problems; never a partial
table.

Nothing a file describes is allocated before it is checked against the caps in
:mod:`fanpin_forms.util.limits`: the file size first, an xlsx's zip directory before it
is unpacked, and sheets are streamed cell by cell, keeping only cells with content
(a stray cell in column XFD or a row numbered 300,000,000 costs one cell, not the
padding up to it). A CSV in UTF-16 with a byte-order mark (Excel's "Unicode text",
tab-separated) is read like any other CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl.utils import get_column_letter

from ..errors import Code, DataError, Location, Problem, did_you_mean
from ..util import limits
from ..util.limits import human_bytes
from ..util.zipguard import ZipLimitError, safe_zip

__all__ = ["SourceRow", "SourceTable", "read_table", "HEADER_SEARCH_ROWS"]

#: How many non-empty rows at the top of a sheet are searched for the header.
HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class SourceRow:
    """One data row: its number as the user sees it, and header -> raw value."""

    number: int
    cells: dict[str, object]


@dataclass(frozen=True)
class SourceTable:
    """A whole data file (one sheet of a workbook), header found, blank rows dropped."""

    path: Path
    sheet: str | None
    headers: list[str]
    header_row: int
    rows: list[SourceRow]


HeaderScore = Callable[[str], bool]


def read_table(
    path: Path | str,
    *,
    sheet: str | None = None,
    header_score: HeaderScore | None = None,
) -> SourceTable:
    """Read ``path`` into a :class:`SourceTable`, or raise :class:`DataError`.

    ``sheet`` picks an xlsx worksheet by name (case-insensitive); without it the
    active sheet is used if it has data, else the first sheet that does (visible
    sheets before hidden ones; a sheet with no header, or a header and nothing
    under it, is passed over). It is ignored for other formats.

    ``header_score(text)`` says whether a cell looks like a column name; with it
    the header is the first of the first :data:`HEADER_SEARCH_ROWS` non-empty
    rows having at least two such cells (title rows above it are skipped).
    Without it the header is the first non-empty row. JSON/JSONL ignore it.
    """
    shown = str(path)
    p = Path(path)
    where = Location(file=shown)
    if not p.exists():
        raise DataError.of(Code.DATA_FILE_MISSING, where, path=shown)
    suffix = p.suffix.lower()
    if suffix in _KINDS:
        _check_size(p, shown, suffix)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(p, shown, sheet, header_score)
    if suffix == ".csv":
        return _read_csv(p, shown, header_score)
    if suffix == ".json":
        return _read_json(p, shown)
    if suffix == ".jsonl":
        return _read_jsonl(p, shown)
    raise DataError.of(Code.DATA_FILE_TYPE, where, suffix=p.suffix or "（无后缀）")


#: how each data file kind is named in a message
_KINDS = {".xlsx": "Excel 数据文件", ".xlsm": "Excel 数据文件", ".csv": "CSV 数据文件",
          ".json": "JSON 数据文件", ".jsonl": "JSONL 数据文件"}


def _check_size(p: Path, shown: str, suffix: str) -> None:
    """Refuse a file over its kind's size cap before reading any of it."""
    cap = limits.DATA_XLSX_MAX_BYTES if suffix in (".xlsx", ".xlsm") else limits.DATA_MAX_BYTES
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise _unreadable(shown, _os_reason(exc)) from None
    if size > cap:
        raise DataError.of(Code.DATA_FILE_TOO_LARGE, Location(file=shown),
                           size=human_bytes(size), kind=_KINDS[suffix], max=human_bytes(cap))


def _too_many_rows(shown: str, sheet: str | None) -> DataError:
    return DataError.of(Code.DATA_TOO_MANY_ROWS, Location(file=shown, sheet=sheet), max=limits.SHEET_MAX_ROWS)


def _too_many_columns(shown: str, sheet: str | None, row: int, column: int) -> DataError:
    return DataError.of(Code.DATA_TOO_MANY_COLUMNS, Location(file=shown, sheet=sheet, row=row),
                        column=get_column_letter(column), max=limits.SHEET_MAX_COLUMNS)


# --------------------------------------------------------------------------- values

# Everything str.isspace() accepts, plus zero-width characters that ride along
# when text is pasted from web pages or WeChat.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_STRIP = _WHITESPACE + _ZERO_WIDTH
_HEADER_GAP = re.compile(f"[{re.escape(_STRIP)}]+")
# Excel escapes control characters in cell text as _xHHHH_ (a cell with a pasted
# CR/LF holds "_x000D_\n"); openpyxl leaves the escapes in.
_EXCEL_ESCAPE = re.compile(r"_x(00[01][0-9A-Fa-f])_")


def _clean_str(text: str) -> str | None:
    return text.strip(_STRIP) or None


def _unescape_excel(text: str) -> str:
    return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _xlsx_value(value: object) -> object:
    """Normalise one openpyxl value (read_only, data_only, values_only)."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is dt.date:
        return value
    if kind is str:
        if "_x" in value:
            value = _unescape_excel(value)
        return _clean_str(value)  # type: ignore[arg-type]
    if kind is float:
        return _number(value)  # type: ignore[arg-type]
    if kind is dt.datetime:
        if value.hour == value.minute == value.second == value.microsecond == 0:  # type: ignore[union-attr]
            return value.date()  # type: ignore[union-attr]
        return value
    if kind is dt.time:  # a cell formatted as a time of day only
        return value.isoformat()  # type: ignore[union-attr]
    if kind is dt.timedelta:  # a duration format such as [h]:mm
        return str(value)
    # Anything else (rich text if it ever appears) as its text.
    return _clean_str(str(value))


def _json_value(value: object) -> object:
    """Normalise a decoded JSON value recursively (keys were handled by the hook)."""
    kind = type(value)
    if kind is str:
        return _clean_str(value)  # type: ignore[arg-type]
    if kind is float:
        return _number(value)  # type: ignore[arg-type]
    if kind is list:
        return [_json_value(v) for v in value]  # type: ignore[union-attr]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _header_text(value: object) -> str | None:
    """Column name from a header cell, or None when the cell is blank."""
    if value is None:
        return None
    if isinstance(value, dt.date):  # also datetime
        text = value.isoformat()
    else:
        text = str(value)

    def join(m: re.Match[str]) -> str:
        s, a, b = m.string, m.start(), m.end()
        before = s[a - 1] if a > 0 else ""
        after = s[b] if b < len(s) else ""
        keep = before.isascii() and before.isalnum() and after.isascii() and after.isalnum()
        return " " if keep else ""

    return _HEADER_GAP.sub(join, text) or None


def _trim(values: Iterable[object]) -> tuple[object, ...]:
    """Drop trailing empty cells; an all-empty row becomes ``()``."""
    out = list(values)
    while out and out[-1] is None:
        out.pop()
    return tuple(out)


# ------------------------------------------------------------------ shared tabular


def _unreadable(shown: str, why: str, **loc: object) -> DataError:
    return DataError.of(Code.DATA_FILE_UNREADABLE, Location(file=shown, **loc), why=why)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError):
        return "这是一个文件夹，不是文件"
    if isinstance(exc, PermissionError):
        return "没有读取权限，或文件正被其他程序（如 Excel、WPS）占用，请关闭后重试"
    return f"读取文件时出错（错误号 {exc.errno}）"


def _read_bytes(p: Path, shown: str) -> bytes:
    try:
        return p.read_bytes()
    except OSError as exc:
        raise _unreadable(shown, _os_reason(exc)) from None


def _find_header(
    rows: Sequence[tuple[int, tuple[object, ...]]], header_score: HeaderScore | None
) -> int | None:
    """Index into ``rows`` (non-empty rows only) of the header row, or None."""
    if header_score is None:
        return 0 if rows else None
    for i, (_, values) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        hits = 0
        for value in values:
            text = _header_text(value)
            if text is not None and header_score(text):
                hits += 1
                if hits >= 2:
                    return i
    return None


def _build_table(
    path: Path,
    shown: str,
    sheet: str | None,
    rows: list[tuple[int, tuple[object, ...]]],
    header_score: HeaderScore | None,
    header_index: int | None = None,
) -> SourceTable:
    """Turn the non-empty rows of a sheet/CSV into a table (header found, columns named)."""
    where = Location(file=shown, sheet=sheet)
    if not rows:
        raise DataError.of(Code.DATA_FILE_EMPTY, where)
    if header_index is None:
        header_index = _find_header(rows, header_score)
    if header_index is None:
        last_searched = rows[min(HEADER_SEARCH_ROWS, len(rows)) - 1][0]
        raise DataError.of(Code.DATA_NO_HEADER, where, rows=last_searched)

    header_number, header_values = rows[header_index]
    data = rows[header_index + 1 :]

    width = max([len(header_values), *(len(v) for _, v in data)])
    has_data = [False] * width
    for _, values in data:
        for i, value in enumerate(values):
            if value is not None:
                has_data[i] = True

    columns: list[tuple[int, str]] = []
    first_seen: dict[str, int] = {}
    problems: list[Problem] = []
    for i in range(width):
        name = _header_text(header_values[i]) if i < len(header_values) else None
        if name is None:
            if not has_data[i]:
                continue  # blank header, blank column: a spacer, ignore it
            name = f"第{get_column_letter(i + 1)}列"
        if name in first_seen:
            problems.append(
                Problem(
                    Code.DATA_DUPLICATE_HEADER,
                    {
                        "header": name,
                        "first": get_column_letter(first_seen[name] + 1),
                        "second": get_column_letter(i + 1),
                    },
                    Location(file=shown, sheet=sheet, row=header_number),
                )
            )
            continue
        first_seen[name] = i
        columns.append((i, name))
    if problems:
        raise DataError(problems)
    if not data:
        raise DataError.of(Code.DATA_FILE_EMPTY, where)

    out: list[SourceRow] = []
    for number, values in data:
        n = len(values)
        out.append(SourceRow(number, {name: values[i] if i < n else None for i, name in columns}))
    return SourceTable(
        path=path,
        sheet=sheet,
        headers=[name for _, name in columns],
        header_row=header_number,
        rows=out,
    )


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
    # The first sheet with a header and rows under it; sheets that are blank,
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


# ------------------------------------------------------------------------------ csv


_UTF16_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# What real text never holds: C0 controls other than tab/CR/LF, and U+FFFE/U+FFFF.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _utf16(raw: bytes) -> str | None:
    """The text of a UTF-16 file (Excel's "Unicode text"), or None if it is not one.

    UTF-16 is recognised by its byte-order mark, or without one by the NUL bytes
    every ASCII character (comma, tab, line break) carries: at odd offsets in
    little-endian, at even ones in big-endian, and (unlike a stray NUL in a broken
    file) on at least one code unit in ten, nearly all on the same side."""
    for bom, encoding in _UTF16_BOMS:
        if raw.startswith(bom):
            body = raw[len(bom):]
            break
    else:
        head = raw[:4096]
        odd, even = head[1::2].count(0), head[0::2].count(0)
        if max(odd, even) * 20 < len(head) or min(odd, even) * 4 > max(odd, even):
            return None
        body, encoding = raw, ("utf-16-le" if odd > even else "utf-16-be")
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        return None
    return None if _NOT_TEXT.search(text) else text


def _decode(raw: bytes) -> str | None:
    text = _utf16(raw)
    if text is not None:
        return text
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text[1:] if text.startswith("\ufeff") else text  # GB18030 BOM
    return None


def _delimiter(text: str) -> str:
    """Tab for tab-separated text (what Excel writes as "Unicode text"), else comma."""
    head = "\n".join(text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS])
    return "\t" if head.count("\t") > head.count(",") else ","


def _read_csv(p: Path, shown: str, header_score: HeaderScore | None) -> SourceTable:
    text = _decode(_read_bytes(p, shown))
    if text is None:
        raise DataError.of(Code.DATA_FILE_ENCODING, Location(file=shown))
    rows: list[tuple[int, tuple[object, ...]]] = []
    cells = 0
    # Excel shows one row per CSV *record* (a quoted newline stays inside the
    # row), and a blank line is a blank row: so number records, not lines.
    number = 0
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
        for number, record in enumerate(reader, start=1):
            cleaned = _trim(_clean_str(cell) for cell in record)
            if not cleaned:
                continue
            if len(cleaned) > limits.SHEET_MAX_COLUMNS:
                beyond = next(i for i, v in enumerate(cleaned) if i >= limits.SHEET_MAX_COLUMNS and v is not None)
                raise _too_many_columns(shown, None, number, min(beyond + 1, limits.EXCEL_MAX_COLUMN))
            if len(rows) >= limits.SHEET_MAX_ROWS:
                raise _too_many_rows(shown, None)
            cells += len(cleaned)
            if cells > limits.SHEET_MAX_CELLS:
                raise DataError.of(Code.DATA_TOO_MANY_CELLS, Location(file=shown), max=limits.SHEET_MAX_CELLS)
            rows.append((number, cleaned))
    except csv.Error:
        raise _unreadable(shown, "CSV 格式错误（引号不配对或单元格过长）", row=number + 1) from None
    return _build_table(p, shown, None, rows, header_score)


# ----------------------------------------------------------------------------- json


class _JsonObject(dict):
    """A decoded JSON object that remembers keys it saw twice."""

    __slots__ = ("duplicates",)


class _JsonDecoder:
    """json.loads with header-style keys, duplicate-key detection, NaN as text."""

    def __init__(self) -> None:
        self.saw_duplicates = False

    def _hook(self, pairs: list[tuple[str, object]]) -> _JsonObject:
        obj = _JsonObject()
        duplicates: list[str] = []
        for key, value in pairs:
            name = _header_text(key) or ""
            if name in obj:
                duplicates.append(name)
            else:
                obj[name] = value
        obj.duplicates = duplicates
        if duplicates:
            self.saw_duplicates = True
        return obj

    def loads(self, text: str) -> object:
        # NaN/Infinity are not JSON; keep them as text so validation shows them.
        return json.loads(text, object_pairs_hook=self._hook, parse_constant=str)


def _duplicates_in(value: object) -> list[str]:
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _JsonObject):
            found.extend(item.duplicates)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


_JSON_WHY = [
    ("Expecting value", "此处缺少值（可能多了逗号，或值没有加引号）"),
    ("Expecting ',' delimiter", "缺少逗号"),
    ("Expecting ':' delimiter", "缺少冒号"),
    ("Expecting property name", "键名必须用英文双引号括起来（或最后一项后面多了逗号）"),
    ("Unterminated string", "字符串缺少结尾的英文双引号"),
    ("Invalid control character", "字符串中有未转义的换行或控制字符"),
    ("Invalid \\uXXXX escape", "无效的 \\u 转义"),
    ("Invalid \\escape", "无效的反斜杠转义（路径中的 \\ 要写成 \\\\）"),
    ("Extra data", "JSON 数据结束后还有多余内容；如果每行是一条记录，请把文件后缀改为 .jsonl"),
    ("Illegal trailing comma", "最后一项后面多了逗号"),
]
_FULLWIDTH_PUNCT = "，：“”‘’｛｝【】［］"


def _json_why(exc: json.JSONDecodeError) -> str:
    why = next((zh for en, zh in _JSON_WHY if exc.msg.startswith(en)), exc.msg)
    rest = exc.doc[exc.pos :].lstrip(" \t\r\n")
    if rest and rest[0] in _FULLWIDTH_PUNCT:
        why += f"（这里是中文标点「{rest[0]}」，JSON 只能用英文标点）"
    return why


def _json_syntax(shown: str, exc: json.JSONDecodeError, line: int | None = None) -> Problem:
    return Problem(
        Code.DATA_JSON_SYNTAX,
        {"line": line if line is not None else exc.lineno, "col": exc.colno, "why": _json_why(exc)},
        Location(file=shown),
    )


#: objects and arrays allowed per record at the row cap (a record, its member tables and their rows)
_JSON_CONTAINERS_PER_ROW = 10


def _json_text(p: Path, shown: str) -> str:
    """The file's text, refused before decoding if it opens more objects and arrays than
    the row cap allows: ``[{},{},…]`` costs ~3 bytes a record on disk, 100+ in memory."""
    text = _decode(_read_bytes(p, shown))
    if text is None:
        raise _unreadable(shown, "无法识别文件编码，JSON 文件应当是 UTF-8 编码")
    cap = _JSON_CONTAINERS_PER_ROW * limits.SHEET_MAX_ROWS
    if text.count("{") + text.count("[") > cap:  # braces inside strings count too: an upper bound
        raise DataError.of(Code.DATA_JSON_TOO_MANY_VALUES, Location(file=shown), max=cap)
    return text


_JSON_KIND = {str: "文字", int: "数字", float: "数字", bool: "真/假值", type(None): "null"}


def _read_json(p: Path, shown: str) -> SourceTable:
    text = _json_text(p, shown)
    if not text.strip(_STRIP):
        raise DataError.of(Code.DATA_FILE_EMPTY, Location(file=shown))
    decoder = _JsonDecoder()
    try:
        data = decoder.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(_json_syntax(shown, exc)) from None
    except RecursionError:
        raise _unreadable(shown, "JSON 嵌套层数过多") from None

    if isinstance(data, dict) and isinstance(data.get("records"), list):
        records = data["records"]
    elif isinstance(data, list):
        records = data
    else:
        actual = "没有「records」数组的对象" if isinstance(data, dict) else _JSON_KIND.get(type(data), "其他值")
        raise DataError.of(Code.DATA_JSON_NO_RECORDS, Location(file=shown), actual=actual)
    return _json_table(p, shown, list(enumerate(records, start=1)), decoder.saw_duplicates)


def _read_jsonl(p: Path, shown: str) -> SourceTable:
    text = _json_text(p, shown)
    decoder = _JsonDecoder()
    items: list[tuple[int, object]] = []
    problems: list[Problem] = []
    # Split on "\n" only: U+2028 and friends may legally sit inside JSON strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip(_STRIP):
            continue
        try:
            items.append((number, decoder.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(_json_syntax(shown, exc, line=number))
        except RecursionError:
            raise _unreadable(shown, f"第 {number} 行 JSON 嵌套层数过多", row=number) from None
    return _json_table(p, shown, items, decoder.saw_duplicates, problems)


def _json_table(
    p: Path,
    shown: str,
    items: list[tuple[int, object]],
    check_duplicates: bool,
    problems: list[Problem] | None = None,
) -> SourceTable:
    problems = list(problems or [])
    headers: dict[str, None] = {}  # ordered set, first appearance wins
    records: list[tuple[int, dict[str, object]]] = []
    for number, item in items:
        where = Location(file=shown, row=number)
        if not isinstance(item, dict):
            problems.append(Problem(Code.DATA_JSON_NOT_OBJECT, {}, where))
            continue
        if check_duplicates:
            for key in _duplicates_in(item):
                problems.append(Problem(Code.DATA_JSON_DUPLICATE_KEY, {"key": key}, where))
        headers.update(dict.fromkeys(item))
        record = {k: _json_value(v) for k, v in item.items()}
        if any(v is not None and v != [] and v != {} for v in record.values()):
            records.append((number, record))
    problems.sort(key=lambda pr: (pr.location.row or pr.context.get("line") or 0))
    if problems:
        raise DataError(problems)
    if not records:
        raise DataError.of(Code.DATA_FILE_EMPTY, Location(file=shown))
    if len(records) > limits.SHEET_MAX_ROWS:
        raise _too_many_rows(shown, None)
    if len(headers) > limits.SHEET_MAX_COLUMNS:
        # every record gets every key: a thousand records of a thousand new keys each is a million cells each
        raise DataError.of(Code.DATA_JSON_TOO_MANY_KEYS, Location(file=shown), count=len(headers),
                           max=limits.SHEET_MAX_COLUMNS)
    names = list(headers)
    rows = [SourceRow(number, {h: record.get(h) for h in names}) for number, record in records]
    return SourceTable(path=p, sheet=None, headers=names, header_row=0, rows=rows)
