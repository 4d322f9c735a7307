"""Mainland China phone numbers: normalising and checking.

Canonical forms returned by :func:`normalize_phone`:

* mobile: 11 digits, e.g. ``13800138000``;
* landline: ``area-number`` with an optional ``-extension``, e.g. ``0730-1234567``
  or ``010-12345678-801``.

Input may carry ``+86``/``0086``/``86``, spaces (also full-width), dashes,
brackets and full-width digits. Error messages show the masked number only.
"""

from __future__ import annotations

import re
import unicodedata

from fanpin_forms.errors import Code, Problem
from fanpin_forms.privacy.invalid import SensitiveValueInvalid
from fanpin_forms.privacy.masking import mask_phone

__all__ = ["PhoneInvalid", "is_mobile", "normalize_phone"]

MOBILE = re.compile(r"1[3-9]\d{9}")

# Area codes: 010 and 020-029 have three characters, all others four (0730).
_AREA = r"010|02\d|0[3-9]\d\d"
_LANDLINE = re.compile(
    rf"(?:\((?P<area_b>{_AREA})\)|(?P<area>{_AREA}))-?"
    r"(?P<number>\d{7,8})"
    r"(?:(?:-|转|分机|ext\.?|x|#)(?P<ext>\d{1,6}))?",
    re.IGNORECASE,
)
# Country code in front: +86, 0086, 86, (+86), +86-.
_COUNTRY = re.compile(r"\(?(?:\+|00)?86\)?-?")
# Dash-like characters people type between digit groups.
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63]")


class PhoneInvalid(SensitiveValueInvalid):
    """A phone number is neither a mobile nor a landline number."""


def _clean(raw: str) -> str:
    """NFKC (full-width -> ASCII), drop all whitespace, unify dashes."""
    text = unicodedata.normalize("NFKC", raw)
    return _DASHES.sub("-", "".join(text.split()))


def normalize_phone(raw: str) -> str:
    """Return the canonical form of a mobile or landline number.

    Raises :class:`PhoneInvalid` (code ``VALUE_PHONE``) whose message shows the
    number masked with :func:`fanpin_forms.privacy.masking.mask_phone` (applied to the
    input with whitespace removed and full-width characters converted).
    """
    text = _clean(raw)
    candidates = [text]
    country = _COUNTRY.match(text)
    if country and country.end() < len(text):
        rest = text[country.end() :]
        # The international form drops the area code's 0: +86 730 1234567.
        candidates = [rest] if rest[0] in "0(" else [rest, "0" + rest]

    for candidate in candidates:
        digits = re.sub(r"[-()]", "", candidate)
        if MOBILE.fullmatch(digits):
            return digits
        m = _LANDLINE.fullmatch(candidate)
        if m:
            canonical = f"{m['area'] or m['area_b']}-{m['number']}"
            return f"{canonical}-{m['ext']}" if m["ext"] else canonical

    raise PhoneInvalid(Problem(Code.VALUE_PHONE, {"value": mask_phone(text)}))


def is_mobile(s: str) -> bool:
    """True if ``s`` (in any form :func:`normalize_phone` accepts) is a mobile number."""
    try:
        return bool(MOBILE.fullmatch(normalize_phone(s)))
    except PhoneInvalid:
        return False
