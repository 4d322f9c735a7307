"""``fanpin check`` and ``fanpin notice`` on the command line, and a second county as a real plugin."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata as md
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from fanpin_forms import hookimpl
from fanpin_forms.app import App
from fanpin_forms.cli import cli
from fanpin_forms.errors import Code
from fanpin_forms.privacy.masking import MaskPolicy
from fanpin_forms.cases.rules import warning
from fanpin_forms_yueyang import YUEYANG

from .plugin_kit import install_plugin, run_fanpin

ID_A, ID_B, ID_C = "430621198001010018", "43062119750615002X", "430621201002280030"
PHONE = "13812345678"
REPO = Path(__file__).resolve().parents[1]

HEADERS = ["户编号", "户主姓名", "身份证号码", "家庭人口", "联系电话", "乡镇", "村", "组", "风险类型", "监测对象类型",
           "民政救助类型", "风险发现日期", "入户核实日期", "民主评议日期", "公示开始日期", "公示结束日期", "信息比对日期",
           "乡镇审核日期", "县级审定日期", "县级公告日期", "帮扶措施制定日期", "系统录入日期", "先帮扶后识别", "突发原因",
           "年人均纯收入", "收入年度", "消除公示开始日期", "消除公示结束日期", "消除县级审定日期", "消除县级公告日期"]

D = dt.date


def good(case_id, name, id_number, township="荣家湾镇", village="杨林村", **over):
    """A compliant identification (found 2022-06-01, approved 06-13), as an xlsx row dict."""
    row = {"户编号": case_id, "户主姓名": name, "身份证号码": id_number, "家庭人口": 3, "联系电话": PHONE,
           "乡镇": township, "村": village, "组": "一组", "风险类型": "因病", "监测对象类型": "边缘易致贫户",
           "民政救助类型": "无", "风险发现日期": D(2022, 6, 1), "入户核实日期": "2022/6/2", "民主评议日期": "2022年6月4日",
           "公示开始日期": D(2022, 6, 5), "公示结束日期": "2022-06-09", "信息比对日期": D(2022, 6, 7),
           "乡镇审核日期": D(2022, 6, 10), "县级审定日期": "2022/6/13", "县级公告日期": D(2022, 6, 14),
           "帮扶措施制定日期": D(2022, 6, 18), "系统录入日期": D(2022, 6, 25), "先帮扶后识别": "否"}
    row.update(over)
    return row


def write_xlsx(path: Path, rows: list[dict]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["岳阳县防止返贫监测对象台账"])  # a title row above the header, as clerks do
    ws.append(HEADERS)
    for row in rows:
        ws.append([row.get(h) for h in HEADERS])
    wb.save(path)
    return path


def mixed_ledger(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "ledger.xlsx", [
        good("A-1", "李建国", ID_A),
        good("A-2", "王秀英", ID_B, 县级审定日期=D(2022, 6, 20), 县级公告日期=D(2022, 6, 21), 帮扶措施制定日期=D(2022, 6, 25),
             系统录入日期=D(2022, 6, 28)),  # approved on day 19: 4 days over
        good("B-1", "张德明", ID_C, township="筻口镇", village="花苗村", 公示结束日期=D(2022, 6, 8)),  # 4-day publicity
        good("A-3", "刘桂兰", "430621196505050014", village="鹿角村", 县级审定日期=None, 县级公告日期=None,
             乡镇审核日期=None, 帮扶措施制定日期=None, 系统录入日期=None),  # pending: overdue with --as-of
    ])


@pytest.fixture()
def app() -> App:
    return App(county="yueyang")


def invoke(app: App, *args: str):
    return CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False)


# --- fanpin check ------------------------------------------------------------------------------------


def test_check_groups_by_township_and_village_and_fails_on_errors(app, tmp_path):
    result = invoke(app, "check", "--data", str(mixed_ledger(tmp_path)), "--as-of", "2022-06-30")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("岳阳县防返贫监测程序检查：ledger.xlsx，检查 4 户（检查日期 2022年6月30日）")
    headers = [line for line in lines[1:] if line and not line.startswith((" ", "共"))]
    assert headers == ["荣家湾镇", "筻口镇"]
    assert [line.strip() for line in lines if line.startswith("  ") and not line.startswith("    ")] == [
        "杨林村", "鹿角村", "花苗村"]
    text = result.stdout
    assert ("[错误] A-2 王秀英  识别认定时限：风险发现日期 2022年6月1日，县级审定 2022年6月20日，用时 19 天，"
            "超过 15 天时限（应于 2022年6月16日 前完成）  超期 4 天") in text
    assert "[错误] B-1 张德明  村级公示时间（识别）：识别公示 2022年6月5日 至 2022年6月8日，共 4 天" in text
    assert "[错误] A-3 刘桂兰  识别认定时限" in text and "仍未县级审定" in text and "超期 14 天" in text
    assert "A-1" not in text
    assert "共 3 个错误、0 个提示；3 户有错误（共检查 4 户）。" in text


def test_without_as_of_open_steps_are_not_overdue(app, tmp_path):
    result = invoke(app, "check", "--data", str(mixed_ledger(tmp_path)))
    assert "A-3" not in result.stdout and "未指定 --as-of" in result.stdout


def test_check_passes_a_compliant_ledger(app, tmp_path):
    data = write_xlsx(tmp_path / "ok.xlsx", [good("A-1", "李建国", ID_A), good("A-2", "王秀英", ID_B)])
    result = invoke(app, "check", "--data", str(data), "--as-of", "2022-12-31")
    assert result.exit_code == 0, result.output
    assert "全部 2 户均符合岳阳县的程序和时限要求。" in result.stdout


def test_check_json(app, tmp_path):
    result = invoke(app, "check", "--data", str(mixed_ledger(tmp_path)), "--as-of", "2022-06-30", "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["county"] == {"code": "yueyang", "name": "岳阳县"} and out["as_of"] == "2022-06-30"
    assert out["summary"] == {"errors": 3, "warnings": 0, "cases_with_errors": 3} and out["ok"] is False
    first = out["findings"][0]
    assert first["case_id"] == "A-2" and first["rule"] == "identified_within_limit" and first["days_over"] == 4
    assert "从发现风险线索之日起" in first["source"] and first["id_masked"] == "4306**********002X"
    assert [f["township"] for f in out["findings"]] == ["荣家湾镇", "荣家湾镇", "筻口镇"]
    assert ID_B not in result.stdout and PHONE not in result.stdout


def test_check_verbose_shows_the_notice_and_the_masked_id(app, tmp_path):
    result = invoke(app, "check", "--data", str(mixed_ledger(tmp_path)), "--verbose")
    assert "依据：二：“从发现风险线索之日起，到完成监测对象识别认定，一般不超过15天”" in result.stdout
    assert "身份证 4306**********002X" in result.stdout and ID_B not in result.stdout


def test_check_county_option_and_bad_dates(app, tmp_path):
    data = str(mixed_ledger(tmp_path))
    assert invoke(app, "check", "--data", data, "--county", "yueyang").exit_code == 1
    bad = invoke(App(), "check", "--data", data, "--as-of", "2022-02-30")
    assert bad.exit_code == 2 and Code.VALUE_NOT_DATE.format(value="2022-02-30") in bad.output
    unknown = invoke(App(), "check", "--data", data, "--county", "yueyng")
    assert unknown.exit_code == 1 and "没有名为「yueyng」的县级插件" in unknown.output


def test_invalid_rows_are_listed_masked_and_the_rest_still_checked(app, tmp_path):
    wrong_check_digit = ID_A[:-1] + "9"
    data = write_xlsx(tmp_path / "l.xlsx", [
        good("A-1", "李建国", wrong_check_digit),
        good("A-2", "王秀英", ID_B, 公示结束日期=D(2022, 6, 7)),
    ])
    result = invoke(app, "check", "--data", str(data))
    assert result.exit_code == 1
    assert "以下 1 行数据有误" in result.output and "第3行" in result.output and "4306**********0019" in result.output
    assert wrong_check_digit not in result.output
    assert "A-2 王秀英  村级公示时间（识别）" in result.stdout


def _leaky(case, county, as_of):
    """A careless county rule that writes the ID number and phone into its message."""
    yield warning(f"请联系 {case['phone']} 核对身份证 {case['id_number']}")


class MaskCounty:
    """A county that keeps 6 + 4 characters of an ID number and 3 + 2 of a phone."""

    @staticmethod
    @hookimpl
    def register_counties(register):
        register(dataclasses.replace(YUEYANG, code="maskcounty", name="掩码县",
                                     mask=MaskPolicy(id_keep_left=6, id_keep_right=4, phone_keep_right=2)))

    @staticmethod
    @hookimpl
    def register_rules(register):
        register(_leaky)


def test_check_output_masks_with_the_county_pattern(tmp_path):
    app = App(county="maskcounty", extra_plugins=(MaskCounty,))
    data = write_xlsx(tmp_path / "l.xlsx", [good("A-1", "李建国", ID_A)])
    result = invoke(app, "check", "--data", str(data), "--verbose")
    assert result.exit_code == 0, result.output
    assert "请联系 138******78 核对身份证 430621********0018" in result.stdout
    assert "身份证 430621********0018" in result.stdout
    assert ID_A not in result.output and PHONE not in result.output
    as_json = invoke(App(county="maskcounty", extra_plugins=(MaskCounty,)), "check", "--data", str(data), "--json")
    assert ID_A not in as_json.stdout and "430621********0018" in as_json.stdout


# --- fanpin notice -----------------------------------------------------------------------------------


def test_notice_commands_write_their_files(app, tmp_path):
    rows = [good("A-1", "李建国", ID_A, 县级公告日期=None),
            good("A-2", "王秀英", ID_B, 县级审定日期=None, 县级公告日期=None, 乡镇审核日期=None, 帮扶措施制定日期=None,
                 系统录入日期=None, 公示开始日期=D(2022, 6, 20), 公示结束日期=D(2022, 6, 24))]
    data = str(write_xlsx(tmp_path / "l.xlsx", rows))
    out = tmp_path / "out"
    village = invoke(app, "notice", "village", "--data", data, "-o", str(out))
    assert village.exit_code == 0, village.output
    assert "已生成村级公示 1 个文件（共 1 户）" in village.stdout
    county = invoke(app, "notice", "county", "--data", data, "-o", str(out), "--date", "2022年6月15日")
    assert county.exit_code == 0, county.output
    assert sorted(p.name for p in out.iterdir()) == [
        "岳阳县_防返贫监测县级公告_2022-06-15.docx", "岳阳县_防返贫监测县级公告_2022-06-15.html",
        "荣家湾镇杨林村_村级公示_2022-06-20至2022-06-24.docx"]
    html = (out / "岳阳县_防返贫监测县级公告_2022-06-15.html").read_text(encoding="utf-8")
    assert "李建国" in html and "王秀英" not in html and "岳阳县乡村振兴局关于新识别防止返贫监测对象的公告" in html


def test_notice_needs_a_kind(app, tmp_path):
    result = invoke(app, "notice", "town", "--data", "x.xlsx", "-o", str(tmp_path))
    assert result.exit_code == 2 and "village" in result.output


# --- the sample ledger -------------------------------------------------------------------------------


def test_sample_ledger_shows_each_kind_of_case(app, tmp_path):
    sys.path.insert(0, str(REPO / "samples"))
    try:
        import make_ledger
    finally:
        sys.path.pop(0)
    data = make_ledger.main(tmp_path / "ledger.xlsx")
    out = json.loads(invoke(app, "check", "--data", str(data), "--as-of", "2022-07-15", "--json").stdout)
    by_case = {}
    for f in out["findings"]:
        by_case.setdefault(f["case_id"], set()).add((f["severity"], f["rule"]))
    assert out["cases_checked"] == 20 and not out["data_errors"]
    expected = {
        "YY-RJW-003": "identified_within_limit", "YY-RJW-004": "identification_publicity_long_enough",
        "YY-RJW-005": "comparison_during_publicity", "YY-RJW-006": "steps_in_order",
        "YY-RJW-007": "measures_within_limit", "YY-RJW-008": "system_entry_within_limit",
        "YY-RJW-011": "identified_within_limit", "YY-RJW-015": "elimination_income_not_below_baseline",
    }
    assert {c: {r for s, r in rules if s == "error"} for c, rules in by_case.items() if
            any(s == "error" for s, _ in rules)} == {c: {r} for c, r in expected.items()}
    assert "YY-RJW-009" not in by_case  # 先帮扶后识别 done right: nothing to report


# --- a second county, installed as a real plugin ------------------------------------------------------

PLUGIN_MODULE = '''
"""测试县: Yueyang's rules with other values, plus a rule of its own. Touches nothing in the core."""
import dataclasses
from decimal import Decimal

