"""Drawing the page identifier's QR code (the payload itself is :mod:`fanpin_forms.pagemark`)."""

from __future__ import annotations

import io
import struct
import zlib



def qr_matrix(payload: str):
    """The QR code (segno) of ``payload``: error correction M, raised to Q when that
    fits the same size; the mask chosen by segno's rules, computed with numpy."""
    import segno

    from . import _qrmask

    with _qrmask.patched():
        return segno.make_qr(payload, error="m", boost_error=True)


def qr_png(payload: str, *, scale: int = 8, border: int = 2) -> bytes:
    """A 1-bit greyscale PNG of the QR code (quiet zone of ``border`` modules)."""
    qr = qr_matrix(payload)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        buf = io.BytesIO()
        qr.save(buf, kind="png", scale=scale, border=border)
        return buf.getvalue()
    size = len(qr.matrix)
    dark = np.zeros((size + 2 * border, size + 2 * border), dtype=bool)
    dark[border:border + size, border:border + size] = np.frombuffer(
        b"".join(bytes(r) for r in qr.matrix), dtype=np.uint8).reshape(size, size) & 1
    pixels = np.repeat(np.repeat(~dark, scale, axis=0), scale, axis=1)  # 1 = white
    rows = np.packbits(pixels, axis=1)
    raw = np.hstack([np.zeros((rows.shape[0], 1), dtype=np.uint8), rows]).tobytes()  # filter byte 0 per row
    side = pixels.shape[0]
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)),
        _chunk(b"IDAT", zlib.compress(raw, 6)),
        _chunk(b"IEND", b""),
    ])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
