"""What people put on the paper, measured as ink the blank form does not have.

The scan is first aligned to the blank (:mod:`.align`). "New ink" is every dark pixel
of the scan that is not printed ink of the blank (the blank's ink is dilated a little
to absorb what alignment leaves over and the printer's and scanner's blur). Then:

* **tick boxes** (SDAPS-style): the share of new ink inside the drawn square, mapped
  to (state, quality) by two thresholds — clearly empty, clearly ticked, or unsure.
  A tick, a cross and a filled box all count as ticked. A box whose ink runs out of
  it on both sides (struck through) or that is scribbled over beyond its edges is
  *not* guessed: it goes to review. On a grey or colour scan, light ink (a pencil, a
  faint pen at 150 dpi) is measured too: plenty of it is a tick, a little is a doubt;
* **signatures**: new ink components bigger than specks in the signing area, in mm²;
  strokes that start there and run on (over the date, past the line) count whole, and
  are handed to the date reader to leave out;
* **seals**: red pixels (R high, G and B low) in the area, in mm², *and* the seal's shape:
  a ring of ink (any ink, light ink included) found by annulus templates and measured by
  its angular profile (:func:`seal_ring`). On a colour scan red decides, a plain ring of
  another ink also counts; on a scan without colour (greyscale, 1-bit) the absence of red
  proves nothing: a ring says yes, ink without a ring is unsure (review), only an empty
  area is a confident 未盖章;
* **thumbprints**: red pixels; without colour, a dense patch of ridges (the densest 8 mm
  square of ink), where a signature is strokes;
* **dates and written codes**: whether there is any new ink at all (only then OCR).

1-bit scans (:func:`scan_kind`: thresholded or dithered) are blurred before ink is
measured, so dither dots and ragged edges are not taken for ink.

Every measure comes with a confidence in 0..1; below :data:`REVIEW_BELOW` the caller
sends the value to review instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import Code
from . import shapes
from .thresholds import (BINARY_BLUR_MM, BINARY_EDGE_MM, COLOUR_CHROMA, COLOUR_SHARE, DITHER_BLUR_MM,  # noqa: F401
                         DITHER_TICK_SCALE, FAINT_INK, RED_ABSENT, RED_PRESENT, REVIEW_BELOW, SEAL_RING_MM,
                         SIGN_ABSENT, SIGN_PRESENT, SIGN_SPREAD, SPECK,
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
    colour: bool = True  # the scan carries colour (a grey or 1-bit scan cannot show red)
    white: float = 255.0  # the paper's grey level
    kind: str = "grey"  # "grey" (colour or greyscale), "binary" or "dither" (1-bit): see scan_kind

    def faint(self, box, shift=(0, 0)) -> np.ndarray:
        """Light new ink of a region (a faded seal, a pencil tick): lighter than :attr:`dark`."""
        boxes = self._boxes(box, shift)
        if boxes is None:
            return np.zeros((0, 0), dtype=bool)
        (x0, y0, x1, y1), (sx0, sy0, sx1, sy1) = boxes
        return (self.gray[sy0:sy1, sx0:sx1] < self.white * FAINT_INK) & ~self.ref_ink[y0:y1, x0:x1]

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


def page_ink(aligned_rgb: np.ndarray, ref_ink: np.ndarray, dpi: float, *, kind: str = "grey") -> PageInk:
    """``kind``: of the scan, from :func:`scan_kind`."""
    import cv2

    rgb = np.ascontiguousarray(aligned_rgb)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if kind != "grey":
        # a 1-bit scan (thresholded or dithered): dither dots and jagged edges are not ink,
        # a dithered light stroke is; a blur turns both back into grey levels
        gray = cv2.GaussianBlur(gray, (0, 0), (DITHER_BLUR_MM if kind == "dither" else BINARY_BLUR_MM) * dpi / 25.4)
    white = float(np.percentile(gray[:: 8, :: 8], 90)) if gray.size else 255.0
    dark = gray < max(90.0, white * 0.66)
    r, g, b = cv2.split(rgb)
    red = (r > 110) & (cv2.subtract(r, g) > 45) & (cv2.subtract(r, b) > 35)
    sample = rgb[:: 4, :: 4].astype(np.int16)
    chroma = sample.max(axis=2) - sample.min(axis=2) if sample.size else np.zeros((0, 0), np.int16)
    colour = bool(chroma.size and (chroma > COLOUR_CHROMA).mean() >= COLOUR_SHARE)
    return PageInk(gray, dark, red, ref_ink, dpi, colour, white, kind)


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
    faint: bool = False  # only light ink in the box, not enough to call it a tick


def tick(ink: PageInk, square: Box, shift=(0, 0)) -> Tick:
    """Read one box. ``square`` is the square drawn on the blank (px, in the blank's frame)."""
    x0, y0, x1, y1 = (int(v) for v in square)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return Tick(False, 0.0, 0.0)
    side = max(x1 - x0, y1 - y0)
    (bx0, by0, bx1, by1), new, _, _ = ink.cut(square, shift)
    free_mask = ~ink.ref_ink[by0:by1, bx0:bx1]
    if ink.kind != "grey":  # a 1-bit scan: the box's own edges come out ragged, keep clear of them
        import cv2

        k = max(1, int(round(BINARY_EDGE_MM * ink.dpi / 25.4))) * 2 + 1
        eroded = cv2.erode(free_mask.astype(np.uint8), np.ones((k, k), np.uint8),
                           borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
        if int(eroded.sum()) >= 4:
            free_mask = eroded
    free = int(free_mask.sum())
    if free < 4:  # the dilation ate the interior (a very low-resolution scan): use it whole
        free_mask = np.ones_like(free_mask)
        free = max(1, free_mask.size)
    inside = int((new & free_mask).sum())
    ratio = inside / free
    # a dithered scan's paper is a field of dots: a box needs more ink to be sure of
    scale = DITHER_TICK_SCALE if ink.kind == "dither" else 1.0
    ticked, conf = grade(ratio, TICK_EMPTY * scale, TICK_TICKED * scale)
    faint = False
    if ratio < TICK_TICKED and ink.kind == "grey":  # light ink (a pencil, a faint pen at 150 dpi): a mark, or a doubt
        light = ink.faint(square, shift)
        if light.shape == free_mask.shape:
            light_ratio = int((light & free_mask).sum()) / free
            if light_ratio >= 2 * TICK_TICKED:
                ticked, conf, ratio = True, 0.7, max(ratio, light_ratio)
            elif light_ratio >= TICK_TICKED:
                ticked, conf, ratio, faint = light_ratio >= 1.5 * TICK_TICKED, 0.45, max(ratio, light_ratio), True
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
        (rx0, ry0, rx1, ry1), around, _, _ = ink.cut((x0 - ring, y0 - ring, x1 + ring, y1 + ring), shift)
        # measured where the ring is paper: the numerals beside the box hide a scribble's ink
        ring_area = max(1, int((~ink.ref_ink[ry0:ry1, rx0:rx1]).sum()) - free)
        if (int(around.sum()) - int(new.sum())) / ring_area > TICK_SCRIBBLE_RING:
            struck = True
    if struck:
        conf = min(conf, 0.4)
    return Tick(bool(ticked), conf, round(ratio, 4), struck, faint and not struck)


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
    note: str = ""  # why a seal or thumbprint could not be decided (a scan without colour)
    #: strokes of the signature outside its box: (box in the blank's frame, mask), or None
    overflow: tuple[Box, np.ndarray] | None = None


def _spilt(ink: PageInk, box: Box, core: np.ndarray, spill: Box, spill_exclude, shift
           ) -> tuple[np.ndarray, Box, np.ndarray]:
    """The ink of a signature that runs out of its box: every new-ink stroke in ``spill``
    that touches the ink inside the box (``core``, of ``box``) counts whole. Returns (the
    signature's ink in the spill box, the spill box clipped, that ink outside ``box``)."""
    sbox, snew, sred, _ = ink.cut(spill, shift)
    sdark = snew & ~sred & _excluded(sbox, spill_exclude)
    ox, oy = box[0] - sbox[0], box[1] - sbox[1]
    ch, cw = core.shape
    inner = np.zeros_like(sdark)
    if ox >= 0 and oy >= 0 and ch and cw:
        inner[oy:oy + ch, ox:ox + cw] = core[:sdark.shape[0] - oy, :sdark.shape[1] - ox]
    if not inner.any():
        return inner, sbox, np.zeros_like(inner)
    whole = shapes.touching(sdark | inner, inner)
    outside = whole.copy()
    outside[max(0, oy):max(0, oy) + ch, max(0, ox):max(0, ox) + cw] = False
    return whole, sbox, outside


def sign(ink: PageInk, area: Box, marks: tuple[str, ...], exclude=(), shift=(0, 0), red_area: Box | None = None,
         spill: Box | None = None, spill_exclude=()) -> Sign:
    """Signature / seal / thumbprint of one signer. ``area``: where the signature goes;
    ``red_area``: where a seal or thumbprint may be (bigger; default ``area``);
    ``exclude``: other regions' boxes (dates, tick boxes); ``spill``: where a signature may
    run on to (over the date, beyond the line): strokes there that start in ``area`` count,
    and are returned in :attr:`Sign.overflow` (except the ``spill_exclude`` boxes)."""
    box, new, red_here, _ = ink.cut(area, shift)
    mask = _excluded(box, exclude)
    dark = new & mask & ~red_here
    if red_area is None:
        red = red_here & mask
    else:
        _, _, red, _ = ink.cut(red_area, shift)  # a seal may sit on the date: nothing excluded
    overflow = None
    measured = dark
    if spill is not None and dark.any():
        measured, sbox, outside = _spilt(ink, box, dark, spill, spill_exclude, shift)
        if outside.any():
            overflow = (sbox, outside)
    ink_mm2, spread = _components_mm2(measured, ink.mm2)
    red_mm2, _ = _components_mm2(red, ink.mm2)
    has_ink, ink_conf = grade(ink_mm2, SIGN_ABSENT, SIGN_PRESENT)
    if has_ink and spread < SIGN_SPREAD:
        has_ink, ink_conf = True, min(ink_conf, 0.5)
    has_red, red_conf = grade(red_mm2, RED_ABSENT, RED_PRESENT)
    note = ""
    seal_state, thumb_state = (has_red, red_conf), (has_red, red_conf)
    if "盖章" in marks or ("按手印" in marks and not ink.colour):
        seal_box = red_area if red_area is not None else area
        sbox, snew, _, _ = ink.cut(seal_box, shift)
        other_mm2, _ = _components_mm2(snew & _excluded(sbox, exclude), ink.mm2)
        if "盖章" in marks:
            seal_state, note = _seal_state(ink, seal_box, shift, has_red, red_conf, other_mm2)
        if "按手印" in marks and not ink.colour:
            thumb_state = shapes.thumbprint(snew & _excluded(sbox, exclude), ink.dpi / 25.4)
    seal = "盖章" in marks and seal_state[0]
    thumb = "按手印" in marks and thumb_state[0]
    wanted = []
    if "签字" in marks:
        wanted.append((has_ink, ink_conf))
    if "按手印" in marks:  # a red thumbprint, or (ink) a black one
        wanted.append(thumb_state if thumb_state[0] or not has_ink else (has_ink, ink_conf))
    if "盖章" in marks:
        wanted.append(seal_state)
    if not wanted:
        wanted.append((has_ink, ink_conf))
    # present if any asked-for mark is there (a signature, or a thumbprint instead of it)
    yes = [c for s, c in wanted if s]
    if yes:
        present, conf = True, max(yes)
    else:
        present, conf = False, min(c for _, c in wanted)
    if "按手印" in marks and thumb_state[1] < REVIEW_BELOW:  # signed, but a thumbprint unsure: not a guess
        conf = min(conf, thumb_state[1])
    return Sign(bool(present), bool(seal), bool(thumb), round(conf, 3), round(ink_mm2, 2), round(red_mm2, 2), note,
                overflow)


def seal_ring(ink: PageInk, area: Box, shift=(0, 0)) -> shapes.Ring | None:
    """A seal by its shape (:func:`.shapes.find_ring`): the ring of ink, light ink too (a
    stamp pad never inks evenly), whose centre lies in ``area``; the blank's printed ink
    hides what is under it. None if the area holds too little ink for a ring."""
    grow = int(SEAL_RING_MM[1] * ink.dpi / 25.4)
    x0, y0, x1, y1 = (int(v) for v in area)
    (wx0, wy0, wx1, wy1), new, red, _ = ink.cut((x0 - grow, y0 - grow, x1 + grow, y1 + grow), shift)
    if new.size == 0:
        return None
    mask = ink.faint((wx0, wy0, wx1, wy1), shift) | new | red
    if int(mask.sum()) * ink.mm2 < 20.0:  # a ring 22 mm across has well over 20 mm² of ink
        return None
    ring = shapes.find_ring(mask, ink.ref_ink[wy0:wy1, wx0:wx1], (x0 - wx0, y0 - wy0, x1 - wx0, y1 - wy0),
                            ink.dpi / 25.4)
    return ring


def _seal_state(ink: PageInk, area: Box, shift, has_red: bool, red_conf: float, other_mm2: float
                ) -> tuple[tuple[bool, float], str]:
    """(seal there, confidence) and, when unsure, why. Red is one clue, the ring another:
    on a colour scan red decides unless a ring of another ink is plain; on a scan without
    colour the absence of red proves nothing, so only a ring says yes, and ink in the area
    without a ring is unsure, never a confident 未盖章."""
    if ink.colour and has_red:
        return (True, red_conf), ""
    ring = seal_ring(ink, area, shift)
    if ring is not None and ring.found:
        return (True, round(min(0.95, 0.6 + ring.coverage * 0.35), 3)), ""
    if ink.colour:
        return (has_red, red_conf), ""
    what = Code.READ_SEAL_RING.format() if ring is not None and not ring.none else Code.READ_SEAL_NO_RING.format()
    if ring is not None and not ring.none:
        return (False, 0.45), what
    if other_mm2 >= RED_ABSENT:
        return (False, 0.4), what
    return grade(other_mm2, RED_ABSENT, RED_PRESENT), ""


def area_mm2(mask: np.ndarray, mm2: float) -> float:
    """mm² of a mask's components bigger than specks."""
    return _components_mm2(mask, mm2)[0]


def written(ink: PageInk, box: Box, exclude=(), shift=(0, 0)) -> float:
    """mm² of handwriting (dark or coloured ink, no specks) in a box."""
    clipped, new, _, _ = ink.cut(box, shift)
    area, _ = _components_mm2(new & _excluded(clipped, exclude), ink.mm2)
    return area
