"""Where the printed parts of the form really are on an aligned scan.

The global alignment (:mod:`.align`) puts the blank over the scan to a pixel or two.
What it cannot fix is a page whose lines do not sit where the blank has them: a form
printed from a template of the same version whose line pitch was later tuned, a
pre-filled value a little wider than its blank pushing the labels after it along.
So each part that is read is found again, locally:

* :class:`Shifts`: a signer's label, a date line, a header line — matched against the
  blank within a few points (memoised per page);
* :func:`locate_boxes`: the tick boxes of each stage, found by their outline (inside
  masked out, so ticked and filled boxes are found too) and paired in reading order
  with the spec's boxes when the count agrees; runs are completed across boxes the
  outline match missed.
"""

from __future__ import annotations

import numpy as np

from . import marks
from .align import find_boxes, local_shift
from .geometry import PageGeometry, Rect

from .thresholds import LOCAL_MIN_SCORE, LOCAL_SEARCH, LOCAL_SEARCH_Y, WEAK_BOX  # noqa: F401


class Shifts:
    """Local shifts, one per anchor (a row of boxes, a signer's label, a date line),
    memoised: where that printed part of the blank really is on the aligned scan."""

    def __init__(self, ink: marks.PageInk, raster):
        self.ink, self.raster = ink, raster
        self.search_x = int(raster.scale * LOCAL_SEARCH)
        self.search_y = int(raster.scale * LOCAL_SEARCH_Y)
        self._memo: dict[tuple, tuple[int, int]] = {}

    def of(self, anchor: Rect) -> tuple[int, int]:
        box = self.raster.px(anchor.grow(2))
        cached = self._memo.get(box)
        if cached is None:
            dx, dy, score = local_shift(self.ink.gray, self.raster.gray, box, self.search_x, self.search_y)
            cached = (dx, dy) if score >= LOCAL_MIN_SCORE else (0, 0)
            self._memo[box] = cached
        return cached


def locate_boxes(geo: PageGeometry, raster, ink: marks.PageInk) -> dict[int, tuple[int, int]]:
    """box index → (dx, dy): where each tick box really is on the scan.

    A pre-filled form does not wrap like the blank (the printed "④" in the blank before
    the boxes moves them along the line, even onto the next one), so the boxes are
    looked for: every printed square in the stage's text, in reading order, paired
    with the spec's boxes of that stage when the count agrees. Boxes not found this
    way are left out (the caller falls back to the blank's positions and lowers the
    confidence)."""
    out: dict[int, tuple[int, int]] = {}
    by_stage: dict[str | None, list[int]] = {}
    for i, b in enumerate(geo.boxes):
        by_stage.setdefault(b.stage, []).append(i)
    pad = max(2, round(raster.scale))
    ring = pad + max(2, round(raster.scale * 0.8))
    for stage, idxs in by_stage.items():
        squares = [raster.boxes.get(i) or raster.px(geo.boxes[i].rect) for i in idxs]
        sx0, sy0, sx1, sy1 = squares[0]
        template = raster.gray[max(0, sy0 - pad):sy1 + pad, max(0, sx0 - pad):sx1 + pad]
        rects = [geo.boxes[i].rect for i in idxs]
        # printed values before the boxes only push them along the line or down (never up)
        bottom = max(r.bottom for r in rects) + 40
        labels = [s.label.top for s in geo.signs if s.stage == stage and s.label.top > max(r.bottom for r in rects)]
        if labels:
            bottom = min(bottom, min(labels) - 1)
        # boxes may wrap to the start of a line of the stage's text cell
        first_x = min(r.x0 for r in rects)
        band = [r for _, r in geo.lines if min(q.top for q in rects) - 2 <= r.top <= bottom and r.x1 > first_x]
        left = min([first_x] + [r.x0 for r in band]) - 4
        region = raster.px(Rect(left, min(r.top for r in rects) - 4, max(r.x1 for r in rects) + 60, bottom))
        found = [(x + pad, y + pad, sc) for x, y, sc in find_boxes(ink.gray, template, ring, region, WEAK_BOX)]
        strong = found
        if found:  # real boxes match far better than look-alikes (口, circled numerals): relative cut
            best = sorted((f[2] for f in found), reverse=True)[:len(idxs)]
            cut = max(0.45, 0.75 * float(np.median(best)))
            strong = [f for f in found if f[2] >= cut]
        side = max(sx1 - sx0, sy1 - sy0)
        pitch = _pitch(squares)
        cands = _arrange(strong, found, side, pitch, len(idxs))
        if len(cands) != len(idxs):
            continue
        for i, sq, (x, y, _) in zip(idxs, squares, cands):
            out[i] = (x - sq[0], y - sq[1])
    return out


