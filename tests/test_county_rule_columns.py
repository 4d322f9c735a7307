"""Every bundled rule of both counties has its columns known when the rules are loaded:
the columns a rule really reads over any case (recorded at run time) are all among those
:func:`~fanpin_forms.cases.rules.columns_read` finds at load (its source and its ``reads=``),
so a misspelt column in any of them is an error at load, never only on the first case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import fanpin_forms_pingjiang
import fanpin_forms_yueyang
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanpin_forms import rule
from fanpin_forms.cases.rules import Case, columns_read, unknown_columns
from fanpin_forms.intake.records import Record
from fanpin_forms.testing import app_with

_APPS = {"yueyang": app_with(fanpin_forms_yueyang, county="yueyang"),
         "pingjiang": app_with(fanpin_forms_pingjiang, county="pingjiang")}


class _Recording(Case):
    """A case that notes every column asked of it."""

    def __init__(self, record, form):
        super().__init__(record, form)
        self.asked: set[str] = set()

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def label(self, key):
        self.asked.add(key)
        return super().label(key)


_DAY = st.dates(dt.date(2022, 5, 20), dt.date(2022, 8, 31))
_TEXT = st.sampled_from(["是", "否", "因灾", "因病", "张三、李四", "王五", "低保", "特困"])


def _value(field):
    if field.type == "date":
        return _DAY
    if field.type == "money":
        return st.sampled_from([Decimal("5000"), Decimal("6900"), Decimal("12000")])
    if field.type == "integer":
        return st.sampled_from([2021, 2022, 2023])
    return _TEXT


def _cases(county):
    form = _APPS[county].form("ledger")
    fields = [f for f in form.fields if f.type not in ("address", "id_number", "phone", "multi_choice")]
    values = st.fixed_dictionaries({}, optional={f.key: _value(f) for f in fields})
    return values.map(lambda v: _Recording(Record("ledger", {"head_name": "测试", **v}, row=3, case_id="T-1"), form))


def _rules(county):
    return [pytest.param(county, fn, id=f"{county}-{plugin}-{fn.__name__}") for plugin, fn in _APPS[county].rules]


@pytest.mark.parametrize("county, fn", [*_rules("yueyang"), *_rules("pingjiang")])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_column_a_bundled_rule_reads_is_known_at_load(county, fn, data):
    case = data.draw(_cases(county))
    as_of = data.draw(st.none() | _DAY)
    list(fn(case, _APPS[county].county, as_of) or ())
    assert case.asked <= columns_read(fn), f"只在运行时读到的列：{sorted(case.asked - columns_read(fn))}"


def test_both_counties_bundle_rules_that_read_through_helpers():
    # the check above is not empty: Yueyang's helpers' columns are declared, and found
    [steps] = [fn for _, fn in _APPS["yueyang"].rules if fn.__name__ == "steps_in_order"]
    assert {"risk_found_date", "elim_notice_date", "township_review_date"} <= columns_read(steps)
    assert any(fn.__name__ == "helper_named" for _, fn in _APPS["pingjiang"].rules)


def test_a_misspelt_column_in_a_helper_of_a_bundled_rule_is_an_error_at_load():
    # the same rule as Yueyang's, with one of its declared helper columns misspelt
    steps = fanpin_forms_yueyang.rules.steps_in_order
    bad = rule("程序顺序", reads=(*fanpin_forms_yueyang.rules._STEP_KEYS, "elim_notice_dat"))(
        lambda case, county, as_of: steps(case, county, as_of))
    [problem] = unknown_columns([("yueyang", bad)], _APPS["yueyang"].form("ledger"))
    assert "elim_notice_dat" in str(problem) and "elim_notice_date" in str(problem)
