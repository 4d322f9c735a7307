"""What people put on the paper, measured as ink the blank form does not have.

The scan is first aligned to the blank (:mod:`.align`). "New ink" is every dark pixel
of the scan that is not printed ink of the blank (the blank's ink is dilated a little
to absorb what alignment leaves over and the printer's and scanner's blur). Then:

* **tick boxes** (SDAPS-style): the share of new ink inside the drawn square, mapped
  to (state, quality) by two thresholds — clearly empty, clearly ticked, or unsure.
  A tick, a cross and a filled box all count as ticked. A box whose ink runs out of
  it on both sides (struck through) or that is scribbled over beyond its edges is
  *not* guessed: it goes to review;
* **signatures**: new ink components bigger than specks in the signing area, in mm²;
* **seals and thumbprints**: red pixels (R high, G and B low) in the area, in mm²;
* **dates and written codes**: whether there is any new ink at all (only then OCR).

Every measure comes with a confidence in 0..1; below :data:`REVIEW_BELOW` the caller
sends the value to review instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .thresholds import (RED_ABSENT, RED_PRESENT, REVIEW_BELOW, SIGN_ABSENT, SIGN_PRESENT, SIGN_SPREAD, SPECK,  # noqa: F401
                         TICK_EMPTY, TICK_SCRIBBLE_INSIDE, TICK_SCRIBBLE_RING, TICK_STRIKE_SIDE, TICK_TICKED,
                         WRITTEN_MIN)


Box = tuple[int, int, int, int]


@dataclass
class PageInk:
    """The aligned scan (in the blank's pixel frame) and the blank's printed ink.

    Regions are cut with a local ``shift`` (dx, dy): where this part of the scan
    really is, relative to the global alignment (a form printed from a template
    whose line pitch changed a little, paper that stretched unevenly)."""

    gray: np.ndarray
    dark: np.ndarray  # bool: dark pixels of the scan
    red: np.ndarray  # bool: red ink on the scan
    ref_ink: np.ndarray  # bool: printed ink of the blank, dilated
    dpi: float

    @property
    def mm2(self) -> float:
        """Area of one pixel in mm²."""
        return (25.4 / self.dpi) ** 2

    def _boxes(self, box, shift) -> tuple[Box, Box] | None:
        """The box clipped so that it and its shifted twin lie on the page."""
        h, w = self.gray.shape
        dx, dy = shift
        x0, y0, x1, y1 = (int(v) for v in box)
        x0, y0 = max(x0, 0, -dx), max(y0, 0, -dy)
        x1, y1 = min(x1, w, w - dx), min(y1, h, h - dy)
        if x1 <= x0 or y1 <= y0:
            return None
        return (x0, y0, x1, y1), (x0 + dx, y0 + dy, x1 + dx, y1 + dy)

    def cut(self, box, shift=(0, 0)) -> tuple[Box, np.ndarray, np.ndarray, np.ndarray]:
        """(clipped box, new ink, red ink, grey) of a region; new ink = dark, not printed on the blank."""
        boxes = self._boxes(box, shift)
        if boxes is None:
            empty = np.zeros((0, 0), dtype=bool)
            return (0, 0, 0, 0), empty, empty, np.zeros((0, 0), dtype=np.uint8)
        (x0, y0, x1, y1), (sx0, sy0, sx1, sy1) = boxes
        dark = self.dark[sy0:sy1, sx0:sx1]
        new = dark & ~self.ref_ink[y0:y1, x0:x1]
        return (x0, y0, x1, y1), new, self.red[sy0:sy1, sx0:sx1], self.gray[sy0:sy1, sx0:sx1]

    def image(self, box, shift=(0, 0)) -> np.ndarray:
        """The scan's grey pixels of a region (for OCR and review crops)."""
        h, w = self.gray.shape
        x0, y0, x1, y1 = (int(v) for v in box)
        dx, dy = shift
        return self.gray[max(0, y0 + dy):min(h, y1 + dy), max(0, x0 + dx):min(w, x1 + dx)]


def page_ink(aligned_rgb: np.ndarray, ref_ink: np.ndarray, dpi: float) -> PageInk:
    import cv2

    rgb = np.ascontiguousarray(aligned_rgb)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    white = float(np.percentile(gray[:: 8, :: 8], 90)) if gray.size else 255.0
    dark = gray < max(90.0, white * 0.66)
    r, g, b = cv2.split(rgb)
    red = (r > 110) & (cv2.subtract(r, g) > 45) & (cv2.subtract(r, b) > 35)
    return PageInk(gray, dark, red, ref_ink, dpi)


def grade(value: float, absent: float, present: float) -> tuple[bool | None, float]:
    """(state, confidence) of a measure against its two thresholds.

    At or below ``absent``: False, confidence from 1.0 (no ink) down to 0.75; at or
    above ``present``: True, from 0.75 up to 1.0 (twice the threshold); between them
    None (unsure), confidence under :data:`REVIEW_BELOW`."""
    if value <= absent:
        return False, round(1.0 - 0.25 * (value / absent if absent else 0.0), 3)
    if value >= present:
        return True, round(min(1.0, 0.75 + 0.25 * (value - present) / present), 3)
    mid = (absent + present) / 2
    return (value >= mid), round(0.3 + 0.25 * abs(value - mid) / (present - absent) * 2, 3)


def _clip(box, shape) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    x0, y0, x1, y1 = box
    return max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))


