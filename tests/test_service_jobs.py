"""The service's job kinds over the real ledger: ``import`` (a sheet into the ledger, limited to
the user's area, what changed), ``parse`` (scans read back and attached, page by page) and the
print job from the ledger (documents recorded)."""

from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import func, select

from .conftest import household, make_id, write_xlsx
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.models import Audit, Document, Household
from fanpin_forms.service.app import create_app
from fanpin_forms.service.models import Upload, session_factory
from .service_kit import TOWNSHIP, VILLAGE_A, VILLAGE_B, actor_of, add_users, make_settings, wait_job


@pytest.fixture
def web(tmp_path, app):
    w = create_app(make_settings(tmp_path / "home", db_url=f"sqlite:///{tmp_path / 'ledger.db'}"), app)
    add_users(w)
    yield w
    w.state.runner.shutdown()


def store_sheet(web, user: str, rows, tmp_path, name="台账.xlsx") -> str:
    from fanpin_forms.service import work

    data = write_xlsx(tmp_path / name, rows).read_bytes()
    with session_factory(web.state.engine)() as db:
        checked = work.store_and_check(db, web.state.fanpin, web.state.settings, actor_of(web, user), "ledger",
                                       name, data)
        return checked.upload.id


def run(web, kind: str, params: dict, user: str):
    runner = web.state.runner
    who = actor_of(web, user)
    job = runner.submit(kind, params, who)
    assert wait_job(lambda: runner.status(job, who).state) in ("done", "failed")
    return runner.status(job, who)


def households(web) -> dict[str, tuple[str, str]]:
    ledger = Ledger.open(web.state.settings.db_url)
    try:
        with ledger.read() as s:
            return {h.household_no: (h.township, h.village) for h in s.scalars(select(Household))}
    finally:
        ledger.close()


def test_import_job_adds_then_reports_what_changed_with_the_users_name_in_the_audit(web, tmp_path):
    rows = [household(), household(**{"户编号": "T-002", "户主姓名": "李四", "身份证号码": make_id(seq="002")})]
    st = run(web, "import", {"upload": store_sheet(web, "clerk_a", rows, tmp_path)}, "clerk_a")
    assert st.state == "done", st.message
    assert st.summary["added"] == 2 and st.summary["imported"] is True
    rows[1]["家庭人口"] = 5
    st = run(web, "import", {"upload": store_sheet(web, "clerk_a", rows, tmp_path, "台账2.xlsx")}, "clerk_a")
    assert (st.summary["added"], st.summary["updated"], st.summary["unchanged"]) == (0, 1, 1)
    assert st.summary["changed_fields"] == {"家庭人口": 1}
    ledger = Ledger.open(web.state.settings.db_url)
    with ledger.read() as s:
        assert set(s.scalars(select(Audit.actor))) == {"clerk_a"}
    ledger.close()


def test_a_village_clerk_cannot_import_another_villages_rows_and_nothing_is_written(web, tmp_path):
    rows = [household(), household(**{"户编号": "T-002", "村（社区）": VILLAGE_B, "身份证号码": make_id(seq="002")})]
    st = run(web, "import", {"upload": store_sheet(web, "clerk_a", rows, tmp_path)}, "clerk_a")
    assert st.state == "failed" and "不在您的辖区" in st.message and "第 3 行" in st.message
    assert [e["row"] for e in st.summary["errors"]] == [3]
    assert households(web) == {}


def test_a_clerk_cannot_move_another_villages_household_into_theirs_by_its_number(web, tmp_path):
    b = household(**{"户编号": "T-009", "村（社区）": VILLAGE_B, "身份证号码": make_id(seq="009")})
    assert run(web, "import", {"upload": store_sheet(web, "clerk_b", [b], tmp_path)}, "clerk_b").state == "done"
    stolen = dict(b, **{"村（社区）": VILLAGE_A})
    st = run(web, "import", {"upload": store_sheet(web, "clerk_a", [stolen], tmp_path, "x.xlsx")}, "clerk_a")
    assert st.state == "failed" and "T-009" in st.message
    assert households(web) == {"T-009": (TOWNSHIP, VILLAGE_B)}


