"""Pages with a real text layer (a PDF exported from the DOCX): read without rendering.

pdfium gives the page's text in reading order in ~2 ms (pdfplumber needs ~35 ms a
page for the same characters, which alone would cap the reader near 28 pages/s on
one core; the blank's *positions* still come from pdfplumber, once, in
:mod:`.geometry`). From the text:

* the header values, by the printed labels around each blank (:mod:`.fields`);
* the tick boxes: the printed ☐/☑ glyphs with their circled numerals, in printing
  order, paired with the spec's boxes like the geometry does;
* typed dates: digits around a "年 月 日" line, the k-th line for the k-th stage.

A born-digital page carries no handwriting: nobody signed it. Signers are reported
as absent with full confidence (a page with pictures pasted on it is read as a
scan instead, by the caller).
"""

from __future__ import annotations

import re

from ..errors import Code
from ..forms.model import CIRCLED, FormSpec
from ..pagemark import BOX_EMPTY, BOX_TICKED
from .dates import parse_date
from .geometry import _stages_in_order, pair_boxes, role_text
from .results import PageReading, ReviewItem, ReviewKind, SignerReading, StageReading

_DATE_LINE = re.compile(r"([0-9０-９]{0,4})\s*年\s*([0-9０-９]{0,2})\s*月\s*([0-9０-９]{0,2})\s*日")


def read_boxes(form: FormSpec, text: str) -> list[tuple[str | None, str, int, bool]]:
    """(stage, field, code, ticked) of every printed box, in printing order."""
    flat = "".join(text.split())
    glyphs = [(flat[i] == BOX_TICKED, CIRCLED.index(flat[i + 1])) for i in range(len(flat) - 1)
              if flat[i] in (BOX_EMPTY, BOX_TICKED) and flat[i + 1] in CIRCLED]
    return [(stage, key, code, glyphs[i][0]) for i, (stage, key, code) in pair_boxes(form, [no for _, no in glyphs])]


def read_text_page(form: FormSpec, text: str, header, county_values: dict | None = None) -> PageReading:
    out = PageReading()
    stages = [s for s in _stages_in_order(form) if s is not None]
    for stage in stages:
        st = out.stages.setdefault(stage.key, StageReading())
        for signer in stage.signers:
            st.signers.append(SignerReading.unsigned(role_text(signer.role, county_values or {}), signer.marks, 1.0))
    for stage, key, code, ticked in read_boxes(form, text):
        target = out.codes if stage is None else out.stages.setdefault(stage, StageReading()).codes
        target.setdefault(key, [])
        if ticked:
            target[key].append(code)
    dated = [s for s in stages if s.date]
    for stage, m in zip(dated, _DATE_LINE.finditer(text)):
        st = out.stages[stage.key]
        if not any(m.groups()):
            continue
        typed = m.group(0)
        reading = parse_date(typed, 1.0)
        if reading.value is not None:
            st.date, st.date_confidence = reading.value.isoformat(), reading.confidence
        else:
            st.date, st.date_confidence = None, reading.confidence
            why = Code.READ_DATE_INVALID.format(text=typed, why=reading.invalid or "无法识别")
            out.review.append(ReviewItem(stage.key, ReviewKind.DATE, None, why, typed, reading.confidence))
    out.fields = {k: (v, c, -1) for k, (v, c) in header.parse(text).items() if v}
    return out
