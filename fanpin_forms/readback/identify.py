"""Which form, which household, which page: from the QR code, else from printed text.

Every printed page carries a QR code (top right) and the same facts as a small
printed line (see :mod:`fanpin_forms.render.qr`). The QR also tells the page's
orientation, so a page scanned sideways or upside down is turned upright here.
When the QR is unreadable the page is identified from its printed id line or its
title (text layer first, then OCR) and flagged for review.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..errors import ReadBackError
from ..render.qr import MAGIC, Payload, decode_payload, parse_ident_text


@dataclass
class Identity:
    payload: Payload | None  # None: only the form is known (title), or nothing
    method: str  # "qr", "text" (printed id line), "title", or "" (not ours)
    rotation: int  # degrees (counter-clockwise) applied to make the page upright
    form_id: str | None = None
    qr_corners: tuple[tuple[float, float], ...] = ()  # in the upright image, TL TR BR BL
    note: str = ""  # why it is flagged

    @property
    def recognised(self) -> bool:
        return self.payload is not None


def _qr_codes(gray: np.ndarray):
    import zxingcpp

    return zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=True,
                                  try_downscale=True, try_invert=False)


def _ours(codes) -> list:
    return [c for c in codes if c.text.startswith(MAGIC + "|")]


def read_qr(image: Image.Image) -> tuple[Payload | None, int, tuple, str]:
    """Find our QR code. Returns (payload, rotation to apply, corners after rotation, note).

    Tries the whole page, then each corner enlarged (a 100–150 dpi scan makes the
    code's modules tiny)."""
    gray = np.asarray(image.convert("L"))
    codes = _ours(_qr_codes(gray))
    if not codes:
        h, w = gray.shape
        for y0, x0 in ((0, w // 2), (0, 0), (h // 2, 0), (h // 2, w // 2)):
            crop = Image.fromarray(gray[y0:y0 + h // 2, x0:x0 + w // 2])
            crop = crop.resize((crop.width * 2, crop.height * 2), Image.Resampling.LANCZOS)
            codes = _ours(_qr_codes(np.asarray(crop)))
            if codes:
                break
    if not codes:
        return None, 0, (), ""
    code = codes[0]
    note = ""
    try:
        payload = decode_payload(code.text)
    except ReadBackError as exc:
        return None, 0, (), str(exc.problems[0])
    rotation = _rotation_from_orientation(code.orientation)
    return payload, rotation, (), note


def _rotation_from_orientation(orientation: int) -> int:
    """zxing's orientation (degrees the code is turned clockwise) → PIL counter-clockwise
    rotation that makes it upright, snapped to a quarter turn."""
    quarter = round((orientation % 360) / 90) % 4 * 90
    return quarter


def upright(image: Image.Image, rotation: int) -> Image.Image:
    return image.rotate(rotation, expand=True, fillcolor="white") if rotation else image


def identify_by_text(lines: list[str], titles: dict[str, str]) -> Identity | None:
    """From text lines (a text layer, or OCR of the page's top): the printed id
    line gives everything; a form title gives the form only."""
    for line in lines:
        payload = parse_ident_text(line)
        if payload is not None:
            return Identity(payload, "text", 0, payload.form_id, note="二维码无法识读，已按页面上印的表单编号识别")
    joined = "".join("".join(lines).split())
    for form_id, title in titles.items():
        if title and title in joined:
            return Identity(None, "title", 0, form_id, note="二维码无法识读，只能按标题识别表单，无法确定是哪一户")
    return None