from fanpin_forms import hookimpl
from fanpin_forms.cases.rules import deadline_months, error, fmt_date, rule
from fanpin_forms_yueyang import YUEYANG
from fanpin_forms_yueyang.rules import RULES

TESTCOUNTY = dataclasses.replace(
    YUEYANG, code="testcounty", name="测试县", short_name="测试", approving_body="测试县乡村振兴局",
    elimination_publicity_days=7, baselines={2022: Decimal("7000")},
    sources={**YUEYANG.sources, "elimination_publicity_days": "测试县：风险消除村级公示7天",
             "baselines": "测试县：2022年监测收入基准线7000元"},
)


@rule("识别满半年方可消除", quote="测试县：监测对象识别满半年后方可标注风险消除")
def eliminated_after_half_a_year(case, county, as_of):
    """识别（县级审定）满半年后，方可县级审定风险消除。"""
    identified, eliminated = case["county_approval_date"], case["elim_approval_date"]
    if identified and eliminated and eliminated < deadline_months(identified, 6):
        yield error(f"{fmt_date(identified)} 识别，{fmt_date(eliminated)} 即风险消除，未满半年")


@hookimpl
def register_counties(register):
    register(TESTCOUNTY)


@hookimpl
def register_rules(register):
    for yueyang_rule in RULES:
        register(yueyang_rule)
    register(eliminated_after_half_a_year)
