"""Which form, which household, which page: from the QR code, else from printed text.

Every printed page carries a QR code (top right) and the same facts as a small
printed line (see :mod:`fanpin_forms.render.qr`). The QR also tells the page's
orientation, so a page scanned sideways or upside down is turned upright here.
When the QR is unreadable the page is identified from its printed id line or its
title (text layer first, then OCR) and flagged for review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..errors import Code, ReadBackError
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

    ``corners`` are the symbol's outer corners (TL, TR, BR, BL of the code itself) in
    the image turned upright by :func:`upright`. Tries the whole page, then each
    quarter enlarged (a 100–150 dpi scan makes the code's modules tiny)."""
    gray = np.asarray(image.convert("L"))
    h, w = gray.shape
    codes = _ours(_qr_codes(gray))
    scale, offset = 1.0, (0, 0)
    if not codes:
        for y0, x0 in ((0, w // 2), (0, 0), (h // 2, 0), (h // 2, w // 2)):
            crop = Image.fromarray(gray[y0:y0 + h // 2, x0:x0 + w // 2])
            crop = crop.resize((crop.width * 2, crop.height * 2), Image.Resampling.LANCZOS)
            codes = _ours(_qr_codes(np.asarray(crop)))
            if codes:
                scale, offset = 0.5, (x0, y0)
                break
    if not codes:
        return None, 0, (), ""
    code = codes[0]
    try:
        payload = decode_payload(code.text)
    except ReadBackError as exc:
        return None, 0, (), str(exc.problems[0])
    rotation = _rotation_from_orientation(code.orientation)
    pos = code.position
    points = [(p.x * scale + offset[0], p.y * scale + offset[1])
              for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)]
    corners = tuple(_turn_point(x, y, w, h, rotation) for x, y in points)
    return payload, rotation, corners, ""


def read_qr_pictures(pictures: list[Image.Image]) -> Payload | None:
    """Our QR code among the pictures placed on a text page (no rendering needed)."""
    for pic in pictures:
        gray = np.asarray(pic.convert("L"))
        if gray.size == 0:
            continue
        codes = _ours(_qr_codes(gray))
        for code in codes:
            try:
                return decode_payload(code.text)
            except ReadBackError:
                continue
    return None


def _turn_point(x: float, y: float, w: int, h: int, rotation: int) -> tuple[float, float]:
    """Where (x, y) of a w×h image lands after ``image.rotate(rotation, expand=True)``."""
    if rotation == 90:
        return (y, w - x)
    if rotation == 180:
        return (w - x, h - y)
    if rotation == 270:
        return (h - y, x)
    return (x, y)


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
        payload = find_ident_text(line)
        if payload is not None:
            return Identity(payload, "text", 0, payload.form_id, note=Code.READ_ID_FROM_TEXT.format())
    joined = "".join("".join(lines).split())
    for form_id, title in titles.items():
        if title and title in joined:
            return Identity(None, "title", 0, form_id, note=Code.READ_ID_FROM_TITLE.format())
    return None


_IDENT_START = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*\s*[·・•]")


def find_ident_text(text: str) -> Payload | None:
    """The printed id line anywhere in ``text`` (it shares a line with "附件2" in text layers)."""
    text = text.replace("・", "·").replace("•", "·")
    for m in _IDENT_START.finditer(text):
        payload = parse_ident_text(text[m.start():].split("\n", 1)[0].split("\r", 1)[0])
        if payload is not None:
            return payload
    return None


#: share of the page height OCR'd when looking for the title and the id line
TOP_STRIP = 0.18
#: OCR works on the strip scaled to about this width (≈150 dpi for A4)
STRIP_WIDTH = 1240


def identify_by_ocr(image: Image.Image, titles: dict[str, str]) -> Identity | None:
    """OCR the top strip of the page in each of the four orientations (upright first,
    then upside down, then the two sideways ones): the id line or a title."""
    from . import ocr

    for rotation in (0, 180, 90, 270):
        turned = upright(image, rotation)
        w, h = turned.size
        strip = turned.crop((0, 0, w, max(1, int(h * TOP_STRIP))))
        if strip.width > STRIP_WIDTH:
            f = STRIP_WIDTH / strip.width
            strip = strip.resize((STRIP_WIDTH, max(1, int(strip.height * f))), Image.Resampling.LANCZOS)
        lines = ocr.read_block(strip)
        found = identify_by_text([ln.text for ln in lines], titles)
        if found is not None:
            found.rotation = rotation
            return found
    return None


def is_blank(image: Image.Image) -> bool:
    """Nothing on the page (a blank sheet in the pile): almost no dark pixels."""
    small = image.convert("L").resize((max(1, image.width // 8), max(1, image.height // 8)))
    arr = np.asarray(small)
    white = float(np.percentile(arr, 90)) if arr.size else 255.0
    return float((arr < white * 0.6).mean()) < 0.002
