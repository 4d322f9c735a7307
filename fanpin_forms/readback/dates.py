"""Handwritten dates ("2022 年 6 月 3 日" on the printed "年 月 日" line) and code numbers.

OCR gives a line of text and a score. The digits around 年/月/日 become a date; the
confidence is the OCR score, lowered for every guess the parser had to make (a
two-digit year, a missing 年, letters read as digits). A date that does not exist,
lies in the future or before 2015 is not a date: it is returned as invalid with the
reason, never silently "corrected".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from ..forms.model import CIRCLED

EARLIEST_YEAR = 2015
#: characters OCR confuses with digits in handwriting
_LIKE_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1",
                              "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "g": "9", "q": "9", "G": "6",
                              "b": "6", "T": "7"})
_FULL = re.compile(r"(\d{2,4})\D{0,2}年\D{0,2}(\d{1,2})\D{0,2}月\D{0,2}(\d{1,2})")
_NUMS = re.compile(r"\d+")


@dataclass
class DateReading:
    value: dt.date | None
    confidence: float
    text: str
    invalid: str = ""  # why the text is not a valid date ("" if valid or empty)


def parse_date(text: str, score: float, *, today: dt.date | None = None) -> DateReading:
    today = today or dt.date.today()
    raw = unicodedata.normalize("NFKC", text or "")
    compact = re.sub(r"\s+", "", raw)
    if not compact:
        return DateReading(None, 0.0, raw)
    penalty = 1.0
    compact = re.sub(r"(?<=\d)[,，.·'’`](?=\d)", "", compact)  # "2,022" → "2022"
    fixed = compact.translate(_LIKE_DIGITS)
    if fixed != compact:
        penalty *= 0.85
    m = _FULL.search(fixed)
    if m:
        y, mo, d = m.group(1), m.group(2), m.group(3)
    else:
        nums = _NUMS.findall(fixed)
        if len(nums) == 1 and len(nums[0]) == 8:  # 20220603
            y, mo, d = nums[0][:4], nums[0][4:6], nums[0][6:]
        elif len(nums) >= 3:
            y, mo, d = nums[0], nums[1], nums[2]
        else:
            return DateReading(None, round(score * 0.3, 3), raw, "没有读出年、月、日")
        penalty *= 0.7
    if len(y) == 2:
        y = "20" + y
        penalty *= 0.8
    elif len(y) == 3:
        return DateReading(None, round(score * 0.3, 3), raw, f"年份「{y}」不完整")
    try:
        value = dt.date(int(y), int(mo), int(d))
    except ValueError:
        return DateReading(None, round(score * 0.4, 3), raw, f"{y}年{mo}月{d}日 不存在")
    if value > today:
        return DateReading(None, round(score * 0.4, 3), raw, f"{value.isoformat()} 晚于今天")
    if value.year < EARLIEST_YEAR:
        return DateReading(None, round(score * 0.4, 3), raw, f"{value.isoformat()} 早于 {EARLIEST_YEAR} 年")
    return DateReading(value, round(score * penalty, 3), raw)


_CODE_TOKEN = re.compile(r"[\u2460-\u2473\u24ea]|\d{1,2}")


def parse_codes(text: str, allowed: set[int]) -> tuple[list[int], bool]:
    """Code numbers written in a blank ("①③", "1、3", "6 7"). Returns (codes, all_understood)."""
    raw = unicodedata.normalize("NFKC", text or "")
    # NFKC turns ① into "1": keep circled numerals by reading them before normalising
    codes: list[int] = []
    ok = True
    for m in _CODE_TOKEN.finditer((text or "").translate(_LIKE_DIGITS)):
        tok = m.group(0)
        no = CIRCLED.index(tok) if tok in CIRCLED else int(tok)
        if no in allowed:
            if no not in codes:
                codes.append(no)
        else:
            ok = False
    if not codes and raw.strip():
        ok = False
    return sorted(codes), ok
