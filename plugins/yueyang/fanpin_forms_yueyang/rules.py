"""岳阳县's case rules: the time limits and steps of 岳县委乡振组办发〔2022〕4号.

One small function per rule; its docstring quotes the notice. Every limit is read
from the ``county`` argument (``county.identify_within_days``, ``county.baseline(year)``…),
never written here, so a county that differs only in values reuses these rules::

    from fanpin_forms_yueyang.rules import RULES

    @hookimpl
    def register_rules(register):
        for r in RULES:
            register(r)
        register(my_own_rule)

Day counting (both ends of a period count; "within N days of D" = on or before
D + N; same-day steps are in order) is stated once in :mod:`fanpin_forms.cases.rules`.
The date of identification and of elimination is the county approval date
(二、4：“以县级批准时间为准”).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fanpin_forms import FanpinError, days_over, deadline, deadline_months, error, fmt_date, period_days, rule, warning

#: the dates that show a case is being (or has been) taken out of monitoring
ELIMINATION_KEYS = ("elim_publicity_start", "elim_publicity_end", "elim_approval_date", "elim_notice_date")

#: identification steps in order; dates in one tuple may come in any order among themselves
IDENTIFICATION_STEPS = (
    ("risk_found_date", "apply_date"),
    ("home_visit_date",),
    ("review_date",),
    ("publicity_start",),
    ("publicity_end",),
    ("township_review_date",),
    ("county_approval_date",),
    ("county_notice_date",),
)
#: elimination steps in order, starting from the identification they undo
ELIMINATION_STEPS = (
    ("county_approval_date",),
    ("elim_home_visit_date",),
    ("elim_publicity_start",),
    ("elim_publicity_end",),
    ("elim_approval_date",),
    ("elim_notice_date",),
)
#: (start, end) pairs whose order the built-in rule period_ends_after_start reports
_PERIODS = {("publicity_start", "publicity_end"), ("elim_publicity_start", "elim_publicity_end")}
#: the columns steps_in_order reads through _out_of_order (declared for the load-time column check)
_STEP_KEYS = tuple(dict.fromkeys(k for steps in (IDENTIFICATION_STEPS, ELIMINATION_STEPS) for step in steps
                                 for k in step))
#: the columns steps_recorded reads in its loops
_RECORDED_KEYS = ("home_visit_date", "review_date", "publicity_start", "publicity_end", "township_review_date",
                  "county_approval_date", "elim_publicity_start", "elim_publicity_end")


def _money(value: Decimal) -> str:
    text = f"{value:.2f}"
    return text.removesuffix(".00")


def _discovered(case) -> tuple[str, dt.date] | None:
    """The day the risk clue was found: the earlier of 风险发现日期 and 申请日期.

    A household's own application is itself a risk clue (农户自主申报)."""
    found = [(case[k], i, k) for i, k in enumerate(("risk_found_date", "apply_date")) if case[k]]
    if not found:
        return None
    day, _, key = min(found)
    return key, day


# --- 二：识别认定 15 天 --------------------------------------------------------------------


@rule("识别认定时限", source="identify_within_days",
      reads=("risk_found_date", "apply_date"),
      quote="二：“从发现风险线索之日起，到完成监测对象识别认定，一般不超过15天”；"
            "二、4：“监测对象识别和风险消除以县级批准时间为准。”")
