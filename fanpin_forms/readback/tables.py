"""Repeating tables (``type: table``, e.g. 家庭成员) read back from a scan.

Where the rows are comes from the blank (its bordered table whose first row holds the
columns' labels, found by pdfplumber), as for every other mark: nothing per form.
On the aligned scan each printed row is measured for ink the blank does not have and
each cell with ink is read by OCR. Then, for the whole record (:func:`table_fields`):

* with the household sheet (``--data``), the rows pre-filled from it are compared with
  what it says: a row that differs (a member crossed out and rewritten, a misprint) goes
  to review with the row's image; the sheet's values are kept;
* a row with ink beyond the pre-filled ones was written by hand: it always goes to
  review with its image (OCR is only a suggestion for handwriting);
* without the sheet, every row with ink is read; a row not read with confidence goes
  to review.

Sensitive columns (ID numbers, 健康状况 …) are masked in every review text and value;
only the record's own fields carry them, as the form does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Code
from ..privacy.masking import mask_value
from .geometry import Rect
from .images import png, to_gray
from .results import ReviewItem, ReviewKind
from .thresholds import TABLE_CELL_INK, TABLE_CELL_MARGIN_PT, TABLE_DARK, TABLE_READ_BELOW


@dataclass
class RowReading:
    """One printed row of a table on one scan: its cells' text and OCR score (column key →
    (text, score)), whether it has ink the blank has not, and its image (when crops are kept)."""

    number: int
    cells: dict[str, tuple[str, float]] = field(default_factory=dict)
    inked: bool = False
    crop: bytes | None = None


@lru_cache(maxsize=32)
def _cells(pdf: str, page_no: int, labels: tuple[str, ...]) -> tuple[tuple[Rect, ...], ...]:
    """Rows (below the header) of the blank's table whose header is ``labels``; each row a
    tuple of cell rectangles in PDF points."""
    import pdfplumber

    norm = [_norm(x) for x in labels]
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[page_no - 1]
        for table in page.find_tables():
            rows = table.rows
            if not rows:
                continue
            head = [_norm(page.crop(c).extract_text() or "") if c else "" for c in rows[0].cells]
            if head[:len(norm)] != norm:
                continue
            out = []
            for row in rows[1:]:
                cells = tuple(Rect(*c) for c in row.cells if c is not None)
                if len(cells) == len(labels):
                    out.append(cells)
            return tuple(out)
    return ()


def table_cells(ref, form, key: str, page_no: int = 1) -> tuple[tuple[Rect, ...], ...]:
    f = form.field(key)
    return _cells(str(ref.pdf), page_no, tuple(c.label for c in f.columns))


def read_tables(ref, page_no: int, aligned_rgb: np.ndarray, raster, crops: bool) -> dict[str, list[RowReading]]:
    """Every table of ``ref.form`` printed on this page, read from the scan aligned with the blank."""
    from . import ocr

    gray = to_gray(aligned_rgb)
    out: dict[str, list[RowReading]] = {}
    margin = TABLE_CELL_MARGIN_PT * raster.scale
    for f in ref.form.fields:
        if f.type != "table":
            continue
        rows = table_cells(ref, ref.form, f.key, page_no)
        if not rows:
            continue
        readings = []
        for number, cells in enumerate(rows, start=1):
            reading = RowReading(number)
            for col, rect in zip(f.columns, cells):
                x0, y0, x1, y1 = raster.px(rect)
                m = int(margin)
                x0, y0, x1, y1 = x0 + m, y0 + m, x1 - m, y1 - m
                if x1 <= x0 or y1 <= y0:
                    continue
                cell = gray[y0:y1, x0:x1]
                new_ink = (cell < TABLE_DARK) & ~raster.ink[y0:y1, x0:x1]
                if new_ink.mean() < TABLE_CELL_INK:
                    continue
                reading.inked = True
                reading.cells[col.key] = _read_cell(ocr, cell, new_ink) if ocr.available() else ("", 0.0)
            if crops and reading.inked:
                x0, y0 = raster.px(cells[0])[:2]
                x1, y1 = raster.px(cells[-1])[2:]
                reading.crop = png(gray[y0:y1, x0:x1])
            readings.append(reading)
        out[f.key] = readings
    return out


def _lines(ink: np.ndarray) -> list[tuple[int, int]]:
    """(top, bottom) of each band of rows with ink (a cell's text wrapped onto two lines)."""
    rows = ink.any(axis=1)
    bands, start = [], None
    for y, on in enumerate([*rows, False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            bands.append((start, y))
            start = None
    tall = max((b - a for a, b in bands), default=0)
    return [(a, b) for a, b in bands if b - a >= max(3, tall * 0.4)]


def _framed(img: np.ndarray) -> np.ndarray:
    """``img`` cut to its ink's height (a little paper above and below) with paper left and right:
    the recogniser scales a line to one height, so empty cell space makes the text small."""
    ink = img < TABLE_DARK
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size:
        pad = max(2, (rows[-1] - rows[0]) // 5)
        img = img[max(0, rows[0] - pad):rows[-1] + 1 + pad]
    side = max(4, img.shape[0] // 3)
    return np.pad(img, ((0, 0), (side, side)), constant_values=255)


def _read_cell(ocr, cell: np.ndarray, ink: np.ndarray) -> tuple[str, float]:
    """The text of one cell, line by line when it wrapped: (text, the weakest line's score)."""
    bands = _lines(ink)
    if len(bands) <= 1:
        line = ocr.read_line(_framed(cell))
        return line.text.strip(), line.score
    texts, scores = [], []
    for a, b in bands:
        pad = max(2, (b - a) // 4)
        line = ocr.read_line(_framed(cell[max(0, a - pad):b + pad]))
        texts.append(line.text.strip())
        scores.append(line.score)
    return "".join(texts), min(scores)


# --- the record: rows against the household sheet -------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))


def _same(col, read: str, expected: str) -> bool:
    if col.type == "id_number":
        return _norm(read).upper().replace("x", "X") == _norm(expected).upper()
    return _norm(read) == _norm(expected)


def _masked_row(f, values: dict[str, str]) -> dict[str, str]:
    out = {}
    for col in f.columns:
        v = values.get(col.key) or ""
        if v and col.sensitive:
            try:
                v = mask_value(col.sensitive, v)
            except ValueError:
                v = mask_value("text", v)
        out[col.label] = v
    return out


def _shown(col, value: Any, types) -> str:
    if value is None:
        return ""
    ftype = types.get(col.type)
    return str(ftype.display(value, col) if ftype else value)


def table_fields(form, tables: dict[str, list[RowReading]], expected_record, types) -> tuple[dict[str, Any],
                                                                                           list[ReviewItem]]:
    """The tables' values of one record and what a person should check.

    ``expected_record``: the household sheet's record of this form (``--data``), or None."""
    fields: dict[str, Any] = {}
    review: list[ReviewItem] = []
    for key, rows in tables.items():
        f = form.field(key)
        if f is None:
            continue
        sheet_rows = list(expected_record.values.get(key) or []) if expected_record is not None else None
        values: list[dict[str, str]] = []
        for row in rows:
            read = {k: t for k, (t, _) in row.cells.items()}
            score = min((s for _, s in row.cells.values()), default=1.0)
            target = f"{key}.{row.number}"
            if sheet_rows is not None and row.number <= len(sheet_rows):
                want = {c.key: _shown(c, sheet_rows[row.number - 1].get(c.key), types) for c in f.columns}
                values.append(want)
                wrong = [c.label for c in f.columns if not _same(c, read.get(c.key, ""), want[c.key])]
                if wrong:
                    review.append(ReviewItem(None, ReviewKind.TABLE_ROW, target, Code.READ_TABLE_ROW_MISMATCH.format(
                        table=f.label, row=row.number, labels="、".join(wrong)), _masked_row(f, read), score, row.crop))
            elif row.inked:
                values.append(read)
                if sheet_rows is not None:
                    why = Code.READ_TABLE_ROW_HANDWRITTEN.format(table=f.label, row=row.number)
                    review.append(ReviewItem(None, ReviewKind.TABLE_ROW, target, why, _masked_row(f, read), score,
                                             row.crop))
                elif score < TABLE_READ_BELOW:
                    weak = [c.label for c in f.columns if row.cells.get(c.key, ("", 1.0))[1] < TABLE_READ_BELOW]
                    review.append(ReviewItem(None, ReviewKind.TABLE_ROW, target, Code.READ_TABLE_ROW_UNCERTAIN.format(
                        table=f.label, row=row.number, labels="、".join(weak)), _masked_row(f, read), score, row.crop))
        fields[key] = values
    return fields, review


__all__ = ["RowReading", "read_tables", "table_cells", "table_fields"]
