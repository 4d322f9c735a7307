"""A county: the policy values and place names a county plugin supplies.

Every policy value must be stated by the plugin: the core carries no county's numbers,
so a county that leaves one out gets an error naming the value (:data:`POLICY_VALUES`
lists each with its meaning and unit), never another county's default.
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


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: the default of a value every county must state
REQUIRED: object = _Required()

#: every policy value a county states: attribute -> (its meaning, its unit)
POLICY_VALUES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "baselines": ("防返贫监测收入基准线（按年份）", "元/人·年"),
    "publicity_days": ("识别认定时的村级公示天数", "天"),
    "elimination_publicity_days": ("风险消除时的村级公示天数", "天"),
    "identify_within_days": ("从发现风险线索到完成识别认定的时限", "天"),
    "measures_within_days": ("识别认定后制定帮扶措施的时限", "天"),
    "system_entry_within_months": ("帮扶措施录入全国防返贫监测信息系统的时限", "月"),
    "monthly_report_day": ("乡镇月度排查情况报县的截止日", "日（每月）"),
    "comparison_exempt": ("识别时不再开展信息比对的民政救助类型", "类型名称列表"),
    "aid_first_causes": ("按“先帮扶后识别”办理的突发原因关键词", "词语列表"),
})


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
    baselines: Mapping[int, Decimal] = REQUIRED  # type: ignore[assignment]
    publicity_days: int = REQUIRED  # type: ignore[assignment]  # 村级公示 for identification
    elimination_publicity_days: int = REQUIRED  # type: ignore[assignment]  # 村级公示 for risk elimination
    identify_within_days: int = REQUIRED  # type: ignore[assignment]  # from 发现风险线索 to 识别认定
    measures_within_days: int = REQUIRED  # type: ignore[assignment]  # 帮扶措施制定 after identification
    system_entry_within_months: int = REQUIRED  # type: ignore[assignment]  # 录入全国防返贫监测信息系统
    monthly_report_day: int = REQUIRED  # type: ignore[assignment]  # township's monthly report due by this day
    mask: MaskPolicy = field(default_factory=MaskPolicy)
    #: where each value comes from: attribute name -> quotation of the notice
    sources: Mapping[str, str] = field(default_factory=dict)
    notice: str = ""  # the notice these values come from (document number)
    #: 民政救助类型 whose households need no 信息比对 when identified (case rules)
    comparison_exempt: tuple[str, ...] = REQUIRED  # type: ignore[assignment]
    #: words of 突发原因 that make 先帮扶后识别 the notice's case ("因灾因意外事故等"); others get a warning
    aid_first_causes: tuple[str, ...] = REQUIRED  # type: ignore[assignment]
    #: words that mean health details, refused in every value of a public notice (二、5);
    #: a county extends the list with ``(*DEFAULT_HEALTH_TERMS, "…")``
    health_terms: tuple[str, ...] = DEFAULT_HEALTH_TERMS
    #: the county's focus groups (重点对象) the monthly report groups by: (name, test) pairs, the
    #: test taking a case's values (key -> parsed value) and returning True for a member; empty:
    #: the report groups by 监测对象类型 and 风险类型
    focus_groups: tuple[tuple[str, Callable[[Mapping[str, Any]], bool]], ...] = ()

    def __post_init__(self) -> None:
        missing = [name for name in POLICY_VALUES if getattr(self, name) is REQUIRED]
        if missing:
            raise FanpinError.of(Code.COUNTY_VALUE_MISSING, county=self.name or self.code, values="；".join(
                f"{name}（{POLICY_VALUES[name][0]}，单位：{POLICY_VALUES[name][1]}）" for name in missing))
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
