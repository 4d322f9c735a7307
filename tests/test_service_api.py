"""``/api/v1`` (service/api.py) through FastAPI's TestClient: jobs cancelled and retried, job
listings, cases, findings and the monthly report limited to the token owner's area, JSON errors
with the catalogue code, and the OpenAPI document."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from .conftest import household, make_id, write_xlsx
from fanpin_forms.cli import cli
from fanpin_forms.errors import Code
from fanpin_forms.service import accounts, jobs
from fanpin_forms.service.app import create_app
from fanpin_forms.service.models import Job, session_factory
from .service_kit import TOWNSHIP, VILLAGE_A, VILLAGE_B, add_users, make_settings

RELEASE = threading.Event()


@pytest.fixture(scope="module")
def _kinds():
    """A job that holds its worker until released (beating progress), one that fails, one that works."""

    @jobs.job_kind("test-hold")
    def hold(ctx):
        n = 0
        while not RELEASE.wait(0.05):
            n += 1
            ctx.progress(n, n + 1, "等待")

    @jobs.job_kind("test-fail")
    def fail(ctx):
        raise accounts.ServiceError.of(Code.SVC_BAD_REQUEST, why="故意失败")

    @jobs.job_kind("test-ok")
    def ok(ctx):
        ctx.progress(1, 1, "好了")

    yield
    for kind in ("test-hold", "test-fail", "test-ok"):
        jobs.KINDS.pop(kind, None)


@pytest.fixture
def web(tmp_path, app, _kinds):
    RELEASE.clear()
    w = create_app(make_settings(tmp_path / "home", db_url=str(tmp_path / "ledger.sqlite3"), job_workers=1), app)
    add_users(w)
    yield w
    RELEASE.set()
    w.state.runner.shutdown()


def token_for(web, name: str) -> TestClient:
    with session_factory(web.state.engine)() as db:
        user = db.scalar(select(accounts.User).where(accounts.User.name == name))
        _, secret = accounts.create_token(db, user.id, "测试")
    return TestClient(web, headers={"Authorization": f"Bearer {secret}"})


def actor(web, name: str) -> accounts.Actor:
    with session_factory(web.state.engine)() as db:
        return accounts.Actor.of(db.scalar(select(accounts.User).where(accounts.User.name == name)))


def wait_state(api, job_id: str, want: set[str], seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while True:
        state = api.get(f"/api/v1/jobs/{job_id}").json()["state"]
        if state in want or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


# --- cancel and retry -----------------------------------------------------------------------------


def test_a_queued_job_is_cancelled_at_once_and_a_running_one_at_its_next_step(web):
    api = token_for(web, "clerk_a")
    a = actor(web, "clerk_a")
    running = web.state.runner.submit("test-hold", {}, a)
    assert wait_state(api, running, {"running"}) == "running"
    queued = web.state.runner.submit("test-ok", {}, a)  # the one worker is busy: it waits
    assert api.get(f"/api/v1/jobs/{queued}").json()["state"] == "queued"

    r = api.post(f"/api/v1/jobs/{queued}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled" and r.json()["retry"]
    again = api.post(f"/api/v1/jobs/{queued}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "SVC_JOB_NOT_CANCELLABLE"

    assert api.post(f"/api/v1/jobs/{running}/cancel").json()["state"] == "running"  # asked, not yet stopped
    assert wait_state(api, running, {"cancelled", "done", "failed"}) == "cancelled"
    status = api.get(f"/api/v1/jobs/{running}").json()
    assert status["message"] == Code.SVC_JOB_CANCELLED.format() and status["download"] is None
    # the cancelled queued job never ran, even though the worker came free
    time.sleep(0.3)
    with session_factory(web.state.engine)() as db:
        assert db.get(Job, queued).attempt == 0 and db.get(Job, queued).finishes == 1
        assert db.get(Job, running).finishes == 1


def test_a_failed_or_cancelled_job_is_retried_and_a_finished_one_is_not(web):
    api = token_for(web, "clerk_a")
    a = actor(web, "clerk_a")
    failed = web.state.runner.submit("test-fail", {}, a)
    assert wait_state(api, failed, {"failed"}) == "failed"
    assert api.get(f"/api/v1/jobs/{failed}").json()["retry"] == f"/api/v1/jobs/{failed}/retry"
    assert api.post(f"/api/v1/jobs/{failed}/retry").status_code == 200
    assert wait_state(api, failed, {"failed"}) == "failed"
    with session_factory(web.state.engine)() as db:
        job = db.get(Job, failed)
        assert job.attempt == 2 and job.finishes == 1 and "故意失败" in job.message

    # a cancelled job retried runs to its end
    hold = web.state.runner.submit("test-hold", {}, a)
    assert wait_state(api, hold, {"running"}) == "running"
    api.post(f"/api/v1/jobs/{hold}/cancel")
    assert wait_state(api, hold, {"cancelled"}) == "cancelled"
    RELEASE.set()
    assert api.post(f"/api/v1/jobs/{hold}/retry").json()["state"] == "queued"
    assert wait_state(api, hold, {"done", "failed", "cancelled"}) == "done"
    r = api.post(f"/api/v1/jobs/{hold}/retry")
    assert r.status_code == 409 and r.json()["error"]["code"] == "SVC_JOB_NOT_RETRYABLE"
    assert r.json()["error"]["message"] == Code.SVC_JOB_NOT_RETRYABLE.format(state="已完成")


def test_nobody_else_can_cancel_retry_or_list_a_clerks_jobs_but_the_townships_reviewer(web):
    a = actor(web, "clerk_a")
    job = web.state.runner.submit("test-fail", {}, a)
    mine, theirs, reviewer = token_for(web, "clerk_a"), token_for(web, "clerk_b"), token_for(web, "reviewer")
    assert wait_state(mine, job, {"failed"}) == "failed"
    for path in (f"/api/v1/jobs/{job}/cancel", f"/api/v1/jobs/{job}/retry"):
        r = theirs.post(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "SVC_NOT_FOUND"
    assert [j["id"] for j in mine.get("/api/v1/jobs").json()["jobs"]] == [job]
    assert theirs.get("/api/v1/jobs").json()["jobs"] == []
    assert [j["id"] for j in reviewer.get("/api/v1/jobs?state=failed").json()["jobs"]] == [job]


# --- cases, findings, reports: the token owner's area only ------------------------------------------


def ledger_rows():
    def h(no, seq, village=VILLAGE_A, township=TOWNSHIP, **dates):
        return household(**{"户编号": no, "户主姓名": f"户主{seq}", "身份证号码": make_id(seq=seq),
                            "联系电话": f"1380730{seq}0{seq}"[:11], "监测对象类型": "边缘易致贫户",
                            "乡镇（街道）": township, "村（社区）": village, **dates})
    return [
        h("S-1", "101", **{"风险发现日期": "2022-06-01"}),
        h("S-2", "102", **{"风险发现日期": "2022-06-20", "入户核实日期": "2022-06-21"}),
        h("S-6", "106", village=VILLAGE_B, **{"风险发现日期": "2022-06-02"}),
        h("S-5", "105", township="筻口镇", village="新墙村", **{"风险发现日期": "2022-06-01"}),
    ]


@pytest.fixture
def filled(web, runner, tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", ledger_rows())
    result = runner.invoke(cli, ["ledger", "import", str(path), "--db", web.state.settings.db_url])
    assert result.exit_code == 0, result.output
    return web


def test_cases_are_those_of_the_token_owners_area_and_a_guessed_id_is_not_found(filled):
    seen = {name: token_for(filled, name).get("/api/v1/cases").json()
            for name in ("clerk_a", "clerk_b", "reviewer", "admin")}
    nos = {name: sorted(c["household_no"] for c in body["cases"]) for name, body in seen.items()}
    assert nos == {"clerk_a": ["S-1", "S-2"], "clerk_b": ["S-6"], "reviewer": ["S-1", "S-2", "S-6"],
                   "admin": ["S-1", "S-2", "S-5", "S-6"]}
    text = json.dumps(seen, ensure_ascii=False)
    for seq in ("101", "102", "105", "106"):
        assert make_id(seq=seq) not in text
    days = [c["overdue"]["days"] if c["overdue"] else -1 for c in seen["admin"]["cases"]]
    assert days == sorted(days, reverse=True)  # most days over first

    other = next(c["case_id"] for c in seen["admin"]["cases"] if c["household_no"] == "S-6")
    mine = next(c["case_id"] for c in seen["clerk_a"]["cases"] if c["household_no"] == "S-1")
    a = token_for(filled, "clerk_a")
    assert a.get(f"/api/v1/cases/{mine}").json()["values"]["risk_found_date"] == "2022-06-01"
    r = a.get(f"/api/v1/cases/{other}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "SVC_NOT_FOUND"


def test_findings_and_the_monthly_report_stay_inside_the_area(filled):
    b = token_for(filled, "clerk_b")
    findings = b.get("/api/v1/findings", params={"as_of": "2022-06-30"}).json()
    assert findings["cases_checked"] == 1 and findings["findings"]
    assert {(f["township"], f["village"]) for f in findings["findings"]} == {(TOWNSHIP, VILLAGE_B)}
    everyone = token_for(filled, "admin").get("/api/v1/findings", params={"as_of": "2022-06-30"}).json()
    assert everyone["cases_checked"] == 4
    assert "筻口镇" in {f["township"] for f in everyone["findings"]}

    report = token_for(filled, "clerk_a").get("/api/v1/reports/monthly", params={"month": "2022-06"})
    assert report.status_code == 200
    text = json.dumps(report.json(), ensure_ascii=False)
    assert VILLAGE_A in text and VILLAGE_B not in text and "筻口镇" not in text
    bad = token_for(filled, "clerk_a").get("/api/v1/reports/monthly", params={"month": "六月"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "REPORT_BAD_MONTH"


# --- jobs submitted through the API, errors, the OpenAPI document --------------------------------------


def test_import_and_parse_refuse_an_upload_that_is_not_the_users(web, tmp_path):
    import io

    a, b = token_for(web, "clerk_a"), token_for(web, "clerk_b")
    data = write_xlsx(tmp_path / "台账.xlsx", [household()]).read_bytes()
    upload = a.post("/api/v1/validate", data={"form": "annex2"},
                    files={"file": ("台账.xlsx", io.BytesIO(data))}).json()["upload"]
    for path, body in (("/api/v1/import", {"upload": upload}), ("/api/v1/parse", {"uploads": [upload]})):
        r = b.post(path, json=body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "SVC_BAD_REQUEST", r.text
    with session_factory(web.state.engine)() as db:
        assert db.scalar(select(func.count()).select_from(Job)) == 0


def test_a_body_of_the_wrong_shape_is_a_json_error_with_the_catalogue_code(web):
    api = token_for(web, "clerk_a")
    for body in ({"form": "annex2", "mode": "sideways"}, {"copies": "many"}, [1, 2]):
        r = api.post("/api/v1/print", json=body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "SVC_BAD_REQUEST"
        assert r.json()["error"]["message"].startswith("请求内容不完整或无效")
    r = api.post("/api/v1/print", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "SVC_BAD_REQUEST"
    r = token_for(web, "viewer").post("/api/v1/print", json={"form": "annex2"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "SVC_FORBIDDEN"


def test_the_openapi_document_describes_every_route_in_chinese(web):
    doc = TestClient(web).get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    for path, method in (("/api/v1/import", "post"), ("/api/v1/print", "post"), ("/api/v1/parse", "post"),
                         ("/api/v1/jobs", "get"), ("/api/v1/jobs/{job_id}", "get"),
                         ("/api/v1/jobs/{job_id}/cancel", "post"), ("/api/v1/jobs/{job_id}/retry", "post"),
                         ("/api/v1/cases", "get"), ("/api/v1/cases/{case_id}", "get"), ("/api/v1/findings", "get"),
                         ("/api/v1/reports/monthly", "get"), ("/api/v1/validate", "post"), ("/api/v1/me", "get")):
        op = paths[path][method]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in op["summary"]), (path, op["summary"])
        assert op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert not any(p.startswith("/login") or p.startswith("/jobs") for p in paths)  # pages are not the API
    assert set(doc["components"]["schemas"]["ImportRequest"]["properties"]) == {"upload", "skip_invalid", "overwrite"}


# --- a dead worker's job: taken over once, the dead attempt fenced off ------------------------------


def test_a_running_job_whose_heartbeat_stopped_is_taken_over_and_the_old_attempt_records_nothing(web):
    import datetime as dt

    from fanpin_forms.service.models import now

    engine, settings = web.state.engine, web.state.settings
    a = actor(web, "clerk_a")
    job_id = jobs.new_job(engine, "test-ok", {}, a)
    first = jobs.claim(engine, job_id, settings)
    assert first.attempt == 1
    assert jobs.claim(engine, job_id, settings) is None  # a live heartbeat: nobody else may take it
    with session_factory(engine)() as db:  # the worker died: its heartbeat grows old
        job = db.get(Job, job_id)
        job.heartbeat = now() - jobs.stale_after(settings) - dt.timedelta(seconds=1)
        db.commit()
    jobs.execute(job_id, engine, settings, lambda: None)  # the queue delivers it again
    with session_factory(engine)() as db:
        job = db.get(Job, job_id)
        assert (job.state, job.attempt, job.finishes) == ("done", 2, 1)
    # the first attempt, had it lived on, can neither report progress nor end the job again
    ctx = jobs.JobContext(first, settings, engine, lambda: None)
    with pytest.raises(jobs.JobCancelled):
        ctx.progress(1, 1, "迟到")
    jobs.execute(job_id, engine, settings, lambda: None)  # and a late duplicate does nothing
    with session_factory(engine)() as db:
        assert db.get(Job, job_id).finishes == 1 and db.get(Job, job_id).attempt == 2


# --- import, print from the ledger and parse, through the API ----------------------------------------


@pytest.fixture(scope="module")
def scans(tmp_path_factory, app):
    """Two households' approval forms printed, signed and scanned (and one foreign page)."""
    from tests.scansim import simulate

    tmp = tmp_path_factory.mktemp("scans")
    rows = [household(), household(**{"户编号": "T-002", "户主姓名": "李四", "身份证号码": make_id(seq="002")})]
    records = app.load_and_check(app.form("annex2"), write_xlsx(tmp / "户.xlsx", rows)).records
    out = tmp / "回收扫描件.pdf"
    simulate(app, out, forms=[("annex2", records)], seed=7, dpi=150, foreign=1)
    return rows, out


