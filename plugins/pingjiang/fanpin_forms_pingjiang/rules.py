"""平江县's case rules (``fanpin check``), written with the public API only.

Each rule names the ``County.sources`` key of the value it uses, so its 依据 is 平江's own
quotation, or the plain statement that the value was not confirmed (see ``SOURCES``).
"""

from __future__ import annotations

import re

from fanpin_forms import error, fmt_date, period_days, rule, warning

#: people in the elimination check team (核查组), at least: 二、入户核实 “不少于2人”
CHECK_TEAM_MIN = 2
_NAME_SEP = re.compile(r"[、，,；;／/\s]+")


@rule("帮扶责任人", source="helper",
      quote="平江县：识别认定为监测对象后明确帮扶责任人（本插件的要求；平江县原文未核实）")
def helper_named(case, county, as_of):
    """识别认定（县级审定）后，须填写帮扶责任人。"""
    approved = case["county_approval_date"]
    if approved is not None and case["helper"] is None:
        yield error(f"已识别认定（{case.label('county_approval_date')} {fmt_date(approved)}），"
                    f"未填写{case.label('helper')}")


@rule("村级公示时间（风险消除）", source="elimination_publicity_days")
def elimination_publicity_long_enough(case, county, as_of):
    """风险消除时名单及附表9在村内公示不少于7天（首尾两天都算）。"""
    start, end = case["elim_publicity_start"], case["elim_publicity_end"]
    if not (start and end) or end < start:
        return
    days = period_days(start, end)
    minimum = county.elimination_publicity_days
    if days < minimum:
        yield error(f"风险消除公示 {fmt_date(start)} 至 {fmt_date(end)}，共 {days} 天（首尾两天都算），"
                    f"少于 {minimum} 天（差 {minimum - days} 天）")


@rule("村级公示时间（识别）", source="publicity_days")
def identification_publicity_long_enough(case, county, as_of):
    """识别时村内公示不少于规定天数（平江县识别程序未核实，取全国要求）。"""
    start, end = case["publicity_start"], case["publicity_end"]
    if not (start and end) or end < start:
        return
    days = period_days(start, end)
    if days < county.publicity_days:
        yield warning(f"识别公示 {fmt_date(start)} 至 {fmt_date(end)}，共 {days} 天，少于 {county.publicity_days} 天"
                      "（平江县识别程序未核实，按全国要求提示）")


@rule("风险消除核查组", source="check_team")
def elimination_check_team(case, county, as_of):
    """风险消除入户核实的核查组不少于2人（乡镇、驻村工作队、村干部）。"""
    if case["elim_publicity_start"] is None and case["elim_approval_date"] is None:
        return  # no elimination under way
    team = [n for n in _NAME_SEP.split(case["elim_check_team"] or "") if n]
    if len(team) < CHECK_TEAM_MIN:
        yield error(f"风险消除已开展，{case.label('elim_check_team')}只填了 {len(team)} 人，"
                    f"核查组不少于 {CHECK_TEAM_MIN} 人")


RULES = (
    helper_named,
    identification_publicity_long_enough,
    elimination_publicity_long_enough,
    elimination_check_team,
)