def identified_within_limit(case, county, as_of):
    """识别认定不超过15天：县级审定日期不晚于发现风险线索之日后第15天。

    二：“从发现风险线索之日起，到完成监测对象识别认定，一般不超过15天”；
    二、4：“监测对象识别和风险消除以县级批准时间为准。”

    The clock starts on the earlier of 风险发现日期 and 申请日期 and stops on 县级审定日期:
    found 6-01, approved 6-16 passes (15 days), 6-17 fails (16 days, 1 over). With
    ``as_of``, a case still unapproved after the last day is overdue. 先帮扶后识别
    cases are not exempt: their identification must still follow within the limit.
    """
    start = _discovered(case)
    approved = case["county_approval_date"]
    limit = county.identify_within_days
    if start is None:
        if approved:
            yield warning(f"已县级审定，但台账没有{case.label('risk_found_date')}或{case.label('apply_date')}，"
                          f"无法核对 {limit} 天识别时限")
        return
    key, found = start
    last = deadline(found, limit)
    if approved:
        if approved >= found and approved > last:
            yield error(f"{case.label(key)} {fmt_date(found)}，县级审定 {fmt_date(approved)}，"
                        f"用时 {(approved - found).days} 天，超过 {limit} 天时限（应于 {fmt_date(last)} 前完成）",
                        days_over(approved, last))
    elif as_of is not None and as_of > last:
        yield error(f"{case.label(key)} {fmt_date(found)}，至 {fmt_date(as_of)} 已 {(as_of - found).days} 天仍未县级审定，"
                    f"超过 {limit} 天时限（应于 {fmt_date(last)} 前完成）", days_over(as_of, last))


# --- 二、1：村级公示 5 天 -------------------------------------------------------------------


def _publicity(case, start_key: str, end_key: str, minimum: int, what: str):
    start, end = case[start_key], case[end_key]
    if not (start and end) or end < start:
        return
    days = period_days(start, end)
    if days < minimum:
        yield error(f"{what}公示 {fmt_date(start)} 至 {fmt_date(end)}，共 {days} 天（首尾两天都算），"
                    f"少于 {minimum} 天（差 {minimum - days} 天）")


@rule("村级公示时间（识别）", source="publicity_days",
      reads=("publicity_start", "publicity_end"),
      quote="二、1：“监测对象识别和风险消除时，村（居）公示时间均由7天调整为5天。”")
def identification_publicity_long_enough(case, county, as_of):
    """识别时村（居）公示不少于5天，首尾两天都算：6月1日至6月5日为5天，6月1日至6月4日不足。

    二、1：“监测对象识别和风险消除时，村（居）公示时间均由7天调整为5天。”
    """
    yield from _publicity(case, "publicity_start", "publicity_end", county.publicity_days, "识别")


@rule("村级公示时间（风险消除）", source="elimination_publicity_days",
      reads=("elim_publicity_start", "elim_publicity_end"),
      quote="二、1：“监测对象识别和风险消除时，村（居）公示时间均由7天调整为5天。”")
def elimination_publicity_long_enough(case, county, as_of):
    """风险消除时村（居）公示不少于5天，首尾两天都算。

    二、1：“监测对象识别和风险消除时，村（居）公示时间均由7天调整为5天。”
    """
    yield from _publicity(case, "elim_publicity_start", "elim_publicity_end", county.elimination_publicity_days,
                          "风险消除")


# --- 二、2：信息比对与村级公示同步 -----------------------------------------------------------


@rule("信息比对", source="comparison_exempt",
      quote="二、2：“对村（居）民主评议确定拟纳入监测对象，在进行村级公示时，同步组织开展信息比对。……"
            "已纳入民政低保、特困、孤儿（包括事实无人抚养儿童）等对象，在纳入监测对象时不再重复开展信息比对。”")
def comparison_during_publicity(case, county, as_of):
    """信息比对在村级公示期间（含首尾两天）同步开展；已纳入民政低保、特困、孤儿（含事实无人抚养儿童）的户免于比对。

    二、2：“对村（居）民主评议确定拟纳入监测对象，在进行村级公示时，同步组织开展信息比对。……
    已纳入民政低保、特困、孤儿（包括事实无人抚养儿童）等对象，在纳入监测对象时不再重复开展信息比对。”

    A missing comparison is an error once the publicity is over: the township or
    county has approved, or ``as_of`` is after the last publicity day.
    """
    if case["civil_assistance"] in county.comparison_exempt:
        return
    start, end, compared = case["publicity_start"], case["publicity_end"], case["comparison_date"]
    if compared:
        if start and end and start <= end and not start <= compared <= end:
            yield error(f"{case.label('comparison_date')} {fmt_date(compared)} 不在村级公示期"
                        f"（{fmt_date(start)} 至 {fmt_date(end)}）内，应在公示时同步开展")
        return
    publicity_over = (case["township_review_date"] or case["county_approval_date"]
                      or (as_of is not None and end is not None and as_of > end))
    if publicity_over:
        exempt = "、".join(county.comparison_exempt)
        hint = (f"；如该户已纳入{exempt}，请在「{case.label('civil_assistance')}」中注明"
                if case["civil_assistance"] is None else "")
        yield error(f"村级公示已结束，但没有开展信息比对（台账无{case.label('comparison_date')}）{hint}")