@dataclass
class Tick:
    ticked: bool
    confidence: float
    ratio: float
    struck: bool = False  # struck through / scribbled: to review whatever the ratio


def tick(ink: PageInk, square: Box, shift=(0, 0)) -> Tick:
    """Read one box. ``square`` is the square drawn on the blank (px, in the blank's frame)."""
    x0, y0, x1, y1 = (int(v) for v in square)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return Tick(False, 0.0, 0.0)
    side = max(x1 - x0, y1 - y0)
    (bx0, by0, bx1, by1), new, _, _ = ink.cut(square, shift)
    free_mask = ~ink.ref_ink[by0:by1, bx0:bx1]
    free = int(free_mask.sum())
    if free < 4:  # the dilation ate the interior (a very low-resolution scan): use it whole
        free_mask = np.ones_like(free_mask)
        free = max(1, free_mask.size)
    inside = int((new & free_mask).sum())
    ratio = inside / free
    ticked, conf = grade(ratio, TICK_EMPTY, TICK_TICKED)
    # struck through: a line running out of the box on both sides at mid height. Measured as
    # the share of columns beside the box that carry new ink (the printed numerals there
    # hide part of the line, never whole columns of it)
    band0, band1 = y0 + (y1 - y0) // 4, y1 - (y1 - y0) // 4
    reach = max(2, int(side * 0.8))
    sides = []
    for sx0, sx1 in ((x0 - reach, x0 - 1), (x1 + 1, x1 + reach)):
        (cx0, cy0, cx1, cy1), strip, _, _ = ink.cut((sx0, band0, sx1, band1), shift)
        if strip.size == 0:
            sides.append(0.0)
            continue
        free_cols = (~ink.ref_ink[cy0:cy1, cx0:cx1]).any(axis=0)
        sides.append(float(strip.any(axis=0)[free_cols].mean()) if free_cols.any() else 0.0)
    struck = bool(ratio > TICK_EMPTY and min(sides) > TICK_STRIKE_SIDE)
    # scribbled over: the box is full and the ink spreads well beyond it
    if ratio > TICK_SCRIBBLE_INSIDE and not struck:
        ring = int(side * 0.5)
        _, around, _, _ = ink.cut((x0 - ring, y0 - ring, x1 + ring, y1 + ring), shift)
        ring_area = max(1, around.size - (x1 - x0) * (y1 - y0))
        if (int(around.sum()) - int(new.sum())) / ring_area > TICK_SCRIBBLE_RING:
            struck = True
    if struck:
        conf = min(conf, 0.4)
    return Tick(bool(ticked), conf, round(ratio, 4), struck)


