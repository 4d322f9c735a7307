"""The two notices as DOCX: A4 with the margins of a 公文, 宋体 title, 仿宋 body, a table per section."""

from __future__ import annotations

from collections.abc import Sequence

from docx.enum.text import WD_ALIGN_PARAGRAPH

from ...office.docxkit import (
    add_paragraph, grid_table, new_document, repeat_header, set_column_widths, set_font, strip_metadata, to_bytes,
)
from .rows import NoticeRow
from .select import CountyNotice, VillageNotice
from .wording import county_text, village_text

TITLE_FONT, BODY_FONT, TABLE_FONT = "宋体", "仿宋", "宋体"
TITLE_SIZE, BODY_SIZE, TABLE_SIZE = 22, 16, 10.5  # 二号, 三号, 五号
#: A4, and the margins of a 公文 (top, right, bottom, left)
PAGE_MM, MARGINS_MM = (210, 297), (37, 26, 35, 28)
TEXT_WIDTH_MM = PAGE_MM[0] - MARGINS_MM[1] - MARGINS_MM[3]
#: relative column widths in the tables (序号 first); a table fills the text width
_WIDTHS = {"no": 2, "name": 3.5, "township": 4, "village": 4, "group": 3, "household_size": 3, "monitor_type": 5.5,
           "risk_types": 5}
#: relative width of a county's added column
EXTRA_WIDTH = 4


def _body(doc, text: str, **kwargs):
    return add_paragraph(doc, text, font=kwargs.pop("font", BODY_FONT), size=kwargs.pop("size", BODY_SIZE), **kwargs)


def _document(date):
    doc = new_document(width_mm=PAGE_MM[0], height_mm=PAGE_MM[1], margins_mm=MARGINS_MM, font=BODY_FONT,
                       size=BODY_SIZE)
    strip_metadata(doc, date)
    return doc


def _table(doc, rows: Sequence[NoticeRow], columns: Sequence[str], headings: dict[str, str]) -> None:
    table = grid_table(doc, 1, len(columns) + 1)
    header = table.rows[0]
    repeat_header(header)
    for cell, text in zip(header.cells, ["序号", *(headings[c] for c in columns)]):
        _cell(cell, text, bold=True)
    for i, row in enumerate(rows, start=1):
        cells = table.add_row().cells
        for cell, text in zip(cells, [str(i), *row.cells(columns)]):
            _cell(cell, text)
    set_column_widths(table, TEXT_WIDTH_MM, [_WIDTHS["no"], *(_WIDTHS.get(c, EXTRA_WIDTH) for c in columns)])


def _cell(cell, text: str, bold: bool = False) -> None:
    p = cell.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(p.add_run(text), TABLE_FONT, TABLE_SIZE, bold)


def _title(doc, text: str) -> None:
    _body(doc, text, font=TITLE_FONT, size=TITLE_SIZE, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=12)


def _signature(doc, signer: str, date: str) -> None:
    _body(doc, "")
    _body(doc, signer, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _body(doc, date, align=WD_ALIGN_PARAGRAPH.RIGHT)


def village_docx(notice: VillageNotice) -> bytes:
    """The village publicity as DOCX bytes."""
    t = village_text(notice)
    doc = _document(notice.start)
    _title(doc, str(t["title"]))
    _body(doc, str(t["intro"]), indent=True)
    for heading, rows in t["sections"]:  # type: ignore[union-attr]
        _body(doc, heading, indent=True)
        _table(doc, rows, notice.style.columns("village"), notice.style.headings())
    _body(doc, str(t["period"]), indent=True)
    _body(doc, str(t["objection"]), indent=True)
    _signature(doc, str(t["signer"]), str(t["date"]))
    return to_bytes(doc)


def county_docx(notice: CountyNotice) -> bytes:
    """The county announcement as DOCX bytes."""
    t = county_text(notice)
    doc = _document(notice.date)
    _title(doc, str(t["title"]))
    _body(doc, str(t["intro"]), indent=True)
    for heading, rows in t["sections"]:  # type: ignore[union-attr]
        _body(doc, heading, indent=True)
        _table(doc, rows, notice.style.columns("county"), notice.style.headings())
    _body(doc, str(t["objection"]), indent=True)
    _body(doc, str(t["closing"]), indent=True)
    _signature(doc, str(t["signer"]), str(t["date"]))
    return to_bytes(doc)
