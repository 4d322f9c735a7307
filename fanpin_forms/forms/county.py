"""A county: the policy values and place names a county plugin supplies.

The Yueyang plugin builds one :class:`County` from the 2022 notice; another county
copies the dataclass with ``dataclasses.replace`` and changes what differs (a
7-day publicity, its own baselines) without touching the core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ..errors import Code, FanpinError
from ..privacy.leakguard import DEFAULT_HEALTH_TERMS
from ..privacy.masking import MaskPolicy


@dataclass(frozen=True)
class County:
    """Policy values of one county, each with the notice wording it comes from."""

    code: str  # short ASCII id used on the command line: --county yueyang
    name: str  # 岳阳县
    short_name: str  # 岳阳 (printed in "____县（市、区）乡村振兴局")
    province: str  # 湖南省
    city: str  # 岳阳市
    approving_body: str  # 岳阳县乡村振兴局
    #: 防返贫监测收入基准线, yuan per person per year, keyed by year
    baselines: Mapping[int, Decimal] = field(default_factory=dict)
    publicity_days: int = 5  # 村级公示 for identification
    elimination_publicity_days: int = 5  # 村级公示 for risk elimination
    identify_within_days: int = 15  # from 发现风险线索 to 识别认定
    measures_within_days: int = 10  # 帮扶措施制定 after identification
    system_entry_within_months: int = 1  # 录入全国防返贫监测信息系统
    monthly_report_day: int = 28  # township's monthly check report due by this day
    mask: MaskPolicy = field(default_factory=MaskPolicy)
    #: where each value comes from: attribute name -> quotation of the notice
    sources: Mapping[str, str] = field(default_factory=dict)
    notice: str = ""  # the notice these values come from (document number)
    #: 民政救助类型 whose households need no 信息比对 when identified (case rules)
    comparison_exempt: tuple[str, ...] = ("低保", "特困", "孤儿", "事实无人抚养儿童")
    #: words of 突发原因 that make 先帮扶后识别 the notice's case ("因灾因意外事故等"); others get a warning
    aid_first_causes: tuple[str, ...] = ("灾", "意外")
    #: words that mean health details, refused in every value of a public notice (二、5);
    #: a county extends the list with ``(*DEFAULT_HEALTH_TERMS, "…")``
    health_terms: tuple[str, ...] = DEFAULT_HEALTH_TERMS
    #: the county's focus groups (重点对象) the monthly report groups by: (name, test) pairs, the
    #: test taking a case's values (key -> parsed value) and returning True for a member; empty:
    #: the report groups by 监测对象类型 and 风险类型
    focus_groups: tuple[tuple[str, Callable[[Mapping[str, Any]], bool]], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "baselines", MappingProxyType({int(k): Decimal(str(v)) for k, v in self.baselines.items()}))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        object.__setattr__(self, "comparison_exempt", tuple(self.comparison_exempt))
        object.__setattr__(self, "aid_first_causes", tuple(self.aid_first_causes))
        object.__setattr__(self, "health_terms", tuple(self.health_terms))
        object.__setattr__(self, "focus_groups", tuple((str(n), t) for n, t in self.focus_groups))

    def baseline(self, year: int) -> Decimal:
        """The income baseline for ``year``; raises if the county has not published one."""
        try:
            return self.baselines[year]
        except KeyError:
            known = "、".join(str(y) for y in sorted(self.baselines)) or "无"
            raise FanpinError.of(Code.POLICY_NO_BASELINE, county=self.name, year=year, known=known) from None

    def default_address(self) -> dict[str, str]:
        """Address parts every household of this county shares."""
        return {"province": self.province, "city": self.city, "county": self.name}

    def placeholders(self, year: int | None = None) -> dict[str, str]:
        """Values for ``{county.*}`` and ``{policy.*}`` slots in printed text."""
        values = {
            "county.name": self.name, "county.short_name": self.short_name, "county.province": self.province,
            "county.city": self.city, "county.approving_body": self.approving_body,
            "policy.publicity_days": str(self.publicity_days),
        }
        if year is not None:
            baseline = self.baseline(year)
            values["policy.baseline"] = f"{baseline:f}".rstrip("0").rstrip(".") if "." in f"{baseline:f}" else f"{baseline:f}"
            values["policy.year"] = str(year)
        return values