# --- 程序顺序与环节 -------------------------------------------------------------------------


def _out_of_order(case, steps):
    previous: tuple[str, dt.date] | None = None  # (key, date) of the latest date of the step before
    for step in steps:
        present = [(k, case[k]) for k in step if isinstance(case[k], dt.date)]
        if not present:
            continue
        if previous is not None:
            for key, day in present:
                if day < previous[1] and (previous[0], key) not in _PERIODS:
                    yield error(f"{case.label(key)} {fmt_date(day)} 早于{case.label(previous[0])} {fmt_date(previous[1])}")
        previous = max(present, key=lambda kv: kv[1])


@rule("程序顺序",
      reads=_STEP_KEYS,
      quote="附件2：入户核实 → 村（居）评议公示 → 乡镇（街道）审核 → 县级审定；"
            "二、4：“县级审核批准后，通过政府官网向社会公告，监测对象识别和风险消除以县级批准时间为准。”")
def steps_in_order(case, county, as_of):
    """识别和风险消除的各环节依次进行（同一天可以），县级审定日期即识别、消除的日期。

    识别：发现风险/申请 → 入户核实 → 民主评议 → 公示开始 → 公示结束 → 乡镇审核 → 县级审定 → 县级公告；
    风险消除：县级审定（识别）→ 消除入户核实 → 消除公示开始 → 消除公示结束 → 消除县级审定 → 消除县级公告。

    附件2 的环节：入户核实、村（居）评议公示、乡镇（街道）审核、县级审定；
    二、4：“监测对象识别和风险消除时，县级审核批准后，通过政府官网向社会公告，
    监测对象识别和风险消除以县级批准时间为准。”

    Each date is compared with the latest date of the nearest earlier step that has
    one, so one wrong date is reported once.
    """
    yield from _out_of_order(case, IDENTIFICATION_STEPS)
    yield from _out_of_order(case, ELIMINATION_STEPS)


@rule("程序环节齐全",
      reads=_RECORDED_KEYS,
      quote="二、4：“增加县级公告环节。监测对象识别和风险消除时，县级审核批准后，通过政府官网向社会公告”；"
            "四：“对入户核实、村（居）民主评议公示、乡镇（街道）审核等资料进行整理归档。”")
def steps_recorded(case, county, as_of):
    """县级审定（识别或风险消除）后，台账应有此前各环节的日期和县级公告（缺少的列为提示）。

    二、4：“增加县级公告环节。监测对象识别和风险消除时，县级审核批准后，通过政府官网向社会公告”；
    四：“村级应建立防返贫监测常态化排查台账，对入户核实、村（居）民主评议公示、乡镇（街道）审核等资料进行整理归档。”
    """
    if case["county_approval_date"]:
        missing = [case.label(k) for k in ("home_visit_date", "review_date", "publicity_start", "publicity_end",
                                           "township_review_date") if not case[k]]
        if missing:
            yield warning(f"已县级审定（识别），但台账缺少：{'、'.join(missing)}")
        if not case["county_notice_date"]:
            yield warning("已县级审定（识别），但台账没有县级公告日期：县级审核批准后须通过政府官网向社会公告")
    if case["elim_approval_date"]:
        missing = [case.label(k) for k in ("county_approval_date", "elim_publicity_start", "elim_publicity_end")
                   if not case[k]]
        if missing:
            yield warning(f"已县级审定风险消除，但台账缺少：{'、'.join(missing)}")
        if not case["elim_notice_date"]:
            yield warning("已县级审定风险消除，但台账没有消除县级公告日期：县级审核批准后须通过政府官网向社会公告")


