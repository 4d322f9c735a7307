"""``fanpin report monthly``: the township's monthly figures per village, grouped, with no
personal data, as .xlsx or .docx."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile

import pytest
from hypothesis import given, settings, strategies as st
from openpyxl import load_workbook

from .conftest import make_id, write_xlsx
from .test_ledger_status import add_documents, rows
from fanpin_forms.app import App
from fanpin_forms.cli import cli
from fanpin_forms.errors import Code, FanpinError
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.report import Counts, Report, Section, monthly, parse_month, write
from fanpin_forms.privacy.leakguard import find_leaks

HEAD = ["监测户数", "本月入户核实（户）", "本月新增风险线索（户）", "本月识别认定（户）", "本月风险消除（户）",
        "超过时限未办结（户）", "帮扶措施超过时限未录入系统（户）", "表单未收回（份）"]


def run(runner, *args):
    return runner.invoke(cli, [str(a) for a in args])


@pytest.fixture
def filled(runner, ledger_url, tmp_path):
    result = run(runner, "ledger", "import", write_xlsx(tmp_path / "t.xlsx", rows()), "--db", ledger_url)
    assert result.exit_code == 0, result.output
    add_documents(ledger_url)
    return ledger_url


def sheet(path, title):
    ws = load_workbook(path)[title]
    values = list(ws.iter_rows(values_only=True))
    header = list(values[2])
    return header, [dict(zip(header, r)) for r in values[3:]]


def secrets():
    people = rows()
    return [("id", p["身份证号码"]) for p in people] + [("phone", p["联系电话"]) for p in people]


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_monthly_xlsx_per_township_and_village(runner, filled, tmp_path):
    out = tmp_path / "月报.xlsx"
    result = run(runner, "report", "monthly", "--month", "2022-06", "-o", out, "--db", filled)
    assert result.exit_code == 0, result.output
    assert "岳阳县防返贫动态监测排查情况月报（2022年6月）：5 户，2 个村" in result.output
    header, table = sheet(out, "按村汇总")
    assert header[2:] == HEAD
    by = {(r["乡镇（街道）"], r["村（社区）"]): [r[h] for h in HEAD] for r in table}
    assert by[("荣家湾镇", "杨林村")] == [4, 1, 3, 1, 0, 2, 0, 2]
    assert by[("筻口镇", "新墙村")] == [1, 0, 1, 0, 0, 0, 0, 0]
    assert by[("荣家湾镇", "小计")] == by[("荣家湾镇", "杨林村")]
    assert by[("合计", None)] == [5, 1, 4, 1, 0, 2, 0, 2]
    _, kinds = sheet(out, "按监测对象类型")
    assert {r["监测对象类型"] for r in kinds} == {"边缘易致贫户"}
    _, risks = sheet(out, "按风险类型")
    assert {r["风险类型"] for r in risks} == {"⑥因病"} and sum(r["监测户数"] for r in risks) == 5
    assert find_leaks({f"{out.name}/{n}": b for n, b in parts(out).items()}, secrets()) == []


def test_a_later_month_counts_measures_not_entered_within_a_month(runner, filled, tmp_path):
    out = tmp_path / "七月.xlsx"
    result = run(runner, "report", "monthly", "--month", "2022年7月", "--township", "荣家湾镇", "-o", out, "--db", filled)
    assert result.exit_code == 0, result.output
    _, table = sheet(out, "按村汇总")
    village = next(r for r in table if r["村（社区）"] == "杨林村")
    assert village["帮扶措施超过时限未录入系统（户）"] == 1  # identified 6-12, not entered by 7-12
    assert village["本月新增风险线索（户）"] == 0
    assert all(r["乡镇（街道）"] in ("荣家湾镇", "合计") for r in table)


def test_monthly_docx_has_the_same_tables_and_no_personal_data(runner, filled, tmp_path):
    out = tmp_path / "月报.docx"
    result = run(runner, "report", "monthly", "--month", "2022-06", "-o", out, "--db", filled)
    assert result.exit_code == 0, result.output
    from docx import Document

    doc = Document(str(out))
    assert "岳阳县防返贫动态监测排查情况月报（2022年6月）" in doc.paragraphs[0].text
    assert len(doc.tables) == 3
    cells = next([c.text for c in r.cells] for r in doc.tables[0].rows if r.cells[1].text == "杨林村")
    assert cells == ["荣家湾镇", "杨林村", "4", "1", "3", "1", "0", "2", "0", "2"]
    assert find_leaks({out.name: out.read_bytes()}, secrets()) == []


def test_focus_groups_of_the_county_replace_the_default_grouping(filled, tmp_path):
    app = App("yueyang")
    setup = app.ledger_setup()
    county = dataclasses.replace(setup.county, focus_groups=(
        ("边缘易致贫户", lambda v: v.get("monitor_type") == "边缘易致贫户"),
        ("因病致贫", lambda v: 6 in (v.get("risk_types") or ())),
        ("老年人户", lambda v: False)))
    ledger = Ledger.open(filled)
    try:
        report = monthly(dataclasses.replace(setup, county=county), ledger, "2022-06")
    finally:
        ledger.close()
    assert [s.title for s in report.sections] == ["按村汇总", "按重点对象"]
    groups = report.sections[1].rows
    assert groups[("荣家湾镇", "杨林村", "因病致贫")].households == 4
    assert groups[("筻口镇", "新墙村", "边缘易致贫户")].clues == 1
    assert not any(g == "老年人户" for _, _, g in groups)


def test_a_report_the_leak_guard_refuses_is_not_written(tmp_path):
    out = tmp_path / "月报.xlsx"
    out.write_bytes(b"previous")
    section = Section("按村汇总", "", {("荣家湾镇", f"联系人{make_id()}", ""): Counts(households=1)})
    report = Report("岳阳县", None, 2022, 6, dt.date(2022, 6, 30), 28, [section])
    with pytest.raises(FanpinError) as exc:
        write(report, out)
    assert exc.value.problems[0].code == Code.REPORT_LEAK and make_id() not in str(exc.value)
    assert out.read_bytes() == b"previous"


@pytest.mark.parametrize("args, message", [
    (("--month", "2022-13", "-o", "m.xlsx"), "月份「2022-13」无效"),
    (("--month", "六月", "-o", "m.xlsx"), "月份「六月」无效"),
    (("--month", "2022-06", "-o", "m.pdf"), "只能输出为 .xlsx 或 .docx"),
])
def test_bad_month_or_suffix_is_a_clear_error(runner, tmp_path, args, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(runner, "report", "monthly", *args, "--db", tmp_path / "l.sqlite3")
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "l.sqlite3").exists() and not list(tmp_path.glob("m.*"))


@given(st.integers(2000, 2100), st.integers(1, 12), st.sampled_from(["{y}-{m:02d}", "{y}/{m}", "{y}年{m}月", "{y}.{m}"]))
@settings(max_examples=100, deadline=None)
def test_parse_month_gives_the_whole_month(y, m, fmt):
    first, last = parse_month(fmt.format(y=y, m=m))
    assert first == dt.date(y, m, 1) and last.month == m and (last + dt.timedelta(days=1)).day == 1
