"""The web service through FastAPI's TestClient: logins, sessions, CSRF, throttling, roles and
areas, uploads, jobs and the API tokens."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from .conftest import household, make_id, write_xlsx
from fanpin_forms.errors import Code
from fanpin_forms.util.limits import human_bytes
from fanpin_forms.service import accounts, jobs
from fanpin_forms.service.accounts import Role, ServiceError
from fanpin_forms.service.app import create_app
from fanpin_forms.service.models import Job, Upload, WebSession, session_factory
from fanpin_forms.service.scope import Area, record_place
from .service_kit import PASSWORD, TOWNSHIP, VILLAGE_A, VILLAGE_B, add_users, csrf_of, login, make_settings, wait_job


@pytest.fixture(scope="module")
def _kinds():
    """Two job kinds that need no LibreOffice: one that succeeds, one that fails."""

    @jobs.job_kind("test-ok")
    def ok(ctx):
        ctx.progress(1, 2, "一半")
        out = ctx.out_dir / "r.pdf"
        out.write_bytes(b"%PDF-1.4 test")
        ctx.set_result(out, "结果.pdf")

    @jobs.job_kind("test-fail")
    def fail(ctx):
        raise ServiceError.of(Code.SVC_JOB_FAILED, why=f"身份证 {make_id()} 不对")

    @jobs.job_kind("test-crash")
    def crash(ctx):
        raise RuntimeError("secret detail " + make_id())

    yield
    for k in ("test-ok", "test-fail", "test-crash"):
        jobs.KINDS.pop(k, None)


@pytest.fixture
def web(tmp_path, app, _kinds):
    w = create_app(make_settings(tmp_path / "home", throttle_per_user=3, throttle_per_client=6,
                                 upload_max_bytes=200_000), app)
    add_users(w)
    yield w
    w.state.runner.shutdown()


def client_as(web, name: str | None = None) -> TestClient:
    c = TestClient(web)
    if name:
        assert login(c, name).status_code == 303
    return c


def db(web):
    return session_factory(web.state.engine)()


def actor(web, name: str) -> accounts.Actor:
    with db(web) as s:
        return accounts.Actor.of(s.scalar(select(accounts.User).where(accounts.User.name == name)))


def sheet(tmp_path, rows, name="台账.xlsx") -> bytes:
    return write_xlsx(tmp_path / name, rows).read_bytes()


# --- login, sessions -------------------------------------------------------------------------


def test_wrong_password_is_refused_and_right_one_signs_in(web):
    c = TestClient(web)
    r = login(c, "clerk_a", "wrong-password")
    assert r.status_code == 401
    assert Code.SVC_LOGIN_FAILED.format() in r.text
    assert c.get("/", follow_redirects=False).headers["location"] == "/login"
    r = login(c, "clerk_a")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = c.get("/")
    assert home.status_code == 200 and f"{TOWNSHIP}{VILLAGE_A}" in home.text


def test_unknown_name_is_refused_like_a_wrong_password(web):
    r = login(TestClient(web), "nobody")
    assert r.status_code == 401 and Code.SVC_LOGIN_FAILED.format() in r.text


def test_the_cookie_holds_a_random_id_that_the_database_keeps_only_as_a_digest(web):
    c = client_as(web, "clerk_a")
    value = c.cookies.get("fanpin_session")
    with db(web) as s:
        hashes = set(s.scalars(select(WebSession.id_hash)))
    assert value not in hashes and accounts.digest(value) in hashes


def test_signing_in_replaces_the_login_pages_session(web):
    c = TestClient(web)
    c.get("/login")
    before = c.cookies.get("fanpin_session")
    login(c, "clerk_a")
    assert c.cookies.get("fanpin_session") != before
    with db(web) as s:
        assert s.get(WebSession, accounts.digest(before)) is None


def test_logout_ends_the_session_on_the_server(web):
    c = client_as(web, "clerk_a")
    value = c.cookies.get("fanpin_session")
    c.post("/logout", data={"csrf_token": csrf_of(c.get("/").text)})
    replay = TestClient(web)
    replay.cookies.set("fanpin_session", value)
    assert replay.get("/", follow_redirects=False).headers["location"] == "/login"


# --- CSRF -------------------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused_and_does_nothing(web):
    c = client_as(web, "clerk_a")
    r = c.post("/print", data={"form": "annex2", "mode": "blank", "copies": "1"}, follow_redirects=False)
    assert r.status_code == 403 and Code.SVC_CSRF.format() in r.text
    with db(web) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_another_sessions_csrf_token_is_refused(web):
    a, b = client_as(web, "clerk_a"), client_as(web, "clerk_b")
    token_b = csrf_of(b.get("/").text)
    r = a.post("/tokens", data={"label": "x", "csrf_token": token_b})
    assert r.status_code == 403
    with db(web) as s:
        assert s.scalar(select(func.count()).select_from(accounts.ApiToken)) == 0


def test_the_login_form_needs_its_csrf_token(web):
    c = TestClient(web)
    c.get("/login")
    r = c.post("/login", data={"name": "clerk_a", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403


# --- throttling -------------------------------------------------------------------------------


def test_after_too_many_failures_even_the_right_password_is_refused(web):
    c = TestClient(web)
    for _ in range(3):
        assert login(c, "clerk_a", "wrong-password").status_code == 401
    r = login(c, "clerk_a")
    assert r.status_code == 429
    assert Code.SVC_LOGIN_THROTTLED.format(minutes=15) in r.text
    assert login(TestClient(web), "clerk_b").status_code == 303  # another name is not blocked by this one


def test_one_address_trying_many_names_is_throttled(web):
    c = TestClient(web)
    for i in range(6):
        assert login(c, f"guess{i}", "x").status_code == 401
    assert login(c, "admin").status_code == 429


def test_a_success_clears_the_failures_of_that_name(web):
    c = TestClient(web)
    for _ in range(2):
        login(c, "reviewer", "nope")
    assert login(c, "reviewer").status_code == 303
    c2 = TestClient(web)
    for _ in range(2):
        assert login(c2, "reviewer", "nope").status_code == 401
    assert login(c2, "reviewer").status_code == 303


# --- accounts and roles ------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2_hashes(web):
    with db(web) as s:
        user = s.scalar(select(accounts.User).where(accounts.User.name == "clerk_a"))
    assert user.password_hash.startswith("$argon2") and PASSWORD not in user.password_hash


@pytest.mark.parametrize("role, township, village, needs", [
    (Role.TOWNSHIP_REVIEWER, None, None, "乡镇（--township）"),
    (Role.VILLAGE_CLERK, TOWNSHIP, None, "乡镇和村（--township、--village）"),
    (Role.READ_ONLY, None, VILLAGE_A, "村所在的乡镇（--township）"),
])
def test_a_role_needs_its_area(role, township, village, needs):
    with pytest.raises(ServiceError) as info:
        accounts.area_for(role, township, village)
    assert info.value.problems[0].message == Code.SVC_ROLE_AREA.format(role=role.label, needs=needs)


def test_roles_parse_from_english_or_chinese():
    assert accounts.parse_role("村级填报员") is Role.VILLAGE_CLERK
    assert accounts.parse_role("county-admin") is Role.COUNTY_ADMIN
    with pytest.raises(ServiceError):
        accounts.parse_role("admin")


def test_read_only_users_cannot_upload_or_print(web):
    c = client_as(web, "viewer")
    assert c.get("/upload").status_code == 403
    assert c.get("/print").status_code == 403
    token = csrf_of(c.get("/").text)
    r = c.post("/print", data={"form": "annex2", "mode": "blank", "copies": "1", "csrf_token": token})
    assert r.status_code == 403 and Code.SVC_FORBIDDEN.format() in r.text
    assert "上传台账</a>" not in c.get("/").text


def test_areas():
    village = Area("village", TOWNSHIP, VILLAGE_A)
    assert village.covers(TOWNSHIP, VILLAGE_A) and not village.covers(TOWNSHIP, VILLAGE_B)
    assert not village.covers(None, None)
    assert Area("township", TOWNSHIP).covers(TOWNSHIP, VILLAGE_B)
    assert not Area("township", TOWNSHIP).covers("别的镇", VILLAGE_A)
    assert Area("county").covers(None, None)
    with pytest.raises(ValueError):
        Area("village", TOWNSHIP)
    assert record_place({"address": {"township": TOWNSHIP, "village": VILLAGE_B}}) == (TOWNSHIP, VILLAGE_B)


# --- uploads ------------------------------------------------------------------------------------


def upload(c, data: bytes, name: str = "台账.xlsx", form: str = "annex2"):
    token = csrf_of(c.get("/upload").text)
    return c.post("/upload", data={"form": form, "csrf_token": token}, files={"file": (name, io.BytesIO(data))})


def test_an_uploaded_sheet_shows_every_error_by_row_and_label(web, tmp_path):
    bad_id = make_id()[:-1] + ("0" if make_id()[-1] != "0" else "1")
    rows = [household(), household(**{"户编号": "T-002", "身份证号码": bad_id}),
            household(**{"户编号": "T-003", "家庭人口": "很多", "身份证号码": make_id(seq="003")})]
    r = upload(client_as(web, "clerk_a"), sheet(tmp_path, rows))
    assert r.status_code == 200
    assert "<td class=\"num\">3</td><td>身份证号码</td>" in r.text
    assert "<td class=\"num\">4</td><td>家庭人口</td>" in r.text
    assert "台账.xlsx" in r.text
    assert bad_id not in r.text  # the ID number is masked in the message


def test_rows_of_another_village_are_errors_for_a_village_clerk(web, tmp_path):
    rows = [household(), household(**{"户编号": "T-009", "村（社区）": VILLAGE_B, "身份证号码": make_id(seq="009")})]
    r = upload(client_as(web, "clerk_a"), sheet(tmp_path, rows))
    expected = Code.SVC_OUT_OF_AREA.format(township=TOWNSHIP, village=VILLAGE_B, area=f"{TOWNSHIP}{VILLAGE_A}")
    assert expected in r.text
    assert "共 2 条记录，1 条可以打印" in r.text
    # the township's reviewer may print both
    r = upload(client_as(web, "reviewer"), sheet(tmp_path, rows))
    assert "全部通过检查" in r.text


def test_a_file_that_is_not_a_spreadsheet_is_refused_before_it_is_stored(web):
    c = client_as(web, "clerk_a")
    for name, data in (("台账.xlsx", b"not a zip at all"), ("照片.png", b"\x89PNG\r\n\x1a\n....."),
                       ("台账.csv", b"\x00\x01\x02binary")):
        r = upload(c, data, name)
        assert r.status_code == 415, name
        assert Code.SVC_UPLOAD_TYPE.format(name=name) in r.text
    assert not (web.state.settings.uploads_dir.exists() and any(web.state.settings.uploads_dir.iterdir()))


def test_an_upload_over_the_cap_is_refused_with_a_chinese_message(web):
    c = client_as(web, "clerk_a")
    r = upload(c, b"PK\x03\x04" + b"0" * 300_000)
    assert r.status_code == 413
    assert Code.SVC_UPLOAD_TOO_LARGE.format(max=human_bytes(200_000)) in r.text
    assert not web.state.settings.uploads_dir.exists() or not any(web.state.settings.uploads_dir.iterdir())


def test_the_same_sheet_twice_is_stored_once(web, tmp_path):
    c = client_as(web, "clerk_a")
    data = sheet(tmp_path, [household()])
    upload(c, data)
    upload(c, data, "再传一次.xlsx")
    with db(web) as s:
        assert s.scalar(select(func.count()).select_from(Upload)) == 1


# --- jobs -----------------------------------------------------------------------------------------


def test_a_job_is_visible_to_its_owner_and_the_townships_reviewer_only(web):
    job_id = web.state.runner.submit("test-ok", {}, actor(web, "clerk_a"))
    assert wait_job(lambda: web.state.runner.status(job_id, actor(web, "clerk_a")).state) == "done"
    owner = client_as(web, "clerk_a")
    assert owner.get(f"/jobs/{job_id}").status_code == 200
    assert owner.get(f"/jobs/{job_id}/download").content == b"%PDF-1.4 test"
    assert client_as(web, "reviewer").get(f"/jobs/{job_id}").status_code == 200
    other = client_as(web, "clerk_b")
    guessed = other.get(f"/jobs/{job_id}")
    missing = other.get("/jobs/" + "0" * 32)
    assert guessed.status_code == missing.status_code == 404
    assert Code.SVC_NOT_FOUND.format() in guessed.text
    assert other.get(f"/jobs/{job_id}/download").status_code == 404
    assert client_as(web, "viewer").get(f"/jobs/{job_id}").status_code == 404


def test_a_failed_job_shows_the_catalogue_message_scrubbed(web):
    a = actor(web, "clerk_a")
    failed = web.state.runner.submit("test-fail", {}, a)
    crashed = web.state.runner.submit("test-crash", {}, a)
    for job_id in (failed, crashed):
        assert wait_job(lambda j=job_id: web.state.runner.status(j, a).state) == "failed"
    text = web.state.runner.status(failed, a).message
    assert text.startswith("任务失败") and make_id() not in text
    crash = web.state.runner.status(crashed, a).message
    assert "secret detail" not in crash and "程序内部错误" in crash


def test_jobs_left_by_a_previous_process_are_failed_on_start(web, app):
    with db(web) as s:
        s.add(Job(id="f" * 32, kind="print", params={}, user_id=1, state="running"))
        s.commit()
    second = create_app(web.state.settings, app)
    try:
        with db(web) as s:
            job = s.get(Job, "f" * 32)
        assert job.state == "failed" and job.message == Code.SVC_JOB_INTERRUPTED.format()
    finally:
        second.state.runner.shutdown()


def test_a_job_is_executed_once_even_when_delivered_twice(web):
    a = actor(web, "clerk_a")
    job_id = jobs.new_job(web.state.engine, "test-ok", {}, a)
    jobs.execute(job_id, web.state.engine, web.state.settings, lambda: None)
    with db(web) as s:
        first = s.get(Job, job_id).finished
    jobs.execute(job_id, web.state.engine, web.state.settings, lambda: None)
    with db(web) as s:
        assert s.get(Job, job_id).finished == first


# --- API ------------------------------------------------------------------------------------------


def new_token(c) -> str:
    r = c.post("/tokens", data={"label": "平台", "csrf_token": csrf_of(c.get("/tokens").text)})
    assert r.status_code == 200
    return r.text.split('<code class="secret">')[1].split("<")[0]


def test_api_tokens_work_until_revoked(web):
    c = client_as(web, "clerk_a")
    secret = new_token(c)
    api = TestClient(web)
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["area"]["village"] == VILLAGE_A
    with db(web) as s:
        token_id = s.scalar(select(accounts.ApiToken.id))
        assert secret not in set(s.scalars(select(accounts.ApiToken.token_hash)))
    # another user cannot revoke it
    other = TestClient(web)
    other_secret = new_token(client_as(web, "clerk_b"))
    r = other.post(f"/api/v1/tokens/{token_id}/revoke", headers={"Authorization": f"Bearer {other_secret}"})
    assert r.status_code == 404
    c.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(c.get("/tokens").text)})
    r = api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401
    assert r.json()["error"] == {"code": "SVC_TOKEN_INVALID", "message": Code.SVC_TOKEN_INVALID.format(),
                                 "problems": [{"code": "SVC_TOKEN_INVALID", "message": Code.SVC_TOKEN_INVALID.format()}]}


def test_the_api_does_not_accept_the_session_cookie(web):
    c = client_as(web, "clerk_a")
    assert c.get("/api/v1/me").status_code == 401


def test_api_token_create_and_revoke_through_the_api(web):
    secret = new_token(client_as(web, "clerk_a"))
    api = TestClient(web, headers={"Authorization": f"Bearer {secret}"})
    made = api.post("/api/v1/tokens", json={"label": "第二个"}).json()
    second = TestClient(web, headers={"Authorization": f"Bearer {made['token']}"})
    assert second.get("/api/v1/me").status_code == 200
    assert api.post(f"/api/v1/tokens/{made['id']}/revoke").json() == {"id": made["id"], "revoked": True}
    assert second.get("/api/v1/me").status_code == 401


def test_api_validate_returns_every_error_by_row_and_label(web, tmp_path):
    secret = new_token(client_as(web, "clerk_a"))
    api = TestClient(web, headers={"Authorization": f"Bearer {secret}"})
    data = sheet(tmp_path, [household(), household(**{"户编号": "T-002", "联系电话": "12345", "身份证号码": make_id(seq="002")})])
    r = api.post("/api/v1/validate", data={"form": "annex2"}, files={"file": ("台账.xlsx", io.BytesIO(data))})
    body = r.json()
    assert r.status_code == 200 and body["rows_total"] == 2 and body["valid"] == 1 and not body["ok"]
    assert [(e["row"], e["label"]) for e in body["errors"]] == [(3, "联系电话")]
    assert body["errors"][0]["file"] == "台账.xlsx"
    assert make_id() not in r.text
    refused = api.post("/api/v1/validate", data={"form": "annex2"}, files={"file": ("a.txt", io.BytesIO(b"x"))})
    assert refused.status_code == 415 and refused.json()["error"]["code"] == "SVC_UPLOAD_TYPE"


def test_api_job_status_is_scoped_like_the_pages(web):
    a = actor(web, "clerk_a")
    job_id = web.state.runner.submit("test-ok", {}, a)
    wait_job(lambda: web.state.runner.status(job_id, a).state)
    mine = TestClient(web, headers={"Authorization": f"Bearer {new_token(client_as(web, 'clerk_a'))}"})
    theirs = TestClient(web, headers={"Authorization": f"Bearer {new_token(client_as(web, 'clerk_b'))}"})
    status = mine.get(f"/api/v1/jobs/{job_id}").json()
    assert status["state"] == "done" and status["percent"] == 100
    assert mine.get(status["download"]).content == b"%PDF-1.4 test"
    assert theirs.get(f"/api/v1/jobs/{job_id}").status_code == 404
    assert theirs.get(f"/api/v1/jobs/{job_id}/result").status_code == 404


def test_api_print_refuses_a_printing_of_someone_elses_upload(web, tmp_path):
    a_api = TestClient(web, headers={"Authorization": f"Bearer {new_token(client_as(web, 'clerk_a'))}"})
    b_api = TestClient(web, headers={"Authorization": f"Bearer {new_token(client_as(web, 'clerk_b'))}"})
    data = sheet(tmp_path, [household()])
    upload_id = a_api.post("/api/v1/validate", data={"form": "annex2"},
                           files={"file": ("台账.xlsx", io.BytesIO(data))}).json()["upload"]
    r = b_api.post("/api/v1/print", json={"form": "annex2", "mode": "filled", "upload": upload_id})
    assert r.status_code == 400
    with db(web) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_api_errors_are_json_with_the_catalogue_code(web):
    api = TestClient(web)
    r = api.get("/api/v1/jobs/x", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "SVC_TOKEN_INVALID"
    assert api.get("/api/v1/nothing-here").json()["error"]["code"] == "SVC_NOT_FOUND"
    assert api.get("/api/v1/openapi.json").json()["paths"]["/api/v1/validate"]


# --- CLI -------------------------------------------------------------------------------------------


def test_user_add_prompts_twice_and_user_list_shows_the_area(runner, tmp_path, monkeypatch):
    from fanpin_forms.cli import cli

    monkeypatch.setenv("FANPIN_FORMS_HOME", str(tmp_path))
    r = runner.invoke(cli, ["user", "add", "王五", "--role", "village-clerk", "--township", TOWNSHIP,
                            "--village", VILLAGE_A], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert "密码" in r.output and PASSWORD not in r.output
    r = runner.invoke(cli, ["user", "list"])
    assert f"王五\t村级填报员\t{TOWNSHIP}{VILLAGE_A}" in r.output
    r = runner.invoke(cli, ["user", "add", "赵六", "--role", "county-admin"], input=f"{PASSWORD}\nother-pass\n")
    assert r.exit_code == 1 and Code.SVC_PASSWORD_MISMATCH.format() in r.output
    r = runner.invoke(cli, ["user", "add", "赵六", "--role", "township-reviewer"], input="")
    assert r.exit_code == 1 and "需要乡镇" in r.output


@pytest.mark.slow
def test_a_prefilled_print_job_prints_only_the_households_of_the_users_village(web, tmp_path):
    import pdfplumber

    api = TestClient(web, headers={"Authorization": f"Bearer {new_token(client_as(web, 'clerk_a'))}"})
    rows = [household(), household(**{"户编号": "T-002", "村（社区）": VILLAGE_B, "身份证号码": make_id(seq="002")})]
    upload_id = api.post("/api/v1/validate", data={"form": "annex2"},
                         files={"file": ("台账.xlsx", io.BytesIO(sheet(tmp_path, rows)))}).json()["upload"]
    job = api.post("/api/v1/print", json={"form": "annex2", "mode": "filled", "upload": upload_id,
                                          "year": 2022}).json()["job"]
    assert wait_job(lambda: api.get(f"/api/v1/jobs/{job}").json()["state"]) == "done"
    pdf = api.get(f"/api/v1/jobs/{job}/result")
    assert pdf.headers["content-type"] == "application/pdf"
    with pdfplumber.open(io.BytesIO(pdf.content)) as doc:
        assert len(doc.pages) == 1
