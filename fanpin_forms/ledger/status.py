"""``fanpin ledger status``: each case's stage and whether it is overdue, from its stored dates.

A case's stage is the furthest step whose date is on or before ``as_of`` (a date after
``as_of`` has not happened yet on that day):

======================  ===================================================================
待入户核实               risk found or applied for; the village steps before publicity
                         (入户核实, 民主评议) not finished
公示中                   公示开始日期 reached, 公示结束日期 not yet passed
待乡镇审核               publicity over, no 乡镇审核日期
待县级审定               乡镇审核日期, no 县级审定日期
已认定                   县级审定日期 (identified), no 帮扶措施制定日期
帮扶中                   帮扶措施制定日期, risk not eliminated
风险已消除               消除县级审定日期
======================  ===================================================================

Time limits come from the County (``identify_within_days`` for the identification stages,
``measures_within_days`` for 已认定, ``system_entry_within_months`` for the system entry of
帮扶中) and the days are counted by :mod:`fanpin_forms.cases.rules` (``deadline``,
``deadline_months``, ``days_over``): a case is overdue only when ``as_of`` is after the last
day. Cases are read batch by batch (memory stays flat for any county).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from ..cases.rules import days_over, deadline, deadline_months
from ..forms.county import County
from ..privacy.masking import mask_id
from . import values as V
from .db import Ledger
from .models import Case, Document, FieldValue, Household, Page
from .records import typed
from .scope import Scope, narrow
from .setup import LedgerSetup

STAGES = ("待入户核实", "公示中", "待乡镇审核", "待县级审定", "已认定", "帮扶中", "风险已消除")
#: the identification stages: one time limit, from the risk found to the county's approval
IDENTIFYING = STAGES[:4]
#: the dates the stages are worked out from
DATE_KEYS = ("risk_found_date", "apply_date", "home_visit_date", "review_date", "publicity_start", "publicity_end",
             "township_review_date", "county_approval_date", "measures_date", "system_entry_date",
             "elim_home_visit_date", "elim_approval_date")
#: the other values the report groups by
GROUP_KEYS = ("monitor_type", "risk_types")
BATCH = 2000
#: at most this many decoded values are remembered (memory stays flat with free-text fields)
MEMO = 20_000
_MISSING = object()
#: forms printed this many days ago and not returned are listed (``--unreturned-days``)
UNRETURNED_DAYS = 15


def _on(values: dict[str, Any], key: str, as_of: dt.date) -> dt.date | None:
    """The date of ``key`` if it has happened by ``as_of``."""
    day = values.get(key)
    return day if isinstance(day, dt.date) and day <= as_of else None


def discovered(values: dict[str, Any], as_of: dt.date) -> dt.date | None:
    """The day the risk clue was found: the earlier of 风险发现日期 and 申请日期."""
    days = [d for k in ("risk_found_date", "apply_date") if (d := _on(values, k, as_of))]
    return min(days) if days else None


def stage_of(values: dict[str, Any], as_of: dt.date) -> str:
    """The case's stage on ``as_of`` (one of :data:`STAGES`)."""
    on = lambda key: _on(values, key, as_of)  # noqa: E731
    if on("elim_approval_date"):
        return "风险已消除"
    if on("measures_date"):
        return "帮扶中"
    if on("county_approval_date"):
        return "已认定"
    if on("township_review_date"):
        return "待县级审定"
    end = on("publicity_end")
    if end and end < as_of:
        return "待乡镇审核"
    if on("publicity_start"):
        return "公示中"
    return "待入户核实"


@dataclass(frozen=True)
class Overdue:
    days: int
    what: str  # the step that is late, e.g. 县级审定
    last_day: dt.date


