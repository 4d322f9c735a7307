"""岳阳县 (Yueyang County, Hunan): the county of the 2022 notice that started fanpin-forms.

Every policy value lives in :data:`YUEYANG` below, each with the notice's own words
as its source. To follow a new year's baseline, add a row to ``baselines``.
The notice's case rules (``fanpin check``) are in :mod:`fanpin_forms_yueyang.rules`.
"""

from decimal import Decimal

from fanpin_forms import County, hookimpl

NOTICE = "岳县委乡振组办发〔2022〕4号《关于进一步做好防止返贫动态监测和帮扶工作的通知》（2022年5月17日）"

YUEYANG = County(
    code="yueyang",
    name="岳阳县",
    short_name="岳阳",
    province="湖南省",
    city="岳阳市",
    approving_body="岳阳县乡村振兴局",
    baselines={
        2022: Decimal("6900"),  # 附件1–3 说明①：监测户当年人均纯收入低于 6900 元
    },
    publicity_days=5,
    elimination_publicity_days=5,
    identify_within_days=15,
    measures_within_days=10,
    system_entry_within_months=1,
    monthly_report_day=28,
    comparison_exempt=("低保", "特困", "孤儿", "事实无人抚养儿童"),
    aid_first_causes=("灾", "意外"),
    notice=NOTICE,
    sources={
        "baselines": "附件说明①：“监测户当年人均纯收入低于 6900 元”；二、6：“年人均纯收入低于当年防返贫监测收入基准线的监测对象，原则上当年不得标注风险消除。”",
        "publicity_days": "二、1：“监测对象识别和风险消除时，村（居）公示时间均由7天调整为5天。”",
        "elimination_publicity_days": "二、1：“监测对象识别和风险消除时，村（居）公示时间均由7天调整为5天。”",
        "identify_within_days": "二：“从发现风险线索之日起，到完成监测对象识别认定，一般不超过15天”",
        "measures_within_days": "三：“村级要根据返贫致贫风险，原则上在10天内完成帮扶措施制定和帮扶措施申报”",
        "system_entry_within_months": "三：“超过1个月未完成录入的，视为未落实帮扶措施。”",
        "monthly_report_day": "一、二：“乡镇每月组织开展一次定期排查……每月28日前将排查情况报县乡村振兴局汇总。”",
        "comparison_exempt": "二、2：“对村（居）民主评议确定拟纳入监测对象，在进行村级公示时，同步组织开展信息比对。……已纳入民政低保、特困、孤儿（包括事实无人抚养儿童）等对象，在纳入监测对象时不再重复开展信息比对。”",
        "aid_first_causes": "二、7：“对因灾因意外事故等导致突发摊返贫致贫风险、生活陷入严重困难事实清楚的农户，要先行救助并落实帮扶，再履行识别程序。”",
        "approving_body": "附件2 县级审定：“县乡村振兴局（盖章）”；二、4：“县级审核批准后，通过政府官网向社会公告”",
    },
)


@hookimpl
def register_counties(register):
    register(YUEYANG)


@hookimpl
def register_rules(register):
    """The case rules of the notice (time limits, publicity, comparison, steps, baseline)."""
    from .rules import RULES

    for case_rule in RULES:
        register(case_rule)
