"""Pre-filled (or handwritten) header values on a scan: OCR of crops, not of the page.

Each value is read alone, in the room between its printed labels (a short crop is
read in ~25 ms); the labels are found where they really are first, because a value a
little wider or narrower than its blank moves the labels after it. A line whose labels
cannot be found (a long value pushed them far along) is read whole and split by the
labels with the header patterns (:mod:`.fields`).
"""

from __future__ import annotations

from . import marks, ocr
from .align import local_shift
from .fields import _clean
from .geometry import PageGeometry, Rect
from .images import png
from .locate import Shifts
from .reference import Reference
from .results import HeaderReading

from .thresholds import BELOW_LINE, LABEL_END, LINE_PAD, PRINTED_MIN  # noqa: F401


def read_header(ref: Reference, geo: PageGeometry, raster, ink: marks.PageInk, shifts: Shifts,
                crops: bool) -> HeaderReading:
    """Header values. Each value is OCR'd alone, in the room between its labels; a line
    where a value runs into a label (a long name pushed the labels along) is OCR'd whole
    and split by the labels instead."""
    header = ref.header
    if not header.slots or not header.line_rects:
        return HeaderReading()
    regions = ref.slot_regions
    left = min(r.x0 for _, r in geo.lines) - 4
    right = max(r.x1 for _, r in geo.lines) + 4
    slots_on: dict[int, list] = {}
    for slot in header.slots:
        li = regions[slot.key][0] if slot.key in regions else -1
        slots_on.setdefault(li, []).append(slot)
    whole_lines = set(range(len(header.line_rects))) if -1 in slots_on else set()
    values: dict[str, tuple[str, float, int]] = {}
    crops_of: list[bytes | None] = []
    unread: dict[str, int] = {}  # where a value was looked for and not found: its crop, for review
    for li, rect in enumerate(header.line_rects):
        if li in whole_lines:
            continue
        line_slots = slots_on.get(li, [])
        if not line_slots:
            continue
        shift = (0, shifts.of(rect)[1])
        placed = _place_slots(raster, ink, rect, [regions[s.key] for s in line_slots], left, right, shift)
        if placed is None:
            whole_lines.add(li)  # a long value pushed the labels far along: read the line whole
            continue
        for slot, (x0, x1) in zip(line_slots, placed):
            box = raster.px(Rect(x0, rect.top - LINE_PAD, x1, rect.bottom + BELOW_LINE))
            img = ink.image(box, shift)
            crops_of.append(png(img) if crops else None)
            if marks.written(ink, box, shift=shift) < PRINTED_MIN:
                unread[slot.key] = len(crops_of) - 1  # nothing printed or written in this blank
                continue
            value, score = _trimmed(ocr.read_line(img))
            if value:
                values[slot.key] = (value, round(score, 3), len(crops_of) - 1)
            else:
                unread[slot.key] = len(crops_of) - 1
    if whole_lines:
        texts, scores, line_idx = [], [], {}
        for li, rect in enumerate(header.line_rects):
            shift = (0, shifts.of(rect)[1])
            box = raster.px(Rect(left, rect.top - LINE_PAD, right, rect.bottom + BELOW_LINE))
            if li not in whole_lines:
                texts.append(_blank_line(geo, rect))  # labels only: nothing to read
                scores.append(1.0)
                continue
            img = ink.image(box, shift)
            if marks.written(ink, box, shift=shift) < marks.WRITTEN_MIN:
                texts.append(_blank_line(geo, rect))  # labels only: nothing to read
                scores.append(1.0)
                crops_of.append(png(img) if crops else None)
                line_idx[li] = len(crops_of) - 1
                continue
            line = ocr.read_line(img)
            texts.append(line.text)
            scores.append(line.score)
            crops_of.append(png(img) if crops else None)
            line_idx[li] = len(crops_of) - 1
        spans = _line_spans(header, texts)
        for key, (value, conf) in header.parse("\n".join(texts), scores).items():
            li = spans.get(key, -1)
            if value and li in whole_lines:
                values[key] = (value, round(conf, 3), line_idx.get(li, -1))
        for slot in header.slots:  # a value not read: the crop of its line, else of the first line read
            li = regions[slot.key][0] if slot.key in regions else -1
            if slot.key not in values and slot.key not in unread and line_idx:
                unread[slot.key] = line_idx.get(li, next(iter(line_idx.values())))
    return HeaderReading(values, crops_of, unread)


