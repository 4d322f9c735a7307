"""The form DSL: the three annex specs match the seed; broken specs are reported
as file:line:column with every problem at once."""

from __future__ import annotations

import re
import textwrap

import pytest

from fanpin_forms.cli import cli
from fanpin_forms.errors import Code, SpecError
from fanpin_forms.forms.spec import load_spec

from .conftest import SEED


def seed_text() -> str:
    # the seed's annex 2 has a stray "." after one blank ("_____. 类型"); the specs drop it
    return SEED.read_text(encoding="utf-8").replace("_____. 类型", "_____ 类型")


def flat(text: str) -> str:
    """Compare wording, not typography: drop spaces, unify brackets and colons."""
    table = str.maketrans({"（": "(", "）": ")", "：": ":", "，": ",", "；": ";", "。": "."})
    return re.sub(r"[\s_]", "", text.translate(table))


@pytest.mark.parametrize("form_id", ["annex1", "annex2", "annex3"])
def test_annex_spec_matches_seed(app, form_id):
    form = app.form(form_id)
    seed = flat(seed_text())
    assert flat(form.title) in seed
    for field in form.fields:
        if field.type != "address" and field.key not in ("sanbaozhang", "risk_types", "other_reason"):
            assert flat(field.label) in seed, field.label
    for stage in form.stages:
        if form_id != "annex1":
            assert flat(stage.title) in seed, stage.title
            statement = re.sub(r"\{[^}]*\}", "", stage.text)
            for piece in re.split(r"[,.]", flat(statement)):
                assert piece in seed, (stage.key, piece)
        for signer in stage.signers:
            role = re.sub(r"\{[^}]*\}", "", signer.role)
            assert flat(role) in seed, role
    if form.copies:
        assert flat(form.copies) in seed
    texts = [c.text.replace("{policy.baseline}", "6900") for c in form.all_codes()]
    assert len(form.all_codes()) == 14
    for code, text in zip(form.all_codes(), texts):
        assert flat(code.mark + text) in seed or flat(code.mark + code.name) in seed, code


def test_code_groups_and_reason_rule(app):
    form = app.form("annex2")
    assert [c.mark for c in form.code_lists["sanbaozhang"].codes] == list("①②③④⑤")
    assert [c.mark for c in form.code_lists["risk_type"].codes] == list("⑥⑦⑧⑨⑩⑪⑫⑬⑭")
    other = form.code_lists["risk_type"].by_no(14)
    assert other.name == "其他" and other.needs_reason
    assert [s.title for s in form.stages] == ["入户核实", "村（居）评议公示", "乡镇（街道）审核", "县级审定"]
    assert [s.title for s in app.form("annex3").stages][-1] == "县级审定"
    assert app.form("annex3").stages[1].title == "农户签字确认结果"
    assert app.form("annex1").stages[0].signers[0].marks == ("签字", "按手印")
    assert form.field("id_number").sensitive == "id_number"
    assert form.field("phone").sensitive == "phone"


def write(tmp_path, text: str, name: str = "bad.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def problems_of(path, app) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(path, app.field_types, display_name=path.name)
    return [str(p) for p in info.value.problems]


MINIMAL = """\
form: demo
title: 测试表
version: "1"
fields:
  - key: name
    label: 姓名
    type: text
"""


def test_minimal_spec_loads(tmp_path, app):
    spec = load_spec(write(tmp_path, MINIMAL), app.field_types)
    assert spec.id == "demo" and spec.fields[0].label == "姓名"


def test_unknown_key_has_position_and_did_you_mean(tmp_path, app):
    path = write(tmp_path, MINIMAL + "    requird: true\n")
    assert problems_of(path, app) == [
        "bad.yaml:8:5: " + Code.SPEC_UNKNOWN_KEY.format(key="requird", where="字段 name", hint="，您是不是要写「required」？")]


def test_unknown_type_lists_known_types(tmp_path, app):
    path = write(tmp_path, MINIMAL.replace("type: text", "type: txet"))
    (msg,) = problems_of(path, app)
    assert msg.startswith("bad.yaml:7:11: ")
    assert "未知的字段类型「txet」" in msg and "「text」" in msg and "id_number" in msg


def test_duplicate_yaml_key_and_duplicate_field(tmp_path, app):
    path = write(tmp_path, MINIMAL.replace("title: 测试表\n", "title: 测试表\ntitle: 又一个\n") + """\
  - key: name
    label: 姓名2
    type: text
""")
    msgs = problems_of(path, app)
    assert msgs == ["bad.yaml:3:1: " + Code.SPEC_DUPLICATE_KEY.format(what="键", key="title", first_line=2)]
    path = write(tmp_path, MINIMAL + """\
  - key: name
    label: 姓名2
    type: text
""")
    assert problems_of(path, app) == ["bad.yaml:8:10: " + Code.SPEC_DUPLICATE_KEY.format(what="字段", key="name", first_line=5)]


def test_undefined_references_all_reported(tmp_path, app):
    path = write(tmp_path, MINIMAL + """\
  - key: risks
    label: 风险
    type: multi_choice
    codes: risk_typ
stages:
  - key: visit
    title: 入户核实
    text: 该户存在{risk:6}问题，户主{nmae}
    signers:
      - {role: 核实人员, sign: 签名}
layout:
  - stages: [visit, vote]
""")
    msgs = problems_of(path, app)
    assert any(m.startswith("bad.yaml:11:12: ") and "未定义的代码表「risk_typ」" in m for m in msgs), msgs
    assert any("bad.yaml:15:11: " in m and "未定义的字段「risk」" in m and "risks" in m for m in msgs), msgs
    assert any("未定义的字段「nmae」" in m and "「name」" in m for m in msgs), msgs
    assert any("签名" in m and "签字" in m for m in msgs), msgs
    assert any(m.startswith("bad.yaml:19:13: ") and "未定义的环节「vote」" in m for m in msgs), msgs
    assert len(msgs) == 5


def test_yaml_syntax_error_has_position(tmp_path, app):
    path = write(tmp_path, "form: demo\ntitle: [unclosed\n")
    (msg,) = problems_of(path, app)
    assert re.match(r"bad\.yaml:\d+:\d+: YAML 语法错误", msg)


def test_no_is_not_a_boolean(tmp_path, app):
    """YAML 1.1 would read `no:` as False; spec authors write `no: 6` for code numbers."""
    path = write(tmp_path, MINIMAL + """\
  - key: r
    label: 风险
    type: choice
    codes: risk
code_lists:
  risk:
    title: 风险类型
    codes:
      - {no: 6, name: 因病}
      - {no: 7, name: 因学, needs_reason: no}
""")
    msgs = problems_of(path, app)
    assert msgs == ["bad.yaml:17:41: " + Code.SPEC_BAD_VALUE.format(what="needs_reason", value="no", why="应为 true 或 false")]


def test_spec_check_cli(tmp_path, runner):
    good = write(tmp_path, MINIMAL, "good.yaml")
    bad = write(tmp_path, MINIMAL.replace("type: text", "type: txet"), "bad.yaml")
    result = runner.invoke(cli, ["spec", "check", str(good)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["spec", "check", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:7:11: 未知的字段类型「txet」" in result.output
    assert "Traceback" not in result.output


def test_bundled_specs_pass_spec_check(runner):
    from fanpin_forms.util.resources import bundled

    result = runner.invoke(cli, ["spec", "check", str(bundled("form_specs"))])
    assert result.exit_code == 0, result.output
