"""The printed parts of a form, from its spec: text with slots (underlined tags and
tick boxes), the caption with the QR placeholder, the title, text blocks, the stages
table, signature blocks, table fields and the notes (说明).

A text line that would not fit is broken at its ideographic spaces (　) rather than
in the middle of a slot."""

from __future__ import annotations

import io
import math

from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Emu, Pt

from ...forms.model import Block, FormSpec, Stage, split_placeholders
from .. import names as N
from ..layout import (
    BODY_PT, block_capacity, block_factor, chars_per_line, is_form_line, narrowed, text_width, text_width_cm,
    ticks_width,
)
from ...pagemark import encode_payload
from ..qr import qr_png
from .ooxml import add_run, fixed_table, paragraph_format, tag
from .style import (
    BODY, BODY_LINE_PT, CAPTION_FONT, CAPTION_PT, COMPACT_STAGES, DATE_LINE, DATE_SPACE_PT, IDENT_PT, NOTE,
    NOTE_LINE_PT, NOTE_PT, PROSE_LINE_PT, QR_CM, QR_TOP_CM, SIGN_SPACE_PT, STAGE_TITLE_CHARS, STAGE_TITLE_CM,
    SIGN_ROOM_MM, TITLE_FONT, TITLE_PT, YEAR_ROOM_CHARS, Style,
)

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


#: NO-BREAK SPACE between a tick box and its numeral: LibreOffice breaks a line between
#: "☐" and "⑤" (both break-anywhere in CJK text) and ignores U+2060 WORD JOINER; a
#: no-break space (UAX #14 class GL) holds them together (a 1 pt one did not, nor did U+202F in a table cell).
JOIN = "\u00a0"


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
        var = N.slot_var(piece.names, piece.width, widths.get(piece.names))
        add_run(par, tag(var), style, underline=piece.width is not None)
        for f in N.choice_fields(form, piece.names):
            for lid in f.code_lists:
                cl = form.code_lists.get(lid)
                for code in cl.codes if cl else ():
                    add_run(par, tag(N.tick_var(f.key, code.no)), style, latin=N.BOX_FONT, east=N.BOX_FONT)
                    add_run(par, JOIN + code.mark, style)
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
    # a signature needs SIGN_ROOM_MM of free line: the date shares the signer's line only if the
    # signature and a handwritten year both fit before 年, else it gets its own line
    sign_room = math.ceil(SIGN_ROOM_MM / (BODY_PT * 25.4 / 72))
    same_line = (compact and stage.date and len(stage.signers) == 1 and "盖章" not in stage.signers[0].marks
                 and capacity - 2 - _printed_width(form, stage.signers[0].printed) - len(DATE_LINE)
                 >= YEAR_ROOM_CHARS + sign_room)
    base_indent = max(0.0, min(11.0, capacity - 22))
    for signer in stage.signers:
        par = new_paragraph()
        stamp = "盖章" in signer.marks
        width = _printed_width(form, signer.printed)
        indent = 2.0 if same_line else base_indent + (2 if stamp else 0)
        indent = max(0.0, min(indent, capacity - width - sign_room))
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
    table = fixed_table(doc, len(stages), widths)
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


#: height of every row of a repeating table (pre-filled or blank, for hand-writing), in cm
TABLE_ROW_CM = 1.1


def _column_weight(col) -> float:
    """How wide a column's values are, in characters: an ID number's 18 half-width digits
    fit on one line; other columns get their label's width or max_length, whichever is wider."""
    if col.type == "id_number":
        return 13.0
    if col.type in ("integer", "money"):
        return max(3.0, min(text_width(col.label), 4.0)) + 1.0
    value = float(min(int(col.params.get("max_length") or 4), 6))
    return max(value, min(text_width(col.label), 6.0)) + 1.0


def table_column_widths(form: FormSpec, cols) -> list[float]:
    """The columns' widths in cm, sharing the text width by :func:`_column_weight`."""
    total = text_width_cm(form)
    weights = [_column_weight(c) for c in cols]
    return [round(total * w / sum(weights), 2) for w in weights]


def add_table_block(doc, form: FormSpec, block: Block) -> None:
    """A repeating table field: header row of column labels, one templated row in a loop."""
    f = form.field(block.value)
    cols = list(f.columns) if f else []
    if not cols:
        return
    widths = table_column_widths(form, cols)
    table = fixed_table(doc, 4, widths)
    header, loop_start, body, loop_end = table.rows
    for cell, col in zip(header.cells, cols):
        par = cell.paragraphs[0]
        paragraph_format(par, align=WD_ALIGN_PARAGRAPH.CENTER)
        add_run(par, col.label, Style(bold=True))
    var = N.table_var(f.key)
    for row, text in ((loop_start, "{%tr for row in " + var + " %}"), (loop_end, "{%tr endfor %}")):
        par = row.cells[0].paragraphs[0]
        add_run(par, text, BODY)
    body.height = Cm(TABLE_ROW_CM)  # one fixed height: room to write by hand, rows where read-back expects them
    body.height_rule = WD_ROW_HEIGHT_RULE.EXACTLY
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
