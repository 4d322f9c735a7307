"""Tests for fanpin_forms.privacy.idcard (GB 11643-1999 ID numbers)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fanpin_forms.errors import Code, FanpinError
from fanpin_forms.privacy.idcard import IdNumber, IdNumberInvalid, check_char, normalize_id, parse_id_number
from fanpin_forms.privacy.masking import mask_id

TODAY = date(2025, 6, 1)

# Written out independently of the module under test.
PREFIXES = (
    [f"{n}" for n in range(11, 16)]
    + [f"{n}" for n in range(21, 24)]
    + [f"{n}" for n in range(31, 38)]
    + [f"{n}" for n in range(41, 47)]
    + [f"{n}" for n in range(50, 55)]
    + [f"{n}" for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)
ID_CODES = {
    Code.VALUE_ID_LENGTH,
    Code.VALUE_ID_CHARS,
    Code.VALUE_ID_REGION,
    Code.VALUE_ID_BIRTH,
    Code.VALUE_ID_CHECKSUM,
    Code.VALUE_ID_OLD15,
    Code.VALUE_EXCEL_NUMBER_ID,
}


def ref_check(first17: str) -> str:
    """Independent MOD 11-2: weight of position i (0-based) is 2**(17-i) mod 11."""
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(first17))
    return "10X98765432"[total % 11]


def make_id(prefix: str, rest4: str, birth: date, seq: int) -> str:
    first17 = f"{prefix}{rest4}{birth:%Y%m%d}{seq:03d}"
    return first17 + ref_check(first17)


@st.composite
def valid_ids(draw: st.DrawFn) -> tuple[str, date, int]:
    prefix = draw(st.sampled_from(PREFIXES))
    rest4 = draw(st.text("0123456789", min_size=4, max_size=4))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    seq = draw(st.integers(0, 999))
    return make_id(prefix, rest4, birth, seq), birth, seq


def error_of(raw: str, today: date = TODAY) -> IdNumberInvalid:
    with pytest.raises(IdNumberInvalid) as info:
        parse_id_number(raw, today=today)
    return info.value


def assert_no_leak(err: FanpinError, number: str) -> None:
    """No message shows the number, nor any 6-character piece of it."""
    texts = [str(err)] + [p.message for p in err.problems] + [repr(p.context) for p in err.problems]
    if len(number) < 6:
        return
    for text in texts:
        assert number not in text
        for i in range(len(number) - 5):
            assert number[i : i + 6] not in text, (number[i : i + 6], text)


# --- known vectors -------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "birth", "sex"),
    [
        ("11010519491231002X", date(1949, 12, 31), "女"),
        ("430621198001010018", date(1980, 1, 1), "男"),
        ("43062119750615002X", date(1975, 6, 15), "女"),
        ("430621201002280030", date(2010, 2, 28), "男"),
    ],
)
def test_known_vectors(number: str, birth: date, sex: str) -> None:
    parsed = parse_id_number(number, today=TODAY)
    assert parsed == IdNumber(number, birth, sex, number[:6])
    assert check_char(number[:17]) == number[17]


def test_vector_born_1880_has_right_check_char_but_is_too_early() -> None:
    assert check_char("44052418800101001") == "4"
    err = error_of("440524188001010014")
    assert err.problem.code is Code.VALUE_ID_BIRTH


def test_check_char_rejects_bad_input() -> None:
    for bad in ["", "1234", "4306211980010100", "43062119800101001X", "４３０６２１１９８００１０１００１"]:
        with pytest.raises(ValueError):
            check_char(bad)


# --- normalising -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",
        " 11010519491231002X ",
        "110105 19491231 002X",
        "１１０１０５１９４９１２３１００２Ｘ",
        "１１０１０５\u3000１９４９１２３１００２ｘ",
        "\t110105194912\u00a031002X\n",
    ],
)
def test_normalize_id(raw: str) -> None:
    assert normalize_id(raw) == "11010519491231002X"
    assert parse_id_number(raw, today=TODAY).number == "11010519491231002X"


# --- each check -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("4306211980010100", Code.VALUE_ID_LENGTH),
        ("4306211980010100188", Code.VALUE_ID_LENGTH),
        ("", Code.VALUE_ID_LENGTH),
        ("43062119800101001A", Code.VALUE_ID_CHARS),
        ("4306211980X1010018", Code.VALUE_ID_CHARS),
        ("张三", Code.VALUE_ID_CHARS),
        ("430621-19800101-0018", Code.VALUE_ID_CHARS),
        ("430621800101001", Code.VALUE_ID_OLD15),
        ("4.30621198001010E+17", Code.VALUE_EXCEL_NUMBER_ID),
        ("990621198001010018", Code.VALUE_ID_REGION),
        ("000621198001010018", Code.VALUE_ID_REGION),
        ("430621199902300018", Code.VALUE_ID_BIRTH),  # 1999-02-30
        ("430621198013010018", Code.VALUE_ID_BIRTH),  # month 13
        ("430621189912310018", Code.VALUE_ID_BIRTH),  # before 1900
        ("430621202506020018", Code.VALUE_ID_BIRTH),  # after TODAY
        ("430621198001010019", Code.VALUE_ID_CHECKSUM),
        ("43062119800101001X", Code.VALUE_ID_CHECKSUM),
    ],
)
def test_each_check(raw: str, code: Code) -> None:
    err = error_of(raw)
    assert isinstance(err, FanpinError)
    assert len(err.problems) == 1
    assert err.problem.code is code
    assert err.problem.context["value"] == mask_id(normalize_id(raw))


def test_messages_use_catalogue() -> None:
    masked = "4306**********0019"
    assert str(error_of("430621198001010019")) == Code.VALUE_ID_CHECKSUM.format(value=masked, expected="8")
    assert str(error_of("4306211980010100")) == Code.VALUE_ID_LENGTH.format(value="4306********0100", length=16)
    assert str(error_of("990621198001010018")) == Code.VALUE_ID_REGION.format(
        value="9906**********0018", prefix="99"
    )
    assert str(error_of("430621199902300018")) == Code.VALUE_ID_BIRTH.format(
        value="4306**********0018", birth="1999-02-30"
    )


def test_check_order_region_before_birth_before_checksum() -> None:
    # Bad region, bad date and bad check char at once: region is reported.
    assert error_of("999999199902300011").problem.code is Code.VALUE_ID_REGION
    # Good region, bad date and bad check char: birth is reported.
    assert error_of("430621199902300011").problem.code is Code.VALUE_ID_BIRTH


def test_birth_today_is_allowed_and_tomorrow_is_not() -> None:
    assert parse_id_number(make_id("43", "0621", TODAY, 1), today=TODAY).birth_date == TODAY
    tomorrow = date(2025, 6, 2)
    assert error_of(make_id("43", "0621", tomorrow, 1)).problem.code is Code.VALUE_ID_BIRTH


def test_today_defaults_to_real_today() -> None:
    future = date(date.today().year + 1, 1, 1)
    with pytest.raises(IdNumberInvalid) as info:
        parse_id_number(make_id("43", "0621", future, 1))
    assert info.value.problem.code is Code.VALUE_ID_BIRTH


def test_repr_and_masked_do_not_leak() -> None:
    parsed = parse_id_number("430621198001010018", today=TODAY)
    assert "430621198001010018" not in repr(parsed)
    assert "430621198001010018" not in str(parsed)
    assert parsed.masked() == "4306**********0018"
    assert parsed.masked(keep_left=6, keep_right=4) == "430621********0018"
    assert parsed.masked(keep_left=0, keep_right=0) == "*" * 18


# --- properties --------------------------------------------------------------------


@given(valid_ids())
@example(("830000199001010012", date(1990, 1, 1), 1))  # Taiwan residence permit
def test_valid_ids_are_accepted(case: tuple[str, date, int]) -> None:
    number, birth, seq = case
    assert number[-1] == ref_check(number[:17])
    parsed = parse_id_number(number, today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == birth
    assert parsed.sex == ("男" if seq % 2 else "女")
    assert parsed.region_code == number[:6]
    assert check_char(number[:17]) == number[17]
    # Lower-case x and surrounding spaces are fine too.
    assert parse_id_number(f" {number.lower()} ", today=TODAY) == parsed


@given(valid_ids(), st.integers(0, 17), st.integers(1, 10))
def test_one_changed_character_is_rejected(case: tuple[str, date, int], pos: int, shift: int) -> None:
    number = case[0]
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    old = number[pos]
    new = alphabet[(alphabet.index(old) + shift) % len(alphabet)]
    if new == old:  # shift == len(alphabet)
        new = alphabet[(alphabet.index(old) + 1) % len(alphabet)]
    mutated = number[:pos] + new + number[pos + 1 :]
    err = error_of(mutated)
    assert err.problem.code in ID_CODES
    if 2 <= pos < 6 or pos >= 14:  # neither region nor birth date affected
        assert err.problem.code is Code.VALUE_ID_CHECKSUM
    assert_no_leak(err, mutated)
    assert_no_leak(err, number)


@given(valid_ids(), st.integers(0, 16))
def test_swapped_neighbours_are_rejected(case: tuple[str, date, int], pos: int) -> None:
    number = case[0]
    a, b = number[pos], number[pos + 1]
    if a == b or not (a.isdigit() and b.isdigit()):
        return
    swapped = number[:pos] + b + a + number[pos + 2 :]
    err = error_of(swapped)
    assert err.problem.code in ID_CODES
    if 2 <= pos < 5 or pos >= 14:
        assert err.problem.code is Code.VALUE_ID_CHECKSUM
    assert_no_leak(err, swapped)


@given(
    st.sampled_from(PREFIXES),
    st.integers(1900, 2024),
    st.sampled_from([(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31), (0, 1), (13, 1), (1, 0), (1, 32)]),
    st.integers(0, 999),
)
def test_impossible_dates_are_rejected(prefix: str, year: int, month_day: tuple[int, int], seq: int) -> None:
    month, day = month_day
    first17 = f"{prefix}0621{year:04d}{month:02d}{day:02d}{seq:03d}"
    number = first17 + ref_check(first17)
    err = error_of(number)
    assert err.problem.code is Code.VALUE_ID_BIRTH
    assert_no_leak(err, number)


@given(st.integers(1900, 2100).filter(lambda y: not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0))))
def test_february_29_only_in_leap_years(year: int) -> None:
    first17 = f"430621{year}0229001"
    assert error_of(first17 + ref_check(first17)).problem.code is Code.VALUE_ID_BIRTH


@given(st.text("0123456789Xx \u3000", max_size=30))
def test_garbage_never_leaks(raw: str) -> None:
    number = normalize_id(raw)
    try:
        parsed = parse_id_number(raw, today=TODAY)
    except IdNumberInvalid as err:
        assert err.problem.code in ID_CODES
        assert_no_leak(err, number)
    else:
        assert parsed.number == number
