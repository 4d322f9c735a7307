"""Phone photos of returned forms: find the sheet and flatten it to an upright A4 page.

A village cadre photographs a signed form on a table and sends the JPEG. Before such a
picture can be read like a scan, the sheet has to be found (the paper is the largest bright,
four-cornered region in the picture) and warped to A4 at a fixed resolution (OpenCV's
perspective transform). :func:`flatten` does that and says why when it cannot: the photo is
too small or too large, too blurred to read ticks and signatures, or has no whole page in it.

:mod:`.page` asks :func:`looks_like_photo` of every picture that is no PDF page (a photo
has no flat white margin: the table shows round the sheet), flattens those, and reports a
:class:`PhotoFailure` as the page's problem (a catalogue message for the user, with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import Code, Problem
from ..util.limits import IMAGE_MAX_PIXELS

A4_MM = (210.0, 297.0)
#: pixels below which a photo of a whole A4 page cannot show ticks (about 2 MP: ~80 dpi on the sheet)
MIN_PIXELS = 2_000_000
#: the sheet must cover at least this share of the photo
MIN_PAGE_SHARE = 0.20
#: :func:`sharpness` of the flattened page (grey) below which it is too blurred to read
MIN_SHARPNESS = 15.0
_WORK_SIDE = 1000  # long side of the copy the page is searched in


@dataclass(frozen=True)
class Flattened:
    """The sheet, upright, as an RGB array of A4 at ``dpi``."""

    image: np.ndarray
    corners: np.ndarray  # (4, 2) float: top-left, top-right, bottom-right, bottom-left, photo pixels
    dpi: int
    sharpness: float


@dataclass(frozen=True)
class PhotoFailure:
    """Why a photo cannot be read; ``problem`` is what to tell the user."""

    reason: Literal["too_small", "too_large", "blur", "no_page"]
    problem: Problem


def _fail(reason: str, code: Code, **context) -> PhotoFailure:
    return PhotoFailure(reason, Problem(code, context))  # type: ignore[arg-type]


def _rgb(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    elif a.shape[2] == 4:
        a = a[..., :3]
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return a


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left."""
    pts = np.asarray(pts, dtype=np.float32).reshape(4, 2)
    s, d = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    return np.float32([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]])


