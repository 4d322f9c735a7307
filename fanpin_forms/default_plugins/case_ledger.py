"""The case ledger (``form_specs/ledger.yaml``) and the case rules that hold for every county.

The procedure's own limits (15 days, 5-day publicity, baselines…) differ between
counties and are quoted from a county's notice, so they live in the county plugin
(``fanpin_forms_yueyang.rules``). What stays here is only what is true of any
ledger whatever the county decided: a period cannot end before it starts, and a
step cannot be dated in the future. A county never needs to switch these off.
"""

from __future__ import annotations

import datetime as dt

from fanpin_forms import hookimpl
from fanpin_forms.util.resources import bundled
from fanpin_forms.cases.rules import error, fmt_date, rule

#: (start, end) field pairs of the ledger's periods
PERIODS = (("publicity_start", "publicity_end"), ("elim_publicity_start", "elim_publicity_end"))

#: every date field of the ledger, in procedure order
DATE_FIELDS = (
    "risk_found_date", "apply_date", "home_visit_date", "review_date", "publicity_start", "publicity_end",
    "comparison_date", "township_review_date", "county_approval_date", "county_notice_date", "measures_date",
    "system_entry_date", "elim_home_visit_date", "elim_publicity_start", "elim_publicity_end", "elim_approval_date", "elim_notice_date",
)


@rule("公示期起止", quote="公示期的结束日期不能早于开始日期（台账数据核对）",
      reads=tuple(k for period in PERIODS for k in period))
def period_ends_after_start(case, county, as_of):
    """A publicity period ends on or after the day it starts (identification and elimination)."""
    for start_key, end_key in PERIODS:
        start, end = case[start_key], case[end_key]
        if start and end and end < start:
            yield error(f"{case.label(end_key)} {fmt_date(end)} 早于{case.label(start_key)} {fmt_date(start)}")


@rule("日期晚于今天", quote="台账中的日期不能晚于今天（台账数据核对）", reads=DATE_FIELDS)
def dates_not_in_future(case, county, as_of):
    """No date of the case lies after today (a typo such as 2202 for 2022, or a planned step)."""
    today = dt.date.today()
    for key in DATE_FIELDS:
        day = case[key]
        if isinstance(day, dt.date) and day > today:
            yield error(f"{case.label(key)} {fmt_date(day)} 晚于今天（{fmt_date(today)}），请核对")


@hookimpl
def register_forms(register):
    register(bundled("form_specs") / "ledger.yaml")


@hookimpl
def register_rules(register):
    register(period_ends_after_start)
    register(dates_not_in_future)
