"""Page geometry and the widths slots are printed with, shared by the template
builder (line breaking) and the context builder (padding of values).

A spec gives each slot a width in full-width characters (``{id_number:18}``). A
header line of several label–slot pairs (``户主姓名：{head_name:6}　家庭人口：…``)
that would not fit on one printed line gets all its slots narrowed by the same
factor (never below :data:`MIN_FACTOR`), the way the official annexes keep each
header on one line; prose paragraphs (with a first-line indent or a full stop)
simply wrap.
"""

from __future__ import annotations

import unicodedata

from ..forms.model import FormSpec, Ref, split_placeholders
from . import names as N

PAPER_CM = {"A4": (21.0, 29.7), "A3": (29.7, 42.0), "A5": (14.8, 21.0), "B5": (17.6, 25.0),
            "16K": (18.4, 26.0), "LETTER": (21.59, 27.94)}
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = 2.3, 1.5, 2.5, 2.0  # cm
BODY_PT = 12.0
MIN_FACTOR = 0.6
#: printed width of one tick box plus its circled number, in full-width characters
TICK_WIDTH = 1.9  # ☐ (DejaVu Sans, 0.9 em) + ① (1 em)
#: width of a half-width character: Latin letters and digits of the CJK fonts are ~0.55 em
HALF = 0.56


def text_width(text: str) -> float:
    """Width in full-width characters (CJK, circled numbers = 1; Latin, digits ≈ 0.56)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else HALF for ch in text)


def paper_cm(form: FormSpec) -> tuple[float, float]:
    w, h = PAPER_CM.get(str(form.paper).upper(), PAPER_CM["A4"])
    if str(form.orientation).lower() == "landscape":
        w, h = h, w
    return w, h


def text_width_cm(form: FormSpec) -> float:
    return paper_cm(form)[0] - MARGIN_LEFT - MARGIN_RIGHT


def chars_per_line(width_cm: float, pt: float) -> float:
    return width_cm / (pt * 2.54 / 72)


def block_capacity(form: FormSpec, block) -> float:
    size = float(block.options.get("size") or BODY_PT)
    indent = float(block.options.get("indent") or 0)
    return chars_per_line(text_width_cm(form), size) - indent - 0.8


def is_form_line(block) -> bool:
    """A header line of label–slot pairs (not prose): no indent, no full stop."""
    return not block.options.get("indent") and "。" not in block.value


def ticks_width(form: FormSpec, ref: Ref) -> float:
    n = sum(len(form.code_lists[lid].codes) for f in N.choice_fields(form, ref.names) for lid in f.code_lists
            if lid in form.code_lists)
    return n * TICK_WIDTH


def _pieces(form: FormSpec, block) -> tuple[float, list[Ref]]:
    pieces = split_placeholders(block.value)
    refs = [p for p in pieces if isinstance(p, Ref)]
    literal = sum(text_width(p) for p in pieces if isinstance(p, str)) + sum(ticks_width(form, r) for r in refs)
    return literal, refs


def narrowed(width: int, factor: float) -> int:
    """A slot's width after narrowing (never below 2, or below its own width if smaller)."""
    return width if factor >= 1 else max(min(2, width), int(width * factor))


def block_factor(form: FormSpec, block) -> float:
    """How much the slots of a header line are narrowed to keep it on one line.

    1 = not narrowed: the line fits, or it is prose, or even narrowing to
    :data:`MIN_FACTOR` would not make it fit (it is then broken at its 　 instead)."""
    if block.kind != "text" or not is_form_line(block):
        return 1.0
    literal, refs = _pieces(form, block)
    slots = sum(r.width or 0 for r in refs)
    capacity = block_capacity(form, block)
    if not slots or literal + slots <= capacity:
        return 1.0
    factor = min(1.0, (capacity - literal) / slots)
    while factor >= MIN_FACTOR:
        if literal + sum(narrowed(r.width or 0, factor) for r in refs) <= capacity:
            return factor
        factor -= 0.02
    return 1.0


def printed_widths(form: FormSpec) -> dict[str, int]:
    """Context variable (``f_…``) → width in full-width characters it is padded to."""
    defaults = N.default_widths(form)
    out: dict[str, int] = {}
    blocks = [(b, block_factor(form, b)) for b in form.layout if b.kind == "text"]
    for block, factor in blocks:
        for piece in split_placeholders(block.value):
            if isinstance(piece, Ref) and piece.width is not None:
                var = N.slot_var(piece.names, piece.width, defaults.get(piece.names))
                width = narrowed(piece.width, factor)
                out[var] = min(out.get(var, width), width)
    for text in N.printed_texts(form):
        for piece in split_placeholders(text or ""):
            if isinstance(piece, Ref) and piece.width is not None:
                var = N.slot_var(piece.names, piece.width, defaults.get(piece.names))
                out.setdefault(var, piece.width)
    return out
