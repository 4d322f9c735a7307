"""Small image helpers shared by the scan readers."""

from __future__ import annotations

import numpy as np


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
