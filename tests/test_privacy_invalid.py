"""ID-number and phone-number checks raise one exception family with one problem each."""

from __future__ import annotations

import pytest

from fanpin_forms.errors import Code
from fanpin_forms.privacy.idcard import IdNumberInvalid, parse_id_number
from fanpin_forms.privacy.invalid import SensitiveValueInvalid
from fanpin_forms.privacy.phone import PhoneInvalid, normalize_phone


def test_both_share_the_base():
    assert issubclass(IdNumberInvalid, SensitiveValueInvalid)
    assert issubclass(PhoneInvalid, SensitiveValueInvalid)


@pytest.mark.parametrize("call", [lambda: parse_id_number("43062119800101001"),
                                  lambda: normalize_phone("12345")])
def test_the_single_problem_is_the_first(call):
    with pytest.raises(SensitiveValueInvalid) as info:
        call()
    assert info.value.problems == [info.value.problem]
    assert isinstance(info.value.problem.code, Code)
