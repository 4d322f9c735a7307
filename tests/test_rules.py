"""Case rules (fanpin_forms.cases.rules, the Yueyang rules, the built-in ledger rules).

Every limit is tested at its boundary, with the day-counting conventions of
fanpin_forms.cases.rules: a period counts both ends; "within N days of D" = on or
before D + N; "within a month" = on or before the same day next month.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fanpin_forms import hookimpl
from fanpin_forms.app import App
from fanpin_forms.forms.county import County
from fanpin_forms.errors import Code, PluginError, SpecError
from fanpin_forms.privacy.masking import MaskPolicy
from fanpin_forms.intake.records import Record
from fanpin_forms.cases.rules import (
    Case, RuleFinding, deadline, deadline_months, days_over, error, group_findings, period_days, rule, run_rules,
    warning,
)
from fanpin_forms.forms.spec import load_spec
from fanpin_forms_yueyang import YUEYANG
from fanpin_forms_yueyang import rules as yy

ID = "430621198001010018"
PHONE = "13812345678"
Y = 2022


def d(text: str) -> dt.date:
    """'6-01' → 2022-06-01; '2023-1-31' → that date."""
    parts = [int(p) for p in text.split("-")]
    return dt.date(*parts) if len(parts) == 3 else dt.date(Y, *parts)


@pytest.fixture(scope="module")
def app() -> App:
    return App(county="yueyang")


@pytest.fixture(scope="module")
def form(app):
    return app.form("ledger")


def make_case(form, **values) -> Case:
    base = {f.key: None for f in form.fields}
    base.update(head_name="张三", household_size=3, id_number=ID, phone=PHONE, risk_types=(6,),
                address={"county": "岳阳县", "township": "荣家湾镇", "village": "杨林村", "group": "一组"})
    base.update(values)
    return Case(Record("ledger", base, row=3, case_id="T-001", source="t.xlsx"), form)


def compliant(**over) -> dict:
    """A whole identification that meets every Yueyang limit (found 6-01, approved 6-13)."""
    values = dict(monitor_type="边缘易致贫户", risk_found_date=d("6-01"), apply_date=d("6-01"),
                  home_visit_date=d("6-02"), review_date=d("6-04"), publicity_start=d("6-05"),
                  publicity_end=d("6-09"), comparison_date=d("6-07"), civil_assistance="无",
                  township_review_date=d("6-10"), county_approval_date=d("6-13"), county_notice_date=d("6-14"),
                  measures_date=d("6-18"), system_entry_date=d("6-25"), aid_first="否")
    values.update(over)
    return values


def run(app, case, as_of=None, county=None):
    return run_rules(app.rules, [case], county or app.county, as_of)


def only(findings, fn) -> list[RuleFinding]:
    return [f for f in findings if f.rule == fn.__name__]


def errors(findings) -> list[RuleFinding]:
    return [f for f in findings if f.severity == "error"]


# --- day arithmetic ------------------------------------------------------------------------


def test_period_counts_both_ends():
    assert period_days(d("6-01"), d("6-05")) == 5
    assert period_days(d("6-01"), d("6-04")) == 4
    assert period_days(d("6-01"), d("6-01")) == 1


def test_within_n_days_means_on_or_before_d_plus_n():
    assert deadline(d("6-01"), 15) == d("6-16")
    assert days_over(d("6-16"), d("6-16")) == 0
    assert days_over(d("6-17"), d("6-16")) == 1
    assert days_over(d("6-10"), d("6-16")) == 0


@pytest.mark.parametrize("start, months, last", [
    ("6-20", 1, "7-20"), ("1-31", 1, "2-28"), ("2024-1-31", 1, "2024-2-29"), ("12-15", 1, "2023-1-15"),
    ("3-31", 1, "4-30"), ("8-31", 6, "2023-2-28"),
])
def test_within_n_months(start, months, last):
    assert deadline_months(d(start), months) == d(last)


# --- 15 days to identification ---------------------------------------------------------------


def test_identification_day_15_passes_day_16_fails(app, form):
    ok = run(app, make_case(form, **compliant(county_approval_date=d("6-16"), county_notice_date=None,
                                              measures_date=None, system_entry_date=None)))
    assert not only(ok, yy.identified_within_limit)
    late = only(run(app, make_case(form, **compliant(county_approval_date=d("6-17")))), yy.identified_within_limit)
    assert [(f.severity, f.days_over) for f in late] == [("error", 1)]
    assert "2022年6月17日" in late[0].message and "16 天" in late[0].message


def test_identification_overdue_only_with_as_of_after_day_15(app, form):
    pending = make_case(form, risk_found_date=d("6-01"))
    assert not only(run(app, pending), yy.identified_within_limit)
    assert not only(run(app, pending, as_of=d("6-16")), yy.identified_within_limit)
    over = only(run(app, pending, as_of=d("6-20")), yy.identified_within_limit)
    assert [(f.severity, f.days_over) for f in over] == [("error", 4)]


def test_identification_clock_starts_at_the_earlier_of_found_and_application(app, form):
    case = make_case(form, **compliant(apply_date=d("5-30"), county_approval_date=d("6-15")))
    late = only(run(app, case), yy.identified_within_limit)
    assert [f.days_over for f in late] == [1] and "申请日期" in late[0].message


def test_identification_limit_comes_from_the_county(app, form):
    county = dataclasses.replace(YUEYANG, identify_within_days=20)
    case = make_case(form, **compliant(county_approval_date=d("6-21")))
    assert not only(run(app, case, county=county), yy.identified_within_limit)
    assert only(run(app, make_case(form, **compliant(county_approval_date=d("6-22"))), county=county),
                yy.identified_within_limit)


def test_approved_without_a_start_date_is_a_warning(app, form):
    found = only(run(app, make_case(form, **compliant(risk_found_date=None, apply_date=None))),
                 yy.identified_within_limit)
    assert [f.severity for f in found] == ["warning"]


# --- 5-day publicity ---------------------------------------------------------------------------


@pytest.mark.parametrize("end, ok", [("6-05", True), ("6-04", False), ("6-09", True)])
def test_identification_publicity_5_days(app, form, end, ok):
    case = make_case(form, publicity_start=d("6-01"), publicity_end=d(end))
    found = only(run(app, case), yy.identification_publicity_long_enough)
    assert (not found) is ok
    if not ok:
        assert "共 4 天" in found[0].message and "差 1 天" in found[0].message


@pytest.mark.parametrize("end, ok", [("6-05", True), ("6-04", False)])
def test_elimination_publicity_5_days(app, form, end, ok):
    case = make_case(form, elim_publicity_start=d("6-01"), elim_publicity_end=d(end), income=Decimal("8000"),
                     income_year=2022)
    assert (not only(run(app, case), yy.elimination_publicity_long_enough)) is ok


@pytest.mark.parametrize("end, ok", [("6-07", True), ("6-06", False)])
def test_a_county_with_7_day_elimination_publicity(app, form, end, ok):
    county = dataclasses.replace(YUEYANG, code="t7", elimination_publicity_days=7,
                                 sources={"elimination_publicity_days": "风险消除公示7天"})
    case = make_case(form, elim_publicity_start=d("6-01"), elim_publicity_end=d(end), income=Decimal("8000"),
                     income_year=2022)
    found = only(run(app, case, county=county), yy.elimination_publicity_long_enough)
    assert (not found) is ok
    if not ok:
        assert found[0].source == "风险消除公示7天"  # the county's own words, not Yueyang's


@pytest.mark.parametrize("sources", [{}, {"publicity_days": ""}])
def test_a_reused_rule_never_quotes_another_countys_notice(app, form, sources):
    county = dataclasses.replace(YUEYANG, code="t7", name="测试县", elimination_publicity_days=7, sources=sources)
    case = make_case(form, elim_publicity_start=d("6-01"), elim_publicity_end=d("6-05"), income=Decimal("8000"),
                     income_year=2022)
    [found] = only(run(app, case, county=county), yy.elimination_publicity_long_enough)
    assert "由7天调整为5天" not in found.source and "5天" not in found.source
    assert "测试县" in found.source and "elimination_publicity_days" in found.source


def test_a_rule_reading_an_undeclared_column_is_a_loud_error(app, form):
    def misspelt(case, county, as_of):
        """Reads a key the ledger does not have."""
        if case["publicty_start"] is None:
            yield warning("never")

    with pytest.raises(PluginError) as err:
        run_rules([("pingjiang", misspelt)], [Case(make_case(form).record, form)], YUEYANG)
    text = str(err.value)
    assert "pingjiang" in text and "misspelt" in text and "publicty_start" in text
    assert "publicity_start" in text  # did you mean
    assert "extends: ledger" in text


# --- information comparison -----------------------------------------------------------------------


@pytest.mark.parametrize("compared, ok", [("6-01", True), ("6-05", True), ("6-03", True),
                                          ("5-31", False), ("6-06", False)])
def test_comparison_during_publicity_both_ends_included(app, form, compared, ok):
    case = make_case(form, publicity_start=d("6-01"), publicity_end=d("6-05"), comparison_date=d(compared))
    assert (not only(run(app, case), yy.comparison_during_publicity)) is ok


@pytest.mark.parametrize("civil", ["低保", "特困", "孤儿", "事实无人抚养儿童"])
def test_civil_assistance_households_need_no_comparison(app, form, civil):
    case = make_case(form, **compliant(comparison_date=None, civil_assistance=civil))
    assert not errors(run(app, case))


@pytest.mark.parametrize("civil", ["无", None])
def test_missing_comparison_is_an_error_once_publicity_is_over(app, form, civil):
    case = make_case(form, **compliant(comparison_date=None, civil_assistance=civil))
    found = only(run(app, case), yy.comparison_during_publicity)
    assert [f.severity for f in found] == ["error"]
    assert ("民政救助类型" in found[0].message) is (civil is None)  # hint only when the type is blank


def test_missing_comparison_during_publicity_waits_for_its_end(app, form):
    case = make_case(form, publicity_start=d("6-01"), publicity_end=d("6-05"))
    assert not only(run(app, case, as_of=d("6-05")), yy.comparison_during_publicity)
    assert only(run(app, case, as_of=d("6-06")), yy.comparison_during_publicity)


# --- steps in order ----------------------------------------------------------------------------------

CHAIN = ["risk_found_date", "home_visit_date", "review_date", "publicity_start", "publicity_end",
         "township_review_date", "county_approval_date", "county_notice_date"]


def test_a_compliant_case_has_no_finding_at_all(app, form):
    assert run(app, make_case(form, **compliant())) == []


@pytest.mark.parametrize("earlier, later", list(zip(CHAIN, CHAIN[1:])))
def test_each_step_after_the_previous_one(app, form, earlier, later):
    values = compliant()
    values[later] = values[earlier] - dt.timedelta(days=1)
    found = errors(run(app, make_case(form, **values)))
    rules = {f.rule for f in found}
    if (earlier, later) == ("publicity_start", "publicity_end"):
        assert "period_ends_after_start" in rules and "steps_in_order" not in rules  # reported once
    else:
        [f] = [f for f in found if f.rule == "steps_in_order"]
        assert f.message.startswith(form.field(later).label) and form.field(earlier).label in f.message


@pytest.mark.parametrize("earlier, later", list(zip(CHAIN, CHAIN[1:])))
def test_steps_on_the_same_day_are_in_order(app, form, earlier, later):
    values = compliant(publicity_start=d("6-04"), publicity_end=d("6-08"))
    values[later] = values[earlier]
    assert not only(run(app, make_case(form, **values)), yy.steps_in_order)


def test_one_wrong_date_is_reported_once(app, form):
    found = only(run(app, make_case(form, **compliant(review_date=d("12-01").replace(year=2021)))),
                 yy.steps_in_order)
    assert len(found) == 1


def test_elimination_after_identification(app, form):
    case = make_case(form, **compliant(elim_publicity_start=d("6-10"), elim_publicity_end=d("6-14"),
                                       elim_approval_date=d("6-20"), elim_notice_date=d("6-21"),
                                       income=Decimal("9000"), income_year=2022))
    found = only(run(app, case), yy.steps_in_order)
    assert len(found) == 1 and "消除公示开始日期" in found[0].message


def test_missing_steps_and_county_announcement_are_warnings(app, form):
    found = only(run(app, make_case(form, **compliant(review_date=None, county_notice_date=None))),
                 yy.steps_recorded)
    assert [f.severity for f in found] == ["warning", "warning"]
    assert "民主评议日期" in found[0].message and "政府官网" in found[1].message


# --- measures within 10 days, system entry within 1 month -------------------------------------------


@pytest.mark.parametrize("measures, over", [("6-23", None), ("6-24", 1), ("6-13", None)])
def test_measures_within_10_days(app, form, measures, over):
    case = make_case(form, **compliant(measures_date=d(measures)))
    found = only(run(app, case), yy.measures_within_limit)
    assert [f.days_over for f in found] == ([over] if over else [])


def test_measures_overdue_with_as_of(app, form):
    case = make_case(form, **compliant(measures_date=None, system_entry_date=None))
    assert not only(run(app, case, as_of=d("6-23")), yy.measures_within_limit)
    assert [f.days_over for f in only(run(app, case, as_of=d("6-25")), yy.measures_within_limit)] == [2]


def test_measures_before_identification_is_an_error_unless_aid_first(app, form):
    early = compliant(measures_date=d("6-05"))
    found = only(run(app, make_case(form, **early)), yy.measures_within_limit)
    assert [f.severity for f in found] == ["error"] and "先帮扶后识别" in found[0].message
    aid_first = make_case(form, **{**early, "aid_first": "是", "sudden_cause": "因灾（洪水）",
                                   "monitor_type": "突发严重困难户"})
    assert not errors(run(app, aid_first))
    assert not run(app, aid_first)


@pytest.mark.parametrize("approved, entered, over", [
    ("6-20", "7-20", None), ("6-20", "7-21", 1), ("1-31", "2-28", None), ("1-31", "3-01", 1),
    ("2024-1-31", "2024-2-29", None), ("2024-1-31", "2024-3-01", 1),
])
def test_system_entry_within_one_month(app, form, approved, entered, over):
    case = make_case(form, county_approval_date=d(approved), system_entry_date=d(entered))
    found = only(run(app, case), yy.system_entry_within_limit)
    assert [f.days_over for f in found] == ([over] if over else [])
    if over:
        assert "视为未落实帮扶措施" in found[0].message


def test_system_entry_overdue_with_as_of(app, form):
    case = make_case(form, county_approval_date=d("6-20"))
    assert not only(run(app, case, as_of=d("7-20")), yy.system_entry_within_limit)
    assert [f.days_over for f in only(run(app, case, as_of=d("7-25")), yy.system_entry_within_limit)] == [5]


# --- elimination and the baseline --------------------------------------------------------------------


def elimination(**over):
    values = dict(elim_publicity_start=d("8-01"), elim_publicity_end=d("8-05"), elim_approval_date=d("8-10"),
                  elim_notice_date=d("8-11"), income=Decimal("6900"), income_year=2022)
    return compliant(**{**values, **over})


@pytest.mark.parametrize("income, ok", [("6900", True), ("6899.99", False), ("12000", True), ("0", False)])
def test_elimination_refused_below_the_baseline(app, form, income, ok):
    found = only(run(app, make_case(form, **elimination(income=Decimal(income)))),
                 yy.elimination_income_not_below_baseline)
    assert (not found) is ok
    if not ok:
        assert found[0].severity == "error" and "6900 元" in found[0].message


def test_another_baseline_from_the_county(app, form):
    county = dataclasses.replace(YUEYANG, baselines={2022: Decimal("7000")})
    found = only(run(app, make_case(form, **elimination(income=Decimal("6999"))), county=county),
                 yy.elimination_income_not_below_baseline)
    assert found and "7000 元" in found[0].message
    assert not only(run(app, make_case(form, **elimination(income=Decimal("7000"))), county=county),
                    yy.elimination_income_not_below_baseline)


def test_income_year_defaults_to_the_elimination_year(app, form):
    found = only(run(app, make_case(form, **elimination(income=Decimal("6800"), income_year=None))),
                 yy.elimination_income_not_below_baseline)
    assert [f.severity for f in found] == ["error"]


def test_elimination_without_income_is_an_error(app, form):
    found = only(run(app, make_case(form, **elimination(income=None))), yy.elimination_income_not_below_baseline)
    assert [f.severity for f in found] == ["error"] and "年人均纯收入" in found[0].message


def test_a_year_without_published_baseline_is_a_warning(app, form):
    case = make_case(form, **elimination(income_year=2023))
    found = only(run(app, case), yy.elimination_income_not_below_baseline)
    assert {f.severity for f in found} == {"warning"}
    assert any(Code.POLICY_NO_BASELINE.format(county="岳阳县", year=2023, known="2022") in f.message for f in found)


# --- aid first, identify later --------------------------------------------------------------------------


def test_aid_first_without_a_cause_is_an_error(app, form):
    found = only(run(app, make_case(form, **compliant(aid_first="是"))), yy.aid_first_then_identify)
    assert [f.severity for f in found] == ["error"]


def test_aid_first_for_another_cause_is_a_warning(app, form):
    found = only(run(app, make_case(form, **compliant(aid_first="是", sudden_cause="突发重病"))),
                 yy.aid_first_then_identify)
    assert [f.severity for f in found] == ["warning"]
    assert "重病" not in found[0].message  # the cause may be a health detail: never echoed


@pytest.mark.parametrize("cause", ["因灾", "因自然灾害", "洪灾", "因意外事故", "火灾"])
def test_aid_first_for_disaster_or_accident_is_correct(app, form, cause):
    case = make_case(form, **compliant(aid_first="是", sudden_cause=cause, measures_date=d("6-01")))
    assert run(app, case) == []


def test_aid_first_identification_must_still_follow(app, form):
    case = make_case(form, risk_found_date=d("6-01"), measures_date=d("6-01"), aid_first="是", sudden_cause="因灾")
    assert [f.severity for f in only(run(app, case), yy.aid_first_then_identify)] == ["warning"]
    assert not errors(run(app, case, as_of=d("6-16")))
    over = errors(run(app, case, as_of=d("6-17")))
    assert [(f.rule, f.days_over) for f in over] == [("identified_within_limit", 1)]


# --- built-in ledger rules ---------------------------------------------------------------------------------


def test_period_end_before_start(app, form):
    found = errors(run(app, make_case(form, elim_publicity_start=d("6-05"), elim_publicity_end=d("6-01"),
                                      income=Decimal("9000"), income_year=2022)))
    assert [f.rule for f in found] == ["period_ends_after_start"]


def test_dates_after_today(app, form):
    found = errors(run(app, make_case(form, risk_found_date=dt.date.today() + dt.timedelta(days=1))))
    assert [f.rule for f in found] == ["dates_not_in_future"]
    assert not run(app, make_case(form, risk_found_date=dt.date.today()))


# --- rule machinery -------------------------------------------------------------------------------------------


def test_every_rule_is_documented_with_a_title_and_the_notice_words(app):
    names = [fn.__name__ for _, fn in app.rules]
    assert set(names) >= {fn.__name__ for fn in yy.RULES}
    for _, fn in app.rules:
        assert fn.__doc__ and fn.rule_title
        assert fn.rule_quote
    for fn in yy.RULES:
        assert "“" in fn.__doc__ and "”" in fn.__doc__  # the docstring quotes the notice


def test_findings_carry_rule_source_and_case(app, form):
    [f] = run(app, make_case(form, publicity_start=d("6-01"), publicity_end=d("6-03")))
    assert (f.rule, f.title, f.case_id, f.head_name, f.township, f.village, f.row) == (
        "identification_publicity_long_enough", "村级公示时间（识别）", "T-001", "张三", "荣家湾镇", "杨林村", 3)
    assert f.source == YUEYANG.sources["publicity_days"] and "由7天调整为5天" in f.source
    assert f.id_masked == "4306**********0018"
    assert f.plugin == "yueyang"


def _leaky(case, county, as_of):
    """Says too much."""
    yield warning(f"身份证 {case['id_number']}，电话 {case['phone']}")


def test_messages_are_masked_whatever_a_rule_writes(app, form):
    [f] = run_rules([("leaky", _leaky)], [make_case(form)], YUEYANG)
    assert ID not in f.message and PHONE not in f.message
    assert "4306**********0018" in f.message and "138****5678" in f.message


def test_masking_follows_the_county_policy(form):
    county = dataclasses.replace(YUEYANG, mask=MaskPolicy(id_keep_left=6, id_keep_right=4, phone_keep_left=3,
                                                          phone_keep_right=2))
    [f] = run_rules([("leaky", _leaky)], [make_case(form)], county)
    assert "430621********0018" in f.message and "138******78" in f.message
    assert f.id_masked == "430621********0018"


def test_a_crashing_rule_names_its_plugin_and_not_the_data(form):
    def broken(case, county, as_of):
        raise ValueError(f"bad {case['id_number']}")

    with pytest.raises(PluginError) as exc:
        run_rules([("brokenplugin", broken)], [make_case(form)], YUEYANG)
    text = str(exc.value)
    assert "brokenplugin" in text and "broken" in text and "T-001" in text and ID not in text


def test_a_rule_returning_something_else_is_rejected(form):
    with pytest.raises(PluginError, match="RuleFinding"):
        run_rules([("p", lambda c, k, a: ["text"])], [make_case(form)], YUEYANG)


def test_rule_decorator_and_plain_functions(form):
    @rule("自定标题", quote="某县文件")
    def titled(case, county, as_of):
        yield error("x")

    def plain(case, county, as_of):
        """无装饰的规则。

        More text."""
        return [warning("y")]

    found = run_rules([("p", titled), ("p", plain)], [make_case(form)], YUEYANG)
    assert [(f.rule, f.title, f.source) for f in found] == [("titled", "自定标题", "某县文件"), ("plain", "无装饰的规则", "")]


def test_group_by_township_then_village_in_ledger_order(form):
    def case(row, township, village):
        c = make_case(form)
        c.record.row, c.record.case_id = row, f"C{row}"
        c.record.values["address"] = {"township": township, "village": village}
        return c

    cases = [case(2, "乙镇", "东村"), case(3, "甲镇", "北村"), case(4, "乙镇", "西村"), case(5, "乙镇", "东村")]
    grouped = group_findings(run_rules([("p", lambda c, k, a: [warning("w")])], cases, YUEYANG))
    assert [(t, [(v, [f.case_id for f in fs]) for v, fs in vs]) for t, vs in grouped] == [
        ("乙镇", [("东村", ["C2", "C5"]), ("西村", ["C4"])]), ("甲镇", [("北村", ["C3"])])]


def test_app_collects_rules_like_checks():
    class Extra:
        __name__ = "extra_rules"

        @staticmethod
        @hookimpl
        def register_rules(register):
            register("not a function")

    with pytest.raises(PluginError, match="规则"):
        App(county="yueyang", extra_plugins=(Extra,)).rules  # noqa: B018


# --- the ledger spec ------------------------------------------------------------------------------------------


def test_ledger_is_a_ledger_and_annexes_are_forms(app):
    assert app.form("ledger").kind == "ledger"
    assert app.form("ledger").title == "防止返贫监测对象台账"
    assert {app.form(f).kind for f in ("annex1", "annex2", "annex3")} == {"form"}
    ledger = app.form("ledger")
    for f in app.form("annex2").fields:  # the household fields are those of annex 2 (aliases may grow)
        mine = ledger.field(f.key)
        assert (mine.label, mine.type, mine.required, mine.sensitive, mine.params) == (
            f.label, f.type, f.required, f.sensitive, f.params)
        assert set(f.aliases) <= set(mine.aliases)
    assert ledger.code_lists == app.form("annex2").code_lists


def test_spec_kind_is_checked(app, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("form: x\nkind: ledgr\ntitle: X\nversion: '1'\nfields:\n  - {key: a, label: A, type: text}\n",
                    encoding="utf-8")
    with pytest.raises(SpecError) as exc:
        load_spec(path, app.field_types)
    assert "x.yaml:2:7:" in str(exc.value) and "ledger" in str(exc.value)


def test_ledger_loads_every_date_form_and_compares_dates_as_dates(app, tmp_path):
    """2022/6/9 and 2022/6/10 as text sort the wrong way round; as dates they do not."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["户编号", "户主姓名", "身份证号码", "家庭人口", "乡镇", "村", "组", "风险类型", "监测对象类型",
               "风险发现日期", "入户核实日期", "公示开始日期", "公示结束日期", "县级审定日期", "年人均纯收入", "收入年度"])
    ws.append(["A1", "李四", "43062119750615002X", "4人", "荣家湾镇", "杨林村", "二组", "因病", "边缘易致贫户",
               dt.datetime(2022, 6, 1), "2022/6/2", "2022年6月9日", "2022-6-13", "2022/6/10", "7,000.50", "2022年"])
    path = tmp_path / "ledger.xlsx"
    wb.save(path)
    result = app.load_and_check(app.form("ledger"), path)
    assert not result.errors, [str(p) for p in result.errors]
    [record] = result.records
    v = record.values
    assert (v["risk_found_date"], v["home_visit_date"], v["publicity_start"], v["county_approval_date"]) == (
        d("6-01"), d("6-02"), d("6-09"), d("6-10"))
    assert v["income"] == Decimal("7000.50") and v["income_year"] == 2022 and v["monitor_type"] == "边缘易致贫户"
    found = run(app, Case(record, app.form("ledger")))
    # 6-10 approval before the 6-13 publicity end; no comparison although approved
    assert [f.rule for f in errors(found)] == ["comparison_during_publicity", "steps_in_order"]
    assert "公示结束日期 2022年6月13日" in errors(found)[1].message


