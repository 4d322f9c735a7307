"""Registration: where each point of the blank form lies on the scan.

1. A similarity transform from the QR code: its four corners on the scan (zxing)
   against the same corners on the blank (the QR picture's place in the blank PDF,
   less the two-module quiet zone of the code actually printed). Without a QR code
   (a page identified by its text) the page edges are used instead.
2. ``cv2.findTransformECC`` (affine) on both pages scaled down to ~50 dpi refines it
   (paper stretch, a slightly tilted scan, a copier's scaling). If ECC fails or
   wanders off, the first estimate is kept and the alignment is marked as weak.
3. A flattened phone photo is refined once more with a homography (the corners the sheet
   was flattened by are seldom exact), so the matrix is then 3×3.

The result maps blank pixels (the reference raster) to scan pixels; :func:`warp`
resamples the scan into the blank's frame, so every region the geometry names can be
cut out at the same coordinates on both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .thresholds import ECC_DPI, LOW_ALIGNMENT, MAX_ECC_DRIFT_MM, PHOTO_ECC_DPI  # noqa: F401


@dataclass
class Alignment:
    matrix: np.ndarray  # 2×3 (3×3 for a photo): reference px → scan px
    score: float  # 0..1
    method: str  # "qr+ecc", "qr", "page+ecc", "page"

    @property
    def weak(self) -> bool:
        return self.score < LOW_ALIGNMENT


def qr_symbol_corners(qr_rect_px: tuple[float, float, float, float], modules: int, border: int = 2
                      ) -> np.ndarray:
    """Outer corners (TL, TR, BR, BL) of the code inside the QR picture's rectangle."""
    x0, y0, x1, y1 = qr_rect_px
    inset_x = (x1 - x0) * border / (modules + 2 * border)
    inset_y = (y1 - y0) * border / (modules + 2 * border)
    return np.array([[x0 + inset_x, y0 + inset_y], [x1 - inset_x, y0 + inset_y],
                     [x1 - inset_x, y1 - inset_y], [x0 + inset_x, y1 - inset_y]], dtype=np.float32)


def from_points(ref_pts: np.ndarray, scan_pts: np.ndarray) -> np.ndarray | None:
    import cv2

    m, _ = cv2.estimateAffinePartial2D(np.asarray(ref_pts, np.float32), np.asarray(scan_pts, np.float32))
    return m


def from_page(ref_shape: tuple[int, int], scan_shape: tuple[int, int]) -> np.ndarray:
    """The whole scan is the whole page: scale each axis."""
    rh, rw = ref_shape
    sh, sw = scan_shape
    return np.array([[sw / rw, 0, 0], [0, sh / rh, 0]], dtype=np.float64)


def refine(ref_gray: np.ndarray, scan_gray: np.ndarray, matrix: np.ndarray, dpi: float) -> tuple[np.ndarray, float] | None:
    """ECC (affine) at ~50 dpi starting from ``matrix``; None if it fails or drifts."""
    import cv2

    f = min(1.0, ECC_DPI / float(dpi))
    ref_small = cv2.resize(ref_gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA).astype(np.float32)
    scan_small = cv2.resize(scan_gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA).astype(np.float32)
    warp = matrix.astype(np.float32).copy()
    warp[:, 2] *= f
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40, 1e-4)
    try:
        score, warp = cv2.findTransformECC(ref_small, scan_small, warp, cv2.MOTION_AFFINE, criteria, None, 3)
    except cv2.error:
        return None
    out = warp.astype(np.float64)
    out[:, 2] /= f
    # how far did ECC move the page? check at the corners of the blank
    h, w = ref_gray.shape
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], dtype=np.float64)
    drift = np.abs(corners @ out.T - corners @ matrix.T).max()
    if drift > MAX_ECC_DRIFT_MM * dpi / 25.4 or not np.isfinite(out).all():
        return None
    return out, float(score)


def refine_perspective(ref_gray: np.ndarray, scan_gray: np.ndarray, matrix: np.ndarray, dpi: float
                       ) -> tuple[np.ndarray, float] | None:
    """ECC with a homography at ~:data:`PHOTO_ECC_DPI` from an affine ``matrix``: what a phone
    photo's flattening left of the perspective (a corner found a little off). None if it fails."""
    import cv2

    f = min(1.0, PHOTO_ECC_DPI / float(dpi))
    ref_small = cv2.resize(ref_gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA).astype(np.float32)
    scan_small = cv2.resize(scan_gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA).astype(np.float32)
    m = np.vstack([matrix, [0.0, 0.0, 1.0]]) if matrix.shape == (2, 3) else matrix.copy()
    s = np.diag([f, f, 1.0])
    warp = (s @ m @ np.linalg.inv(s)).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    try:
        score, warp = cv2.findTransformECC(ref_small, scan_small, warp, cv2.MOTION_HOMOGRAPHY, criteria, None, 3)
    except cv2.error:
        return None
    out = np.linalg.inv(s) @ warp.astype(np.float64) @ s
    h, w = ref_gray.shape
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], dtype=np.float64)
    a, b = corners @ out.T, corners @ m.T
    drift = np.abs(a[:, :2] / a[:, 2:] - b[:, :2] / b[:, 2:]).max()
    if not np.isfinite(out).all() or drift > MAX_ECC_DRIFT_MM * dpi / 25.4:
        return None
    return out, float(score)


