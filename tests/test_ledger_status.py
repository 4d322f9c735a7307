"""``fanpin ledger status`` and ``fanpin ledger history``: stages from the stored dates, overdue
first, forms not returned, the audit trail of one household; masked."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from .conftest import household, make_id, write_xlsx
from fanpin_forms.app import App
from fanpin_forms.cli import cli
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.models import Case, Document, Household, Page, ScanFile
from fanpin_forms.ledger.status import STAGES, overdue_of, stage_of

D = dt.date
#: the identification steps in order, then measures, system entry and elimination
ORDER = ("risk_found_date", "home_visit_date", "review_date", "publicity_start", "publicity_end",
         "township_review_date", "county_approval_date", "measures_date", "system_entry_date", "elim_approval_date")


@pytest.fixture(scope="module")
def county():
    return App("yueyang").county


def run(runner, *args):
    return runner.invoke(cli, [str(a) for a in args])


# --- stages and lateness (no database) -------------------------------------------------------


@st.composite
def timelines(draw):
    """A case's dates in procedure order (steps may share a day), cut off after a random step."""
    start = draw(st.dates(D(2021, 1, 1), D(2025, 12, 31)))
    steps = draw(st.integers(0, len(ORDER)))
    values, day = {}, start
    for key in ORDER[:steps]:
        day += dt.timedelta(days=draw(st.integers(0, 20)))
        values[key] = day
    return values


@given(timelines(), st.dates(D(2020, 6, 1), D(2027, 1, 1)), st.integers(1, 400))
@settings(max_examples=300, deadline=None)
def test_stage_never_goes_back_as_days_pass(values, as_of, later):
    first, second = stage_of(values, as_of), stage_of(values, as_of + dt.timedelta(days=later))
    assert STAGES.index(first) <= STAGES.index(second)


@given(timelines(), st.dates(D(2020, 6, 1), D(2027, 1, 1)))
@settings(max_examples=300, deadline=None)
def test_dates_after_as_of_have_not_happened(values, as_of):
    past = {k: v for k, v in values.items() if v <= as_of}
    assert stage_of(values, as_of) == stage_of(past, as_of)


@pytest.mark.parametrize("values, stage", [
    ({"risk_found_date": D(2022, 6, 1)}, "待入户核实"),
    ({"risk_found_date": D(2022, 6, 1), "home_visit_date": D(2022, 6, 2)}, "待入户核实"),
    ({"publicity_start": D(2022, 6, 5), "publicity_end": D(2022, 6, 10)}, "公示中"),  # the last day of publicity
    ({"publicity_start": D(2022, 6, 3), "publicity_end": D(2022, 6, 9)}, "待乡镇审核"),
    ({"township_review_date": D(2022, 6, 10)}, "待县级审定"),
    ({"county_approval_date": D(2022, 6, 10)}, "已认定"),
    ({"county_approval_date": D(2022, 6, 1), "measures_date": D(2022, 6, 5)}, "帮扶中"),
    ({"measures_date": D(2022, 6, 5), "elim_approval_date": D(2022, 6, 9)}, "风险已消除"),
])
def test_stage_of_each_step(values, stage):
    assert stage_of(values, D(2022, 6, 10)) == stage


def test_identification_is_overdue_the_day_after_the_county_limit(county):
    found = D(2022, 6, 1)
    last = found + dt.timedelta(days=county.identify_within_days)
    values = {"risk_found_date": found, "home_visit_date": D(2022, 6, 3)}
    assert overdue_of(values, stage_of(values, last), county, last) is None
    late = overdue_of(values, stage_of(values, last + dt.timedelta(days=1)), county, last + dt.timedelta(days=1))
    assert late is not None and late.days == 1 and late.last_day == last
    # an application earlier than the clue starts the clock
    values["apply_date"] = D(2022, 5, 30)
    assert overdue_of(values, "待入户核实", county, last).days == 2


def test_system_entry_is_due_a_month_after_identification(county):
    values = {"county_approval_date": D(2022, 1, 31), "measures_date": D(2022, 2, 3)}
    assert overdue_of(values, "帮扶中", county, D(2022, 2, 28)) is None  # 1-31 + 1 month = 2-28
    late = overdue_of(values, "帮扶中", county, D(2022, 3, 1))
    assert late.days == 1 and "录入" in late.what
    values["system_entry_date"] = D(2022, 2, 20)
    assert overdue_of(values, "帮扶中", county, D(2022, 9, 1)) is None


# --- the command, on both databases ------------------------------------------------------------


def rows():
    def h(no, seq, **dates):
        return household(**{"户编号": no, "户主姓名": f"户主{seq}", "身份证号码": make_id(seq=seq),
                            "联系电话": f"1380730{seq}0{seq}"[:11], "监测对象类型": "边缘易致贫户", **dates})
    return [
        h("S-1", "101", **{"风险发现日期": "2022-06-01"}),  # 15 days end 6-16: on 6-30 14 days over
        h("S-2", "102", **{"风险发现日期": "2022-06-20", "入户核实日期": "2022-06-21", "民主评议日期": "2022-06-22",
                           "公示开始日期": "2022-06-23", "公示结束日期": "2022-06-27"}),
        h("S-3", "103", **{"风险发现日期": "2022-05-01", "县级审定日期": "2022-05-10", "帮扶措施制定日期": "2022-05-12",
                           "系统录入日期": "2022-05-20"}),
        h("S-4", "104", **{"风险发现日期": "2022-06-10", "县级审定日期": "2022-06-12"}),  # measures due 6-22
        h("S-5", "105", **{"乡镇（街道）": "筻口镇", "村（社区）": "新墙村", "风险发现日期": "2022-06-25"}),
    ]


