"""Which form, which household, which page: from the QR code, else from printed text.

Every printed page carries a QR code (top right) and the same facts as a small
printed line (see :mod:`fanpin_forms.pagemark`). The QR also tells the page's
orientation, so a page scanned sideways or upside down is turned upright here.
When the QR is unreadable the page is identified from its printed id line or its
title (text layer first, then OCR) and flagged for review.

The QR code's MAC says whether this installation printed it (:mod:`fanpin_forms.pagemark`);
the printed line is read as well when that is cheap (the text layer, or one OCR'd
line right under the code) so that a QR code pasted over another household's form
is caught: see :func:`cross_check`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from ..errors import Code, ReadBackError
from ..pagemark import AUTH_BAD, AUTH_LEGACY, AUTH_OK, Payload, inspect_payload, is_ours, parse_ident_text
from .thresholds import IDENT_OCR_HEIGHT, IDENT_SPAN_PT, PRINTED_ID_MIN_SCORE, STRIP_WIDTH, TOP_STRIP  # noqa: F401


@dataclass
class Identity:
    payload: Payload | None  # None: only the form is known (title), or nothing
    method: str  # "qr", "text" (printed id line), "title", or "" (not ours)
    rotation: int  # degrees (counter-clockwise) applied to make the page upright
    form_id: str | None = None
    qr_corners: tuple[tuple[float, float], ...] = ()  # in the upright image, TL TR BR BL
    note: str = ""  # why it is flagged
    trusted: bool = False  # a QR code made with this installation's key, not contradicted by the printed id

    @property
    def recognised(self) -> bool:
        return self.payload is not None


def _qr_codes(gray: np.ndarray):
    import zxingcpp

    return zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=True,
                                  try_downscale=True, try_invert=False)


def _ours(codes) -> list:
    return [c for c in codes if is_ours(c.text)]


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
        payload = inspect_payload(code.text)
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
                return inspect_payload(code.text)
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


_LOOSE_IDENT = re.compile(r"第(?P<page>\d{1,4})/(?P<pages>\d{1,4})页\W*(?P<kind>[CSR])[:：;；](?P<value>\S+)$")


def loose_ident(text: str) -> tuple[str, str, int, int] | None:
    """(kind, value, page, pages) from a printed id line read by OCR, which often
    loses the "·" separators and the spaces: only the part from "第…页" on is used."""
    flat = "".join(unicodedata.normalize("NFKC", text).split())
    m = _LOOSE_IDENT.search(flat)
    if not m:
        return None
    return m["kind"], m["value"], int(m["page"]), int(m["pages"])




def printed_ident_by_ocr(image: Image.Image, qr_corners, qr_rect, ident_rect, modules: int
                         ) -> tuple[str, str, int, int] | None:
    """OCR the printed id line under the QR code of an upright scan (one line, no
    detection): where it is comes from the blank (``qr_rect``, ``ident_rect`` in
    points) mapped through the QR code's corners. None when it cannot be read
    confidently (then nothing is cross-checked)."""
    from . import ocr
    from .align import from_points, qr_symbol_corners

    if not qr_corners or qr_rect is None or ident_rect is None or not modules:
        return None
    ref = qr_symbol_corners((qr_rect.x0, qr_rect.top, qr_rect.x1, qr_rect.bottom), modules)
    m = from_points(ref, np.asarray(qr_corners, np.float32))
    if m is None:
        return None
    pad = ident_rect.height * 0.6
    pts = np.array([[ident_rect.x1 - IDENT_SPAN_PT, ident_rect.top - pad], [ident_rect.x1 + pad, ident_rect.top - pad],
                    [ident_rect.x1 + pad, ident_rect.bottom + pad],
                    [ident_rect.x1 - IDENT_SPAN_PT, ident_rect.bottom + pad]], np.float64)
    mapped = pts @ np.asarray(m, np.float64)[:, :2].T + np.asarray(m, np.float64)[:, 2]
    gray = np.asarray(image.convert("L"))
    h, w = gray.shape
    x0, y0 = (max(0, int(v)) for v in mapped.min(axis=0))
    x1, y1 = min(w, int(mapped[:, 0].max()) + 1), min(h, int(mapped[:, 1].max()) + 1)
    if x1 - x0 < 8 or y1 - y0 < 4:
        return None
    crop = Image.fromarray(gray[y0:y1, x0:x1])
    if crop.height < IDENT_OCR_HEIGHT:  # the line is printed small: enlarge it for the recogniser
        f = IDENT_OCR_HEIGHT / crop.height
        crop = crop.resize((max(1, round(crop.width * f)), IDENT_OCR_HEIGHT), Image.Resampling.LANCZOS)
    line = ocr.read_line(np.asarray(crop))
    if line.score < PRINTED_ID_MIN_SCORE:
        return None
    return loose_ident(line.text)


def printed_ident_in_text(text: str) -> tuple[str, str, int, int] | None:
    """(kind, value, page, pages) of the printed id line in a page's text layer."""
    found = find_ident_text(text)
    return (found.kind, found.value, found.page, found.pages) if found is not None else None