def overdue_of(values: dict[str, Any], stage: str, county: County, as_of: dt.date) -> Overdue | None:
    """The step of ``stage`` that is past the County's time limit on ``as_of``, if any."""
    if stage in IDENTIFYING:
        found = discovered(values, as_of)
        if found is None:
            return None
        last, what = deadline(found, county.identify_within_days), "识别认定（县级审定）"
    elif stage == "已认定":
        last, what = deadline(_on(values, "county_approval_date", as_of), county.measures_within_days), "帮扶措施制定"
    elif stage == "帮扶中" and not _on(values, "system_entry_date", as_of) and _on(values, "county_approval_date", as_of):
        last = deadline_months(_on(values, "county_approval_date", as_of), county.system_entry_within_months)
        what = "录入全国防返贫监测信息系统"
    else:
        return None
    days = days_over(as_of, last)
    return Overdue(days, what, last) if days > 0 else None


@dataclass
class CaseState:
    """One household's current case as the status and the report see it (no plain ID number)."""

    case_id: int
    household_no: str
    head_name: str
    id_masked: str
    township: str
    village: str
    values: dict[str, Any]
    stage: str = ""
    overdue: Overdue | None = None
    disputed: bool = False  # 存在较大争议 (evidence attached)

    @property
    def label(self) -> str:
        return self.household_no or f"案件{self.case_id}"


def iter_states(setup: LedgerSetup, ledger: Ledger, as_of: dt.date, *, township: str | None = None,
                village: str | None = None, keys: Sequence[str] | None = DATE_KEYS + GROUP_KEYS,
                scope: Scope | None = None) -> Iterator[CaseState]:
    """Every household's current case (its last episode) with its stage and lateness on ``as_of``.

    ``keys``: the fields to read (None: every field)."""
    types = {f.key: f.type for f in setup.form.fields}
    county = setup.county
    memo: dict[tuple[str, str], Any] = {}  # stored text -> typed value: dates repeat across cases
    with ledger.read() as s:
        q = select(Household.id, Household.household_no, Household.head_name, Household.id_number,
                   Household.township, Household.village).order_by(Household.id)
        q = narrow(q, township=township, village=village, scope=scope)
        last_id = 0
        while True:
            households = s.execute(q.where(Household.id > last_id).limit(BATCH)).all()
            if not households:
                return
            last_id = households[-1].id
            ids = [h.id for h in households]
            current: dict[int, int] = {}
            disputed: dict[int, bool] = {}
            for hid, cid, dis in s.execute(select(Case.household_id, Case.id, Case.disputed)
                                           .where(Case.household_id.in_(ids)).order_by(Case.household_id, Case.episode)):
                current[hid] = cid
                disputed[cid] = bool(dis)
            values: dict[int, dict[str, Any]] = {cid: {} for cid in current.values()}
            vq = select(FieldValue.case_id, FieldValue.field, FieldValue.value).where(
                FieldValue.case_id.in_(list(current.values())), FieldValue.pending.is_(False))
            if keys is not None:
                vq = vq.where(FieldValue.field.in_(list(keys)))
            for cid, key, text in s.execute(vq):
                ftype = types.get(key)
                if ftype is None:
                    continue
                value = memo.get((text, ftype), _MISSING)
                if value is _MISSING:
                    value = typed(V.decode(text), ftype)
                    if isinstance(value, (dict, list)):  # mutable: each case gets its own
                        values[cid][key] = value
                        continue
                    if len(memo) >= MEMO:
                        memo.clear()
                    memo[(text, ftype)] = value
                values[cid][key] = value
            for h in households:
                cid = current.get(h.id)
                if cid is None:
                    continue
                vals = values[cid]
                stage = stage_of(vals, as_of)
                yield CaseState(cid, h.household_no or "", h.head_name, mask_id(h.id_number, county.mask)
                                if h.id_number else "", h.township, h.village, vals, stage,
                                overdue_of(vals, stage, county, as_of), disputed[cid])


@dataclass(frozen=True)
class Unreturned:
    household_no: str
    head_name: str
    township: str
    village: str
    form: str
    printed: dt.date
    days: int


