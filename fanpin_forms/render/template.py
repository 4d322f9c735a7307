"""Build the DOCX template of a form from its spec (python-docx).

The page reproduces the official annex: caption ("附件2") top-left, the title centred,
the ``layout`` blocks in order, then the notes (说明). Slots are underlined runs
holding one plain Jinja tag each (``{{ f_head_name }}``); slots of choice fields are
followed by their codes as tick boxes (``{{ x_sanbaozhang_1 }}①…``). Every page
carries a QR code (an anchored picture in the top margin, alt text ``fanpin-qr``,
whose image the filler replaces) and the same page id in small text
(``{{ ident_text }}``) right under it.

Layout rules that keep a form on ONE A4 page in LibreOffice and Word:

* tables use a fixed layout with ``gridCol`` widths AND every cell's width
  (LibreOffice ignores cell widths alone and splits columns evenly);
* a text line that would not fit is broken at its ideographic spaces (　) rather
  than in the middle of a slot;
* every run names its East Asian font (``w:eastAsia``), which Word and LibreOffice
  use for Chinese; ``run.font.name`` alone only sets the Latin font.

The output is deterministic (fixed zip timestamps and document properties), so
``templates/*.docx`` only change in git when the spec or this builder changes.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Emu, Pt

from ..forms.model import Block, FormSpec, Stage, split_placeholders
from . import names as N
from .layout import (
    BODY_PT, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, block_capacity, block_factor, chars_per_line,
    is_form_line, narrowed, paper_cm, text_width, text_width_cm, ticks_width,
)
from .qr import encode_payload, qr_png

# --- page and type ----------------------------------------------------------------

BODY_FONT = "仿宋"  # FangSong; LibreOffice: Noto Serif CJK SC through fonts.conf
LATIN = BODY_FONT  # digits and Latin letters in the same face, as Chinese official forms print them
TITLE_FONT = "宋体"
CAPTION_FONT = "黑体"
NOTE_PT = 10.5
BODY_LINE_PT = 16.0  # exact line pitch of body text (Noto Serif CJK at 12 pt is ~17.3 pt natural)
NOTE_LINE_PT = 13.0
PROSE_LINE_PT = 22.0  # paragraphs of running text (annex 1)
SIGN_SPACE_PT = 7.0  # room to sign above a signer line
DATE_SPACE_PT = 4.0
DATE_LINE = "年\u3000\u3000月\u3000\u3000日"
TITLE_PT = 18.0
CAPTION_PT = 14.0
IDENT_PT = 7.0
QR_CM = 2.0
QR_TOP_CM = 0.3  # from the top edge of the page, inside the top margin
STAGE_TITLE_CM = 3.0
STAGE_TITLE_CHARS = 6  # characters per line in the stage-title column
COMPACT_STAGES = 5  # from this many stages on, a single signer and the date share a line (annex 3)
YEAR_ROOM_CHARS = 5  # empty room needed before 年 for a handwritten year when they share a line


@dataclass(frozen=True)
class Style:
    size: float = BODY_PT
    east: str = BODY_FONT
    latin: str = LATIN
    bold: bool = False
    underline: bool = False


BODY = Style()
NOTE = Style(size=NOTE_PT)


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


# --- printed text with slots ------------------------------------------------------


def _piece_width(form: FormSpec, piece, factor: float) -> float:
    if isinstance(piece, str):
        return text_width(piece)
    return narrowed(piece.width or 4, factor) + ticks_width(form, piece)


def _break_lines(form: FormSpec, pieces: list, capacity: float, factor: float) -> list:
    """Replace ideographic spaces by line breaks where a line would overflow."""
    segments: list[list] = [[]]
    for piece in pieces:
        if isinstance(piece, str) and "\u3000" in piece:
            parts = piece.split("\u3000")
            for i, part in enumerate(parts):
                if i:
                    segments.append([])
                if part:
                    segments[-1].append(part)
        else:
            segments[-1].append(piece)
    if len(segments) == 1:
        return pieces
    out: list = []
    used = 0.0
    for i, seg in enumerate(segments):
        w = sum(_piece_width(form, p, factor) for p in seg)
        if i:
            if used + 1 + w > capacity:
                out.append("\n")
                used = 0.0
            else:
                out.append("\u3000")
                used += 1
        out.extend(seg)
        used += w
    return out


def add_printed(par, form: FormSpec, text: str, style: Style = BODY, *, capacity: float | None = None,
                factor: float = 1.0) -> bool:
    """``text`` with its ``{slots}`` as runs: literal text, underlined tags, tick boxes.

    With ``capacity`` (characters per line), a line that would overflow is broken at
    its ideographic spaces; returns True if it was."""
    widths = N.default_widths(form)
    pieces = split_placeholders(text or "")
    broken = False
    if capacity:
        pieces = _break_lines(form, pieces, capacity, factor)
        broken = "\n" in pieces
    for piece in pieces:
        if isinstance(piece, str):
            if piece == "\n":
                par.add_run().add_break()
                continue
            add_run(par, piece, style)
            continue
        var = N.blank_var(piece.names, piece.width, widths.get(piece.names))
        add_run(par, tag(var), style, underline=piece.width is not None)
        for f in N.choice_fields(form, piece.names):
            for lid in f.code_lists:
                cl = form.code_lists.get(lid)
                for code in cl.codes if cl else ():
                    add_run(par, tag(N.tick_var(f.key, code.no)), style, latin=N.BOX_FONT, east=N.BOX_FONT)
                    add_run(par, code.mark, style)
                    if code.needs_reason and f.params.get("reason_field"):
                        # after the box, not in the slot: a long reason must not move the boxes
                        add_run(par, tag(N.reason_var(f.key, code.no)), style)
    return broken


# --- QR placeholder -------------------------------------------------------------------

_ANCHOR = (
    '<wp:anchor {ns} distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="251659264" '
    'behindDoc="0" locked="1" layoutInCell="1" allowOverlap="1">'
    '<wp:simplePos x="0" y="0"/>'
    '<wp:positionH relativeFrom="margin"><wp:align>right</wp:align></wp:positionH>'
    '<wp:positionV relativeFrom="page"><wp:posOffset>{top}</wp:posOffset></wp:positionV>'
    '<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
    '</wp:anchor>'
)


def add_qr_placeholder(par, form: FormSpec) -> None:
    """An anchored QR picture at the top right of the page (in the top margin)."""
    png = qr_png(encode_payload(form.id, form.version, "S:TEMPLATE", 1, 1))
    run = par.add_run()
    run.add_picture(io.BytesIO(png), width=Cm(QR_CM), height=Cm(QR_CM))
    inline = run._element.find(".//" + qn("wp:inline"))
    size = Emu(Cm(QR_CM))
    anchor = parse_xml(_ANCHOR.format(ns=nsdecls("wp"), top=int(Emu(Cm(QR_TOP_CM))), cx=int(size), cy=int(size)))
    for child in list(inline):
        if child.tag in (qn("wp:extent"), qn("wp:effectExtent")):
            continue
        anchor.append(child)  # docPr, cNvGraphicFramePr, graphic (in schema order)
    docpr = anchor.find(qn("wp:docPr"))
    docpr.set("name", N.QR_DESCR)
    docpr.set("descr", N.QR_DESCR)
    inline.getparent().replace(inline, anchor)


# --- blocks ---------------------------------------------------------------------


def add_caption(doc, form: FormSpec) -> None:
    par = doc.add_paragraph()
    paragraph_format(par, size=CAPTION_PT)
    par.paragraph_format.tab_stops.add_tab_stop(Cm(text_width_cm(form)), WD_TAB_ALIGNMENT.RIGHT)
    if form.annex:
        add_run(par, form.annex, Style(size=CAPTION_PT, east=CAPTION_FONT))
    add_qr_placeholder(par, form)
    add_run(par, "\t", Style(size=IDENT_PT, east=CAPTION_FONT, latin=CAPTION_FONT))
    add_run(par, tag(N.IDENT_VAR), Style(size=IDENT_PT, east=CAPTION_FONT, latin=CAPTION_FONT))


def add_title(doc, form: FormSpec) -> None:
    par = doc.add_paragraph()
    paragraph_format(par, align=WD_ALIGN_PARAGRAPH.CENTER, before=2, after=10, size=TITLE_PT)
    add_run(par, form.title, Style(size=TITLE_PT, east=TITLE_FONT, bold=True))


def add_text_block(doc, form: FormSpec, block: Block) -> None:
    opts = block.options
    size = float(opts.get("size") or BODY_PT)
    style = Style(size=size, bold=bool(opts.get("bold")))
    indent = float(opts.get("indent") or 0)
    align = {"center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT,
             "left": WD_ALIGN_PARAGRAPH.LEFT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}.get(str(opts.get("align", "")).lower())
    form_line = is_form_line(block)
    par = doc.add_paragraph()
    paragraph_format(par, align=align if align is not None else (WD_ALIGN_PARAGRAPH.LEFT if form_line else
                                                                  WD_ALIGN_PARAGRAPH.JUSTIFY),
                     first_chars=indent, before=float(opts.get("space_before") or 0), after=3 if form_line else 0,
                     size=size, line=(BODY_LINE_PT if form_line else PROSE_LINE_PT) * size / BODY_PT)
    add_printed(par, form, block.value, style, capacity=block_capacity(form, block) if form_line else None,
                factor=block_factor(form, block))


def _split_title(title: str) -> list[str]:
    """Stage titles in the narrow column: break after "）" or in the middle, like the annexes."""
    if len(title) <= 4 or (len(title) <= STAGE_TITLE_CHARS and "）" not in title[:-1]):
        return [title]
    at = title.find("）") + 1
    if 0 < at < len(title) and at <= STAGE_TITLE_CHARS and len(title) - at <= STAGE_TITLE_CHARS:
        return [title[:at], title[at:]]
    half = (len(title) + 1) // 2
    return [title[:half], title[half:]]


def _table_borders(table) -> None:
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


def _fixed_table(doc, rows: int, widths_cm: list[float]):
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
    _table_borders(table)
    return table


def _printed_width(form: FormSpec, text: str) -> float:
    return sum(_piece_width(form, p, 1.0) for p in split_placeholders(text or ""))


def add_stage_content(cell_or_doc, form: FormSpec, stage: Stage, *, width_cm: float, in_table: bool,
                      compact: bool = False) -> None:
    """A stage's statement, its signers and the 年 月 日 line (dates are signed by hand).

    ``compact``: a single signer shares its line with the date, right-aligned by a tab
    (as annex 3 of the notice prints its five stages)."""
    first = in_table
    line = BODY_LINE_PT
    capacity = chars_per_line(width_cm - 0.4, BODY_PT)

    def new_paragraph():
        nonlocal first
        par = cell_or_doc.paragraphs[0] if first else cell_or_doc.add_paragraph()
        first = False
        return par

    if stage.text:
        par = new_paragraph()
        paragraph_format(par, align=WD_ALIGN_PARAGRAPH.JUSTIFY, first_chars=2, before=3, line=line)
        add_printed(par, form, stage.text, BODY)
    if not in_table:
        for signer in stage.signers:
            par = new_paragraph()
            paragraph_format(par, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=6, before=24, line=line)
            add_printed(par, form, signer.printed, BODY)
        if stage.date:
            par = new_paragraph()
            paragraph_format(par, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=2, before=14, line=line)
            add_run(par, DATE_LINE, BODY)
        return
    same_line = (compact and stage.date and len(stage.signers) == 1 and "盖章" not in stage.signers[0].marks
                 and capacity - 2 - _printed_width(form, stage.signers[0].printed) - len(DATE_LINE) >= YEAR_ROOM_CHARS)
    base_indent = max(0.0, min(11.0, capacity - 22))
    for signer in stage.signers:
        par = new_paragraph()
        stamp = "盖章" in signer.marks
        width = _printed_width(form, signer.printed)
        indent = 2.0 if same_line else base_indent + (2 if stamp else 0)
        indent = max(0.0, min(indent, capacity - width - 1))
        paragraph_format(par, left_chars=indent, before=SIGN_SPACE_PT + (8 if stamp else 0),
                         after=3 if same_line or not stage.date else 0, line=line)
        add_printed(par, form, signer.printed, BODY)
        if same_line:
            tab_at = Cm(width_cm - 0.4) - Pt(BODY_PT * 1)
            par.paragraph_format.tab_stops.add_tab_stop(tab_at, WD_TAB_ALIGNMENT.RIGHT)
            add_run(par, "\t" + DATE_LINE, BODY)
    if stage.date and not same_line:
        par = new_paragraph()
        paragraph_format(par, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=1, before=DATE_SPACE_PT, after=3, line=line)
        add_run(par, DATE_LINE, BODY)


def add_stages_table(doc, form: FormSpec, stages: list[Stage]) -> None:
    total = text_width_cm(form)
    widths = [STAGE_TITLE_CM, round(total - STAGE_TITLE_CM, 2)]
    table = _fixed_table(doc, len(stages), widths)
    for row, stage in zip(table.rows, stages):
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        row.height = Cm(2.0)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        left, right = row.cells
        left.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        par = left.paragraphs[0]
        paragraph_format(par, align=WD_ALIGN_PARAGRAPH.CENTER, line=BODY_LINE_PT)
        for i, line in enumerate(_split_title(stage.title)):
            if i:
                par.add_run().add_break()
            add_run(par, line, BODY)
        add_stage_content(right, form, stage, width_cm=widths[1], in_table=True, compact=len(stages) >= COMPACT_STAGES)


def add_signature_block(doc, form: FormSpec, block: Block) -> None:
    for stage in N.stages_of(form, block):
        add_stage_content(doc, form, stage, width_cm=text_width_cm(form), in_table=False)


def add_table_block(doc, form: FormSpec, block: Block) -> None:
    """A repeating table field: header row of column labels, one templated row in a loop."""
    f = form.field(block.value)
    cols = list(f.columns) if f else []
    if not cols:
        return
    total = text_width_cm(form)
    widths = [round(total / len(cols), 2)] * len(cols)
    table = _fixed_table(doc, 4, widths)
    header, loop_start, body, loop_end = table.rows
    for cell, col in zip(header.cells, cols):
        par = cell.paragraphs[0]
        paragraph_format(par, align=WD_ALIGN_PARAGRAPH.CENTER)
        add_run(par, col.label, Style(bold=True))
    var = N.table_var(f.key)
    for row, text in ((loop_start, "{%tr for row in " + var + " %}"), (loop_end, "{%tr endfor %}")):
        par = row.cells[0].paragraphs[0]
        add_run(par, text, BODY)
    body.height = Cm(0.8)
    body.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    for cell, col in zip(body.cells, cols):
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        par = cell.paragraphs[0]
        paragraph_format(par, align=WD_ALIGN_PARAGRAPH.CENTER)
        add_run(par, tag("row." + N.column_var(col.key)), BODY)
    doc.add_paragraph()


def _note_items(form: FormSpec) -> list[tuple[str, list[str], bool]]:
    """(numbered text, unnumbered lines, one code per line?) for each note."""
    items: list[tuple[str, list[str], bool]] = []
    if form.copies:
        items.append((form.copies, [], False))
    for note in form.notes:
        if isinstance(note, tuple) and note[0] == "codes":
            cl = form.code_lists.get(note[1])
            if cl is None:
                continue
            texts = [code.mark + (code.text or code.name) for code in cl.codes]
            one_per_line = any(len(code.text or code.name) > 8 for code in cl.codes)
            items.append((cl.title, texts, one_per_line))
        else:
            items.append((str(note), [], False))
    return items


def add_notes(doc, form: FormSpec) -> None:
    """说明：1.… 2.… with code lists as in the annexes (long codes one per line)."""
    items = _note_items(form)
    if not items:
        return
    lead = "说明："
    hang = text_width(lead)
    for i, (text, codes, one_per_line) in enumerate(items, start=1):
        par = doc.add_paragraph()
        paragraph_format(par, left_chars=hang, first_chars=-hang if i == 1 else 0, before=6 if i == 1 else 0,
                         size=NOTE_PT, line=NOTE_LINE_PT)
        if i == 1:
            add_run(par, lead, NOTE)
        add_printed(par, form, f"{i}.{text}", NOTE)
        lines = codes if one_per_line else (["；".join(codes)] if codes else [])
        for j, code_line in enumerate(lines):
            par = doc.add_paragraph()
            paragraph_format(par, left_chars=hang, size=NOTE_PT, line=NOTE_LINE_PT)
            add_printed(par, form, code_line + ("。" if j == len(lines) - 1 else "；"), NOTE)


# --- document -------------------------------------------------------------------------


def _setup_page(doc, form: FormSpec) -> None:
    section = doc.sections[0]
    w, h = paper_cm(form)
    section.orientation = WD_ORIENT.LANDSCAPE if w > h else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(w), Cm(h)
    section.top_margin, section.bottom_margin = Cm(MARGIN_TOP), Cm(MARGIN_BOTTOM)
    section.left_margin, section.right_margin = Cm(MARGIN_LEFT), Cm(MARGIN_RIGHT)
    section.header_distance, section.footer_distance = Cm(1.0), Cm(1.0)
    # no document grid: Chinese Word templates snap lines to a grid, which changes line heights
    sect = section._sectPr
    grid = sect.find(qn("w:docGrid"))
    if grid is not None:
        sect.remove(grid)


def _setup_styles(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = LATIN
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.rFonts if rpr.rFonts is not None else rpr._add_rFonts()
    for attr, value in (("w:ascii", LATIN), ("w:hAnsi", LATIN), ("w:eastAsia", BODY_FONT), ("w:cs", LATIN)):
        fonts.set(qn(attr), value)
    pf = normal.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.line_spacing = 1.0
    # document language: Chinese line breaking rules (no 。at a line start)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    # docDefaults too: table cells and runs without a style inherit them
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
        if rpr_default is not None:
            f = rpr_default.find(qn("w:rFonts"))
            if f is not None:
                for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                    f.attrib.pop(qn(attr), None)
                f.set(qn("w:ascii"), LATIN)
                f.set(qn("w:hAnsi"), LATIN)
                f.set(qn("w:eastAsia"), BODY_FONT)
                f.set(qn("w:cs"), LATIN)


FIXED_TIME = dt.datetime(2022, 5, 17, 0, 0, 0)


def _set_properties(doc, form: FormSpec) -> None:
    props = doc.core_properties
    props.title = form.title
    props.subject = f"{form.annex} {form.title}".strip()
    props.author = "fanpin-forms"
    props.last_modified_by = "fanpin-forms"
    props.keywords = f"fanpin-forms {form.id} {form.version}"
    props.comments = "由 fanpin templates build 生成；可在 Word 中修改，但请保留双花括号标记和右上角的二维码图片。"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.revision = 1


def build_document(form: FormSpec):
    """The python-docx Document of ``form``'s template."""
    doc = Document()
    _setup_styles(doc)
    _setup_page(doc, form)
    body = doc.element.body
    for p in list(body.iterchildren(qn("w:p"))):
        body.remove(p)
    add_caption(doc, form)
    add_title(doc, form)
    for block in form.layout:
        if block.kind == "text":
            add_text_block(doc, form, block)
        elif block.kind == "stages":
            add_stages_table(doc, form, N.stages_of(form, block))
        elif block.kind == "signature":
            add_signature_block(doc, form, block)
        elif block.kind == "table":
            add_table_block(doc, form, block)
    add_notes(doc, form)
    _set_properties(doc, form)
    return doc


def build_template(form: FormSpec) -> bytes:
    """The DOCX template of ``form`` (deterministic bytes)."""
    buf = io.BytesIO()
    build_document(form).save(buf)
    return normalize_zip(buf.getvalue())


def normalize_zip(data: bytes) -> bytes:
    """Rewrite a DOCX with fixed timestamps and a fixed entry order ([Content_Types].xml first)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    names = src.namelist()
    names.sort(key=lambda n: (n != "[Content_Types].xml", n != "_rels/.rels", n))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name.endswith((".png", ".jpeg", ".jpg")) else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(name))
    return out.getvalue()


def document_xml(docx: bytes) -> str:
    """``word/document.xml`` of a DOCX, as text (what the drift test compares)."""
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return z.read("word/document.xml").decode("utf-8")


__all__ = ["build_document", "build_template", "document_xml", "normalize_zip"]