@pytest.fixture
def filled(runner, ledger_url, tmp_path):
    result = run(runner, "ledger", "import", write_xlsx(tmp_path / "t.xlsx", rows()), "--db", ledger_url)
    assert result.exit_code == 0, result.output
    return ledger_url


def test_status_lists_stages_and_overdue_first_masked(runner, filled):
    result = run(runner, "ledger", "status", "--db", filled, "--as-of", "2022-06-30")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "监测对象 5 户" in out
    assert "待入户核实 2 户，公示中 0 户，待乡镇审核 1 户，待县级审定 0 户，已认定 1 户，帮扶中 1 户，风险已消除 0 户" in out
    overdue = out[out.index("超期 2 户"):out.index("\n\n", out.index("超期 2 户"))]
    lines = overdue.splitlines()[2:]
    assert [line.split()[0] for line in lines] == ["S-1", "S-4"]  # most days over first
    assert lines[0].endswith("14 天") and lines[1].endswith("8 天")
    assert "帮扶措施制定" in lines[1]
    for seq in ("101", "102", "103", "104", "105"):
        assert make_id(seq=seq) not in out
    assert "4306**********" in out


def test_status_filters_by_township_and_village(runner, filled):
    result = run(runner, "ledger", "status", "--db", filled, "--as-of", "2022-06-30", "--township", "筻口镇")
    assert result.exit_code == 0, result.output
    assert "筻口镇 监测对象 1 户" in result.output and "S-5" in result.output and "S-1" not in result.output
    result = run(runner, "ledger", "status", "--db", filled, "--village", "无此村")
    assert "监测对象 0 户" in result.output


def _document(s, case_id: int, qr: str, printed: dt.datetime, returned: bool) -> None:
    doc = Document(qr_id=qr, case_id=case_id, form="annex2", actor="测试", at=printed)
    s.add(doc)
    s.flush()
    if returned:
        scan = ScanFile(sha256=qr.ljust(64, "0")[:64], name="scan.pdf", size=1, actor="测试")
        s.add(scan)
        s.flush()
        s.add(Page(scan_file_id=scan.id, page_no=1, document_id=doc.id, case_id=case_id))


def add_documents(url: str) -> None:
    import sqlalchemy as sa

    ledger = Ledger.open(url)
    try:
        with ledger.write() as s:
            cases = dict(s.execute(sa.select(Household.household_no, Case.id).join(Case)).all())
            utc = dt.timezone.utc
            _document(s, cases["S-1"], "q1", dt.datetime(2022, 6, 1, 12, tzinfo=utc), returned=False)  # 29 days
            _document(s, cases["S-2"], "q2", dt.datetime(2022, 6, 1, 12, tzinfo=utc), returned=True)
            _document(s, cases["S-3"], "q3", dt.datetime(2022, 6, 25, 12, tzinfo=utc), returned=False)  # 5 days
    finally:
        ledger.close()


def test_forms_printed_and_not_returned_after_n_days(runner, filled):
    add_documents(filled)
    result = run(runner, "ledger", "status", "--db", filled, "--as-of", "2022-06-30", "--unreturned-days", 10)
    assert result.exit_code == 0, result.output
    part = result.output[result.output.index("仍未收回的表单"):]
    assert "1 份" in part.splitlines()[0]
    assert "S-1" in part and "29 天" in part and "S-2" not in part and "S-3" not in part
    result = run(runner, "ledger", "status", "--db", filled, "--as-of", "2022-06-30", "--unreturned-days", 5)
    part = result.output[result.output.index("仍未收回的表单"):]
    assert "2 份" in part.splitlines()[0] and "S-3" in part


def test_history_shows_every_change_masked(runner, filled, tmp_path):
    changed = rows()
    changed[0]["入户核实日期"] = "2022-06-05"
    changed[0]["联系电话"] = "13907309999"
    run(runner, "ledger", "import", write_xlsx(tmp_path / "t2.xlsx", changed), "--db", filled)
    result = run(runner, "ledger", "history", "S-1", "--db", filled)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "户编号 S-1（户主 户主101）" in out
    assert "入户核实日期" in out and "（空） → 2022-06-05" in out
    assert "联系电话" in out and "139****9999" in out
    for secret in (make_id(seq="101"), "13907309999", "13807301010"):
        assert secret not in out
    assert "导入" in out
    # a case id finds the same household
    ledger = Ledger.open(filled)
    try:
        with ledger.read() as s:
            import sqlalchemy as sa

            cid = s.scalar(sa.select(Case.id).join(Household).where(Household.household_no == "S-1"))
    finally:
        ledger.close()
    assert run(runner, "ledger", "history", cid, "--db", filled).output == out


def test_history_of_an_unknown_case_is_a_clear_error(runner, filled):
    result = run(runner, "ledger", "history", "S-9", "--db", filled)
    assert result.exit_code == 1 and "台账中没有户编号或案件编号为「S-9」的户" in result.output
    assert "Traceback" not in result.output
    result = run(runner, "ledger", "history", make_id(seq="101"), "--db", filled)
    assert result.exit_code == 1 and make_id(seq="101") not in result.output
