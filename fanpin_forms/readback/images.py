"""Small image helpers shared by the scan readers."""

from __future__ import annotations

import numpy as np

from .thresholds import BINARY_MID_SHARE, DITHER_ALONE


def png(arr: np.ndarray | None) -> bytes | None:
    """A crop as PNG bytes (for review), or None for an empty one."""
    import cv2

    if arr is None or arr.size == 0:
        return None
    if arr.ndim == 3:
        arr = arr[..., ::-1]  # RGB → BGR for cv2
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    return buf.tobytes() if ok else None


def to_gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


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