def test_an_invalid_sheet_imports_nothing_unless_skip_invalid(web, tmp_path):
    rows = [household(), household(**{"户编号": "T-002", "身份证号码": "123"})]
    upload = store_sheet(web, "clerk_a", rows, tmp_path)
    st = run(web, "import", {"upload": upload}, "clerk_a")
    assert st.state == "failed" and st.summary["errors"] and st.summary["errors"][0]["row"] == 3
    assert households(web) == {}
    st = run(web, "import", {"upload": upload, "skip_invalid": True}, "clerk_a")
    assert st.state == "done" and st.summary["added"] == 1 and st.summary["skipped_rows"] == 1


def test_someone_elses_upload_cannot_be_imported(web, tmp_path):
    upload = store_sheet(web, "clerk_b", [household(**{"村（社区）": VILLAGE_B})], tmp_path)
    st = run(web, "import", {"upload": upload}, "clerk_a")
    assert st.state == "failed" and households(web) == {}


def store_scan(web, user: str, path, name=None):
    from fanpin_forms.service import work

    with session_factory(web.state.engine)() as db, open(path, "rb") as fh:
        return work.store_scan(db, web.state.settings, actor_of(web, user), fh, name or path.name)


@pytest.fixture(scope="module")
def scans(tmp_path_factory, app):
    """Two households' approval forms printed, signed and scanned (one foreign page, one twice)."""
    from tests.scansim import simulate

    tmp = tmp_path_factory.mktemp("scans")
    rows = [household(), household(**{"户编号": "T-002", "户主姓名": "李四", "身份证号码": make_id(seq="002")})]
    sheet = write_xlsx(tmp / "户.xlsx", rows)
    records = app.load_and_check(app.form("annex2"), sheet).records
    out = tmp / "回收扫描件.pdf"
    truth = simulate(app, out, forms=[("annex2", records)], seed=7, dpi=150, foreign=1, duplicate=1)
    return rows, out, truth


@pytest.mark.slow
def test_print_from_the_ledger_then_parse_the_returned_scans_into_the_cases(web, tmp_path, scans):
    import pdfplumber

    rows, pdf, _truth = scans
    assert run(web, "import", {"upload": store_sheet(web, "clerk_a", rows, tmp_path)}, "clerk_a").state == "done"
    st = run(web, "print", {"form": "annex2", "mode": "ledger", "year": 2022}, "clerk_a")
    assert st.state == "done", st.message
    assert st.summary["printed"] == 2 and "新增 2" in st.summary["ledger"]
    with session_factory(web.state.engine)() as db:
        from fanpin_forms.service.models import Job

        job = db.get(Job, st.id)
    with pdfplumber.open(job.result_path) as doc:
        assert len(doc.pages) == 2
    first = store_scan(web, "clerk_a", pdf)
    again = store_scan(web, "clerk_a", pdf, "再传一次.pdf")
    assert not first.again and again.again and again.upload.id == first.upload.id
    st = run(web, "parse", {"uploads": [first.upload.id]}, "clerk_a")
    assert st.state == "done", st.message
    s = st.summary
    assert s["recognised"] >= 2 and s["foreign"] == 1 and s["duplicates"] == 1 and s["failed"] == 0
    assert {p["status"] for p in s["page_list"]} <= {"recognised", "flagged", "foreign", "duplicate"}
    assert all(p["file"] == "回收扫描件.pdf" for p in s["page_list"])
    assert all(p["why"] for p in s["page_list"] if p["status"] in ("foreign", "duplicate"))
    # the pages were read in one worker process, not on a thread of this (the web) process
    from fanpin_forms.readback import run as readback_run

    pool = readback_run._POOL.get("pool")
    assert pool is not None and readback_run._POOL["key"][1] == 1
    assert pool._processes and os.getpid() not in pool._processes
    ledger = Ledger.open(web.state.settings.db_url)
    with ledger.read() as db:
        assert db.scalar(select(func.count(Document.id))) == 2
    ledger.close()
    # the same file parsed again is recognised, not attached twice
    st = run(web, "parse", {"uploads": [first.upload.id]}, "clerk_a")
    assert st.state == "done" and st.summary["files_again"] == ["回收扫描件.pdf"]