# --- 三：帮扶措施 10 天、系统录入 1 个月 ------------------------------------------------------


@rule("帮扶措施制定时限", source="measures_within_days",
      quote="三：“对新识别的监测对象，村级要根据返贫致贫风险，原则上在10天内完成帮扶措施制定和帮扶措施申报”")
def measures_within_limit(case, county, as_of):
    """新识别的监测对象，帮扶措施制定日期不晚于县级审定（识别）后第10天。

    三：“对新识别的监测对象，村级要根据返贫致贫风险，原则上在10天内完成帮扶措施制定和帮扶措施申报”。

    Identified 6-20: measures by 6-30 pass, 7-01 fails. Measures dated before the
    identification are an error, except for 先帮扶后识别 (二、7), where they are correct.
    With ``as_of``, an identified case without measures after the last day is overdue.
    """
    approved, measures = case["county_approval_date"], case["measures_date"]
    if not approved:
        return
    limit = county.measures_within_days
    last = deadline(approved, limit)
    if measures:
        if measures < approved:
            if case["aid_first"] != "是":
                yield error(f"{case.label('measures_date')} {fmt_date(measures)} 早于县级审定（识别）{fmt_date(approved)}；"
                            f"只有因灾因意外事故等先帮扶后识别的户可以先落实帮扶"
                            f"（请在「{case.label('aid_first')}」填“是”并写明{case.label('sudden_cause')}）")
        elif measures > last:
            yield error(f"县级审定 {fmt_date(approved)}，帮扶措施制定 {fmt_date(measures)}，"
                        f"用时 {(measures - approved).days} 天，超过 {limit} 天时限（应于 {fmt_date(last)} 前完成）",
                        days_over(measures, last))
    elif as_of is not None and as_of > last:
        yield error(f"县级审定 {fmt_date(approved)}，至 {fmt_date(as_of)} 已 {(as_of - approved).days} 天仍未制定帮扶措施，"
                    f"超过 {limit} 天时限（应于 {fmt_date(last)} 前完成）", days_over(as_of, last))


@rule("帮扶措施录入时限", source="system_entry_within_months",
      quote="三：“乡镇要及时将帮扶措施录入全国防返贫监测信息系统，超过1个月未完成录入的，视为未落实帮扶措施。”")
def system_entry_within_limit(case, county, as_of):
    """帮扶措施在县级审定（识别）后1个月内录入全国防返贫监测信息系统，否则视为未落实帮扶措施。

    三：“乡镇要及时将帮扶措施录入全国防返贫监测信息系统，超过1个月未完成录入的，视为未落实帮扶措施。”

    The month runs from the identification (the day the household becomes a
    监测对象) to the same day of the next month: identified 6-20, entered by 7-20
    passes, 7-21 fails; identified 1-31, the last day is 2-28 (2-29 in a leap year).
    """
    approved, entered = case["county_approval_date"], case["system_entry_date"]
    if not approved:
        return
    months = county.system_entry_within_months
    last = deadline_months(approved, months)
    if entered:
        if entered > last:
            yield error(f"县级审定 {fmt_date(approved)}，系统录入 {fmt_date(entered)}，超过 {months} 个月"
                        f"（应于 {fmt_date(last)} 前录入），视为未落实帮扶措施", days_over(entered, last))
        elif entered < approved:
            yield warning(f"{case.label('system_entry_date')} {fmt_date(entered)} 早于县级审定（识别）{fmt_date(approved)}，请核对")
    elif as_of is not None and as_of > last:
        yield error(f"县级审定 {fmt_date(approved)}，至 {fmt_date(as_of)} 超过 {months} 个月（应于 {fmt_date(last)} 前）"
                    f"仍未录入全国防返贫监测信息系统，视为未落实帮扶措施", days_over(as_of, last))