def correlation(ref_gray: np.ndarray, aligned_gray: np.ndarray, dpi: float) -> float:
    """How alike the blank and the aligned scan are (normalised cross-correlation at ~50 dpi)."""
    import cv2

    f = min(1.0, ECC_DPI / float(dpi))
    a = cv2.resize(ref_gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(aligned_gray, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32)
    a -= a.mean()
    b -= b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def align(ref_gray: np.ndarray, scan_gray: np.ndarray, dpi: float, initial: np.ndarray | None, *,
          perspective: bool = False) -> Alignment:
    """QR (or page) estimate, refined by ECC when it can be; ``perspective`` (a flattened phone
    photo): then refined again with a homography."""
    method = "qr"
    if initial is None:
        initial, method = from_page(ref_gray.shape, scan_gray.shape), "page"
    refined = refine(ref_gray, scan_gray, initial, dpi)
    if refined is not None and perspective:
        better = refine_perspective(ref_gray, scan_gray, refined[0], dpi)
        if better is not None:
            return Alignment(better[0], better[1], method + "+ecc+homography")
    if refined is not None:
        return Alignment(refined[0], refined[1], method + "+ecc")
    aligned = warp(scan_gray, initial, ref_gray.shape)
    return Alignment(initial, min(correlation(ref_gray, aligned, dpi), LOW_ALIGNMENT - 0.01), method)


def warp(scan: np.ndarray, matrix: np.ndarray, ref_shape: tuple[int, int]) -> np.ndarray:
    """The scan resampled into the blank's frame (outside the scan: white)."""
    import cv2

    h, w = ref_shape[:2]
    border = (255, 255, 255) if scan.ndim == 3 else 255
    if matrix.shape == (3, 3):
        return cv2.warpPerspective(scan, matrix, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    return cv2.warpAffine(scan, matrix, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def local_shift(aligned_gray: np.ndarray, ref_gray: np.ndarray, box: tuple[int, int, int, int], search_x: int,
                search_y: int | None = None, offset: tuple[int, int] = (0, 0)) -> tuple[int, int, float]:
    """Best (dx, dy) moving the blank's ``box`` onto the aligned scan, searched within
    ``search_x``/``search_y`` px around ``offset`` (a shift already known, e.g. the line's)."""
    import cv2

    search_y = search_x if search_y is None else search_y
    x0, y0, x1, y1 = box
    h, w = aligned_gray.shape
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return 0, 0, 0.0
    ox, oy = offset
    sx0, sy0 = max(0, x0 + ox - search_x), max(0, y0 + oy - search_y)
    sx1, sy1 = min(w, x1 + ox + search_x), min(h, y1 + oy + search_y)
    patch = ref_gray[y0:y1, x0:x1]
    if patch.std() < 1:
        return 0, 0, 0.0
    area = aligned_gray[sy0:sy1, sx0:sx1]
    if area.shape[0] < patch.shape[0] or area.shape[1] < patch.shape[1]:
        return 0, 0, 0.0
    res = np.nan_to_num(cv2.matchTemplate(area, patch, cv2.TM_CCOEFF_NORMED), nan=-1.0)
    # prefer the nearest of equally good places (rows of boxes look alike)
    yy, xx = np.mgrid[0:res.shape[0], 0:res.shape[1]]
    dist = np.hypot(xx + sx0 - x0 - ox, yy + sy0 - y0 - oy) / max(1.0, float(max(search_x, search_y, 1)))
    score = res - 0.05 * dist
    iy, ix = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(ix + sx0 - x0), int(iy + sy0 - y0), float(res[iy, ix])


def find_boxes(aligned_gray: np.ndarray, template: np.ndarray, ring: int, region: tuple[int, int, int, int],
               min_score: float = 0.45) -> list[tuple[int, int, float]]:
    """Where a printed tick box (``template``: the drawn square with a white margin) appears in
    ``region``: (x, y, score) of each match's top-left corner, best first, no overlaps.

    Only the square's outline and its margin are compared (the inside is masked out), so
    a ticked, crossed or filled box is found as well as an empty one."""
    import cv2

    x0, y0, x1, y1 = region
    h, w = aligned_gray.shape
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    th, tw = template.shape
    if x1 - x0 <= tw or y1 - y0 <= th:
        return []
    mask = np.ones_like(template, dtype=np.uint8)
    if th > 2 * ring and tw > 2 * ring:
        mask[ring:th - ring, ring:tw - ring] = 0
    res = cv2.matchTemplate(aligned_gray[y0:y1, x0:x1].astype(np.float32), template.astype(np.float32),
                            cv2.TM_CCOEFF_NORMED, mask=mask)
    res = np.nan_to_num(res, nan=-1.0, posinf=-1.0, neginf=-1.0)
    found = []
    half_w, half_h = max(2, tw * 2 // 3), max(2, th * 2 // 3)
    while True:
        _, best, _, loc = cv2.minMaxLoc(res)
        if best < min_score:
            break
        found.append((loc[0] + x0, loc[1] + y0, float(best)))
        lx, ly = loc
        res[max(0, ly - half_h):ly + half_h + 1, max(0, lx - half_w):lx + half_w + 1] = -1.0
        if len(found) > 400:
            break
    return found
