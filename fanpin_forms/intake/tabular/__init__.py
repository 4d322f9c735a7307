"""Read a clerk's data file (.xlsx/.xlsm, .csv, .json, .jsonl) into raw rows.

This module knows nothing about forms: it finds the header row, names the
columns and returns every non-empty data row with its row number *as the user
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
keys get the same treatment, so the header mapping sees one spelling.

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

from pathlib import Path

from ...errors import Code, DataError, Location
from .common import _KINDS, HEADER_SEARCH_ROWS, HeaderScore, SourceRow, SourceTable, _check_size
from .delimited import _read_csv
from .jsonfile import _read_json, _read_jsonl
from .xlsx import _read_xlsx

__all__ = ["SourceRow", "SourceTable", "read_table", "HEADER_SEARCH_ROWS"]

__all__ = ["SourceRow", "SourceTable", "read_table", "HEADER_SEARCH_ROWS"]

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


