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
