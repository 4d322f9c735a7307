"""Write samples/ledger.xlsx: a made-up 防止返贫监测对象台账 of one Yueyang village.

20 invented households of 荣家湾镇杨林村 (names, ID numbers with valid GB 11643 check
digits, phones, bank accounts are all made up) with mixed case timelines, meant to
be checked as of 2022-07-15. They are the households of samples/households.xlsx
(same 户编号, names, ID numbers, risk types: taken from make_sample.people):

    .venv/bin/python samples/make_ledger.py
    .venv/bin/fanpin check --data samples/ledger.xlsx --as-of 2022-07-15
    .venv/bin/fanpin notice village --data samples/ledger.xlsx -o out/
    .venv/bin/fanpin notice county --data samples/ledger.xlsx -o out/ --date 2022-07-15

Some cases are compliant, some overdue or out of order, one is 先帮扶后识别 (flood),
some are eliminations, one elimination is below the 2022 baseline (6900), and a few
are still in publicity (for the village notice) or approved but not yet announced
(for the county notice). Dates are written in the three ways clerks write them:
Excel date cells, 2022/6/1 and 2022年6月1日.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from fanpin_forms.testing.households import titled_workbook


def _people() -> list[dict]:
    """The households of samples/households.xlsx (make_sample.people): the same people, 户编号 and ID numbers."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("samples_make_sample", Path(__file__).with_name("make_sample.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.people()

HEADERS = [
    "户编号", "户主姓名", "身份证号码", "家庭人口", "联系电话", "乡镇", "村", "村民小组", "风险类型", "其他原因",
    "健康状况", "银行账号", "监测对象类型", "民政救助类型", "风险发现日期", "申请日期", "入户核实日期", "民主评议日期",
    "公示开始日期", "公示结束日期", "信息比对日期", "乡镇审核日期", "县级审定日期", "县级公告日期",
    "帮扶措施制定日期", "系统录入日期", "先帮扶后识别", "突发原因", "年人均纯收入", "收入年度",
    "消除公示开始日期", "消除公示结束日期", "消除县级审定日期", "消除县级公告日期",
]

HEALTH = ["健康", "长期慢性病", "残疾", "患有大病", "健康"]

# Each case: (what it shows, monitor type, risk, civil assistance, timeline as offsets in days from the
# risk-found day, plus elimination facts). Keys: found (a date), then day offsets per step.
STEPS = ["home", "review", "pub_start", "pub_end", "compare", "township", "county", "notice", "measures", "entry"]
COMPLIANT = dict(home=1, review=3, pub_start=4, pub_end=8, compare=6, township=9, county=12, notice=13,
                 measures=16, entry=20)


def case(note, found, mtype="边缘易致贫户", risk="⑥", civil="无", **over):
    steps = {**COMPLIANT, **{k: v for k, v in over.items() if k in STEPS}}
    extra = {k: v for k, v in over.items() if k not in STEPS}
    return {"note": note, "found": found, "type": mtype, "risk": risk, "civil": civil, "steps": steps, **extra}


