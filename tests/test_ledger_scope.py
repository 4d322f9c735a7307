"""``ledger/scope.py``: one Scope limits every listing of the ledger (status, report, export,
records, the review queue, the case lookup) — checked on a real SQLite ledger."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings, strategies as st
from sqlalchemy import select

from .conftest import household, make_id, write_xlsx
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.export import iter_cases
from fanpin_forms.ledger.importer import import_file
from fanpin_forms.ledger.models import Household
from fanpin_forms.ledger.records import load_ledger
from fanpin_forms.ledger.report import monthly
from fanpin_forms.ledger.scope import ALL, Scope, case_in_scope
from fanpin_forms.ledger.status import status

T, A, B = "荣家湾镇", "杨林村", "新建村"


def ledger_with_two_villages(tmp_path, app) -> Ledger:
    rows = [household(**{"户编号": "A-1", "身份证号码": make_id(seq="501")}),
            household(**{"户编号": "B-1", "村（社区）": B, "身份证号码": make_id(seq="502"), "户主姓名": "李四"}),
            household(**{"户编号": "C-1", "乡镇（街道）": "新墙镇", "村（社区）": A, "身份证号码": make_id(seq="503")})]
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}")
    import_file(app.ledger_setup(), ledger, write_xlsx(tmp_path / "户.xlsx", rows))
    return ledger


def test_every_listing_takes_the_scope(tmp_path, app):
    ledger = ledger_with_two_villages(tmp_path, app)
    setup = app.ledger_setup()
    village, township = Scope(T, A), Scope(T)
    try:
        assert status(setup, ledger, dt.date(2022, 7, 1), scope=village).total == 1
        assert status(setup, ledger, dt.date(2022, 7, 1), scope=township).total == 2
        assert status(setup, ledger, dt.date(2022, 7, 1), scope=ALL).total == 3
        # the CLI's filters still apply beside the scope: a township outside it gives nothing
        assert status(setup, ledger, dt.date(2022, 7, 1), township="新墙镇", scope=village).total == 0
        assert [h.household_no for h, _ in iter_cases(ledger, scope=village)] == ["A-1"]
        assert [r.case_id for r in load_ledger(setup, ledger, scope=township).records] == ["A-1", "B-1"]
        rep = monthly(setup, ledger, "2022-06", scope=village, today=dt.date(2022, 7, 1))
        assert {key[1] for key in rep.sections[0].rows} == {A}
        with ledger.read() as s:
            ids = {h.household_no: h.id for h in s.scalars(select(Household))}
            from fanpin_forms.ledger.models import Case

            case_b = s.scalar(select(Case.id).where(Case.household_id == ids["B-1"]))
            assert case_in_scope(s, village, case_b) is None
            assert case_in_scope(s, township, case_b) is not None
    finally:
        ledger.close()


places = st.tuples(st.sampled_from(["", T, "新墙镇"]), st.sampled_from(["", A, B]))


@settings(max_examples=60, deadline=None)
@given(scope=st.one_of(st.just(ALL), st.builds(Scope, st.just(T)), st.builds(Scope, st.just(T), st.sampled_from([A, B]))),
       place=places)
def test_the_sql_condition_and_covers_agree(scope, place):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine("sqlite://")
    Household.__table__.create(engine)
    with Session(engine) as s:
        s.add(Household(head_name="x", township=place[0], village=place[1]))
        s.commit()
        found = s.scalar(select(Household.id).where(scope.where())) is not None
    assert found == scope.covers(place[0] or None, place[1] or None)


def _review_item(ledger: Ledger, household_no: str, read: str) -> int:
    from fanpin_forms.ledger.models import Case, FieldValue, Operation, Page, ReviewItem, ScanFile

    now = dt.datetime.now(dt.timezone.utc)
    with ledger.write() as s:
        s.add(Operation(kind="test", actor="t", at=now))
        h = s.scalars(select(Household).where(Household.household_no == household_no)).one()
        case = s.scalars(select(Case).where(Case.household_id == h.id)).one()
        f = ScanFile(sha256=(household_no * 64)[:64], name="s.pdf", size=1, stored_path="", actor="t", at=now)
        s.add(f)
        s.flush()
        p = Page(scan_file_id=f.id, page_no=1, case_id=case.id, status="flagged", at=now)
        s.add(p)
        s.flush()
        s.add(FieldValue(case_id=case.id, field="home_visit_date", value=read, source="scan", actor="t", at=now,
                         pending=True))
        item = ReviewItem(page_id=p.id, case_id=case.id, field="home_visit_date", read_value=read, status="open")
        s.add(item)
        s.flush()
        return item.id


def test_review_one_item_through_the_scope_and_the_second_decision_is_a_conflict(tmp_path, app, ledger_url,
                                                                                 monkeypatch):
    import pytest

    from fanpin_forms.errors import Code, FanpinError
    from fanpin_forms.ledger.audit import acting_as
    from fanpin_forms.ledger.history import history
    from fanpin_forms.ledger.review import decide, review_queue

    rows = [household(**{"户编号": "A-1", "身份证号码": make_id(seq="601")}),
            household(**{"户编号": "B-1", "村（社区）": B, "身份证号码": make_id(seq="602")})]
    ledger = Ledger.open(ledger_url)
    setup = app.ledger_setup()
    try:
        import_file(setup, ledger, write_xlsx(tmp_path / "户.xlsx", rows))
        a, b = _review_item(ledger, "A-1", '"2022-06-01"'), _review_item(ledger, "B-1", '"2022-06-02"')
        village = Scope(T, A)
        assert [q.id for q in review_queue(setup, ledger, village)] == [a]
        with pytest.raises(FanpinError) as refused:
            decide(setup, ledger, village, b, accept=True)
        assert refused.value.problems[0].code is Code.LEDGER_REVIEW_UNKNOWN
        with acting_as("审核员甲"):
            done = decide(setup, ledger, village, a, accept=False, value="2022年6月3日")
        assert (done.status, done.value) == ("corrected", "2022-06-03")
        with pytest.raises(FanpinError) as second, acting_as("审核员乙"):
            decide(setup, ledger, village, a, accept=True)
        assert second.value.problems[0].code is Code.LEDGER_REVIEW_CONFLICT
        assert "审核员甲" in second.value.problems[0].message and "2022-06-03" in second.value.problems[0].message
        _, rows_ = history(setup, ledger, "A-1")
        assert [(r.actor, r.new) for r in rows_ if r.source == "人工核对"][-1] == ("审核员甲", "2022-06-03")
        assert review_queue(setup, ledger, village) == []
    finally:
        ledger.close()
