"""Tests for fanpin_forms.privacy.masking."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fanpin_forms.privacy.masking import (
    DEFAULT, KINDS, MaskPolicy, mask_bank, mask_id, mask_phone, mask_text, mask_value, scrub,
)

ID = "430621198001010018"
Masker = Callable[[str, MaskPolicy], str]

# (masker, name of the policy fields without "_keep_left"/"_keep_right")
MASKERS: list[tuple[Masker, str]] = [(mask_id, "id"), (mask_phone, "phone"), (mask_bank, "bank")]

policies = st.builds(
    MaskPolicy,
    id_keep_left=st.integers(0, 8),
    id_keep_right=st.integers(0, 8),
    phone_keep_left=st.integers(0, 8),
    phone_keep_right=st.integers(0, 8),
    bank_keep_left=st.integers(0, 8),
    bank_keep_right=st.integers(0, 8),
    mask_char=st.sampled_from(["*", "#", "×", "●"]),
)
# Values never contain a mask character, so "masked != original" is meaningful.
values = st.text("0123456789Xx-+() 张三", max_size=40)


# --- examples ----------------------------------------------------------------------


def test_examples() -> None:
    assert mask_id("430621198001013419") == "4306**********3419"
    assert mask_id("11010519491231002X") == "1101**********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0730-1234567") == "073*****4567"
    assert mask_bank("6222021234567890123") == "***************0123"
    assert mask_text("高血压，长期服药") == "***"
    assert mask_text("") == ""
    assert mask_id("") == ""


def test_county_policy() -> None:
    policy = MaskPolicy(id_keep_left=6, id_keep_right=4, mask_char="×")
    assert mask_id(ID, policy) == "430621××××××××0018"
    assert mask_value("id_number", ID, policy) == "430621××××××××0018"


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        ("1", "*"),
        ("12", "**"),
        ("123", "**3"),  # a third of 3 = 1 character, taken from the right
        ("123456", "1****6"),
        ("12345678", "1******8"),
        ("123456789", "1234*6789"),  # long enough for 4 + 4 + 1
    ],
)
def test_short_values_are_masked_harder(s: str, expected: str) -> None:
    assert mask_id(s) == expected


def test_mask_value_dispatch() -> None:
    assert mask_value("id_number", ID) == mask_id(ID)
    assert mask_value("phone", "13812345678") == "138****5678"
    assert mask_value("bank_account", "6222021234567890123") == mask_bank("6222021234567890123")
    assert mask_value("health", "残疾二级") == "***"
    assert mask_value("text", "anything") == "***"
    assert KINDS == {"id_number", "phone", "bank_account", "health", "text"}
    with pytest.raises(ValueError):
        mask_value("name", "张三")


@pytest.mark.parametrize(
    "kwargs",
    [{"id_keep_left": -1}, {"bank_keep_right": 1.5}, {"mask_char": ""}, {"mask_char": "**"}, {"mask_char": "0"},
     {"mask_char": "x"}, {"mask_char": " "}],
)
def test_policy_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        MaskPolicy(**kwargs)


def test_policy_is_frozen() -> None:
    with pytest.raises(AttributeError):
        DEFAULT.mask_char = "#"  # type: ignore[misc]


# --- properties --------------------------------------------------------------------


@given(values, policies, st.sampled_from(MASKERS))
def test_masking_properties(s: str, policy: MaskPolicy, masker_and_kind: tuple[Masker, str]) -> None:
    masker, kind = masker_and_kind
    left = getattr(policy, f"{kind}_keep_left")
    right = getattr(policy, f"{kind}_keep_right")
    out = masker(s, policy)
    n = len(s)
    assert len(out) == n
    if n >= 2:
        assert out != s
    kept = [i for i, c in enumerate(out) if c != policy.mask_char]
    assert all(out[i] == s[i] for i in kept)  # nothing is invented
    if n >= left + right + 1:
        # exactly the configured ends, the rest masked
        assert out == s[:left] + policy.mask_char * (n - left - right) + s[n - right :]
    else:
        assert len(kept) <= n // 3
        assert all(i < left or i >= n - right for i in kept)  # kept only at the ends


@given(values, policies, st.sampled_from(sorted(KINDS)))
def test_mask_value_never_returns_input(s: str, policy: MaskPolicy, kind: str) -> None:
    out = mask_value(kind, s, policy)
    if len(s) >= 2:
        assert out != s
    if kind in ("health", "text"):
        assert out == (policy.mask_char * 3 if s else "")


# --- scrub ---------------------------------------------------------------------------


def test_scrub_examples() -> None:
    phone = "13800138000"
    text = (
        f"第3行: 身份证 {ID} 与 198001010018 冲突；抄成了 4306 2119 8001 0100 18；"
        f"电话 {phone}、138-0013-8000；小写 11010519491231002x"
    )
    out = scrub(text, [ID, phone, "11010519491231002X"])
    assert out == (
        "第3行: 身份证 4306**********0018 与 ************ 冲突；抄成了 4306 **** **** **00 18；"
        "电话 138****8000、138-****-8000；小写 1101**********002x"
    )


def test_scrub_free_text_and_empty_secrets() -> None:
    assert scrub("病情：高血压，需长期服药", ["高血压", "", "  "]) == "病情：***，需长期服药"
    assert scrub("nothing secret here", []) == "nothing secret here"


def test_scrub_fragments_next_to_a_full_occurrence() -> None:
    # "800" + the phone: the digits before it join the shown "138" into "800138",
    # which is a piece of the phone (positions 2-7), so that run is masked too.
    phone = "13800138000"
    out = scrub("800" + phone, [phone])
    assert out == "*" * 10 + "8000"


def test_scrub_county_policy_may_show_more() -> None:
    out = scrub(f"号码 {ID}", [ID], MaskPolicy(id_keep_left=6))
    assert out == "号码 430621********0018"


def test_scrub_full_width_fragment() -> None:
    out = scrub("出生 １９８００１０１００１８", [ID])
    assert out == "出生 " + "*" * 12


@st.composite
def texts_with_pieces(draw: st.DrawFn) -> tuple[str, str]:
    """A secret (digits, maybe a final X) and a text made of pieces of it and filler."""
    secret = draw(st.text("0123456789", min_size=6, max_size=20))
    if draw(st.booleans()):
        secret = secret[:-1] + "X"
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            i = draw(st.integers(0, len(secret) - 1))
            j = draw(st.integers(i + 1, len(secret)))
            parts.append(secret[i:j])
        else:
            parts.append(draw(st.text("0123456789 ab-", max_size=8)))
    return secret, "".join(parts)


@given(texts_with_pieces())
def test_scrub_leaves_no_six_digit_piece(case: tuple[str, str]) -> None:
    secret, text = case
    out = scrub(text, [secret])
    assert len(out) == len(text)
    assert secret not in out
    digits = secret.rstrip("X")
    for i in range(len(digits) - 5):
        assert digits[i : i + 6] not in out, (digits[i : i + 6], text, out)


@given(st.text(max_size=60), st.lists(st.text("0123456789", min_size=6, max_size=18), max_size=3))
def test_scrub_only_masks(text: str, secrets: list[str]) -> None:
    out = scrub(text, secrets)
    assert len(out) == len(text)
    assert all(a == b or b == "*" for a, b in zip(text, out))


@given(st.integers(1950, 2010), st.integers(1, 12), st.integers(1, 28), st.integers(0, 9999),
       st.sampled_from(["{}", "{} ", "证件{}号", "{}，"]), st.sampled_from(["", " ", "-"]))
def test_scrub_masks_another_id_that_shares_the_secrets_prefix(year, month, day, tail, frame, sep) -> None:
    """A fragment of the secret (its area code) inside someone else's number must not break that
    number's shape and leave the rest of it readable: at most 8 of its digits stay visible."""
    other = f"430621{year:04d}{month:02d}{day:02d}{tail:04d}"
    if other == ID:
        return
    shown = other if not sep else sep.join((other[:6], other[6:14], other[14:]))
    out = scrub(frame.format(shown) + f" 本户 {ID}", [ID])
    visible = [c for c in out.split(" 本户 ")[0] if c.isdigit()]
    assert len(visible) <= 8, out
    assert other[6:14] not in out.replace(" ", "").replace("-", "")