def test_ledger_rejects_bad_choices_with_row_and_label(app, tmp_path):
    path = tmp_path / "l.json"
    path.write_text(json.dumps([{"户主姓名": "王五", "身份证号码": ID, "家庭人口": 2, "乡镇": "甲", "村": "乙", "组": "一",
                                 "风险类型": "因病", "民政救助类型": "低保户", "县级审定日期": "2022-13-01"}],
                               ensure_ascii=False), encoding="utf-8")
    result = app.load_and_check(app.form("ledger"), path)
    text = "\n".join(str(p) for p in result.errors)
    assert "第1行 「民政救助类型」" in text and "低保户" in text
    assert Code.VALUE_NOT_DATE.format(value="2022-13-01") in text


# --- property tests ------------------------------------------------------------------------------------------

STEP_KEYS = ["risk_found_date", "apply_date", "home_visit_date", "review_date", "publicity_start", "publicity_end",
             "comparison_date", "township_review_date", "county_approval_date", "county_notice_date",
             "measures_date", "system_entry_date"]
ORDER = [("risk_found_date", "apply_date"), ("home_visit_date",), ("review_date",), ("publicity_start",),
         ("publicity_end",), ("township_review_date",), ("county_approval_date",), ("county_notice_date",)]
BASE = dt.date(2022, 3, 1)


