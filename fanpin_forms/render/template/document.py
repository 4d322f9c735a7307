"""The whole template: page set-up, the Normal style and document defaults, fixed
properties, the blocks in spec order, and deterministic bytes."""

from __future__ import annotations

import datetime as dt

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from ...forms.model import FormSpec
from ...office.docxkit import to_bytes
from .. import names as N
from ..layout import BODY_PT, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, paper_cm
from .blocks import (
    add_caption, add_notes, add_signature_block, add_stages_table, add_table_block, add_text_block, add_title,
)
from .style import BODY_FONT, LATIN
from .zipnorm import normalize_zip

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
    return normalize_zip(to_bytes(build_document(form)))
