"""Seals by their shape: a ring of ink 38–45 mm across, found without colour.

:func:`find_ring` works on plain arrays (the ink mask of a window of the page and the
blank's printed ink there); :func:`fanpin_forms.readback.marks.seal_ring` cuts the window
out of the page and calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .thresholds import RING_CONTRAST, RING_FOUND, RING_NONE, SEAL_RING_MM, SEAL_RING_PX_MM


@dataclass
class Ring:
    """The best ring of ink found in an area: share of its visible angles with ink, how much
    sparser the band just outside is, its centre (px, the area's frame) and radius (mm)."""

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


def find_ring(mask: np.ndarray, hidden: np.ndarray, area: tuple[int, int, int, int], px_mm: float) -> Ring | None:
    """The best ring in ``mask`` (bool, the window) whose centre lies in ``area`` (px, the
    window's frame); ``hidden`` marks the blank's printed ink, where the ring says nothing.
    The centre returned is in the window's frame."""
    import cv2

    r_lo, r_hi = SEAL_RING_MM
    ax0, ay0, ax1, ay1 = area
    k = SEAL_RING_PX_MM / px_mm
    small = cv2.resize(mask.astype(np.float32), (max(1, int(mask.shape[1] * k)), max(1, int(mask.shape[0] * k))),
                       interpolation=cv2.INTER_AREA)
    # centres searched inside the area only
    cx0, cy0 = int(ax0 * k), int(ay0 * k)
    cx1, cy1 = max(cx0 + 1, int(ax1 * k)), max(cy0 + 1, int(ay1 * k))
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
            best = Ring(ring.coverage, ring.contrast, (int(cx), int(cy)), ring.radius_mm)
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
