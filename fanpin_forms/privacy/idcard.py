"""Citizen ID numbers (公民身份号码, GB 11643-1999): normalising, checking, parsing.

An ID number has 18 characters: a 6-digit address code, the birth date as
YYYYMMDD, a 3-digit sequence number (odd = male, even = female) and a check
character computed with ISO 7064 MOD 11-2.

Privacy: every message built here carries the *masked* number only
(:func:`fanpin_forms.privacy.masking.mask_id`), and the birth date is written with
dashes so that no long digit run of the number appears in a message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from fanpin_forms.errors import Code, Problem
from fanpin_forms.privacy.invalid import SensitiveValueInvalid
from fanpin_forms.privacy.masking import MaskPolicy, mask_id

__all__ = [
    "EARLIEST_BIRTH",
    "PROVINCE_PREFIXES",
    "IdNumber",
    "IdNumberInvalid",
    "check_char",
    "normalize_id",
    "parse_id_number",
]

#: Weights for positions 1..17 (2**(18 - i) mod 11).
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Check character for each value of the weighted sum mod 11.
CHECK_CHARS = "10X98765432"

#: Valid first two digits: provinces, plus 71 Taiwan, 81 Hong Kong, 82 Macao and
#: 83 (residence permits of Taiwan residents, address code 830000).
PROVINCE_PREFIXES: frozenset[str] = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)

#: Birth dates before this day are rejected.
EARLIEST_BIRTH = date(1900, 1, 1)

_CHARS = re.compile(r"\d*X?")
_OLD15 = re.compile(r"\d{15}")
# An ID number that went through a float (Excel/CSV), e.g. "4.30621198001010E+17".
_EXCEL_NUMBER = re.compile(r"\d(?:\.\d+)?E\+?\d+")


class IdNumberInvalid(SensitiveValueInvalid):
    """An ID number failed a check. Holds exactly one :class:`Problem`."""


@dataclass(frozen=True)
class IdNumber:
    """A valid 18-character ID number and what it encodes.

    ``repr``/``str`` show the masked number only, so an ``IdNumber`` that ends up
    in a log line or traceback does not leak.
    """

    number: str
    birth_date: date
    sex: str  # "男" or "女"
    region_code: str  # the 6-digit address code

    def masked(self, keep_left: int = 4, keep_right: int = 4) -> str:
        """The number with all but ``keep_left``/``keep_right`` characters masked."""
        return mask_id(self.number, MaskPolicy(id_keep_left=keep_left, id_keep_right=keep_right))

    def __repr__(self) -> str:
        return f"IdNumber({self.masked()!r})"

    __str__ = __repr__


def normalize_id(raw: str) -> str:
    """Remove all whitespace (also full-width), turn full-width digits/Ｘ and ``x`` into ``X``.

    Nothing is validated here.
    """
    text = unicodedata.normalize("NFKC", raw)
    return "".join(text.split()).upper()


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("check_char needs exactly 17 ASCII digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS))
    return CHECK_CHARS[total % 11]


def parse_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    """Normalise and check ``raw``; return the parsed :class:`IdNumber`.

    Checks, in order: characters and length (including old 15-digit numbers),
    province prefix, birth date (a real date, not before 1900-01-01, not after
    ``today`` which defaults to ``date.today()``), check character.
    Raises :class:`IdNumberInvalid` with one of the ``VALUE_ID_*`` codes (or
    ``VALUE_EXCEL_NUMBER_ID`` for a number mangled into scientific notation).
    """
    number = normalize_id(raw)
    masked = mask_id(number)

    def fail(code: Code, **context: object) -> IdNumberInvalid:
        return IdNumberInvalid(Problem(code, {"value": masked, **context}))

    if _EXCEL_NUMBER.fullmatch(number):
        raise fail(Code.VALUE_EXCEL_NUMBER_ID)
    if not (number.isascii() and _CHARS.fullmatch(number)):
        raise fail(Code.VALUE_ID_CHARS)
    if _OLD15.fullmatch(number):
        raise fail(Code.VALUE_ID_OLD15)
    if len(number) != 18:
        raise fail(Code.VALUE_ID_LENGTH, length=len(number))

    prefix = number[:2]
    if prefix not in PROVINCE_PREFIXES:
        raise fail(Code.VALUE_ID_REGION, prefix=prefix)

    year, month, day = number[6:10], number[10:12], number[12:14]
    birth: date | None
    try:
        birth = date(int(year), int(month), int(day))
    except ValueError:
        birth = None
    if birth is None or birth < EARLIEST_BIRTH or birth > (today or date.today()):
        # Dashes keep the birth digits from forming a long run of the number.
        raise fail(Code.VALUE_ID_BIRTH, birth=f"{year}-{month}-{day}")

    expected = check_char(number[:17])
    if number[17] != expected:
        raise fail(Code.VALUE_ID_CHECKSUM, expected=expected)

    return IdNumber(
        number=number,
        birth_date=birth,
        sex="男" if int(number[16]) % 2 else "女",
        region_code=number[:6],
    )
