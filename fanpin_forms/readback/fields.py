"""Pre-filled header values (户主姓名, 身份证号码, address parts …) read back from text.

The spec's layout text says what is printed: ``户主姓名：{head_name:6}　家庭人口：…``.
Each text block becomes one regular expression over the page's text, with the
printed labels as anchors and a group per blank. The same expressions read a text
layer (a PDF exported from the DOCX) and the OCR of the header lines of a scan, so
both paths give the same keys. Text is normalised first (NFKC: full-width colons and
brackets become ASCII, whitespace removed, lines kept), and a label may be broken
across two lines.

Keys are the blank's names: ``head_name``, ``address.township``. Choice fields are
not read here (their tick boxes are), nor county values (they are printed labels).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..forms.model import FormSpec, Ref, split_placeholders
from .. import pagemark as N
from .geometry import PageGeometry, Rect

_WS = re.compile(r"[^\S\n]+")
_TRIM = "_＿-—.。，,:：;；|丨 "


def norm(text: str) -> str:
    """NFKC, whitespace removed, line breaks kept (``\\r\\n`` → ``\\n``)."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _WS.sub("", text)
    return re.sub(r"\n+", "\n", text).strip("\n")


def _lit(text: str) -> str:
    """A printed literal as a pattern that tolerates a line break anywhere in it."""
    chars = [c for c in norm(text) if c != "\n"]
    return "\n?".join(re.escape(c) for c in chars)


@dataclass(frozen=True)
class Slot:
    key: str  # "head_name", "address.township"
    var: str  # the template variable that printed it (f_…)
    label: str  # Chinese label for messages
    sensitive: str | None
    width: int | None = None  # printed width of the blank, in full-width characters


@dataclass(frozen=True)
class _Block:
    pattern: re.Pattern
    slots: tuple[Slot, ...]
    singles: tuple[tuple[re.Pattern, Slot], ...]  # one pattern per slot: the fallback


class HeaderLayout:
    """The header's text blocks as patterns, and where they are printed on the blank."""

    def __init__(self, form: FormSpec, geometry: PageGeometry | None = None, county_values: dict | None = None):
        self.form = form
        self.county_values = county_values or {}
        self.blocks = [b for b in (self._block(t) for t in _text_blocks(form)) if b is not None]
        self.slots = [s for b in self.blocks for s in b.slots]
        self.line_rects: list[Rect] = self._lines(geometry) if geometry is not None else []

    def _block(self, text: str) -> _Block | None:
        widths = N.default_widths(self.form)
        pieces: list[str | Slot | None] = []  # None: a blank that is not read (choice boxes)
        for piece in split_placeholders(text):
            if isinstance(piece, str):
                pieces.append(piece)
                continue
            root = Ref.root_of(piece.names[0])
            if root in ("county", "policy"):
                pieces.append(self.county_values.get(piece.names[0], ""))
                continue
            f = self.form.field(root)
            if f is None or f.type in ("choice", "multi_choice", "table") or len(piece.names) != 1:
                pieces.append(None)
                continue
            part = Ref.part_of(piece.names[0])
            label = f.part_label(part) if part and f.type == "address" else f.label
            var = N.slot_var(piece.names, piece.width, widths.get(piece.names))
            pieces.append(Slot(piece.names[0], var, label, f.sensitive, piece.width))
        # merge adjacent literals
        merged: list[str | Slot | None] = []
        for p in pieces:
            if isinstance(p, str) and merged and isinstance(merged[-1], str):
                merged[-1] += p
            else:
                merged.append(p)
        slots = tuple(p for p in merged if isinstance(p, Slot))
        if not slots:
            return None
        whole, singles = [], []
        for i, p in enumerate(merged):
            if isinstance(p, str):
                whole.append(_lit(p))
            elif p is None:
                whole.append(".*?")
            else:
                before = merged[i - 1] if i > 0 else None
                after = merged[i + 1] if i + 1 < len(merged) else None
                if i == 0:
                    whole.append("(?:^|\n)")
                if after is None:
                    group = "([^\n]*)"
                elif i == 0:
                    group = "([^\n]*?)"
                else:  # (two blanks in a row cannot be told apart: the first takes both)
                    group = "(.*?)"
                whole.append(group)
                b = _lit(before) if isinstance(before, str) and norm(before) else "(?:^|\n)"
                a = _lit(after) if isinstance(after, str) and norm(after) else "(?=\n|$)"
                inner = "(.*?)" if b != "(?:^|\n)" else "([^\n]*?)"
                singles.append((re.compile(b + inner + a, re.S), p))
        return _Block(re.compile("".join(whole), re.S), slots, tuple(singles))

    def _lines(self, geometry: PageGeometry) -> list[Rect]:
        """The blank's text lines that carry the header blocks (these are OCR'd on scans)."""
        lines = list(geometry.lines)
        joined, starts = "", []
        for text, _ in lines:
            starts.append(len(joined))
            joined += norm(text) + "\n"
        picked: set[int] = set()
        for block in self.blocks:
            m = block.pattern.search(joined)
            if not m:
                continue
            lo, hi = m.start(), m.end()
            for i, s in enumerate(starts):
                end = s + len(norm(lines[i][0]))
                if end >= lo and s < hi and end > s:
                    picked.add(i)
        return [lines[i][1] for i in sorted(picked)]

    def parse(self, text: str, line_scores: list[float] | None = None) -> dict[str, tuple[str, float]]:
        """key → (value, confidence) for every blank found in ``text`` (lines joined by "\\n").

        ``line_scores`` (OCR) gives each line's score; a value's confidence is the lowest
        score of the lines it spans. Values are cleaned of underline and stray punctuation."""
        text = norm(text)
        starts = [0]
        for i, c in enumerate(text):
            if c == "\n":
                starts.append(i + 1)

        def score(lo: int, hi: int) -> float:
            if not line_scores:
                return 1.0
            first = max(0, _line_of(starts, lo))
            last = max(first, _line_of(starts, max(lo, hi - 1)))
            got = line_scores[first:last + 1] or [0.0]
            return float(min(got))

        out: dict[str, tuple[str, float]] = {}
        for block in self.blocks:
            m = block.pattern.search(text)
            if m:
                for slot, i in zip(block.slots, range(1, len(block.slots) + 1)):
                    out[slot.key] = (_clean(m.group(i)), score(m.start(i), m.end(i)))
                continue
            for pattern, slot in block.singles:
                sm = pattern.search(text)
                if sm:
                    out[slot.key] = (_clean(sm.group(1)), score(sm.start(1), sm.end(1)) * 0.9)
        return out

    def expected(self, record, county, types, year: int | None, context) -> dict[str, str]:
        """What was printed in each blank for ``record``: ``context`` is the fill command's
        template context function (:attr:`.setup.Printer.context`)."""
        ctx = context(self.form, record, county, year, "S:expected", types=types)
        return {s.key: _clean(norm(str(ctx.get(s.var, "")))) for s in self.slots}


def _line_of(starts: list[int], pos: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _clean(value: str) -> str:
    return value.replace("\n", "").strip(_TRIM)


def _text_blocks(form: FormSpec) -> list[str]:
    return [b.value for b in form.layout if b.kind == "text" and isinstance(b.value, str)]


def same_value(read: str, expected: str) -> bool:
    """Printed and read back alike, ignoring width, spaces and case."""
    a, b = norm(read).replace("\n", ""), norm(expected).replace("\n", "")
    return a.upper() == b.upper()