def _place_slots(raster, ink: marks.PageInk, rect: Rect, regions, left: float, right: float, shift
                 ) -> list[tuple[float, float]] | None:
    """Where each value region of a header line is on the scan (points, same order as
    ``regions``), following its labels: a value a little wider or narrower than its blank
    moves the labels after it along the line. Only the ends of a label next to a value
    are matched (a long stretch between two values may hold other printed values, such
    as annex 1's ticked boxes). None if a label cannot be found."""
    order = sorted(range(len(regions)), key=lambda i: regions[i][1])
    spans = [(regions[i][1], regions[i][2]) for i in order]
    edges = [left] + [v for x0, x1 in spans for v in (x0, x1)] + [right]
    search = int(raster.scale * 14)

    def move(g0: float, g1: float) -> float | None | bool:
        box = raster.px(Rect(g0, rect.top, g1, rect.bottom - 1))
        if box[2] - box[0] < 4 or raster.gray[box[1]:box[3], box[0]:box[2]].std() < 8:
            return None  # no printed label there (a margin)
        dx, _, score = local_shift(ink.gray, raster.gray, box, search, 0, offset=(0, shift[1]))
        return False if score < 0.6 else dx / raster.scale

    heads: list[float | None] = []  # the start of the label after each value: where the value ends
    tails: list[float | None] = []  # the end of the label before each value: where it starts
    for k in range(0, len(edges), 2):
        g0, g1 = edges[k] + 1, edges[k + 1] - 1
        if g1 - g0 < 5:
            heads.append(None)
            tails.append(None)
            continue
        head = move(g0, min(g1, g0 + LABEL_END))
        tail = head if g1 - g0 <= 2 * LABEL_END else move(max(g0, g1 - LABEL_END), g1)
        if head is False or tail is False:
            return None
        heads.append(head)
        tails.append(tail)
    placed: list[tuple[float, float]] = [(0.0, 0.0)] * len(regions)
    for j, i in enumerate(order):
        x0, x1 = spans[j]
        before, after = tails[j], heads[j + 1]
        before = before if before is not None else (after or 0.0)
        after = after if after is not None else before
        placed[i] = (x0 + before, x1 + after)
    return placed


#: what OCR makes of the ends of neighbouring labels, the underline's ends and box glyphs
_EDGE_JUNK = set("_＿-—–.。，,:：;；|丨/、'\"“”‘’()（）[]【】☐☑□■·•~`")


def _trimmed(line: ocr.Line) -> tuple[str, float]:
    """A value OCR'd between its labels, without stray marks at its ends; its score is
    that of the characters kept (a stray "、" read at 0.3 says nothing about 岳阳)."""
    text, chars = line.text, list(line.chars) or [line.score] * len(line.text)
    i, j = 0, len(text)
    while i < j and (text[i] in _EDGE_JUNK or text[i].isspace()):
        i += 1
    while j > i and (text[j - 1] in _EDGE_JUNK or text[j - 1].isspace()):
        j -= 1
    kept = [c for ch, c in zip(text[i:j], chars[i:j]) if not ch.isspace()]
    value = _clean(text[i:j])
    if not value:
        return "", 0.0
    return value, (sum(kept) / len(kept) if kept else line.score)


def _blank_line(geo: PageGeometry, rect: Rect) -> str:
    for text, r in geo.lines:
        if abs(r.top - rect.top) < 1 and abs(r.x0 - rect.x0) < 1:
            return text
    return ""


def _line_spans(header, texts: list[str]) -> dict[str, int]:
    """Which OCR'd line each value was found on (for its review crop)."""
    from .fields import norm

    out: dict[str, int] = {}
    values = header.parse("\n".join(texts))
    for key, (value, _) in values.items():
        if not value:
            continue
        for i, t in enumerate(texts):
            if norm(value) and norm(value)[:4] in norm(t):
                out[key] = i
                break
    return out
