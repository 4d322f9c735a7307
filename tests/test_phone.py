"""Tests for fanpin_forms.privacy.phone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fanpin_forms.errors import Code, FanpinError
from fanpin_forms.privacy.masking import mask_phone
from fanpin_forms.privacy.phone import PhoneInvalid, is_mobile, normalize_phone

DIGITS = "0123456789"


def full_width(s: str) -> str:
    """ASCII digits and + - ( ) to their full-width forms."""
    return "".join(chr(ord(c) + 0xFEE0) if c in DIGITS + "+-()" else c for c in s)


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    return "1" + draw(st.sampled_from("3456789")) + draw(st.text(DIGITS, min_size=9, max_size=9))


@st.composite
def area_codes(draw: st.DrawFn) -> str:
    three = draw(st.booleans())
    if three:
        return draw(st.sampled_from(["010"] + [f"02{d}" for d in DIGITS]))
    return "0" + draw(st.sampled_from("3456789")) + draw(st.text(DIGITS, min_size=2, max_size=2))


@st.composite
def landlines(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """(area, number, ext or "", how it is written)."""
    area = draw(area_codes())
    number = draw(st.sampled_from("23456789")) + draw(st.text(DIGITS, min_size=6, max_size=7))
    ext = draw(st.one_of(st.just(""), st.text(DIGITS, min_size=1, max_size=4)))
    form = draw(st.sampled_from(["{a}-{n}", "{a}{n}", "({a}){n}", "{a} {n}", "（{a}）{n}", "{a}－{n}", "{a}—{n}"]))
    written = form.format(a=area, n=number)
    if ext:
        written += draw(st.sampled_from(["转", "-", "ext", " ext. ", "x", "分机"])) + ext
    return area, number, ext, written


# --- mobiles -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+8613800138000",
        "8613800138000",
        "008613800138000",
        "(+86)13800138000",
        "+86-138-0013-8000",
        "１３８００１３８０００",
        "＋８６　１３８　００１３　８０００",
        "138\u20140013\u20148000",
    ],
)
def test_mobile_forms(raw: str) -> None:
    assert normalize_phone(raw) == "13800138000"
    assert is_mobile(raw)


@given(mobiles(), st.sampled_from(["", "+86", "86", "+86 ", "0086", "(+86)"]), st.booleans(), st.booleans())
def test_mobiles_normalise(number: str, prefix: str, spaced: bool, wide: bool) -> None:
    body = f"{number[:3]} {number[3:7]} {number[7:]}" if spaced else number
    raw = prefix + body
    if wide:
        raw = full_width(raw)
    assert normalize_phone(raw) == number
    assert is_mobile(raw)
    assert normalize_phone(number) == number  # idempotent


# --- landlines ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0730-1234567", "0730-1234567"),
        ("07301234567", "0730-1234567"),
        ("(0730)1234567", "0730-1234567"),
        ("（0730）1234567", "0730-1234567"),
        ("0730 1234567", "0730-1234567"),
        ("0730-12345678", "0730-12345678"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("021 6123 4567", "021-61234567"),
        ("0730-1234567转801", "0730-1234567-801"),
        ("0730-1234567-801", "0730-1234567-801"),
        ("0730-1234567 ext. 801", "0730-1234567-801"),
        ("+86 730 1234567", "0730-1234567"),
        ("+86 10 12345678", "010-12345678"),
        ("０７３０－１２３４５６７", "0730-1234567"),
    ],
)
def test_landline_forms(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected
    assert not is_mobile(raw)


@given(landlines())
def test_landlines_normalise(case: tuple[str, str, str, str]) -> None:
    area, number, ext, written = case
    expected = f"{area}-{number}" + (f"-{ext}" if ext else "")
    assert normalize_phone(written) == expected
    assert normalize_phone(expected) == expected  # idempotent
    assert not is_mobile(written)


# --- invalid -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "无",
        "12345678901",  # 12x is not a mobile segment
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "0730-123456",  # 6-digit local number
        "0730-123456789",  # 9-digit local number
        "1234567",  # no area code
        "0110-1234567",  # 011 is not an area code
        "0730-1234567转",  # empty extension
        "13800138000转801",
    ],
)
def test_invalid(raw: str) -> None:
    with pytest.raises(PhoneInvalid) as info:
        normalize_phone(raw)
    err = info.value
    assert isinstance(err, FanpinError)
    assert err.problem.code is Code.VALUE_PHONE
    compact = "".join(raw.split())
    assert err.problem.context["value"] == mask_phone(compact)
    assert str(err) == Code.VALUE_PHONE.format(value=mask_phone(compact))
    assert not is_mobile(raw)


def test_invalid_message_is_masked() -> None:
    with pytest.raises(PhoneInvalid) as info:
        normalize_phone("12345678901")
    assert "12345678901" not in str(info.value)
    assert "123****8901" in str(info.value)


@given(st.text(DIGITS + " -+()", min_size=1, max_size=20))
def test_invalid_values_are_masked(raw: str) -> None:
    compact = "".join(raw.split())
    try:
        normalize_phone(raw)
    except PhoneInvalid as err:
        message = str(err)
        # The template itself contains "0730-1234567"; look only at the value part.
        value = err.problem.context["value"]
        assert message == Code.VALUE_PHONE.format(value=value)
        shown = "".join(c for c in value if c.isdigit())
        assert len(shown) <= 7
        assert len(value) == len(compact)
        if len(compact) >= 2:
            assert value != compact
