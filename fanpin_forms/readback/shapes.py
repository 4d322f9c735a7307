"""Marks recognised by their shape, on plain arrays: a seal's ring, a thumbprint's ridges.

Used by :mod:`.marks` where colour cannot tell (greyscale and 1-bit scans), and as a
second clue where it can (a seal stamped in another ink than red).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .thresholds import (RING_CONTRAST, RING_FOUND, RING_NONE, SEAL_RING_MM, SEAL_RING_PX_MM, THUMB_DENSE, THUMB_SPARSE,
                         THUMB_WINDOW_MM)


@dataclass
class Ring:
    """The best ring of ink found in an area: share of its visible angles with ink, how much
    sparser the band just outside is, its centre (px of the window searched) and radius (mm)."""

    coverage: float
    contrast: float
    centre: tuple[int, int]
    radius_mm: float

    @property
    def found(self) -> bool:
        return self.coverage >= RING_FOUND and self.contrast >= RING_CONTRAST

    @property
    def none(self) -> bool:
        return self.coverage < RING_NONE or self.contrast < RING_CONTRAST / 2


def find_ring(mask: np.ndarray, hidden: np.ndarray, centres: tuple[int, int, int, int], px_mm: float
              ) -> Ring | None:
    """The best ring of ink in ``mask`` (a window of the page) whose centre lies in the
    ``centres`` box (px of the window); ``hidden``: the window's printed ink of the blank.

    Candidates are the best matches of annulus templates (radii :data:`SEAL_RING_MM`) at
    :data:`SEAL_RING_PX_MM`; each is then measured by its angular profile: for how many
    directions from the centre the ring's band holds ink. Directions where the band lies
    on printed ink (a label, a table line) or off the window say nothing and are left out.
    Text and lines cross a circle at a few points only; a ring covers nearly every
    direction."""
    import cv2

    r_lo, r_hi = SEAL_RING_MM
    k = SEAL_RING_PX_MM / px_mm
    small = cv2.resize(mask.astype(np.float32), (max(1, int(mask.shape[1] * k)), max(1, int(mask.shape[0] * k))),
                       interpolation=cv2.INTER_AREA)
    x0, y0, x1, y1 = centres
    cx0, cy0 = int(x0 * k), int(y0 * k)
    cx1, cy1 = max(cx0 + 1, int(x1 * k)), max(cy0 + 1, int(y1 * k))
    candidates = []
    for r_mm in np.arange(r_lo, r_hi + 0.01, 1.0):
        r = r_mm * SEAL_RING_PX_MM
        size = int(2 * r + 5) | 1
        kern = np.zeros((size, size), np.float32)
        c = size // 2
        cv2.circle(kern, (c, c), int(round(r)), 1.0, thickness=max(2, int(SEAL_RING_PX_MM * 1.5)))
        kern /= kern.sum()
        resp = cv2.filter2D(small, -1, kern, borderType=cv2.BORDER_CONSTANT)[cy0:cy1, cx0:cx1]
        if resp.size == 0:
            continue
        iy, ix = np.unravel_index(int(np.argmax(resp)), resp.shape)
        candidates.append((float(resp[iy, ix]), (ix + cx0) / k, (iy + cy0) / k, r_mm))
    candidates.sort(reverse=True)
    best: Ring | None = None
    for _, cx, cy, r_mm in candidates[:3]:
        ring = _ring_profile(mask, hidden, cx, cy, r_mm * px_mm, px_mm)
        if ring is not None and (best is None or ring.coverage - 0.5 * (1 - ring.contrast) >
                                 best.coverage - 0.5 * (1 - best.contrast)):
            best = ring
    return best


def _ring_profile(mask: np.ndarray, hidden: np.ndarray, cx: float, cy: float, r: float, px_mm: float
                  ) -> Ring | None:
    """Angular coverage of the ring of radius about ``r`` (px) around (cx, cy), the radius
    refined within ±2 mm, and the coverage of the band 3–5 mm outside it."""
    h, w = mask.shape
    angles = np.linspace(0, 2 * np.pi, 120, endpoint=False)
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]

    def band(r0: float, r1: float) -> tuple[np.ndarray, np.ndarray]:
        radii = np.linspace(r0, r1, max(3, int((r1 - r0) / max(1.0, px_mm * 0.3)) + 1))[None, :]
        xs = np.rint(cx + cos * radii).astype(int)
        ys = np.rint(cy + sin * radii).astype(int)
        inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        xs, ys = np.clip(xs, 0, w - 1), np.clip(ys, 0, h - 1)
        hit = (mask[ys, xs] & inside).any(axis=1)
        seen = (inside & ~hidden[ys, xs]).any(axis=1)
        return hit, seen

    best = None
    for dr in np.arange(-2.0, 2.01, 0.5):
        rr = r + dr * px_mm
        hit, seen = band(rr - px_mm, rr + px_mm)
        n = int(seen.sum())
        if n < len(angles) // 3:
            continue
        cov = float((hit & seen).sum()) / n
        if best is None or cov > best[0]:
            best = (cov, rr)
    if best is None:
        return None
    cov, rr = best
    hit, seen = band(rr + 3 * px_mm, rr + 5 * px_mm)
    out_cov = float((hit & seen).sum()) / max(1, int(seen.sum()))
    return Ring(round(cov, 3), round(cov - out_cov, 3), (int(cx), int(cy)), round(rr / px_mm, 1))


def patch_density(mask: np.ndarray, side: int) -> float | None:
    """The densest ``side``×``side`` square of a mask (share of its pixels), None if the
    mask is smaller than that."""
    import cv2

    side = max(3, side)
    if mask.shape[0] < side or mask.shape[1] < side:
        return None
    return float(cv2.boxFilter(mask.astype(np.float32), -1, (side, side), normalize=True,
                               borderType=cv2.BORDER_CONSTANT).max())


def touching(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The connected components (8-connected) of ``mask`` that have a pixel in ``seed``."""
    import cv2

    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    hit = np.unique(labels[seed & mask])
    return np.isin(labels, hit[hit != 0])


def thumbprint(new: np.ndarray, px_mm: float) -> tuple[bool, float]:
    """A thumbprint where colour cannot tell: a dense patch of ink (ridges), where a
    signature is strokes. (state, confidence); unsure between the two densities."""
    if new.size == 0 or not new.any():
        return False, 1.0
    density = patch_density(new, int(THUMB_WINDOW_MM * px_mm))
    if density is None:
        return False, 0.5
    if density >= THUMB_DENSE:
        return True, round(min(1.0, 0.75 + (density - THUMB_DENSE)), 3)
    if density <= THUMB_SPARSE:
        return False, round(0.75 + 0.25 * (1 - density / THUMB_SPARSE), 3)
    return density >= (THUMB_DENSE + THUMB_SPARSE) / 2, 0.45