_LOOKALIKE = str.maketrans({"o": "0", "i": "1", "l": "1"})


def _ocr_form(text: str) -> str:
    """What OCR cannot tell apart, made equal: letter case, O/0, I/l/1."""
    return text.casefold().translate(_LOOKALIKE)


def _ocr_noise(printed: tuple[str, str, int, int], p: Payload) -> bool:
    """The printed id reads as the QR's but for what OCR of a small line gets wrong:
    letter case, look-alike characters, and lost characters (a doubled or narrow
    letter: "YY-RJW-002" → "Y-RJ-002"). A different digit or letter, as another
    household's id has, is never explained away."""
    if (printed[0], printed[2], printed[3]) != (p.kind, p.page, p.pages) or printed[1] == p.value:
        return False
    rest = iter(_ocr_form(p.value))
    return all(ch in rest for ch in _ocr_form(printed[1]))


def cross_check(identity: Identity, printed: tuple[str, str, int, int] | None) -> Identity:
    """Weigh a QR identity against its MAC and the printed id line (``printed``; None
    when it could not be read). The household comes from the QR code, except when the
    code is not this installation's (its MAC does not verify, or it is an old FPF1 code
    anyone can make) and the printed line names another one: a forged code pasted on a
    real form. Anything short of "this installation's code, not contradicted"
    gets a note (the page goes to review) and is not ``trusted``."""
    from ..errors import Code

    p = identity.payload
    if identity.method != "qr" or p is None:
        return identity
    if printed is not None and _ocr_noise(printed, p):
        printed = None  # OCR garbled the same id: unread, not a contradiction
    differs = printed is not None and (printed[0], printed[1], printed[2]) != (p.kind, p.value, p.page)
    notes = []
    payload = p
    if differs:
        shown = f"{printed[0]}:{printed[1]} 第{printed[2]}/{printed[3]}页"
        qr = f"{p.ident} 第{p.page}/{p.pages}页"
        if p.auth != AUTH_OK:
            payload = replace(p, kind=printed[0], value=printed[1], page=printed[2], pages=printed[3], raw=p.raw)
            used = "页面上印的编号"
        else:
            used = "二维码"
        notes.append(Code.READ_ID_MISMATCH.format(qr=qr, printed=shown, used=used))
    if p.auth == AUTH_BAD:
        printed_note = "" if differs else (Code.READ_ID_PRINTED_SAME.format() if printed is not None
                                           else Code.READ_ID_PRINTED_UNREAD.format())
        notes.append(Code.READ_QR_UNVERIFIED.format(ident=p.ident, printed=printed_note))
    elif p.auth == AUTH_LEGACY:
        notes.append(Code.READ_QR_LEGACY.format(ident=p.ident))
    return replace(identity, payload=payload, note="；".join(notes), trusted=not notes)




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


def is_empty(image: Image.Image) -> bool:
    """Nothing on the page (an empty sheet in the pile): almost no dark pixels."""
    small = image.convert("L").resize((max(1, image.width // 8), max(1, image.height // 8)))
    arr = np.asarray(small)
    white = float(np.percentile(arr, 90)) if arr.size else 255.0
    return float((arr < white * 0.6).mean()) < 0.002