def find_page(image: np.ndarray) -> np.ndarray | None:
    """The sheet's four corners in ``image`` (photo pixels, ordered), or None."""
    import cv2

    a = _rgb(image)
    h, w = a.shape[:2]
    f = _WORK_SIDE / max(h, w)
    small = cv2.resize(a, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    # paper: bright and hardly coloured, relative to this photo's light (shadows lower the level)
    v = cv2.GaussianBlur(hsv[..., 2], (0, 0), 3)
    sat = cv2.GaussianBlur(hsv[..., 1], (0, 0), 3)
    otsu, _ = cv2.threshold(v, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    top = float(np.percentile(v, 97))
    # a light table can merge with the sheet at Otsu's level: try stricter levels up to the paper's own
    for level in np.linspace(otsu, max(otsu, top - 8), 6):
        paper = np.where((v > level) & (sat < 70), 255, 0).astype(np.uint8)
        quad = _quad(paper, small.shape[:2])
        if quad is not None:
            return order_corners(quad / f)
    return None


def _quad(paper: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
    """Four corners of the largest sheet-like region of the mask (work pixels), or None."""
    import cv2

    sh, sw = shape
    k = max(3, int(_WORK_SIDE * 0.015)) | 1
    paper = cv2.morphologyEx(paper, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    paper = cv2.morphologyEx(paper, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    contours, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(c)
    if area < MIN_PAGE_SHARE * sh * sw:
        return None
    hull = cv2.convexHull(c)
    quad = None
    peri = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            quad = approx.reshape(4, 2).astype(np.float32)
            break
    if quad is None or area < 0.9 * cv2.contourArea(quad):
        return None
    # an A4 sheet: long sides about 1.41 times the short ones (perspective up to ~15° allowed);
    # a part of the sheet (light cut off by a shadow) or the sheet with a strip of table is not
    q = order_corners(quad)
    sides = [float(np.linalg.norm(q[(i + 1) % 4] - q[i])) for i in range(4)]
    a, b = (sides[0] + sides[2]) / 2, (sides[1] + sides[3]) / 2
    if not 1.414 * 0.88 <= max(a, b) / max(1e-6, min(a, b)) <= 1.414 * 1.12:
        return None
    # a corner on the frame's edge: the sheet is cut off, or the region ran into the table
    if any(x <= 2 or y <= 2 or x >= sw - 3 or y >= sh - 3 for x, y in quad):
        return None
    return quad


#: a scan's outer frame is paper: at least this share of it is light and hardly coloured
SCAN_BORDER_PAPER = 0.85


def looks_like_photo(image: np.ndarray) -> bool:
    """A phone photo rather than a scan: the outer frame of the picture (3 % of each side) is
    not paper (light, hardly coloured, relative to the picture's own light) — a table, a
    floor, a shadow shows round the sheet."""
    import cv2

    a = np.asarray(image)
    step = max(1, max(a.shape[:2]) // 800)
    a = _rgb(a[::step, ::step])
    h, w = a.shape[:2]
    f = 400 / max(h, w)
    small = cv2.resize(a, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    v, sat = hsv[..., 2].astype(np.float32), hsv[..., 1]
    paper = (v > 0.8 * float(np.percentile(v, 95))) & (sat < 60)
    sh, sw = paper.shape
    b = max(2, int(0.03 * min(sh, sw)))
    frame = np.concatenate([paper[:b].ravel(), paper[-b:].ravel(), paper[:, :b].ravel(), paper[:, -b:].ravel()])
    return float(frame.mean()) < SCAN_BORDER_PAPER


#: the paper's light is estimated over squares this big (mm): bigger than any stroke or seal ring's width
LIGHT_WINDOW_MM = 6.0


def even_light(page: np.ndarray, dpi: int) -> np.ndarray:
    """The sheet with the light made even: each channel divided by the paper's own brightness
    round each point (the brightest pixels nearby, smoothed), so a shadow or a gradient of the
    light is paper, not ink, and the paper comes out white."""
    import cv2

    k = max(3, int(LIGHT_WINDOW_MM * dpi / 25.4)) | 1
    small = cv2.resize(page, (page.shape[1] // 4, page.shape[0] // 4), interpolation=cv2.INTER_AREA)
    paper = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (k // 4 | 1, k // 4 | 1)))
    paper = cv2.GaussianBlur(paper, (0, 0), k / 4)
    paper = cv2.resize(paper, (page.shape[1], page.shape[0]), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    out = page.astype(np.float32) * (245.0 / np.maximum(paper, 1.0))
    return np.clip(out, 0, 255).astype(np.uint8)


def sharpness(grey: np.ndarray) -> float:
    """How steep the page's sharpest edges are: the 99.5th percentile of the Laplacian's size
    (printed lines and text give steep edges on any sheet, however little is written on it)."""
    import cv2

    return float(np.percentile(np.abs(cv2.Laplacian(grey, cv2.CV_32F)), 99.5))


def flatten(image: np.ndarray, *, dpi: int = 200, margin: float = 0.0) -> Flattened | PhotoFailure:
    """Find the sheet in a phone photo (an RGB, RGBA or grey array) and warp it to A4 at ``dpi``;
    ``margin`` (share of each side): keep that much more round it, so a corner found a little
    inside the sheet cuts nothing off (the reader's alignment then finds the page in it)."""
    import cv2

    a = _rgb(image)
    h, w = a.shape[:2]
    if h * w > IMAGE_MAX_PIXELS:
        return _fail("too_large", Code.PHOTO_TOO_LARGE, width=w, height=h, limit=IMAGE_MAX_PIXELS // 10_000)
    if h * w < MIN_PIXELS:
        return _fail("too_small", Code.PHOTO_TOO_SMALL, width=w, height=h, need=MIN_PIXELS // 10_000)
    corners = find_page(a)
    if corners is None:
        return _fail("no_page", Code.PHOTO_NO_PAGE, why="没有找到纸张的四条边")
    top = np.linalg.norm(corners[1] - corners[0])
    left = np.linalg.norm(corners[3] - corners[0])
    if top > left:  # photographed sideways: the sheet's long side runs across
        corners = np.roll(corners, -1, axis=0)
    W, H = (round(mm / 25.4 * dpi) for mm in A4_MM)
    mx, my = round(W * margin), round(H * margin)
    m = cv2.getPerspectiveTransform(corners, np.float32([(mx, my), (mx + W - 1, my), (mx + W - 1, my + H - 1),
                                                         (mx, my + H - 1)]))
    page = even_light(cv2.warpPerspective(a, m, (W + 2 * mx, H + 2 * my), flags=cv2.INTER_AREA,
                                          borderMode=cv2.BORDER_REPLICATE), dpi)
    sharp = sharpness(cv2.cvtColor(page, cv2.COLOR_RGB2GRAY))
    if sharp < MIN_SHARPNESS:
        return _fail("blur", Code.PHOTO_BLURRED, sharpness=round(sharp), need=round(MIN_SHARPNESS))
    return Flattened(page, corners, dpi, sharp)


__all__ = ["Flattened", "PhotoFailure", "even_light", "find_page", "flatten", "looks_like_photo", "order_corners", "sharpness"]