'''


@pytest.fixture(scope="module")
def testcounty_site(tmp_path_factory) -> Path:
    return install_plugin(tmp_path_factory.mktemp("testcounty"), dist="fanpin-forms-testcounty", entry="testcounty",
                          code=PLUGIN_MODULE)


def test_a_second_county_changes_values_and_adds_a_rule(testcounty_site, tmp_path):
    elimination = good("E-1", "赵玉梅", ID_A, 风险发现日期=D(2022, 2, 1), 入户核实日期=D(2022, 2, 2),
                       民主评议日期=D(2022, 2, 4), 公示开始日期=D(2022, 2, 5), 公示结束日期=D(2022, 2, 9),
                       信息比对日期=D(2022, 2, 7), 乡镇审核日期=D(2022, 2, 10), 县级审定日期=D(2022, 2, 13),
                       县级公告日期=D(2022, 2, 14), 帮扶措施制定日期=D(2022, 2, 18), 系统录入日期=D(2022, 2, 25),
                       年人均纯收入="6950", 收入年度=2022, 消除公示开始日期=D(2022, 7, 1), 消除公示结束日期=D(2022, 7, 5),
                       消除县级审定日期=D(2022, 7, 8), 消除县级公告日期=D(2022, 7, 9))
    data = str(write_xlsx(tmp_path / "l.xlsx", [elimination]))

    yueyang = run_fanpin(testcounty_site, "check", "--data", data, "--county", "yueyang", "--json")
    assert yueyang.returncode == 0, yueyang.stderr
    assert json.loads(yueyang.stdout)["findings"] == []  # 5-day publicity and 6950 ≥ 6900 are fine in 岳阳县

    test = run_fanpin(testcounty_site, "check", "--data", data, "--county", "testcounty", "--json")
    assert test.returncode == 1, test.stderr
    out = json.loads(test.stdout)
    assert out["county"] == {"code": "testcounty", "name": "测试县"}
    found = {f["rule"]: f for f in out["findings"]}
    assert set(found) == {"elimination_publicity_long_enough", "elimination_income_not_below_baseline",
                          "eliminated_after_half_a_year"}
    assert "少于 7 天" in found["elimination_publicity_long_enough"]["message"]
    assert found["elimination_publicity_long_enough"]["source"] == "测试县：风险消除村级公示7天"
    assert "低于当年收入基准线 7000 元" in found["elimination_income_not_below_baseline"]["message"]
    assert found["eliminated_after_half_a_year"]["title"] == "识别满半年方可消除"
    assert {f["plugin"] for f in out["findings"]} == {"testcounty"}  # 岳阳县's plugin is switched off

    text = run_fanpin(testcounty_site, "--county", "testcounty", "check", "--data", data)
    assert "识别满半年方可消除" in text.stdout and "风险消除公示 2022年7月1日 至 2022年7月5日，共 5 天" in text.stdout

    notice = run_fanpin(testcounty_site, "notice", "county", "--data", data, "-o", str(tmp_path / "o"),
                        "--county", "testcounty", "--from", "2022-07-01", "--to", "2022-07-31", "--date", "2022-07-10")
    assert notice.returncode == 0, notice.stderr
    assert "测试县乡村振兴局关于防止返贫监测对象风险消除的公告" in (
        tmp_path / "o" / "测试县_防返贫监测县级公告_2022-07-10.html").read_text(encoding="utf-8")


def test_the_second_county_did_not_touch_the_shared_environment(testcounty_site):
    assert "testcounty" not in {ep.name for ep in md.entry_points(group="fanpin_forms")}
    assert "testcounty" not in App().counties
