"""The new ink of a page: what people put on the paper, as pixels the blank does not have.

:func:`page_ink` measures it once per page (dark, faint and red ink, with the blank's own
ink masked out); :mod:`.marks` reads tick boxes, signatures, seals and dates from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .thresholds import (BINARY_BLUR_MM, BINARY_MID_SHARE, COLOUR_CHROMA, COLOUR_SHARE, DITHER_ALONE, DITHER_BLUR_MM,
                         FAINT_INK)

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


def scan_kind(gray: np.ndarray) -> str:
    """``"grey"``, or a 1-bit scan: ``"binary"`` (thresholded) or ``"dither"`` (dithered: most
    black pixels of the paper stand alone). Decided on the scan itself, not the warped page
    (the warp makes grey edges)."""
    sample = gray[:: 3, :: 3]
    if not sample.size or float(((sample > 40) & (sample < 215)).mean()) >= BINARY_MID_SHARE:
        return "grey"
    h, w = gray.shape[:2]
    black = gray[h // 4:3 * h // 4, w // 4:3 * w // 4] < 128  # neighbours: full resolution
    n = int(black.sum())
    if not n:
        return "binary"
    padded = np.pad(black, 1)
    neighbours = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    alone = int((black & ~neighbours).sum())
    return "dither" if alone / n > DITHER_ALONE else "binary"


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