D = dt.date
CASES = [
    case("合规：识别程序完整", D(2022, 6, 1)),
    case("合规：低保户免于信息比对", D(2022, 6, 2), mtype="脱贫不稳定户", risk="⑧", civil="低保", compare=None),
    case("识别超期：用时21天", D(2022, 5, 20), county=21, notice=22, measures=24, entry=28, township=18),
    case("公示只有4天", D(2022, 6, 6), pub_end=7),
    case("信息比对在公示结束后", D(2022, 6, 8), compare=10),
    case("乡镇审核早于公示结束", D(2022, 6, 9), township=7),
    case("帮扶措施超过10天", D(2022, 6, 1), risk="⑥⑭", measures=27),
    case("系统录入超过1个月", D(2022, 5, 25), entry=50),
    case("先帮扶后识别：因灾（洪水）", D(2022, 6, 24), mtype="突发严重困难户", risk="⑨", aid_first="是",
         cause="因灾（洪水冲毁房屋）", measures=1, entry=14),
    case("正在公示（识别）", D(2022, 7, 5), county=None, notice=None, township=None, measures=None, entry=None,
         compare=None, pub_start=7, pub_end=11),
    case("识别超期未审定", D(2022, 6, 20), county=None, notice=None, township=None, measures=None, entry=None),
    case("已审定待公告", D(2022, 7, 1), notice=None, measures=None, entry=None, county=11, township=10),
    case("已审定待公告：因意外事故", D(2022, 7, 2), mtype="突发严重困难户", risk="⑩", notice=None, measures=None,
         entry=None, county=11, township=10),
    case("风险消除合规", D(2021, 8, 2), income="8200", year=2022,
         elim=(D(2022, 7, 1), D(2022, 7, 5), D(2022, 7, 8), D(2022, 7, 10))),
    case("风险消除：收入低于基准线", D(2021, 9, 6), income="6500", year=2022,
         elim=(D(2022, 7, 1), D(2022, 7, 5), D(2022, 7, 8), D(2022, 7, 10))),
    case("正在公示（风险消除）", D(2021, 10, 11), income="7400", year=2022, mtype="脱贫不稳定户",
         elim=(D(2022, 7, 11), D(2022, 7, 15), None, None)),
    case("合规：特困户", D(2022, 5, 10), civil="特困", risk="⑬", compare=None),
    case("合规：因学", D(2022, 5, 16), risk="⑦"),
    case("合规：因病因残", D(2022, 4, 11), risk="⑥⑧"),
    case("合规：务工就业不稳", D(2022, 4, 18), risk="⑫"),
]



def written(day: dt.date | None, i: int):
    """A date the way one clerk or another writes it."""
    if day is None:
        return None
    style = i % 3
    if style == 0:
        return day  # an Excel date cell
    if style == 1:
        return f"{day.year}/{day.month}/{day.day}"
    return f"{day.year}年{day.month}月{day.day}日"


def main(out: Path = Path(__file__).with_name("ledger.xlsx")) -> Path:
    rng = random.Random(20220715)
    wb, ws = titled_workbook(HEADERS, sheet="监测对象台账", title="岳阳县荣家湾镇杨林村防止返贫监测对象台账（2022年，虚构示例数据）")
    people = _people()
    for i, (p, c) in enumerate(zip(people, CASES), start=1):
        assert p["risk"] == c["risk"], (p["no"], p["risk"], c["risk"])
        found: dt.date = c["found"]
        s = c["steps"]
        day = {k: (found + dt.timedelta(days=v) if v is not None else None) for k, v in s.items()}
        elim = c.get("elim") or (None, None, None, None)
        civil = c["civil"]
        bank = "6217" + "".join(str(rng.randint(0, 9)) for _ in range(15))
        row = [
            p["no"], p["name"], p["id"], p["size"], p["phone"], "荣家湾镇", "杨林村",
            p["group"], c["risk"], p["reason"], rng.choice(HEALTH), bank, c["type"], civil,
            written(found, i), written(found, i + 1), *(written(day[k], i + j) for j, k in enumerate(
                ["home", "review", "pub_start", "pub_end", "compare", "township", "county", "notice", "measures",
                 "entry"])),
            c.get("aid_first", "否"), c.get("cause", ""), c.get("income"), c.get("year"),
            *(written(d, i) for d in elim),
        ]
        ws.append(row)
    for col in range(1, len(HEADERS) + 1):
        ws.column_dimensions[ws.cell(row=2, column=col).column_letter].width = 13
    for cells in ws.iter_rows(min_row=3):
        cells[HEADERS.index("身份证号码")].number_format = "@"
        cells[HEADERS.index("银行账号")].number_format = "@"
        for cell in cells:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    wb.save(out)
    return out


if __name__ == "__main__":
    print(main())
