"""岳阳县 (Yueyang County, Hunan): the county of the 2022 notice that started fanpin-forms.

Every policy value lives in :data:`YUEYANG` below, each with the notice's own words
as its source. To follow a new year's baseline, add a row to ``baselines``.
"""

from decimal import Decimal

from fanpin_forms import hookimpl
from fanpin_forms.county import County

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
    notice=NOTICE,
    sources={
        "baselines": "附件说明①：“监测户当年人均纯收入低于 6900 元”；二、6：“年人均纯收入低于当年防返贫监测收入基准线的监测对象，原则上当年不得标注风险消除。”",
        "publicity_days": "二、1：“监测对象识别和风险消除时，村（居）公示时间均由7天调整为5天。”",
        "elimination_publicity_days": "二、1：“监测对象识别和风险消除时，村（居）公示时间均由7天调整为5天。”",
        "identify_within_days": "二：“从发现风险线索之日起，到完成监测对象识别认定，一般不超过15天”",
        "measures_within_days": "三：“村级要根据返贫致贫风险，原则上在10天内完成帮扶措施制定和帮扶措施申报”",
        "system_entry_within_months": "三：“超过1个月未完成录入的，视为未落实帮扶措施。”",
        "monthly_report_day": "一、二：“乡镇每月组织开展一次定期排查……每月28日前将排查情况报县乡村振兴局汇总。”",
        "approving_body": "附件2 县级审定：“县乡村振兴局（盖章）”；二、4：“县级审核批准后，通过政府官网向社会公告”",
    },
)


@hookimpl
def register_counties(register):
    register(YUEYANG)
