"""County plugins: found through the ``fanpin_forms`` entry-point group after a real
pip install; broken plugins are named; the county is chosen when several exist."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fanpin_forms import hookimpl
from fanpin_forms.app import App
from fanpin_forms.errors import Code, FanpinError, PluginError

from .conftest import household, write_xlsx
from .plugin_kit import install_plugin, run_fanpin

PLUGIN_SPEC = """\
extends: annex2
version: bank1
fields:
  - key: bank_account
    label: 一卡通账号
    type: text
    sensitive: bank_account
    aliases: [惠民惠农一卡通]
layout:
  - text: "一卡通账号：{bank_account:19}"
"""

PLUGIN_FORM = """\
form: visit_log
title: 防止返贫监测帮扶走访记录
version: "2023.1"
fields:
  - key: head_name
    label: 户主姓名
    type: text
    required: true
  - key: members
    label: 家庭成员
    type: table
    columns:
      - {key: name, label: 姓名, type: text, required: true}
      - {key: id_number, label: 身份证号码, type: id_number}
      - {key: relation, label: 与户主关系, type: text}
    max_rows: 8
layout:
  - text: "户主姓名：{head_name:6}"
  - table: members
"""

PLUGIN_CODE = '''
from decimal import Decimal
from pathlib import Path

from fanpin_forms import hookimpl
from fanpin_forms.intake.checks import Finding
from fanpin_forms.forms.county import County

HERE = Path(__file__).parent


@hookimpl
def register_counties(register):
    register(County(code="testxian", name="测试县", short_name="测试", province="湖南省", city="岳阳市",
                    approving_body="测试县乡村振兴局", baselines={2022: Decimal("7000")}, publicity_days=7,
                    elimination_publicity_days=7, identify_within_days=15, measures_within_days=10,
                    system_entry_within_months=1, monthly_report_day=28, comparison_exempt=("低保", "特困"),
                    aid_first_causes=("灾",)))


@hookimpl
def register_forms(register):
    register(HERE / "bank.yaml")
    register(HERE / "visit_log.yaml")


def big_household(record, form, county):
    """家庭人口超过 8 人时提示核实（测试县自定规则）。"""
    if (record.values.get("household_size") or 0) > 8:
        yield Finding.warning("household_size", f"家庭人口 {record.values['household_size']} 人，请核实")


@hookimpl
def register_checks(register):
    register(big_household)
'''


def make_plugin(root: Path, code: str = PLUGIN_CODE) -> Path:
    """The test county, pip-installed into ``root/site``."""
    return install_plugin(root, dist="fanpin-forms-testxian", entry="testxian", code=code, version="0.3.1",
                          files={"bank.yaml": PLUGIN_SPEC, "visit_log.yaml": PLUGIN_FORM})


def fanpin(args: list[str], site: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return run_fanpin(site, *args, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    return make_plugin(tmp_path_factory.mktemp("plugin"))


def test_installed_plugin_is_listed_with_version_and_hooks(installed, tmp_path):
    result = fanpin(["plugins", "--json"], installed, tmp_path)
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["testxian"]["dist"] == "fanpin-forms-testxian"
    assert plugins["testxian"]["version"] == "0.3.1"
    assert plugins["testxian"]["hooks"] == ["register_checks", "register_counties", "register_forms"]
    assert plugins["testxian"]["county"] == "测试县"
    assert plugins["yueyang"]["county"] == "岳阳县"


def test_two_counties_need_a_choice(installed, tmp_path):
    result = fanpin(["forms"], installed, tmp_path)
    assert result.returncode == 1
    assert "安装了多个县级插件" in result.stderr and "yueyang" in result.stderr and "testxian" in result.stderr
    assert "Traceback" not in result.stderr


def test_plugin_form_extension_and_check_apply_to_its_county(installed, tmp_path):
    result = fanpin(["--county", "testxian", "forms"], installed, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "visit_log" in result.stdout and "防止返贫监测帮扶走访记录" in result.stdout
    result = fanpin(["--county", "测试县", "fields", "annex2", "--json"], installed, tmp_path)
    fields = {f["key"]: f for f in json.loads(result.stdout)}
    assert fields["bank_account"]["sensitive"] == "bank_account"
    data = write_xlsx(tmp_path / "d.xlsx", [household(家庭人口=9, 惠民惠农一卡通="6217001234567890123")])
    result = fanpin(["--county", "testxian", "validate", "annex2", "--data", str(data)], installed, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "家庭人口 9 人，请核实" in result.stderr
    # Yueyang chosen: the test county's extension and check are switched off
    env_result = fanpin(["fields", "annex2", "--json"], installed, tmp_path, FANPIN_FORMS_COUNTY="yueyang")
    assert env_result.returncode == 0 and "bank_account" not in env_result.stdout


def test_load_plugins_allow_list(installed, tmp_path):
    result = fanpin(["plugins"], installed, tmp_path, FANPIN_FORMS_LOAD_PLUGINS="fanpin-forms-testxian")
    assert "testxian" in result.stdout and "yueyang" not in result.stdout


@pytest.mark.parametrize("code, why", [
    ("from fanpin_forms import hookimpl\n@hookimpl\ndef register_formz(register):\n    pass\n", "未知的钩子：register_formz"),
    ("from fanpin_forms import hookimpl\n@hookimpl\ndef register_forms(register, county):\n    pass\n", "参数与规范不符"),
    ("import does_not_exist\n", "ModuleNotFoundError"),
])
def test_broken_plugin_is_named(tmp_path, code, why):
    site = make_plugin(tmp_path, code)
    result = fanpin(["plugins"], site, tmp_path)
    assert result.returncode == 1
    assert "插件「testxian」（fanpin-forms-testxian）" in result.stderr and why in result.stderr
    assert "Traceback" not in result.stderr


def test_in_process_plugin_registration_and_bad_registration():
    class BadTypes:
        __name__ = "bad-types"

        @hookimpl
        def register_field_types(self, register):
            register("not a type")

    with pytest.raises(PluginError) as info:
        App(extra_plugins=(BadTypes(),)).field_types
    assert "插件「bad-types」注册的字段类型无效" in str(info.value)


def test_unknown_county_did_you_mean():
    with pytest.raises(FanpinError) as info:
        App(county="yueyagn").county
    (p,) = info.value.problems
    assert p.code == Code.COUNTY_UNKNOWN and "yueyang" in str(p)


def test_county_values_from_the_notice(app):
    from fanpin_forms_yueyang import YUEYANG

    assert app.county is YUEYANG
    assert YUEYANG.baseline(2022) == 6900 and YUEYANG.publicity_days == 5
    assert YUEYANG.identify_within_days == 15 and YUEYANG.measures_within_days == 10
    assert YUEYANG.system_entry_within_months == 1 and YUEYANG.monthly_report_day == 28
    assert (YUEYANG.province, YUEYANG.city, YUEYANG.name) == ("湖南省", "岳阳市", "岳阳县")
    assert YUEYANG.approving_body == "岳阳县乡村振兴局"
    with pytest.raises(FanpinError) as info:
        YUEYANG.baseline(2031)
    assert "没有 2031 年的监测收入基准线" in str(info.value)
