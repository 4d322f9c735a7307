"""The printed-page protocol shared by printing and read-back: what every form page
carries so that a returned page can be told apart and filed.

* the page identifier: a QR code (:func:`encode_payload`, :func:`inspect_payload`)
  and the same facts as a printed line next to it (:func:`ident_text`,
  :func:`parse_ident_text`);
* the tick-box glyphs (:data:`BOX_EMPTY`, :data:`BOX_TICKED`) and their font;
* the names of the template slots that print them (:data:`IDENT_VAR`, :data:`QR_DESCR`,
  :func:`slot_var`, :func:`default_widths`, ...).

Drawing the QR image is :mod:`fanpin_forms.render.qr`'s job; this module imports
neither ``render`` nor ``readback``, so both depend on it and not on each other.

The page identifier printed on every form page: a QR code plus the same in text.

Payload (compact ASCII, no personal data ever)::

    FPF2|annex2|2022.1|C:YY-0001|1/1|K7Q2M4XA
    magic|form |version|ident   |page/pages|MAC

``ident`` is ``C:<case id>`` (a pre-filled form: the clerk's 户编号, not personal),
``S:<serial>`` (a blank form, e.g. ``S:annex2-20220601-3``) or ``R:<row>`` (a
pre-filled form whose data row has no 户编号). Any character outside
``A-Za-z0-9-._~`` in a field is percent-encoded (UTF-8), so ``|`` and Chinese case ids
are safe.

The MAC authenticates the page: the first :data:`MAC_CHARS` characters of the
base32 HMAC-SHA256, under this installation's key (:mod:`fanpin_forms.util.secret`), of
everything before the last ``|``. Eight characters are 40 bits: guessing one
takes about 10^12 tries, each of them a printed and scanned page, and the code stays
the size the unkeyed 4-digit checksum had (QR version 3 for a case id like
``YY-0001``). A payload that does not verify is read as :data:`AUTH_BAD` (made with
another key, or forged): the reader sends its page to review and never files it
quietly under the household it names.

``FPF1`` payloads (printed before the MAC existed) end in an unkeyed checksum (the
first 4 hex digits of the SHA-1 of the body) that anyone can recompute: they are
read as :data:`AUTH_LEGACY`, still identified by their QR code, and flagged.

The printed text next to the QR (:func:`ident_text`) carries the same facts for a
human or an OCR engine when the code is unreadable, and to cross-check the code::

    annex2 · 2022.1 · 第1/1页 · C:YY-0001
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from .errors import Code, ReadBackError
from .forms.model import Block, FormSpec, Ref, split_placeholders

MAGIC = "FPF2"
LEGACY_MAGIC = "FPF1"
#: base32 characters of the HMAC kept in the payload (5 bits each)
MAC_CHARS = 8
#: how far a payload is authenticated: by this installation's key, only by the old
#: unkeyed checksum, or not at all (the MAC does not verify)
AUTH_OK, AUTH_LEGACY, AUTH_BAD = "ok", "legacy", "bad"
KINDS = {"C": "case", "S": "serial", "R": "row"}
_SAFE = "-._~"
_SEP = " · "


@dataclass(frozen=True)
class Payload:
    """A decoded page identifier."""

    form_id: str
    version: str
    kind: str  # "C", "S" or "R"
    value: str  # the case id, serial or row number (decoded)
    page: int
    pages: int
    auth: str = field(default=AUTH_OK, compare=False)
    raw: str = field(default="", compare=False, repr=False)  # the QR text it was read from

    @property
    def trusted(self) -> bool:
        """Made with this installation's key."""
        return self.auth == AUTH_OK

    @property
    def ident(self) -> str:
        """``C:YY-0001`` as passed to :func:`encode_payload` (not percent-encoded)."""
        return f"{self.kind}:{self.value}"

    @property
    def case_id(self) -> str | None:
        return self.value if self.kind == "C" else None

    @property
    def serial(self) -> str | None:
        return self.value if self.kind == "S" else None

    @property
    def row(self) -> int | None:
        return int(self.value) if self.kind == "R" and self.value.isdigit() else None

    def encode(self) -> str:
        """The QR text: as read (whatever its key or format), else made with this installation's key."""
        if self.raw:
            return self.raw
        return encode_payload(self.form_id, self.version, self.ident, self.page, self.pages)