@pytest.mark.slow
def test_import_print_and_parse_through_the_api_end_to_end(web, tmp_path, scans):
    import io

    rows, pdf = scans
    a = token_for(web, "clerk_a")
    sheet = write_xlsx(tmp_path / "监测台账.xlsx", rows).read_bytes()
    up = a.post("/api/v1/validate", data={"form": "ledger"}, files={"file": ("监测台账.xlsx", io.BytesIO(sheet))}).json()
    assert up["ok"], up
    job = a.post("/api/v1/import", json={"upload": up["upload"]}).json()["job"]
    assert wait_state(a, job, {"done", "failed"}, 120) == "done", a.get(f"/api/v1/jobs/{job}").json()
    assert a.get(f"/api/v1/jobs/{job}").json()["summary"]["added"] == 2
    assert sorted(c["household_no"] for c in a.get("/api/v1/cases").json()["cases"]) == ["T-001", "T-002"]
    assert token_for(web, "clerk_b").get("/api/v1/cases").json()["cases"] == []

    job = a.post("/api/v1/print", json={"form": "annex2", "mode": "ledger", "year": 2022}).json()["job"]
    assert wait_state(a, job, {"done", "failed"}, 180) == "done", a.get(f"/api/v1/jobs/{job}").json()
    assert a.get(f"/api/v1/jobs/{job}/result").content.startswith(b"%PDF")

    with open(pdf, "rb") as fh:
        stored = a.post("/api/v1/scans", files=[("file", ("回收扫描件.pdf", fh, "application/pdf"))]).json()["uploads"]
    assert [s["again"] for s in stored] == [False]
    refused = a.post("/api/v1/scans", files=[("file", ("台账.xlsx", io.BytesIO(sheet)))])
    assert refused.status_code == 415 and refused.json()["error"]["code"] == "SVC_SCAN_TYPE"
    job = a.post("/api/v1/parse", json={"uploads": [stored[0]["upload"]]}).json()["job"]
    assert wait_state(a, job, {"done", "failed"}, 300) == "done", a.get(f"/api/v1/jobs/{job}").json()
    summary = a.get(f"/api/v1/jobs/{job}").json()["summary"]
    assert summary["recognised"] >= 2 and summary["foreign"] == 1 and summary["failed"] == 0
    # another village's clerk sees neither the job nor its cases
    b = token_for(web, "clerk_b")
    assert b.get(f"/api/v1/jobs/{job}").status_code == 404
    assert b.post("/api/v1/parse", json={"uploads": [stored[0]["upload"]]}).status_code == 400


