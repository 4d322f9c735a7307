"""Write samples/households.xlsx: 20 made-up households of one Yueyang village.

Everything here is invented (names, ID numbers with valid GB 11643 check digits,
phones) by :mod:`fanpin_forms.testing.households`. The same people, with the same
户编号, ID numbers and risk types, are the cases of ``samples/ledger.xlsx``
(``make_ledger.py`` takes them from :func:`people`), so the forms printed from one and
the timelines of the other are one household's.
Run: .venv/bin/python samples/make_sample.py
"""

from __future__ import annotations

import random
from pathlib import Path

from fanpin_forms.testing.households import HEADERS, RISKS, id_number, titled_workbook

NAMES = ["李建国", "王秀英", "张德明", "刘桂兰", "陈志强", "杨淑珍", "黄春生", "赵玉梅", "周海涛", "吴丽华",
         "欧阳娜娜", "徐长根", "孙凤英", "胡友才", "朱冬梅", "郭建军", "何翠兰", "高松林", "林小红", "罗大勇"]
GROUPS = ["一组", "二组", "三组", "四组", "五组"]
SANBAOZHANG = ["", "①", "②", "③", "④", "⑤", "①③", "1,5", ""]


#: each household's risk types: the risk of its case in samples/ledger.xlsx (see make_ledger.CASES)
CASE_RISKS = ["⑥", "⑧", "⑥", "⑥", "⑥", "⑥", "⑥⑭", "⑥", "⑨", "⑥", "⑥", "⑥", "⑩", "⑥", "⑥", "⑥", "⑬", "⑦",
              "⑥⑧", "⑫"]
REASONS = {7: "房屋受白蚁侵蚀需整体维修"}


def people() -> list[dict]:
    """The 20 households: 户编号, name, ID number, size, phone, group, 三保障, risk, other reason."""
    rng = random.Random(20220517)
    out = []
    for i, name in enumerate(NAMES, start=1):
        rng.choice(RISKS)  # drawn as before, so every other value stays what it was
        phone = f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}" if i % 4 else f"0730-{rng.randint(2000000, 8999999)}"
        out.append({"no": f"YY-RJW-{i:03d}", "name": name, "id": id_number(rng), "size": rng.randint(1, 7),
                    "phone": phone, "group": GROUPS[i % len(GROUPS)], "sanbaozhang": rng.choice(SANBAOZHANG),
                    "risk": CASE_RISKS[i - 1], "reason": REASONS.get(i, "")})
    return out


def main(out: Path = Path(__file__).with_name("households.xlsx")) -> Path:
    wb, ws = titled_workbook(HEADERS, sheet="监测户", title="岳阳县荣家湾镇杨林村防止返贫监测对象台账（2022年）")
    for p in people():
        ws.append([p["no"], p["name"], p["id"], p["size"], p["phone"], "荣家湾镇", "杨林村", p["group"],
                   p["sanbaozhang"], p["risk"], p["reason"]])
    for col, width in zip("ABCDEFGHIJK", (12, 10, 22, 9, 15, 12, 10, 9, 11, 12, 24)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=3, min_col=3, max_col=3):
        row[0].number_format = "@"  # ID numbers as text, as a careful clerk keeps them
    wb.save(out)
    return out


if __name__ == "__main__":
    print(main())
