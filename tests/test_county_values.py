"""A county states every policy value; the core carries no county's numbers."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from pathlib import Path

import pytest

from fanpin_forms import County
from fanpin_forms.errors import FanpinError
from fanpin_forms.forms.county import POLICY_VALUES, REQUIRED

ROOT = Path(__file__).resolve().parent.parent
FULL = dict(code="t", name="测试县", short_name="测试", province="湖南省", city="岳阳市", approving_body="测试县乡村振兴局",
            baselines={2022: Decimal("7000")}, publicity_days=7, elimination_publicity_days=7, identify_within_days=15,
            measures_within_days=10, system_entry_within_months=1, monthly_report_day=28,
            comparison_exempt=("低保",), aid_first_causes=("灾",))


def test_a_county_with_every_value_is_built():
    county = County(**FULL)
    assert county.elimination_publicity_days == 7 and county.baseline(2022) == Decimal("7000")


@pytest.mark.parametrize("left_out", sorted(POLICY_VALUES))
def test_a_value_left_out_is_an_error_naming_it(left_out):
    with pytest.raises(FanpinError) as err:
        County(**{k: v for k, v in FULL.items() if k != left_out})
    text = str(err.value)
    assert left_out in text and POLICY_VALUES[left_out][0] in text and "测试县" in text
    others = set(POLICY_VALUES) - {left_out}
    assert not any(re.search(rf"\b{o}\b", text) for o in others)


def test_every_policy_value_is_required_by_the_dataclass():
    defaults = {f.name: f.default for f in dataclasses.fields(County)}
    assert all(defaults[name] is REQUIRED for name in POLICY_VALUES)


def test_the_docs_list_every_policy_value():
    doc = (ROOT / "docs" / "plugin_hooks.md").read_text(encoding="utf-8")
    for name in POLICY_VALUES:
        assert f"| `{name}` |" in doc, name


def test_the_docs_example_builds():
    doc = (ROOT / "docs" / "plugin_hooks.md").read_text(encoding="utf-8")
    block = doc[doc.index("def register_counties(register):"):]
    block = block[:block.index("```")]
    seen = []
    namespace = {"County": County, "Decimal": Decimal, "hookimpl": lambda f: f}
    exec(block, namespace)  # noqa: S102 - our own documentation
    namespace["register_counties"](seen.append)
    assert seen[0].elimination_publicity_days == 7