def _pitch(squares: list[tuple[int, int, int, int]]) -> float:
    steps = [b[0] - a[0] for a, b in zip(squares, squares[1:]) if abs(b[1] - a[1]) < 3 and b[0] > a[0]]
    return float(np.median(steps)) if steps else float(squares[0][2] - squares[0][0]) * 2.2


def _arrange(strong, weak, side: int, pitch: float, want: int) -> list[tuple[int, int, float]]:
    """The boxes in reading order, from outline matches: ``strong`` (clear matches) and
    ``weak`` (every match, for boxes filled in or scribbled over, which match worse).

    Boxes stand in runs, one pitch apart on a line. A gap of two or three pitches inside
    a run holds boxes; a clear match alone on its line (a 口 in the text, or a box that
    wrapped alone) is dropped, weakest first, while there are more candidates than boxes;
    a run may continue by a pitch at either end where a weaker match stands."""
    tol = max(2, side // 3)
    rows: list[list[list]] = []
    for c in sorted(strong, key=lambda c: c[1]):
        if rows and abs(rows[-1][0][1] - c[1]) <= tol:
            rows[-1].append(list(c))
        else:
            rows.append([list(c)])

    def weak_at(x: float, y: float):
        near = [w for w in weak if abs(w[0] - x) <= 0.15 * pitch and abs(w[1] - y) <= tol]
        return max(near, key=lambda w: w[2]) if near else None

    runs, lone = [], []
    for row in rows:
        row.sort(key=lambda c: c[0])
        members = [c for k, c in enumerate(row)
                   if any(abs(abs(o[0] - c[0]) - pitch) <= 0.2 * pitch for j, o in enumerate(row) if j != k)]
        lone += [c for c in row if c not in members]
        if not members:
            continue
        filled = [members[0]]
        for b in members[1:]:
            a = filled[-1]
            k = round((b[0] - a[0]) / pitch)
            if 2 <= k <= 3 and abs((b[0] - a[0]) - k * pitch) <= 0.12 * pitch * k:
                for j in range(1, k):
                    x, y = a[0] + j * (b[0] - a[0]) / k, a[1] + j * (b[1] - a[1]) / k
                    w = weak_at(x, y)
                    filled.append([int(round(w[0] if w else x)), int(round(w[1] if w else y)), w[2] if w else 0.0])
            filled.append(b)
        runs.append(filled)
    total = sum(len(r) for r in runs)
    lone.sort(key=lambda c: -c[2])
    while lone and total + len(lone) > want:
        lone.pop()
    runs += [[c] for c in lone]
    total += len(lone)
    while total < want:
        options = []
        for r, run in enumerate(runs):
            for end, sign in ((run[0], -1), (run[-1], 1)):
                w = weak_at(end[0] + sign * pitch, end[1])
                if w is not None and w[2] >= 0.35 and list(w) not in run:
                    options.append((w[2], r, sign, w))
        if not options:
            break
        _, r, sign, w = max(options, key=lambda o: o[0])
        runs[r].insert(0 if sign < 0 else len(runs[r]), list(w))
        total += 1
    runs.sort(key=lambda run: (run[0][1] // max(1, tol), run[0][0]))
    out = [tuple(c) for run in runs for c in run]
    # reading order: by line, then along it
    lines: list[list[tuple]] = []
    for c in sorted(out, key=lambda c: c[1]):
        if lines and abs(lines[-1][0][1] - c[1]) <= tol:
            lines[-1].append(c)
        else:
            lines.append([c])
    return [c for line in lines for c in sorted(line, key=lambda c: c[0])]


def row_anchor(geo: PageGeometry, box) -> Rect:
    """The row of boxes (and their numerals) a box stands in."""
    row = [b.rect for b in geo.boxes if b.stage == box.stage and abs(b.rect.top - box.rect.top) < 2]
    return Rect(min(r.x0 for r in row), min(r.top for r in row), max(r.x1 for r in row) + 12,
                max(r.bottom for r in row))
