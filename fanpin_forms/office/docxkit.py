"""Small python-docx helpers for documents built from code: fonts, paragraphs, tables, metadata.

python-docx names a run's font for Latin text only; Chinese text takes the East
Asian font (``w:eastAsia``), which Word and LibreOffice otherwise replace with a
theme font. Column widths must be set on the grid (LibreOffice reads it) and on
every cell (Word reads those). A new ``Document()`` carries python-docx's own
template metadata (author, thumbnail, custom XML, application properties), which a
public document must not: :func:`strip_metadata` empties or neutralises them.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

__all__ = [
    "NEUTRAL_APP_XML", "add_paragraph", "grid_table", "new_document", "repeat_header", "set_column_widths", "set_font",
    "set_style_font", "strip_metadata", "to_bytes",
]

#: application properties that say nothing about who made the document, or when
NEUTRAL_APP_XML = (
    b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
    b'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    b"<Application>fanpin-forms</Application></Properties>"
)

_CORE_TEXT = ("author", "category", "comments", "content_status", "identifier", "keywords", "language",
              "last_modified_by", "subject", "title", "version")


def set_font(run, name: str, size: float, bold: bool = False) -> None:
    """One font ``name`` for the run's Latin and Chinese text, at ``size`` points."""
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def set_style_font(style, name: str, size: float) -> None:
    """The same for a paragraph style (e.g. ``Normal``): what runs without a font of their own get."""
    style.font.name = name
    style.font.size = Pt(size)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def add_paragraph(parent, text: str, *, font: str, size: float, bold: bool = False, align=None,
                  indent: bool = False, space_after: float = 0):
    """A paragraph of one run in ``parent`` (a document or a cell), no space before it.

    ``indent``: a first-line indent of two characters (Chinese body text)."""
    p = parent.add_paragraph()
    if align is not None:
        p.alignment = align
    fmt = p.paragraph_format
    fmt.space_after = Pt(space_after)
    fmt.space_before = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    set_font(p.add_run(text), font, size, bold)
    return p


def new_document(*, width_mm: float, height_mm: float, margins_mm: tuple[float, float, float, float],
                 font: str, size: float):
    """An empty document: page size, margins (top, right, bottom, left) and body font."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(width_mm), Mm(height_mm)
    top, right, bottom, left = margins_mm
    section.top_margin, section.bottom_margin = Mm(top), Mm(bottom)
    section.left_margin, section.right_margin = Mm(left), Mm(right)
    set_style_font(doc.styles["Normal"], font, size)
    return doc


def strip_metadata(doc, date: dt.date) -> None:
    """Empty the core properties (dated ``date``); drop the thumbnail and custom XML; neutral app properties."""
    cp = doc.core_properties
    for attr in _CORE_TEXT:
        setattr(cp, attr, "")
    cp.revision = 1
    cp.created = cp.modified = dt.datetime(date.year, date.month, date.day)
    package = doc.part.package
    for rels in (package.rels, doc.part.rels):
        for r_id, rel in list(rels.items()):
            if rel.reltype in (RT.THUMBNAIL, RT.CUSTOM_XML):
                rels.pop(r_id)
    for part in package.iter_parts():
        if str(part.partname) == "/docProps/app.xml":
            part._blob = NEUTRAL_APP_XML  # python-docx keeps generic parts as bytes


def grid_table(doc, rows: int, cols: int):
    """A centred table with single lines around every cell (Word's built-in ``Table Grid``)."""
    table = doc.add_table(rows=rows, cols=cols)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    return table


def repeat_header(row) -> None:
    """Repeat ``row`` at the top of every page the table runs onto."""
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(repeat)


def set_column_widths(table, total_mm: float, weights: Sequence[float]) -> None:
    """Fixed column widths sharing ``total_mm`` in proportion to ``weights``."""
    table.autofit = False
    for col, weight in zip(table.columns, weights):
        width = Mm(total_mm * weight / sum(weights))
        col.width = width  # the grid (LibreOffice reads this) …
        for cell in col.cells:  # … and every cell (Word reads these)
            cell.width = width


def to_bytes(doc) -> bytes:
    """The document as DOCX bytes."""
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
