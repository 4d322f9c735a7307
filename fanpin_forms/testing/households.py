"""A seeded generator of valid, invented households of Yueyang County.

Everything is made up: names, phones and ID numbers (valid GB 11643 check digits,
distinct within one call). The same seed gives the same rows on every machine.
Used by ``samples/make_sample.py``, ``samples/make_ledger.py``, the benchmarks and
``tests/scansim.py``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..privacy.idcard import check_char

#: the household sheet's columns (农户信息表), as a clerk heads them
HEADERS = ["户编号", "户主姓名", "身份证号码", "家庭人口", "联系电话", "乡镇（街道）", "村（社区）", "村民小组",
           "三保障问题", "风险类型", "其他原因"]
SURNAMES = "李王张刘陈杨黄赵周吴徐孙胡朱郭何高林罗彭方任钟姚"
GIVEN = "建国秀英德明桂兰志强淑珍春生玉梅海涛丽华长根凤英友才冬梅翠兰松林小红大勇"
TOWNS = {"荣家湾镇": ["杨林村", "向阳村", "荣湾社区"], "新墙镇": ["清水村", "新墙村"], "筻口镇": ["潼溪村", "筻口村"],
         "黄沙街镇": ["黄沙村", "港口村"], "张谷英镇": ["张谷英村", "渭洞村"], "月田镇": ["月田村", "花苗村"]}
GROUPS = ["一组", "二组", "三组", "四组", "五组", "六组"]
SANBAOZHANG = ["", "①", "②", "③", "④", "⑤", "①③", "1,5", "", "②④"]
RISKS = ["⑥", "⑦", "因病、因学", "⑧", "⑨", "⑩", "⑪", "⑫", "⑬", "6,13", "⑥⑧"]


def id_number(rng: random.Random, taken: set[str] | None = None, *, born: tuple[int, int] = (1950, 2000),
              serial: tuple[int, int] = (10, 999), area: str = "430621") -> str:
    """A valid 18-character ID number born in the years ``born`` (both ends), not in
    ``taken`` (which it joins)."""
    while True:
        first17 = (f"{area}{rng.randint(*born):04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
                   f"{rng.randint(*serial):03d}")
        if taken is None or first17 not in taken:
            break
    if taken is not None:
        taken.add(first17)
    return first17 + check_char(first17)


def households(n: int, seed: int = 0, *, prefix: str = "SIM") -> list[dict]:
    """``n`` invented households as a clerk's rows of the household sheet (Chinese
    headers, valid distinct ID numbers; about 8% with an other-risk reason, 80% with a
    mobile phone)."""
    rng, ids = random.Random(f"households-{seed}"), set()
    rows = []
    for i in range(1, n + 1):
        number = id_number(rng, ids)
        town = rng.choice(list(TOWNS))
        risk, reason = (("⑥⑭", "房屋受白蚁侵蚀") if rng.random() < 0.08 else (rng.choice(RISKS), ""))
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))
        row = {"户编号": f"{prefix}-{seed}-{i:04d}", "户主姓名": name,
               "身份证号码": number, "家庭人口": rng.randint(1, 7),
               "乡镇（街道）": town, "村（社区）": rng.choice(TOWNS[town]), "村民小组": rng.choice(GROUPS),
               "三保障问题": rng.choice(SANBAOZHANG), "风险类型": risk, "其他原因": reason}
        if rng.random() < 0.8:
            row["联系电话"] = f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
        rows.append(row)
    return rows


def titled_workbook(headers: Sequence[str], *, sheet: str | None = None, title: str | None = None):
    """An openpyxl workbook whose active sheet has an optional merged bold title row and
    then the header row; returns (workbook, sheet)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    if sheet:
        ws.title = sheet
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(list(headers))
    return wb, ws


def write_xlsx(path: Path, rows: Iterable[dict], headers: Sequence[str] = HEADERS) -> Path:
    """``rows`` (dicts keyed by header; a missing key is an empty cell) as an .xlsx."""
    wb, ws = titled_workbook(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    wb.save(path)
    return path


RELATIONS = ["配偶", "之子", "之女", "之母", "之父", "之孙子", "之孙女", "之儿媳"]
HEALTH = ["健康", "健康", "健康", "长期慢性病", "残疾", "患有大病"]
LABOUR = ["普通劳动力", "普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"]


def members(household: dict, seed: int = 0, *, count: int | None = None, prefix: str = "成员") -> dict:
    """Invented family members of ``household`` (a row of :func:`households`) as the
    numbered columns a household sheet carries them in: ``成员1姓名``, ``成员1与户主关系``,
    ``成员1证件号码``, ``成员1健康状况``, ``成员1劳动技能``, ``成员1务工时间（月）`` … member 1 is
    the head of household. ``count`` defaults to the household's 家庭人口 (at most 6)."""
    rng, ids = random.Random(f"members-{seed}-{household.get('户编号')}"), {household["身份证号码"][:17]}
    count = min(int(household.get("家庭人口") or 1), 6) if count is None else count
    surname = household["户主姓名"][0]
    out: dict = {}
    for i in range(1, count + 1):
        head = i == 1
        cells = {
            "姓名": household["户主姓名"] if head else surname + "".join(rng.sample(GIVEN, rng.choice((1, 2)))),
            "与户主关系": "户主" if head else rng.choice(RELATIONS),
            "证件号码": household["身份证号码"] if head else id_number(rng, ids, born=(1950, 2015)),
            "健康状况": rng.choice(HEALTH), "劳动技能": rng.choice(LABOUR), "务工时间（月）": rng.randint(0, 12),
        }
        out.update({f"{prefix}{i}{k}": v for k, v in cells.items()})
    return out