def _month_later(day: dt.date) -> dt.date:
    """Oracle for "one month later", written without the helper under test."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@st.composite
def timelines(draw):
    """Timelines near the limits: each step a few days before or after the previous one, each date
    sometimes missing, publicity 3–7 days, measures and system entry around their deadlines."""
    gap = lambda lo, hi: dt.timedelta(days=draw(st.integers(lo, hi)))  # noqa: E731
    maybe = lambda day: None if draw(st.integers(0, 7)) == 0 else day  # noqa: E731
    values: dict = {}
    cursor = BASE + gap(0, 60)
    values["risk_found_date"] = maybe(cursor)
    values["apply_date"] = maybe(cursor + gap(-2, 2))
    for key, lo, hi in (("home_visit_date", -1, 3), ("review_date", -1, 3), ("publicity_start", -1, 2),
                        ("publicity_end", 2, 6), ("township_review_date", -1, 2), ("county_approval_date", -1, 3),
                        ("county_notice_date", -1, 3)):
        cursor = cursor + gap(lo, hi)
        values[key] = maybe(cursor)
    pub_start = values["publicity_start"] or BASE
    values["comparison_date"] = maybe(pub_start + gap(-1, 8))
    approved = values["county_approval_date"] or cursor
    values["measures_date"] = maybe(approved + gap(-2, 12))
    values["system_entry_date"] = maybe(approved + gap(25, 35))
    values["civil_assistance"] = draw(st.sampled_from([None, "无", "低保", "特困", "孤儿", "事实无人抚养儿童"]))
    values["aid_first"] = draw(st.sampled_from([None, "否", "是"]))
    values["sudden_cause"] = draw(st.sampled_from([None, "因灾", "因意外事故", "其他"]))
    if draw(st.booleans()):
        start = approved + gap(-2, 100)
        values["elim_publicity_start"] = start
        values["elim_publicity_end"] = start + gap(2, 8)
        values["elim_approval_date"] = maybe(values["elim_publicity_end"] + gap(-1, 5))
        values["income"] = maybe(draw(st.decimals(6850, 6950, places=2)))
        values["income_year"] = 2022
    as_of = draw(st.one_of(st.none(), st.integers(0, 120).map(lambda n: BASE + dt.timedelta(days=n))))
    return values, as_of


def _accepted_cases_meet_every_limit(values: dict, as_of, county: County) -> None:
    v = values
    starts = [x for x in (v["risk_found_date"], v["apply_date"]) if x]
    approved = v["county_approval_date"]
    if starts and approved and approved >= min(starts):
        assert (approved - min(starts)).days <= county.identify_within_days
    if starts and not approved and as_of:
        assert as_of <= min(starts) + dt.timedelta(days=county.identify_within_days)
    for a, b, n in (("publicity_start", "publicity_end", county.publicity_days),
                    ("elim_publicity_start", "elim_publicity_end", county.elimination_publicity_days)):
        if v.get(a) and v.get(b):
            assert (v[b] - v[a]).days + 1 >= n
    if v["civil_assistance"] not in county.comparison_exempt:
        if v["comparison_date"] and v["publicity_start"] and v["publicity_end"]:
            assert v["publicity_start"] <= v["comparison_date"] <= v["publicity_end"]
        if not v["comparison_date"]:
            assert not (v["township_review_date"] or approved)
    present = [[v[k] for k in step if v[k]] for step in ORDER]
    present = [p for p in present if p]
    for earlier, later in zip(present, present[1:]):
        assert min(later) >= max(earlier)
    if approved and v["measures_date"]:
        if v["measures_date"] >= approved:
            assert (v["measures_date"] - approved).days <= county.measures_within_days
        else:
            assert v["aid_first"] == "是"
    if approved and v["system_entry_date"]:
        assert v["system_entry_date"] <= _month_later(approved)
    if v.get("elim_publicity_start"):
        assert v["income"] is not None and v["income"] >= county.baseline(2022)
        if approved:
            assert v["elim_publicity_start"] >= approved
    if v["aid_first"] == "是":
        assert v["sudden_cause"]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(timelines())
def test_property_a_case_the_rules_accept_meets_every_limit(app, form, timeline):
    values, as_of = timeline
    found = run(app, make_case(form, **values), as_of=as_of)
    if not errors(found):
        _accepted_cases_meet_every_limit(values, as_of, app.county)


@st.composite
def compliant_timelines(draw):
    """Timelines built to meet every limit: the rules must find no error in them."""
    step = lambda lo, hi: dt.timedelta(days=draw(st.integers(lo, hi)))  # noqa: E731
    found = dt.date(2022, 1, 1) + step(0, 80)
    v = {"risk_found_date": found, "apply_date": found + step(0, 1)}
    v["home_visit_date"] = max(found, v["apply_date"]) + step(0, 2)
    v["review_date"] = v["home_visit_date"] + step(0, 2)
    v["publicity_start"] = v["review_date"] + step(0, 1)
    v["publicity_end"] = v["publicity_start"] + step(4, 5)
    exempt = draw(st.sampled_from([None, "低保", "特困", "孤儿", "事实无人抚养儿童"]))
    v["civil_assistance"] = exempt or "无"
    v["comparison_date"] = (None if exempt and draw(st.booleans())
                            else v["publicity_start"] + step(0, (v["publicity_end"] - v["publicity_start"]).days))
    v["township_review_date"] = v["publicity_end"] + step(0, 1)
    v["county_approval_date"] = approved = v["township_review_date"] + step(0, 1)
    v["county_notice_date"] = approved + step(0, 3)
    aid_first = draw(st.booleans())
    v["aid_first"] = "是" if aid_first else "否"
    v["sudden_cause"] = draw(st.sampled_from(["因灾", "因意外事故", "因自然灾害"])) if aid_first else None
    v["measures_date"] = (found + step(0, 1)) if aid_first else approved + step(0, 10)
    v["system_entry_date"] = approved + step(0, 28)
    if draw(st.booleans()):
        start = approved + step(1, 150)
        v.update(elim_publicity_start=start, elim_publicity_end=start + step(4, 9))
        v["elim_approval_date"] = v["elim_publicity_end"] + step(0, 5)
        v["elim_notice_date"] = v["elim_approval_date"] + step(0, 3)
        v["income"] = draw(st.decimals(6900, 20000, places=2))
        v["income_year"] = None if draw(st.booleans()) else v["elim_approval_date"].year
        assume(v["elim_notice_date"].year == 2022)
    v["monitor_type"] = "突发严重困难户" if aid_first else "边缘易致贫户"
    as_of = max(x for x in v.values() if isinstance(x, dt.date)) + step(0, 30)
    return v, as_of


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(compliant_timelines())
def test_property_a_case_meeting_every_limit_has_no_error(app, form, timeline):
    values, as_of = timeline
    found = run(app, make_case(form, **values), as_of=as_of)
    assert not errors(found), [f.message for f in found]
    assert not [f for f in found if f.rule != "steps_recorded"] or all(f.severity == "warning" for f in found)
