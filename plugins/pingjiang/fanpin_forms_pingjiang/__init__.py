"""平江县 (Pingjiang County, 岳阳市, Hunan): a second county plugin for fanpin-forms.

Written only against the public API (``fanpin_forms.__all__``) and tested with the kit
(``fanpin_forms.testing``); it does not import the Yueyang plugin.

What is known of 平江县 (see ``../../README.md`` of this plugin): only its **risk-elimination**
procedure was read, on the county's website (:data:`SOURCE_URL`): a check team of at least two
cadres (乡镇 + 驻村 + 村) visits, its members **and the household** sign; the name list and 附表9 are
published in the village for **7 days**. Its identification procedure, its forms' exact wording
and its time limits other than the 7 days were **not read** ("未核实" below): those values are the
national constraints as paraphrased by other counties' official pages, or the same prefecture's
(岳阳县) 2022 figure, and each ``sources`` entry says which. A clerk who has 平江's own notice
replaces the value and its quotation here.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from fanpin_forms import County, hookimpl

from . import rules

SPECS = Path(__file__).parent / "specs"
SOURCE_URL = "www.pingjiang.gov.cn/yyjc/jc_pjx/32/33/content_16000.html"
NOTICE = f"平江县防止返贫监测对象风险消除工作程序（{SOURCE_URL}；县级环节及识别程序未核实）"
NOT_CONFIRMED = "未核实（平江县通知未读到）"

SOURCES = {
    "elimination_publicity_days": "三、村民主评议：“名单及附表9在村内公示7天”（平江县风险消除程序）",
    "publicity_days": f"{NOT_CONFIRMED}；取全国要求：识别时村内公示不少于5天（秦安县转述）",
    "identify_within_days": f"{NOT_CONFIRMED}；取全国要求：从发现风险线索到完成识别认定不超过15天（秦安县转述）",
    "baselines": f"{NOT_CONFIRMED}；取同市岳阳县2022年通知的6900元",
    "measures_within_days": f"{NOT_CONFIRMED}；取同市岳阳县2022年通知的10天",
    "system_entry_within_months": f"{NOT_CONFIRMED}；取同市岳阳县2022年通知的1个月",
    "monthly_report_day": f"{NOT_CONFIRMED}；取同市岳阳县2022年通知的每月28日",
    "comparison_exempt": f"{NOT_CONFIRMED}；取同市岳阳县2022年通知：低保、特困、孤儿、事实无人抚养儿童不再重复比对",
    "aid_first_causes": f"{NOT_CONFIRMED}；取同市岳阳县2022年通知：因灾、因意外事故先行救助帮扶",
    "approving_body": f"{NOT_CONFIRMED}（县级环节未读到）；按县乡村振兴局写",
    "check_team": "二、入户核实：“乡镇、驻村工作队、村干部组成核查组，不少于2人……核查组成员和农户签字确认”",
    "helper": f"{NOT_CONFIRMED}；本插件的要求：识别认定后明确帮扶责任人（附件2加印“帮扶责任人”一栏）",
    "exclusions": "一、村（居）提出名单：丧失劳动能力、风险稳定消除较弱、收入不稳定、刚性支出不可控的不列入",
}

PINGJIANG = County(
    code="pingjiang",
    name="平江县",
    short_name="平江",
    province="湖南省",
    city="岳阳市",
    approving_body="平江县乡村振兴局",
    baselines={2022: Decimal("6900")},
    publicity_days=5,
    elimination_publicity_days=7,
    identify_within_days=15,
    measures_within_days=10,
    system_entry_within_months=1,
    monthly_report_day=28,
    comparison_exempt=("低保", "特困", "孤儿", "事实无人抚养儿童"),
    aid_first_causes=("灾", "意外"),
    notice=NOTICE,
    sources=SOURCES,
)



@hookimpl
def register_counties(register):
    register(PINGJIANG)


@hookimpl
def register_forms(register):
    for name in ("annex2_helper.yaml", "annex3_pingjiang.yaml", "members.yaml", "ledger_pingjiang.yaml"):
        register(SPECS / name)


@hookimpl
def register_rules(register):
    for case_rule in rules.RULES:
        register(case_rule)
