"""Every sentence of the two notices, for the DOCX, the HTML page and tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ..rules import fmt_date
from .rows import NoticeRow
from .select import CountyNotice, VillageNotice

OBJECTION = "如有异议，请于公示期内向村民委员会或乡镇人民政府反映。"


def _count(rows: Sequence[NoticeRow]) -> str:
    people = sum(r.household_size or 0 for r in rows)
    return f"{len(rows)}户{people}人"


def _by_type(rows: Sequence[NoticeRow]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        if r.monitor_type:
            counts[r.monitor_type] = counts.get(r.monitor_type, 0) + 1
    return "、".join(f"{t}{n}户" for t, n in counts.items())


def _range_text(span: tuple[dt.date, dt.date] | None) -> str:
    if span is None:
        return ""
    a, b = span
    return f"于{fmt_date(a)}" if a == b else f"于{fmt_date(a)}至{fmt_date(b)}"


def village_text(n: VillageNotice) -> dict[str, object]:
    """Every sentence of a village publicity, for the DOCX (and tests)."""
    sections = []
    if n.identify:
        sections.append((f"一、拟纳入防止返贫监测对象（{_count(n.identify)}）", n.identify))
    if n.eliminate:
        no = "二" if n.identify else "一"
        sections.append((f"{no}、拟风险消除的监测对象（{_count(n.eliminate)}）", n.eliminate))
    what = "、".join(w for w, rows in (("拟纳入防止返贫监测对象", n.identify), ("拟风险消除的监测对象", n.eliminate)) if rows)
    return {
        "title": n.title,
        "intro": (("根据农户申请、授权等程序，" if n.identify else "")
                  + f"经入户核实，{n.village}组织召开村（居）民主评议会议，"
                  f"履行防止返贫监测民主评议程序。现将{what}名单公示如下："),
        "sections": sections,
        "period": f"公示期：{fmt_date(n.start)}至{fmt_date(n.end)}（共{n.days}天）。",
        "objection": n.style.text("village_objection", OBJECTION, township=n.township, village=n.village, days=n.days),
        "signer": _village_committee(n.village),
        "date": fmt_date(n.start),
    }


def _village_committee(village: str) -> str:
    """杨林村 → 杨林村村民委员会; 城南社区 → 城南社区居民委员会."""
    if village.endswith("委员会"):
        return village
    return f"{village}居民委员会" if village.endswith(("社区", "居")) else f"{village}村民委员会"


def county_text(n: CountyNotice) -> dict[str, object]:
    """Every sentence of a county announcement, for the DOCX, the HTML page and tests."""
    sections = []
    if n.identify:
        types = _by_type(n.identify)
        sections.append((f"一、{_range_text(n.identify_range)}审定新识别防止返贫监测对象{_count(n.identify)}"
                         + (f"，其中{types}" if types else "") + "。", n.identify))
    if n.eliminate:
        no = "二" if n.identify else "一"
        sections.append((f"{no}、{_range_text(n.eliminate_range)}审定风险消除的监测对象{_count(n.eliminate)}。",
                         n.eliminate))
    return {
        "title": n.title,
        "intro": (f"根据防止返贫动态监测和帮扶工作要求，经入户核实、村（居）民主评议和公示、乡镇（街道）审核、"
                  f"{n.county.approving_body}审定，现将结果公告如下（名单附后）："),
        "sections": sections,
        "objection": n.style.text("county_objection", f"如对公告名单有异议，请向{n.county.approving_body}反映。",
                                  approving_body=n.county.approving_body),
        "closing": n.style.text("county_closing", "特此公告。"),
        "signer": n.county.approving_body,
        "date": fmt_date(n.date),
    }