def _components_mm2(mask: np.ndarray, mm2: float) -> tuple[float, float]:
    """Total area (mm²) of components bigger than specks, and their horizontal extent (mm)."""
    import cv2

    if not mask.any():
        return 0.0, 0.0
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] * mm2 >= SPECK]
    if not keep:
        return 0.0, 0.0
    area = float(sum(stats[i, cv2.CC_STAT_AREA] for i in keep)) * mm2
    xs0 = min(stats[i, cv2.CC_STAT_LEFT] for i in keep)
    xs1 = max(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in keep)
    ys0 = min(stats[i, cv2.CC_STAT_TOP] for i in keep)
    ys1 = max(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in keep)
    side = float(max(xs1 - xs0, ys1 - ys0)) * (mm2 ** 0.5)
    return area, side


def _excluded(box: Box, exclude) -> np.ndarray:
    """A mask of ``box`` with the excluded boxes (same frame) switched off."""
    x0, y0, x1, y1 = box
    mask = np.ones((max(0, y1 - y0), max(0, x1 - x0)), dtype=bool)
    for ex in exclude:
        ex0, ey0, ex1, ey1 = ex
        ax0, ay0 = max(x0, int(ex0)), max(y0, int(ey0))
        ax1, ay1 = min(x1, int(ex1)), min(y1, int(ey1))
        if ax1 > ax0 and ay1 > ay0:
            mask[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0] = False
    return mask


@dataclass
class Sign:
    present: bool
    seal: bool
    thumbprint: bool
    confidence: float
    ink_mm2: float
    red_mm2: float


def sign(ink: PageInk, area: Box, marks: tuple[str, ...], exclude=(), shift=(0, 0), red_area: Box | None = None
         ) -> Sign:
    """Signature / seal / thumbprint of one signer. ``area``: where the signature goes;
    ``red_area``: where a seal or thumbprint may be (bigger; default ``area``);
    ``exclude``: other regions' boxes (dates, tick boxes)."""
    box, new, red_here, _ = ink.cut(area, shift)
    mask = _excluded(box, exclude)
    dark = new & mask & ~red_here
    if red_area is None:
        red = red_here & mask
    else:
        _, _, red, _ = ink.cut(red_area, shift)  # a seal may sit on the date: nothing excluded
    ink_mm2, spread = _components_mm2(dark, ink.mm2)
    red_mm2, _ = _components_mm2(red, ink.mm2)
    has_ink, ink_conf = grade(ink_mm2, SIGN_ABSENT, SIGN_PRESENT)
    if has_ink and spread < SIGN_SPREAD:
        has_ink, ink_conf = True, min(ink_conf, 0.5)
    has_red, red_conf = grade(red_mm2, RED_ABSENT, RED_PRESENT)
    seal = "盖章" in marks and has_red
    thumb = "按手印" in marks and has_red
    wanted = []
    if "签字" in marks:
        wanted.append((has_ink, ink_conf))
    if "按手印" in marks:  # a red thumbprint, or (ink) a black one
        wanted.append((has_red, red_conf) if has_red or not has_ink else (has_ink, ink_conf))
    if "盖章" in marks:
        wanted.append((has_red, red_conf))
    if not wanted:
        wanted.append((has_ink, ink_conf))
    # present if any asked-for mark is there (a signature, or a thumbprint instead of it)
    yes = [c for s, c in wanted if s]
    if yes:
        present, conf = True, max(yes)
    else:
        present, conf = False, min(c for _, c in wanted)
    return Sign(bool(present), bool(seal), bool(thumb), round(conf, 3), round(ink_mm2, 2), round(red_mm2, 2))


def written(ink: PageInk, box: Box, exclude=(), shift=(0, 0)) -> float:
    """mm² of handwriting (dark or coloured ink, no specks) in a box."""
    clipped, new, _, _ = ink.cut(box, shift)
    area, _ = _components_mm2(new & _excluded(clipped, exclude), ink.mm2)
    return area
