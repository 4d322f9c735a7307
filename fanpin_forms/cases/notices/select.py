"""Which households a notice lists, grouped into notices, and what they leave out and why."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ...errors import Code, FanpinError
from ...forms.county import County
from ...forms.model import FormSpec
from ...intake.records import Record
from ...privacy.leakguard import DEFAULT_HEALTH_TERMS
from ...render.filenames import MAX_STEM_BYTES, fit_bytes
from ..rules import fmt_date, period_days
from .rows import NoticeRow, guard_rows, notice_row
from .style import DEFAULT_STYLE, NoticeStyle


@dataclass
class VillageNotice:
    """The publicity list of one village for one publicity period."""

    township: str
    village: str
    start: dt.date
    end: dt.date
    identify: list[NoticeRow] = field(default_factory=list)
    eliminate: list[NoticeRow] = field(default_factory=list)
    style: NoticeStyle = DEFAULT_STYLE  # the county's columns and wording

    @property
    def days(self) -> int:
        return period_days(self.start, self.end)

    @property
    def title(self) -> str:
        return self.style.text("village_title", f"{self.township}{self.village}防止返贫监测对象民主评议结果公示",
                               township=self.township, village=self.village)

    @property
    def file_stem(self) -> str:
        return _safe_name(f"{self.township}{self.village}_村级公示_{self.start.isoformat()}至{self.end.isoformat()}")


@dataclass
class CountyNotice:
    """The county announcement of the households approved (identified or eliminated)."""

    county: County
    date: dt.date
    identify: list[NoticeRow] = field(default_factory=list)
    eliminate: list[NoticeRow] = field(default_factory=list)
    identify_range: tuple[dt.date, dt.date] | None = None
    eliminate_range: tuple[dt.date, dt.date] | None = None
    style: NoticeStyle = DEFAULT_STYLE  # the county's columns and wording

    @property
    def title(self) -> str:
        body = self.county.approving_body
        if self.identify and self.eliminate:
            return f"{body}关于防止返贫监测对象识别和风险消除情况的公告"
        if self.eliminate:
            return f"{body}关于防止返贫监测对象风险消除的公告"
        return f"{body}关于新识别防止返贫监测对象的公告"

    @property
    def file_stem(self) -> str:
        return _safe_name(f"{self.county.name}_防返贫监测县级公告_{self.date.isoformat()}")


@dataclass
class Selection:
    """What :func:`select_village` / :func:`select_county` chose, and what they left out and why."""

    notices: list
    warnings: list[str] = field(default_factory=list)


def _in_range(day: dt.date | None, start: dt.date | None, end: dt.date | None) -> bool:
    return day is not None and (start is None or day >= start) and (end is None or day <= end)


def _check_range(start: dt.date | None, end: dt.date | None) -> None:
    if start and end and start > end:
        raise FanpinError.of(Code.NOTICE_BAD_RANGE, start=fmt_date(start), end=fmt_date(end))


def _ledger_order(records: Iterable[Record]) -> dict[tuple[str, str], int]:
    order: dict[tuple[str, str], int] = {}
    for r in records:
        a = r.values.get("address") or {}
        order.setdefault((a.get("township", ""), a.get("village", "")), len(order))
    return order


def select_village(records: Sequence[Record], form: FormSpec, *, date_from: dt.date | None = None,
                   date_to: dt.date | None = None, health_terms: Sequence[str] = DEFAULT_HEALTH_TERMS,
                   source: str | None = None, style: NoticeStyle = DEFAULT_STYLE) -> Selection:
    """Households to publish in their village, grouped by village and publicity period.

    Without a range: those in publicity and not yet approved (no 县级审定日期 for
    identification, no 消除县级审定日期 for elimination). With ``date_from``/``date_to``:
    those whose publicity *starts* in the range (inclusive), approved or not — to
    reprint a past publicity for the archive.

    Every value to be shown is checked by :func:`guard_rows` against the whole of
    ``records`` and ``health_terms`` (the county's); ``source`` names the ledger in
    its messages."""
    _check_range(date_from, date_to)
    warnings: list[str] = []
    groups: dict[tuple[str, str, dt.date, dt.date], VillageNotice] = {}
    for r in records:
        v = r.values
        for start_key, end_key, approved_key, bucket in (
                ("publicity_start", "publicity_end", "county_approval_date", "identify"),
                ("elim_publicity_start", "elim_publicity_end", "elim_approval_date", "eliminate")):
            start, end = v.get(start_key), v.get(end_key)
            if start is None:
                continue
            chosen = (_in_range(start, date_from, date_to) if (date_from or date_to)
                      else v.get(approved_key) is None)
            if not chosen:
                continue
            what = "识别" if bucket == "identify" else "风险消除"
            if end is None or end < start:
                warnings.append(f"第 {r.row} 行：{what}公示的结束日期未填或早于开始日期，未列入公示")
                continue
            row = notice_row(r, form, [k for k, _ in style.extra])
            key = (row.township, row.village, start, end)
            notice = groups.setdefault(key, VillageNotice(row.township, row.village, start, end, style=style))
            getattr(notice, bucket).append(row)
    order = _ledger_order(records)
    notices = sorted(groups.values(), key=lambda n: (order.get((n.township, n.village), 0), n.start, n.end))
    guard_rows([r for n in notices for r in (*n.identify, *n.eliminate)], records, form, health_terms,
               what="村级公示", source=source)
    return Selection(notices, warnings)


def select_county(records: Sequence[Record], form: FormSpec, county: County, *, date: dt.date,
                  date_from: dt.date | None = None, date_to: dt.date | None = None,
                  source: str | None = None, style: NoticeStyle = DEFAULT_STYLE) -> Selection:
    """Households for the county announcement.

    Without a range: approved and not yet announced (县级审定日期 but no 县级公告日期;
    消除县级审定日期 but no 消除县级公告日期). With a range: approved in it (inclusive).
    Every value to be shown is checked as in :func:`select_village`, with the
    county's ``health_terms``."""
    _check_range(date_from, date_to)
    warnings: list[str] = []
    notice = CountyNotice(county, date, style=style)
    order = _ledger_order(records)
    days: dict[str, list[dt.date]] = {"identify": [], "eliminate": []}
    for r in sorted(records, key=lambda r: (order.get(((r.values.get("address") or {}).get("township", ""),
                                                       (r.values.get("address") or {}).get("village", "")), 0),
                                            r.row or 0)):
        v = r.values
        for approved_key, notice_key, bucket in (("county_approval_date", "county_notice_date", "identify"),
                                                  ("elim_approval_date", "elim_notice_date", "eliminate")):
            approved = v.get(approved_key)
            if approved is None:
                continue
            chosen = (_in_range(approved, date_from, date_to) if (date_from or date_to)
                      else v.get(notice_key) is None)
            if chosen:
                getattr(notice, bucket).append(notice_row(r, form, [k for k, _ in style.extra]))
                days[bucket].append(approved)
    if days["identify"]:
        notice.identify_range = (min(days["identify"]), max(days["identify"]))
    if days["eliminate"]:
        notice.eliminate_range = (min(days["eliminate"]), max(days["eliminate"]))
    guard_rows([*notice.identify, *notice.eliminate], records, form, county.health_terms, what="县级公告",
               source=source)
    return Selection([notice] if notice.identify or notice.eliminate else [], warnings)


_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


def _safe_name(text: str) -> str:
    """A file name from checked place names and dates: no path characters, at most :data:`MAX_STEM_BYTES`."""
    return fit_bytes(_UNSAFE.sub("", text), MAX_STEM_BYTES) or "notice"
