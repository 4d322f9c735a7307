"""segno's QR mask selection, vectorised with numpy (same choice, ~10× faster).

Choosing the data mask (ISO/IEC 18004 §7.8.3: apply all 8 masks, score each,
keep the lowest penalty) is most of the time segno needs for a QR code: ~4 ms of
pure-Python loops, which made QR codes 80 % of the cost of filling a form.
:func:`find_and_apply_best_mask` computes the same four penalty scores with
numpy, with segno's exact semantics (including its N3 search order), and returns
the same mask and matrix; ``tests/test_render_qr.py`` checks that on many payloads.

It is used only inside :func:`patched` around ``segno.make_qr`` and only for
normal (non-Micro) QR codes; if numpy or segno's internals are not as expected
it falls back to segno's own function.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache

try:  # numpy is optional: without it segno does the work itself
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

from segno import encoder as _enc

_ORIGINAL = _enc.find_and_apply_best_mask
_N3 = (1, 0, 1, 1, 1, 0, 1)


@lru_cache(maxsize=16)
def _masks(width: int, height: int):
    function = _enc.make_matrix(width, height)
    _enc.add_finder_patterns(function, width, height)
    _enc.add_alignment_patterns(function, width, height)
    function[-8][8] = 0x1
    region = np.array([list(r) for r in function], dtype=np.int16) > 0x1
    i, j = np.indices((height, width))
    patterns = np.stack([np.asarray(fn(i, j), dtype=bool) & region for fn in _enc.get_data_mask_functions(False)])
    return patterns.astype(np.uint8)


def _n1(lines, groups: int):
    """Runs of ≥5 same-coloured modules score (length - 2). ``lines``: (groups·k, n) → per group."""
    rows, n = lines.shape
    padded = np.full((rows, n + 1), 9, dtype=np.int16)
    padded[:, :n] = lines
    flat = padded.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [flat.size])))
    keep = (flat[starts] != 9) & (lengths >= 5)
    group = starts[keep] // ((rows // groups) * (n + 1))
    return np.bincount(group, weights=lengths[keep] - 2, minlength=groups)


def _n3_line(seq: bytes, size: int) -> int:
    pattern = bytes(_N3)
    count = 0
    idx = seq.find(pattern)
    while idx != -1:
        offset = idx + 7
        if idx in (0, size - 7) or not any(seq[max(idx - 4, 0):min(idx, size)]) \
                or not any(seq[max(offset, 0):min(offset + 4, size)]):
            count += 40
        else:
            offset = idx + 4
        idx = seq.find(pattern, offset)
    return count


def _n3(lines, groups: int, size: int):
    """segno's 1:1:3:1:1 score: 40 for each pattern with 4 light modules on one side.

    Vectorised; a line where two patterns overlap (segno's search then skips one) is
    scored by segno's own sequential search."""
    rows, n = lines.shape
    w = n - 6
    code = lines[:, 0:w].astype(np.int16) << 6
    for t in range(1, 7):
        code |= lines[:, t:t + w].astype(np.int16) << (6 - t)
    match = code == 0b1011101  # (rows, n-6): the 1:1:3:1:1 pattern starts here
    padded = np.zeros((rows, n + 9), dtype=np.int32)
    padded[:, 5:n + 5] = lines  # one extra leading zero for the cumulative sum
    cs = np.cumsum(padded, axis=1)
    p = np.arange(n - 6)
    left = cs[:, p + 4] - cs[:, p]  # modules p-4 … p-1
    right = cs[:, p + 15] - cs[:, p + 11]  # modules p+7 … p+10
    per_line = 40 * (match & ((left == 0) | (right == 0))).sum(axis=1)
    overlap = (match[:, :-4] & match[:, 4:]).any(axis=1) | (match[:, :-6] & match[:, 6:]).any(axis=1)
    for r in np.flatnonzero(overlap):
        per_line[r] = _n3_line(lines[r].tobytes(), size)
    return per_line.reshape(groups, rows // groups).sum(axis=1)


def find_and_apply_best_mask(matrix, width, height, proposed_mask=None):
    is_micro = width == height and width < 21
    if np is None or is_micro or proposed_mask is not None or width != height:
        return _ORIGINAL(matrix, width, height, proposed_mask)
    base = np.frombuffer(b"".join(bytes(r) for r in matrix), dtype=np.uint8).reshape(height, width)
    if base.max() > 1:
        return _ORIGINAL(matrix, width, height, proposed_mask)
    patterns = _masks(width, height)
    k = len(patterns)
    cand = base[None, :, :] ^ patterns  # (k, h, w)
    rows = cand.reshape(k * height, width)
    cols = cand.transpose(0, 2, 1).reshape(k * width, height)
    score = _n1(rows, k) + _n1(cols, k)
    a = cand[:, :-1, :-1]
    score += 3 * ((a == cand[:, 1:, :-1]) & (a == cand[:, :-1, 1:]) & (a == cand[:, 1:, 1:])).sum(axis=(1, 2))
    rows_c = np.ascontiguousarray(rows)
    score += _n3(rows_c, k, width) + _n3(np.ascontiguousarray(cols), k, width)
    percent = cand.sum(axis=(1, 2)).astype(float) / (width ** 2)
    score += 10 * (np.abs(percent * 100 - 50) / 5).astype(int)
    best = int(np.argmin(score))  # first of equal scores, like segno
    return best, tuple(bytearray(row.tobytes()) for row in cand[best])


@contextlib.contextmanager
def patched():
    """Within the block, segno uses the numpy mask selection."""
    if np is None:
        yield
        return
    _enc.find_and_apply_best_mask = find_and_apply_best_mask
    try:
        yield
    finally:
        _enc.find_and_apply_best_mask = _ORIGINAL