def test_the_job_page_cancels_and_retries_with_its_csrf_token(web):
    from .service_kit import csrf_of, login

    a = actor(web, "clerk_a")
    api = token_for(web, "clerk_a")
    job = web.state.runner.submit("test-hold", {}, a)
    assert wait_state(api, job, {"running"}) == "running"
    page = TestClient(web)
    assert login(page, "clerk_a").status_code == 303
    html = page.get(f"/jobs/{job}").text
    assert "取消任务" in html
    assert page.post(f"/jobs/{job}/cancel", data={}, follow_redirects=False).status_code == 403  # no token
    r = page.post(f"/jobs/{job}/cancel", data={"csrf_token": csrf_of(html)}, follow_redirects=False)
    assert r.status_code == 303
    assert wait_state(api, job, {"cancelled"}) == "cancelled"
    RELEASE.set()
    html = page.get(f"/jobs/{job}").text
    assert "重试" in html and Code.SVC_JOB_CANCELLED.format() in html
    page.post(f"/jobs/{job}/retry", data={"csrf_token": csrf_of(html)})
    assert wait_state(api, job, {"done"}) == "done"
    other = TestClient(web)
    login(other, "clerk_b")
    token = csrf_of(other.get("/").text)
    assert other.post(f"/jobs/{job}/retry", data={"csrf_token": token}).status_code == 404
