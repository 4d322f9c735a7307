"""What every reader of :mod:`fanpin_forms.intake.tabular` shares: the table types,
value clean-up and header search, and the errors for caps and unreadable files."""


from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...errors import Code, DataError, Location, Problem
from ...util import limits
from ...util.limits import human_bytes


def get_column_letter(column: int) -> str:
    """Excel's column name (1 -> "A", 28 -> "AB"), from openpyxl, imported only when a
    message needs it: reading a CSV or JSON file does not load openpyxl."""
    from openpyxl.utils import get_column_letter as letter

    return letter(column)


#: How many non-empty rows at the top of a sheet are searched for the header.
HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class SourceRow:
    """One data row: its number as the user sees it, and header -> raw value."""

    number: int
    cells: dict[str, object]


@dataclass(frozen=True)
class SourceTable:
    """A whole data file (one sheet of a workbook), header found, empty rows dropped."""

    path: Path
    sheet: str | None
    headers: list[str]
    header_row: int
    rows: list[SourceRow]


HeaderScore = Callable[[str], bool]


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
    """Column name from a header cell, or None when the cell is empty."""
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
                continue  # empty header, empty column: a spacer, ignore it
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