# --- 二、6：风险消除收入标准 -------------------------------------------------------------------


@rule("风险消除收入标准", source="baselines",
      reads=ELIMINATION_KEYS,
      quote="二、6：“年人均纯收入低于当年防返贫监测收入基准线的监测对象，原则上当年不得标注风险消除。”")
def elimination_income_not_below_baseline(case, county, as_of):
    """拟风险消除的户，年人均纯收入不得低于当年收入基准线（等于基准线的可以消除）。

    二、6：“年人均纯收入低于当年防返贫监测收入基准线的监测对象，原则上当年不得标注风险消除。”
    附件说明①：“监测户当年人均纯收入低于 6900 元”（2022 年）。

    The year is 收入年度, else the year of the elimination (消除县级审定, else 消除公示).
    """
    if not case.has_any(*ELIMINATION_KEYS):
        return
    elim_day = case["elim_approval_date"] or case["elim_publicity_start"] or case["elim_publicity_end"]
    year = case["income_year"] or (elim_day.year if elim_day else None)
    income = case["income"]
    if income is None or year is None:
        yield error(f"拟风险消除，但台账没有{case.label('income') if income is None else case.label('income_year')}，"
                    f"无法核对是否达到当年收入基准线")
        return
    if case["income_year"] and elim_day and elim_day.year != year:
        yield warning(f"{case.label('income_year')} {year} 与风险消除年度 {elim_day.year} 不一致，请核对")
    try:
        baseline = county.baseline(year)
    except FanpinError as exc:
        yield warning(f"{exc.problems[0].message}，无法核对风险消除收入标准")
        return
    if income < baseline:
        yield error(f"{case.label('income')}（{year}年）{_money(income)} 元，低于当年收入基准线 {_money(baseline)} 元"
                    f"（差 {_money(baseline - income)} 元），当年不得标注风险消除")


# --- 二、7：先帮扶后识别 -------------------------------------------------------------------------


@rule("先帮扶后识别", source="aid_first_causes",
      quote="二、7：“对因灾因意外事故等导致突发摊返贫致贫风险、生活陷入严重困难事实清楚的农户，"
            "要先行救助并落实帮扶，再履行识别程序。”")
def aid_first_then_identify(case, county, as_of):
    """因灾因意外事故等突发困难的户可先行救助并落实帮扶，但仍须再履行识别程序。

    二、7：“对因灾因意外事故等导致突发摊返贫致贫风险、生活陷入严重困难事实清楚的农户，
    要先行救助并落实帮扶，再履行识别程序。”

    For such a case, measures dated before identification are correct (see
    measures_within_limit). The cause must be written; one that is not a disaster
    or accident gets a warning (the notice says "等"). Until the county approves,
    a warning reminds that identification must follow; once it is overdue,
    identified_within_limit reports an error.
    """
    if case["aid_first"] != "是":
        return
    cause = case["sudden_cause"]
    if not cause:
        yield error(f"标注了先帮扶后识别，但没有填写{case.label('sudden_cause')}（如因灾、因意外事故）")
    elif not any(word in cause for word in county.aid_first_causes):
        yield warning(f"{case.label('sudden_cause')}不是通知所列的因灾、因意外事故，请核对是否属于同类突发情形")
    if not case["county_approval_date"]:
        yield warning("已先行帮扶，尚未完成识别（无县级审定日期）：须再履行识别程序")


#: every rule of the 2022 notice, in the order ``fanpin check`` reports them
RULES = (
    identified_within_limit,
    identification_publicity_long_enough,
    comparison_during_publicity,
    steps_in_order,
    steps_recorded,
    measures_within_limit,
    system_entry_within_limit,
    aid_first_then_identify,
    elimination_publicity_long_enough,
    elimination_income_not_below_baseline,
)