def _checksum(body: str) -> str:
    """The unkeyed check of FPF1 payloads (read only, never written)."""
    return hashlib.sha1(body.encode("ascii")).hexdigest()[:4].upper()


def payload_mac(body: str, key: bytes | None = None) -> str:
    """The MAC of a payload body under ``key`` (default: this installation's)."""
    if key is None:
        from .util.secret import installation_key

        key = installation_key()
    digest = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:MAC_CHARS]


def _q(text: str) -> str:
    return quote(str(text), safe=_SAFE)


def split_ident(ident: str) -> tuple[str, str]:
    kind, sep, value = str(ident).partition(":")
    if not sep or kind not in KINDS or not value:
        raise ValueError(f"ident must be C:<case id>, S:<serial> or R:<row>, got {ident!r}")
    return kind, value


def encode_payload(form_id: str, version: str, ident: str, page: int = 1, pages: int = 1) -> str:
    """The QR text for one page. ``ident`` is ``C:…``, ``S:…`` or ``R:…``."""
    kind, value = split_ident(ident)
    if not (1 <= int(page) <= int(pages)):
        raise ValueError(f"page {page} of {pages}")
    body = "|".join([MAGIC, _q(form_id), _q(version), f"{kind}:{_q(value)}", f"{int(page)}/{int(pages)}"])
    return f"{body}|{payload_mac(body)}"


_PAGE = re.compile(r"^([1-9]\d{0,3})/([1-9]\d{0,3})$")


def decode_payload(text: str) -> Payload:
    """Parse QR text made with this installation's key (or an old FPF1 code, whose
    ``auth`` is :data:`AUTH_LEGACY`). Raises :class:`ReadBackError`: RENDER_QR_FORMAT,
    RENDER_QR_CHECKSUM (an FPF1 code misread), RENDER_QR_MAC (another key, or forged)."""
    payload = inspect_payload(text)
    if payload.auth == AUTH_BAD:
        raise ReadBackError.of(Code.RENDER_QR_MAC, text=_shown(text))
    return payload


def _shown(text: object) -> str:
    raw = text if isinstance(text, str) else str(text)
    return raw if len(raw) <= 80 else raw[:77] + "…"


def inspect_payload(text: str) -> Payload:
    """Parse QR text whatever its key: a payload whose MAC does not verify comes back
    with ``auth`` :data:`AUTH_BAD` (the reader puts such a page up for review, naming
    the household the code claims). Raises :class:`ReadBackError` only for text that
    is not a payload at all (RENDER_QR_FORMAT) or an FPF1 code whose checksum is wrong
    (RENDER_QR_CHECKSUM: a misread)."""
    raw = text if isinstance(text, str) else str(text)
    shown = _shown(raw)
    text = raw.strip()

    def bad(why: str) -> ReadBackError:
        return ReadBackError.of(Code.RENDER_QR_FORMAT, text=shown, why=why)

    if not text.isascii():
        raise bad("含有非 ASCII 字符")
    parts = text.split("|")
    if parts[0] not in (MAGIC, LEGACY_MAGIC):
        raise bad(f"应以 {MAGIC}| 开头")
    if len(parts) != 6:
        raise bad(f"应有 6 段（以 | 分隔），实际 {len(parts)} 段")
    body, check = text.rsplit("|", 1)
    if parts[0] == LEGACY_MAGIC:
        expected = _checksum(body)
        if check.upper() != expected:
            raise ReadBackError.of(Code.RENDER_QR_CHECKSUM, text=shown, expected=expected)
        auth = AUTH_LEGACY
    else:
        auth = AUTH_OK if hmac.compare_digest(check.upper(), payload_mac(body)) else AUTH_BAD
    _, form_id, version, ident, pagetext = parts[:5]
    kind, sep, value = ident.partition(":")
    if not sep or kind not in KINDS or not value:
        raise bad("第 4 段应为 C:户编号、S:流水号 或 R:行号")
    m = _PAGE.match(pagetext)
    if not m or int(m.group(1)) > int(m.group(2)):
        raise bad("第 5 段应为 页码/总页数，如 1/1")
    if not form_id or not version:
        raise bad("表单编号和版本不能为空")
    try:
        form_id, version, value = (unquote(x, errors="strict") for x in (form_id, version, value))
    except UnicodeDecodeError:
        raise bad("百分号编码不是有效的 UTF-8") from None
    return Payload(form_id, version, kind, value, int(m.group(1)), int(m.group(2)), auth, text)