def day_start(day: dt.date) -> dt.datetime:
    """Local midnight starting ``day``, in UTC (how the ledger stores times)."""
    return dt.datetime.combine(day, dt.time.min).astimezone().astimezone(dt.timezone.utc)


def local_time(at: dt.datetime) -> dt.datetime:
    """A stored time (UTC; SQLite gives it back without a zone) in the local zone."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone()


def _local_day(at: dt.datetime) -> dt.date:
    return local_time(at).date()


def unreturned(ledger: Ledger, as_of: dt.date, min_days: int, *, township: str | None = None,
               village: str | None = None, scope: Scope | None = None) -> list[Unreturned]:
    """Printed forms of a case with no returned page, printed ``min_days`` days or more before
    ``as_of``; oldest first."""
    cutoff = day_start(as_of - dt.timedelta(days=min_days) + dt.timedelta(days=1))
    returned = select(Page.id).where(Page.document_id == Document.id).exists()
    q = (select(Household.household_no, Household.head_name, Household.township, Household.village,
                Document.form, Document.at)
         .join(Case, Document.case_id == Case.id).join(Household, Case.household_id == Household.id)
         .where(~returned, Document.at < cutoff).order_by(Document.at, Document.id))
    q = narrow(q, township=township, village=village, scope=scope)
    out = []
    with ledger.read() as s:
        for no, name, town, vil, form, at in s.execute(q):
            printed = _local_day(at)
            out.append(Unreturned(no or "", name, town, vil, form, printed, (as_of - printed).days))
    return out


def outstanding_forms(ledger: Ledger, until: dt.datetime, *, scope: Scope | None = None
                      ) -> dict[tuple[str, str], int]:
    """(township, village) -> printed forms of a case not returned, printed before ``until``."""
    returned = select(Page.id).where(Page.document_id == Document.id).exists()
    q = (select(Household.township, Household.village, func.count(Document.id))
         .join(Case, Document.case_id == Case.id).join(Household, Case.household_id == Household.id)
         .where(~returned, Document.at < until).group_by(Household.township, Household.village))
    q = narrow(q, scope=scope)
    with ledger.read() as s:
        return {(t, v): n for t, v, n in s.execute(q)}


@dataclass
class Status:
    as_of: dt.date
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    overdue: list[CaseState] = field(default_factory=list)
    by_stage: dict[str, list[CaseState]] = field(default_factory=lambda: {s: [] for s in STAGES})
    unreturned: list[Unreturned] = field(default_factory=list)
    total: int = 0
    disputed: list[CaseState] = field(default_factory=list)  # every case marked 存在较大争议


def status(setup: LedgerSetup, ledger: Ledger, as_of: dt.date, *, township: str | None = None,
           village: str | None = None, unreturned_days: int = UNRETURNED_DAYS, keep: int | None = None,
           scope: Scope | None = None) -> Status:
    """Counts by stage, the overdue cases (most days over first) and the forms not returned.

    ``keep``: how many cases to keep per stage for listing (None: all)."""
    out = Status(as_of)
    for c in iter_states(setup, ledger, as_of, township=township, village=village, keys=DATE_KEYS, scope=scope):
        out.total += 1
        out.counts[c.stage] += 1
        c.values = {}  # not needed past here: memory stays flat
        if c.disputed:
            out.disputed.append(c)
        if c.overdue:
            out.overdue.append(c)
        elif keep is None or len(out.by_stage[c.stage]) < keep:
            out.by_stage[c.stage].append(c)
    out.overdue.sort(key=lambda c: (-c.overdue.days, c.township, c.village, c.household_no))
    out.disputed.sort(key=lambda c: (c.township, c.village, c.household_no))
    out.unreturned = unreturned(ledger, as_of, unreturned_days, township=township, village=village, scope=scope)
    return out


def stage_counts(states: Iterable[CaseState]) -> dict[str, int]:
    counts = dict.fromkeys(STAGES, 0)
    for c in states:
        counts[c.stage] += 1
    return counts
