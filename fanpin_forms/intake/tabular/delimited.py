"""CSV files: UTF-8 (with or without BOM), GB18030, UTF-16 (Excel's "Unicode text")."""


from __future__ import annotations

import csv
import io
import re
from pathlib import Path


from ...errors import Code, DataError, Location
from ...util import limits
from .common import (HEADER_SEARCH_ROWS, HeaderScore, SourceTable, _build_table, _clean_str, _read_bytes,
                     _too_many_columns, _too_many_rows, _trim, _unreadable)


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
    # row), and an empty line is an empty row: so number records, not lines.
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