def is_ours(text: str) -> bool:
    """QR text that claims to be a fanpin page id (current or old format)."""
    return text.startswith((MAGIC + "|", LEGACY_MAGIC + "|"))


def qr_modules(payload: str) -> int:
    """The side of the QR code of ``payload`` in modules, as :func:`fanpin_forms.render.qr.qr_matrix`
    draws it (error correction M, raised to Q when that fits the same size). The mask does
    not change the size, so none is searched for."""
    import segno

    return len(segno.make_qr(payload, error="m", boost_error=True, mask=0).matrix)


def ident_text(form_id: str, version: str, ident: str, page: int = 1, pages: int = 1) -> str:
    """The small printed line next to the QR: ``annex2 · 2022.1 · 第1/1页 · C:YY-0001``."""
    kind, value = split_ident(ident)
    return _SEP.join([form_id, version, f"第{page}/{pages}页", f"{kind}:{value}"])


_TEXT = re.compile(r"^\s*(?P<form>\S+)\s*·\s*(?P<version>\S+)\s*·\s*第\s*(?P<page>\d+)\s*/\s*(?P<pages>\d+)\s*页"
                   r"\s*·\s*(?P<kind>[CSR])\s*[:：]\s*(?P<value>.+?)\s*$")


def parse_ident_text(text: str) -> Payload | None:
    """The printed line back to a :class:`Payload` (None if it does not look like one)."""
    m = _TEXT.match(text.replace("・", "·").replace("•", "·"))
    if not m:
        return None
    return Payload(m["form"], m["version"], m["kind"], m["value"], int(m["page"]), int(m["pages"]))


# --- glyphs and slot names -------------------------------------------------------------------

#: Printed tick boxes. Both from DejaVu Sans so they have the same box geometry,
#: which the scan reader relies on.
BOX_EMPTY = "☐"
BOX_TICKED = "☑"
BOX_FONT = "DejaVu Sans"

#: alt text (``descr``) of the QR placeholder picture in every template
QR_DESCR = "fanpin-qr"

IDENT_VAR = "ident_text"
SPECIAL_VARS = (IDENT_VAR,)


def ref_base(names: tuple[str, ...]) -> str:
    return "__and__".join(n.replace(".", "__") for n in names)


def slot_var(names: tuple[str, ...], width: int | None, default_width: int | None) -> str:
    """The padded variable of a slot (``f_…``), or the plain one (``v_…``) without width."""
    base = ref_base(names)
    if width is None:
        return "v_" + base
    if width == default_width:
        return "f_" + base
    return f"f_{base}__w{width}"


def printed_texts(form: FormSpec) -> Iterator[str]:
    """Every printed text that may hold blanks, in page order."""
    for block in form.layout:
        if block.kind == "text":
            yield block.value
        elif block.kind in ("stages", "signature"):
            for stage in stages_of(form, block):
                yield stage.text
                for signer in stage.signers:
                    yield signer.printed
    for note in form.notes:
        if isinstance(note, tuple) and note[0] == "codes":
            cl = form.code_lists.get(note[1])
            for code in cl.codes if cl else ():
                yield code.text or code.name
        elif isinstance(note, str):
            yield note


def stages_of(form: FormSpec, block: Block):
    if block.kind == "signature":
        keys = [block.value] if isinstance(block.value, str) else list(block.value)
    elif block.value == "all":
        return list(form.stages)
    else:
        keys = list(block.value)
    return [s for s in (form.stage(k) for k in keys) if s is not None]


def refs(form: FormSpec) -> list[Ref]:
    out: list[Ref] = []
    for text in printed_texts(form):
        for piece in split_placeholders(text or ""):
            if isinstance(piece, Ref):
                out.append(piece)
    return out


def default_widths(form: FormSpec) -> dict[tuple[str, ...], int]:
    """The first width each blank's names are printed with (it gets the plain ``f_`` name)."""
    widths: dict[tuple[str, ...], int] = {}
    for ref in refs(form):
        if ref.width is not None:
            widths.setdefault(ref.names, ref.width)
    return widths
