"""OOXML helpers the template builder uses on python-docx objects: a run's fonts for
every script, paragraph spacing and character-based indents, fixed-layout tables.

Every run names its East Asian font (``w:eastAsia``), which Word and LibreOffice use
for Chinese; ``run.font.name`` alone only sets the Latin font. Tables use a fixed
layout with ``gridCol`` widths AND every cell's width (LibreOffice ignores cell widths
alone and splits columns evenly)."""

from __future__ import annotations

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from ..layout import BODY_PT
from .style import BODY, Style

# --- run helpers -----------------------------------------------------------------


def set_fonts(run, latin: str, east: str) -> None:
    """Name the font for every script: Latin, East Asian (used for Chinese) and complex."""
    run.font.name = latin
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.rFonts
    if fonts is None:
        fonts = rpr._add_rFonts()
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:hint"), "eastAsia")


def add_run(par, text: str, style: Style = BODY, *, underline: bool | None = None, latin: str | None = None,
            east: str | None = None, size: float | None = None, bold: bool | None = None):
    run = par.add_run(text)
    set_fonts(run, latin or style.latin, east or style.east)
    run.font.size = Pt(size or style.size)
    if bold if bold is not None else style.bold:
        run.font.bold = True
    if underline if underline is not None else style.underline:
        run.font.underline = True
    return run


def tag(var: str) -> str:
    return "{{ " + var + " }}"


def paragraph_format(par, *, align=None, first_chars: float = 0, left_chars: float = 0, right_chars: float = 0,
                     before: float = 0, after: float = 0, size: float = BODY_PT, line: float | None = None,
                     keep_next: bool = False):
    """Spacing in points, indents in characters of ``size``; ``line`` = exact line pitch (pt)."""
    pf = par.paragraph_format
    pf.space_before = Pt(before)
    pf.space_after = Pt(after)
    if line:
        pf.line_spacing = Pt(line)
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    else:
        pf.line_spacing = 1.0
    if align is not None:
        pf.alignment = align
    if first_chars:
        pf.first_line_indent = Pt(size * first_chars)  # negative: hanging indent
    if left_chars:
        pf.left_indent = Pt(size * left_chars)
    if right_chars:
        pf.right_indent = Pt(size * right_chars)
    if keep_next:
        pf.keep_with_next = True
    # character-based indents too: Word and LibreOffice keep them right if the font changes
    ind = par._p.get_or_add_pPr().find(qn("w:ind"))
    if ind is not None:
        if first_chars > 0:
            ind.set(qn("w:firstLineChars"), str(int(first_chars * 100)))
        elif first_chars < 0:
            ind.set(qn("w:hangingChars"), str(int(-first_chars * 100)))
        if left_chars:
            ind.set(qn("w:leftChars"), str(int(left_chars * 100)))
        if right_chars:
            ind.set(qn("w:rightChars"), str(int(right_chars * 100)))
    # no snapping to the document grid: keeps line heights what the font says
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    par._p.get_or_add_pPr().insert_element_before(
        snap, "w:suppressOverlap", "w:bidi", "w:adjustRightInd", "w:spacing", "w:ind", "w:contextualSpacing",
        "w:mirrorIndents", "w:jc", "w:textDirection", "w:textAlignment", "w:outlineLvl", "w:rPr", "w:sectPr",
        "w:pPrChange")
    return par


# --- tables ------------------------------------------------------------------------


def table_borders(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), "6")
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)
    old = tbl_pr.find(qn("w:tblBorders"))
    if old is not None:
        tbl_pr.remove(old)
    tbl_pr.append(borders)
    # keep the element order of CT_TblPr: tblStyle, …, tblW, jc, …, tblBorders, …, tblLayout, tblCellMar, tblLook
    order = ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize", "tblW",
             "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook"]
    children = sorted(tbl_pr, key=lambda e: order.index(e.tag.split("}")[1]) if e.tag.split("}")[1] in order else 99)
    for child in children:
        tbl_pr.remove(child)
        tbl_pr.append(child)


def fixed_table(doc, rows: int, widths_cm: list[float]):
    table = doc.add_table(rows=rows, cols=len(widths_cm))
    table.autofit = False  # w:tblLayout type=fixed
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    tbl_pr = table._tbl.tblPr
    tbl_w = tbl_pr.find(qn("w:tblW"))
    if tbl_w is None:
        tbl_w = OxmlElement("w:tblW")
        tbl_pr.append(tbl_w)
    tbl_w.set(qn("w:w"), str(int(sum(widths_cm) / 2.54 * 1440)))
    tbl_w.set(qn("w:type"), "dxa")
    for i, w in enumerate(widths_cm):
        table.columns[i].width = Cm(w)
        for cell in table.columns[i].cells:
            cell.width = Cm(w)  # LibreOffice needs the grid, Word the cells
    table_borders(table)
    return table
