"""A tick box and its numeral are never split across lines.

LibreOffice may break a CJK line between any two characters, "☐" and "⑤" included
(U+2060 WORD JOINER does not stop it); every box is followed by a NO-BREAK SPACE and
then its numeral. Checked in the DOCX built from the specs and in the text layer of the
PDF printed from it by the real LibreOffice, for a blank and a fully ticked form."""

from __future__ import annotations

import re

import pdfplumber
import pytest

from fanpin_forms.pagemark import BOX_EMPTY, BOX_TICKED
from fanpin_forms.render.template import build_template, document_xml
from fanpin_forms.render.template.blocks import JOIN

from .test_readback_common import households, print_forms

ANNEXES = ("annex1", "annex2", "annex3")
BOXES = BOX_EMPTY + BOX_TICKED
NUMERALS = "".join(chr(c) for c in range(0x2460, 0x2474))  # ①…⑳


def _text(xml) -> str:
    """The paragraphs' text of document.xml, one per line, tags kept as printed text."""
    xml = xml.decode() if isinstance(xml, bytes) else xml
    paras = re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.S)
    return "\n".join("".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", p)) for p in paras)


@pytest.mark.parametrize("form_id", ANNEXES)
def test_every_tick_tag_is_joined_to_its_numeral_in_the_docx(app, form_id):
    text = _text(document_xml(build_template(app.form(form_id))))
    ticks = re.findall(r"\{\{ *x_[^}]*\}\}(.?)(.?)", text)
    assert ticks, "no tick boxes found"
    for join, numeral in ticks:
        assert join == JOIN == "\u00a0" and numeral in NUMERALS, (join, numeral)


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ANNEXES)
def test_no_printed_line_ends_with_a_box(app, tmp_path, form_id):
    rows = households(1)
    pdf, _ = print_forms(app, form_id, tmp_path / f"{form_id}.pdf", rows if form_id != "annex1" else None,
                         blanks=1)
    with pdfplumber.open(pdf) as doc:
        assert len(doc.pages) == (2 if form_id != "annex1" else 1)  # one A4 page per form
        lines = [ln.strip() for page in doc.pages for ln in page.extract_text().splitlines()]
    boxed = [ln for ln in lines if any(b in ln for b in BOXES)]
    assert boxed
    for ln in boxed:
        assert ln[-1] not in BOXES, f"a box ends the line {ln!r}: its numeral is on the next"
        assert not re.search(f"[{BOXES}](?![\u00a0 ]?[{NUMERALS}])", ln), ln
