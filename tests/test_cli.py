"""The CLI through Click's runner: data dictionary, forms, plugins, repeating tables."""

from __future__ import annotations

import json
import textwrap

from fanpin_forms.app import App
from fanpin_forms.cli import cli

from .conftest import make_id


def test_fields_json_is_the_data_dictionary(runner):
    result = runner.invoke(cli, ["fields", "annex2", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in json.loads(result.output)}
    assert rows["id_number"]["sensitive"] == "id_number" and rows["id_number"]["required"]
    assert "身份证号" in rows["id_number"]["headers"]
    assert rows["address.township"]["label"] == "乡镇（街道/社区）"
    assert rows["address.county"]["required"] is False  # the county plugin supplies 岳阳县
    assert rows["risk_types"]["codes"][0] == "⑥因病" and rows["risk_types"]["codes"][-1] == "⑭其他"
    assert rows["case_id"]["label"] == "户编号"


def test_fields_table_and_unknown_form(runner):
    result = runner.invoke(cli, ["fields", "annex3"])
    assert result.exit_code == 0 and "联系电话" in result.output
    result = runner.invoke(cli, ["fields", "anex2"])
    assert result.exit_code == 1
    assert "没有编号为「anex2」的表单，您是不是要写「annex2」？" in result.output


def test_forms_and_plugins(runner):
    result = runner.invoke(cli, ["forms"])
    assert result.exit_code == 0
    assert "防止返贫监测对象个人申请及承诺授权书" in result.output and "风险消除评估表" in result.output
    result = runner.invoke(cli, ["plugins"])
    assert "yueyang  [插件] fanpin-forms-yueyang 2022.1.0  县：岳阳县" in result.output
    assert "annex_forms  [内置] fanpin-forms" in result.output


def test_repeating_table_from_json(tmp_path):
    spec = tmp_path / "members.yaml"
    spec.write_text(textwrap.dedent("""\
        form: members
        title: 家庭成员信息表
        version: "1"
        fields:
          - {key: head_name, label: 户主姓名, type: text, required: true}
          - {key: household_size, label: 家庭人口, type: integer, min: 1}
          - key: members
            label: 家庭成员
            type: table
            columns:
              - {key: name, label: 姓名, type: text, required: true}
              - {key: id_number, label: 身份证号码, type: id_number}
              - {key: relation, label: 与户主关系, type: choice, options: [户主, 配偶, 子女, 父母, 其他]}
        layout:
          - table: members
        """), encoding="utf-8")

    from fanpin_forms import hookimpl

    class Members:
        __name__ = "members-form"

        @hookimpl
        def register_forms(self, register):
            register(spec)

    app = App(extra_plugins=(Members(),))
    form = app.form("members")
    data = tmp_path / "m.json"
    data.write_text(json.dumps([
        {"户主姓名": "张三", "家庭人口": 2, "家庭成员": [
            {"姓名": "张三", "身份证号码": make_id(), "与户主关系": "户主"},
            {"姓名": "李四", "与户主关系": "配偶"}]},
        {"户主姓名": "王五", "家庭人口": 3, "家庭成员": [{"姓名": "王五", "与户主关系": "户主"}]},
        {"户主姓名": "赵六", "家庭成员": [{"姓名": "", "与户主关系": "兄弟"}]},
    ], ensure_ascii=False), encoding="utf-8")

    result = app.load_and_check(form, data)
    assert result.records[0].values["members"][1] == {"name": "李四", "id_number": None, "relation": "配偶"}
    msgs = [str(p) for p in result.errors]
    assert any("第2行" in m and "家庭人口为 3 人，但家庭成员表中有 1 人" in m for m in msgs), msgs
    assert any("第3行 「家庭成员第1行·姓名」" in m and "必填" in m for m in msgs), msgs
