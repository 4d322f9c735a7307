"""Sample households for the render tests (loaded through the real loader), and a
the ``fanpin`` root group the render CLI tests invoke."""

from __future__ import annotations

import json
from pathlib import Path

from fanpin_forms.app import App
from fanpin_forms.cli import cli
from fanpin_forms.privacy.idcard import parse_id_number

from .conftest import make_id

YEAR = 2022

#: one household per row; headers as clerks write them
HOUSEHOLDS = [
    {"户编号": "YY-0001", "户主姓名": "张三&李四", "家庭人口": 4, "身份证号码": "430621198001010018",
     "乡镇": "新墙镇", "村": "清水村", "组": "3组", "联系电话": "13807301234",
     "三保障": "①③", "风险类型": "因病、其他", "其他原因": "房屋倒塌"},
    {"户编号": "YY-0002", "户主姓名": "欧阳娜娜", "家庭人口": 3, "身份证号码": "43062119750615002X",
     "乡镇": "荣家湾镇", "村": "一二三四五六七八九十长村", "组": "5组", "联系电话": "0730-1234567",
     "三保障": "②", "风险类型": "⑦"},
    {"户编号": "YY-0003", "户主姓名": "王䶮𠮷", "家庭人口": 2, "身份证号码": "430621201002280030",
     "乡镇": "新墙镇", "村": "清水村", "组": "1组", "三保障": "", "风险类型": "6,8"},
    {"户编号": "YY-0004", "户主姓名": "司马相如", "家庭人口": 6, "身份证号码": make_id(birth="19690303", seq="117"),
     "乡镇": "筻口镇", "村": "潼溪村", "组": "2组", "联系电话": "13907301111",
     "三保障": "④⑤", "风险类型": "⑨⑩"},
    {"户编号": "YY-0005", "户主姓名": "李<b>\"四\"'", "家庭人口": 1, "身份证号码": make_id(birth="19551111", seq="224"),
     "乡镇": "新墙镇", "村": "河<东>村", "组": "4组", "三保障": "①", "风险类型": "⑬"},
]


def write_json(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def load(app: App, form_id: str, tmp_path: Path, rows: list[dict] | None = None):
    """Real records of ``form_id`` (valid only; the test fails on any invalid row)."""
    data = write_json(tmp_path / f"{form_id}_households.json", rows or HOUSEHOLDS)
    result = app.load_and_check(app.form(form_id), data)
    assert not result.errors, [str(p) for p in result.errors]
    return result.records


root = cli  # the real ``fanpin`` root group


def test_sample_ids_are_valid():
    for row in HOUSEHOLDS:
        assert parse_id_number(row["身份证号码"]).number == row["身份证号码"]


def test_samples_load_for_every_annex(app, tmp_path):
    for form_id in ("annex1", "annex2", "annex3"):
        records = load(app, form_id, tmp_path)
        assert [r.case_id for r in records] == [row["户编号"] for row in HOUSEHOLDS]
