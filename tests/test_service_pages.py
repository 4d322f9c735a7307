"""The pages over the ledger through FastAPI's TestClient: 上传台账 → import, 上传扫描件 → parse,
复核 (one keystroke per value, conflicts between two reviewers), 台账 and the case page,
程序检查, 公示/公告, 月报; hostile uploads; and every route walked as a village-A user."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from .conftest import household, make_id, write_xlsx
from fanpin_forms.errors import Code
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.models import Audit, Case, FieldValue, Household, Operation, Page, ReviewItem, ScanFile
from fanpin_forms.service.app import create_app
from fanpin_forms.service.models import Job, Upload, session_factory
from .service_kit import (TOWNSHIP, VILLAGE_A, VILLAGE_B, add_users, csrf_of, login, make_settings, routes_of,
                          wait_job)

B_NAME, B_NO, B_ID = "钱八", "B-777", make_id(seq="777")
A_ID = make_id(seq="001")


@pytest.fixture(scope="module")
def web(tmp_path_factory, app):
    """One application for the module (accounts are slow to hash); tests use their own households."""
    tmp = tmp_path_factory.mktemp("pages")
    env = pytest.MonkeyPatch()  # module fixtures run before the per-test FANPIN_FORMS_HOME: never the user's
    env.setenv("FANPIN_FORMS_HOME", str(tmp))
    w = create_app(make_settings(tmp / "home", db_url=f"sqlite:///{tmp / 'ledger.db'}",
                                 upload_max_bytes=300_000, scan_max_bytes=400_000), app)
    add_users(w)
    yield w
    w.state.runner.shutdown()
    env.undo()


@pytest.fixture(scope="module")
def clients(web):
    return {name: client_as(web, name) for name in ("admin", "reviewer", "clerk_a", "clerk_b", "viewer")}


def client_as(web, name: str) -> TestClient:
    c = TestClient(web)
    assert login(c, name).status_code == 303
    return c


def csrf(c) -> str:
    return csrf_of(c.get("/").text)


def seed(web, *, village: str, no: str, name: str, idn: str, read: str = '"2022-06-01"') -> dict[str, int]:
    """One household with a case, a date value, a returned page and an open review item on it."""
    now = dt.datetime.now(dt.timezone.utc)
    ledger = Ledger.open(web.state.settings.db_url)
    try:
        with ledger.write() as s:
            op = Operation(kind="test", actor="test", at=now)
            s.add(op)
            h = Household(household_no=no, id_number=idn, head_name=name, township=TOWNSHIP, village=village)
            s.add(h)
            s.flush()
            c = Case(household_id=h.id, episode=1, opened_at=now)
            s.add(c)
            s.flush()
            s.add(FieldValue(case_id=c.id, field="home_visit_date", value='"2022-05-30"', source="import",
                             actor="test", at=now, pending=False))
            s.add(FieldValue(case_id=c.id, field="home_visit_date", value=read, source="scan", actor="test", at=now,
                             pending=True))
            f = ScanFile(sha256=(no * 64)[:64], name=f"{no}.pdf", size=1, stored_path="", actor="test", at=now)
            s.add(f)
            s.flush()
            p = Page(scan_file_id=f.id, page_no=1, case_id=c.id, status="flagged", at=now)
            s.add(p)
            s.flush()
            item = ReviewItem(page_id=p.id, case_id=c.id, field="home_visit_date", read_value=read, status="open")
            s.add(item)
            s.flush()
            return {"case": c.id, "page": p.id, "item": item.id}
    finally:
        ledger.close()


# --- every page, signed in -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/import", "/scans", "/cases", "/findings", "/notices", "/report", "/print", "/"])
def test_every_page_renders_in_chinese_for_a_village_clerk(clients, path):
    r = clients["clerk_a"].get(path)
    assert r.status_code == 200 and 'lang="zh-CN"' in r.text
    assert "http://" not in r.text.replace("http://127.0.0.1", "") and "https://" not in r.text  # no CDN


def test_pages_need_a_login(web):
    for path in ("/import", "/scans", "/review", "/cases", "/cases/1", "/findings", "/report/monthly"):
        r = TestClient(web).get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"


def test_a_village_clerk_may_not_review_and_read_only_may_not_import(clients):
    assert clients["clerk_a"].get("/review").status_code == 403
    assert clients["viewer"].get("/import").status_code == 403
    assert clients["viewer"].get("/scans").status_code == 403


# --- 上传台账 -------------------------------------------------------------------------------------


def xlsx(tmp_path, rows, name="台账.xlsx") -> bytes:
    return write_xlsx(tmp_path / name, rows).read_bytes()


def post_file(c, path: str, data: bytes, name: str, field: str = "file"):
    return c.post(path, data={"csrf_token": csrf(c)}, files={field: (name, io.BytesIO(data))}, follow_redirects=False)


def job_of(c, response) -> str:
    assert response.status_code == 303, response.text[:500]
    url = response.headers["location"]
    assert url.startswith("/jobs/")
    assert wait_job(lambda: "refresh" not in c.get(url).text and "done" or "running") == "done"
    return c.get(url).text


def test_upload_a_sheet_see_every_error_then_fix_and_import_with_what_changed(clients, tmp_path):
    c = clients["clerk_a"]
    bad = [household(**{"户编号": "P-001", "身份证号码": make_id(seq="101")}),
           household(**{"户编号": "P-002", "身份证号码": "4306211980", "户主姓名": "王五"})]
    r = post_file(c, "/import", xlsx(tmp_path, bad), "有错的台账.xlsx")
    assert r.status_code == 200 and "发现 1 个问题" in r.text
    row = re.search(r'<td class="num">(\d+)</td><td>([^<]*)</td>', r.text)
    assert row.group(1) == "3" and "身份证" in row.group(2)
    assert "4306211980" not in r.text
    good = [bad[0], dict(bad[1], **{"身份证号码": make_id(seq="102")})]
    r = post_file(c, "/import", xlsx(tmp_path, good), "改好的台账.xlsx")
    assert "全部通过检查" in r.text
    upload = re.search(r'action="/import/([0-9a-f]+)/run"', r.text).group(1)
    page = job_of(c, c.post(f"/import/{upload}/run", data={"csrf_token": csrf(c)}, follow_redirects=False))
    assert "新增 2 户，更新 0 户，未变 0 户" in page
    good[1]["家庭人口"] = 6
    r = post_file(c, "/import", xlsx(tmp_path, good), "改好的台账2.xlsx")
    upload = re.search(r'action="/import/([0-9a-f]+)/run"', r.text).group(1)
    page = job_of(c, c.post(f"/import/{upload}/run", data={"csrf_token": csrf(c)}, follow_redirects=False))
    assert "新增 0 户，更新 1 户，未变 1 户" in page and "<td>家庭人口</td>" in page
    cases = c.get("/cases").text
    assert "P-001" in cases and "王五" in cases and make_id(seq="102") not in cases


def test_a_village_clerk_importing_another_villages_row_is_refused_naming_the_row(clients, tmp_path):
    c = clients["clerk_a"]
    rows = [household(**{"户编号": "Q-001", "身份证号码": make_id(seq="201")}),
            household(**{"户编号": "Q-002", "村（社区）": VILLAGE_B, "身份证号码": make_id(seq="202")})]
    r = post_file(c, "/import", xlsx(tmp_path, rows), "两个村.xlsx")
    assert "不在您的辖区" in r.text
    upload = re.search(r'action="/import/([0-9a-f]+)/run"', r.text).group(1)
    r = c.post(f"/import/{upload}/run", data={"csrf_token": csrf(c), "skip_invalid": "1"}, follow_redirects=False)
    page = c.get(r.headers["location"]).text
    assert wait_job(lambda: "refresh" not in c.get(r.headers["location"]).text and "done" or "running") == "done"
    page = c.get(r.headers["location"]).text
    assert "第 3 行不在您的辖区" in page and "台账未作任何改动" in page
    assert "Q-001" not in c.get("/cases").text


# --- hostile uploads ---------------------------------------------------------------------------


def stored_files(web) -> set[str]:
    d = web.state.settings.uploads_dir
    return {p.name for p in d.iterdir()} if d.exists() else set()


def test_a_scan_that_is_not_a_pdf_or_image_is_refused_before_anything_is_stored(clients, web):
    c = clients["clerk_a"]
    before = stored_files(web)
    r = post_file(c, "/scans", b"MZ\x90\x00 not a pdf" * 10, "扫描.pdf", "files")
    assert r.status_code == 415 and Code.SVC_SCAN_TYPE.format(name="扫描.pdf") in r.text
    r = post_file(c, "/scans", b"%PDF-1.4 ...", "扫描.exe", "files")
    assert r.status_code == 415
    r = post_file(c, "/import", b"%PDF-1.4 ...", "台账.xlsx")
    assert r.status_code == 415
    assert stored_files(web) == before


def test_an_upload_over_the_cap_is_refused_in_chinese_and_leaves_nothing(clients, web):
    c = clients["clerk_a"]
    before = stored_files(web)
    r = post_file(c, "/scans", b"%PDF-1.4\n" + b"0" * 500_000, "大.pdf", "files")
    assert r.status_code == 413 and "上传的文件太大" in r.text
    r = post_file(c, "/import", b"PK\x03\x04" + b"0" * 400_000, "大.xlsx")
    assert r.status_code == 413
    assert stored_files(web) == before


def test_an_interrupted_scan_upload_leaves_nothing(web, clients):
    from fanpin_forms.service import work
    from fanpin_forms.service.accounts import Actor
    from fanpin_forms.service.models import User

    class Broken(io.BytesIO):
        """A connection that drops after the first megabyte."""

        def read(self, n=-1):
            if self.tell() >= 1024 * 1024:
                raise ConnectionResetError("client went away")
            return super().read(n)

    before = stored_files(web)
    settings = web.state.settings.with_changes(scan_max_bytes=10 * 1024 * 1024)
    with session_factory(web.state.engine)() as db:
        who = Actor.of(db.scalar(select(User).where(User.name == "clerk_a")))
        n = db.query(Upload).count()
        with pytest.raises(ConnectionResetError):
            work.store_scan(db, settings, who, Broken(b"%PDF-1.4\n" + b"1" * 3 * 1024 * 1024), "断了.pdf")
        assert db.query(Upload).count() == n
    assert stored_files(web) == before


def test_the_same_scan_uploaded_twice_is_stored_once_and_recognised(web, clients):
    from fanpin_forms.service import work
    from fanpin_forms.service.accounts import Actor
    from fanpin_forms.service.models import User

    png = _png()
    with session_factory(web.state.engine)() as db:
        who = Actor.of(db.scalar(select(User).where(User.name == "clerk_a")))
        first = work.store_scan(db, web.state.settings, who, io.BytesIO(png), "第一次.png")
        second = work.store_scan(db, web.state.settings, who, io.BytesIO(png), "第二次.png")
    assert not first.again and second.again and first.upload.id == second.upload.id


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(buf, "PNG")
    return buf.getvalue()


# --- 复核 ------------------------------------------------------------------------------------------


def test_accept_with_enter_and_correct_in_one_step_each_with_its_audit_row(web, clients):
    a = seed(web, village=VILLAGE_A, no="R-001", name="赵一", idn=make_id(seq="301"))
    b = seed(web, village=VILLAGE_A, no="R-002", name="赵二", idn=make_id(seq="302"))
    c = clients["reviewer"]
    page = c.get("/review").text
    assert f'id="item-{a["item"]}"' in page and f'id="item-{b["item"]}"' in page
    # Enter on the unchanged value: the form posts the value read back → accepted
    r = c.post(f"/review/{a['item']}", data={"csrf_token": csrf(c), "read": "2022-06-01", "value": "2022-06-01"},
               follow_redirects=False)
    assert r.status_code == 303 and "2022" not in r.headers["location"]  # no value in an address
    assert "已接受" in c.get(r.headers["location"]).text
    assert "请拨打" not in c.get("/review", params={"done": "户编号 请拨打 400-000"}).text  # no free text
    r = c.post(f"/review/{b['item']}", data={"csrf_token": csrf(c), "read": "2022-06-01", "value": "2022年6月3日"},
               headers={"Accept": "application/json"})
    assert r.json()["ok"] and r.json()["status"] == "corrected"
    ledger = Ledger.open(web.state.settings.db_url)
    with ledger.read() as s:
        facts = {cid: v for cid, v in s.execute(select(FieldValue.case_id, FieldValue.value).where(
            FieldValue.field == "home_visit_date", FieldValue.pending.is_(False),
            FieldValue.case_id.in_([a["case"], b["case"]])))}
        assert facts == {a["case"]: '"2022-06-01"', b["case"]: '"2022-06-03"'}
        assert not s.scalars(select(FieldValue).where(FieldValue.pending.is_(True),
                                                      FieldValue.case_id.in_([a["case"], b["case"]]))).all()
        audit = s.scalars(select(Audit).where(Audit.case_id == b["case"], Audit.source == "review")).all()
        assert audit and {x.actor for x in audit} == {"reviewer"}
        assert {x.status for x in s.scalars(select(ReviewItem).where(ReviewItem.id.in_([a["item"], b["item"]])))} \
            == {"accepted", "corrected"}
    ledger.close()
    assert f'id="item-{a["item"]}"' not in c.get("/review").text
    case = c.get(f"/cases/{b['case']}").text
    assert "2022-06-03" in case and "更正为" in case


def test_the_second_reviewer_of_one_value_sees_the_conflict_and_changes_nothing(web, clients):
    x = seed(web, village=VILLAGE_A, no="R-003", name="赵三", idn=make_id(seq="303"))
    first, second = clients["reviewer"], clients["admin"]
    form2 = second.get("/review").text  # both have the page open
    assert f'id="item-{x["item"]}"' in form2
    assert first.post(f"/review/{x['item']}", data={"csrf_token": csrf(first), "read": "2022-06-01",
                                                    "value": "2022-06-02"}, follow_redirects=False).status_code == 303
    r = second.post(f"/review/{x['item']}", data={"csrf_token": csrf(second), "read": "2022-06-01",
                                                  "value": "2022-06-01"})
    assert r.status_code == 409 and "已由「reviewer」复核为「2022-06-02」" in r.text
    ledger = Ledger.open(web.state.settings.db_url)
    with ledger.read() as s:
        assert s.scalar(select(FieldValue.value).where(FieldValue.case_id == x["case"], FieldValue.pending.is_(False),
                                                       FieldValue.field == "home_visit_date")) == '"2022-06-02"'
    ledger.close()


def test_a_correction_that_is_not_a_date_is_refused_in_chinese(web, clients):
    x = seed(web, village=VILLAGE_A, no="R-004", name="赵四", idn=make_id(seq="304"))
    c = clients["reviewer"]
    r = c.post(f"/review/{x['item']}", data={"csrf_token": csrf(c), "read": "2022-06-01", "value": "六月"})
    assert r.status_code == 409 and "不是有效的日期" in r.text


# --- the case page: full ID only there, for an authorised user --------------------------------------


def test_the_full_id_number_is_on_the_case_page_only_and_not_for_read_only(web, clients):
    idn = make_id(seq="401")
    x = seed(web, village=VILLAGE_A, no="S-001", name="孙一", idn=idn)
    assert idn in clients["clerk_a"].get(f"/cases/{x['case']}").text
    assert idn not in clients["viewer"].get(f"/cases/{x['case']}").text
    for path in ("/cases", "/review", "/findings", "/"):
        for who in ("clerk_a", "reviewer"):
            r = clients[who].get(path)
            assert idn not in r.text, (who, path)


# --- every route, as a village-A user ----------------------------------------------------------------


def test_every_route_as_a_village_a_user_shows_nothing_of_village_b(web, clients, tmp_path):
    """Every GET route of the application (from ``app.routes``), with village B's real ids and
    guessed ones in its path: nothing of village B comes back."""
    from starlette.routing import Route

    b = seed(web, village=VILLAGE_B, no=B_NO, name=B_NAME, idn=B_ID)
    clerk_b = clients["clerk_b"]
    r = post_file(clerk_b, "/import", xlsx(tmp_path, [household(**{"户编号": "B-778", "户主姓名": "钱九",
                                                                 "村（社区）": VILLAGE_B,
                                                                 "身份证号码": make_id(seq="778")})]), "b村.xlsx")
    upload_b = re.search(r'action="/import/([0-9a-f]+)/run"', r.text).group(1)
    r = clerk_b.post(f"/import/{upload_b}/run", data={"csrf_token": csrf(clerk_b)}, follow_redirects=False)
    job_b = r.headers["location"].rsplit("/", 1)[-1]
    ids = {"case_id": [b["case"], *range(1, 40)], "page_id": [b["page"], *range(1, 40)],
           "item_id": [b["item"], *range(1, 40)], "job_id": [job_b, "0" * 32], "upload_id": [upload_b, "0" * 32],
           "token_id": [999_999], "kind": ["village", "county"]}
    secrets_b = [B_NAME, B_NO, "钱九", "B-778", B_ID, upload_b]
    c = clients["clerk_a"]
    token = re.search(r'<code class="secret">([^<]+)</code>',
                      c.post("/tokens", data={"csrf_token": csrf(c), "label": "walk"}).text).group(1)
    api = TestClient(web, headers={"Authorization": f"Bearer {token}"})
    b_ids = {"case_id": b["case"], "page_id": b["page"], "item_id": b["item"], "job_id": job_b, "upload_id": upload_b}
    walked = 0
    routes = routes_of(web)
    assert {"/cases/{case_id}", "/review/{item_id}", "/jobs/{job_id}"} <= {p for p, _ in routes}
    for route, methods in routes:
        params = re.findall(r"{(\w+)(?::\w+)?}", route)
        combos = [{}]
        for name in params:
            combos = [dict(x, **{name: v}) for x in combos for v in ids.get(name, ["1"])]
        for values in combos[:120]:
            path = route
            for name, v in values.items():
                path = re.sub(r"{%s(?::\w+)?}" % name, str(v), path)
            if path.startswith("/api/v1/docs") or path in ("/logout", "/login"):
                continue
            who = api if path.startswith("/api/") else c
            for method in sorted(methods & {"GET", "POST"}):
                if method == "GET":
                    r = who.get(path, params={"month": "2022-06"} if "report" in path else None)
                elif values:  # a post naming something by id
                    r = who.post(path, data={"csrf_token": csrf(c), "value": "2022-01-01"}, json=None) \
                        if who is c else who.post(path, json={})
                else:
                    continue
                walked += 1
                body = r.content.decode("utf-8", "replace")
                for secret in secrets_b:
                    assert secret not in body, (method, path, secret)
                if any(b_ids.get(name) == v for name, v in values.items()):
                    assert r.status_code in (403, 404), (method, path, r.status_code)
    assert walked > 250
    # and the posts that take an id: B's review item, B's upload
    r = clients["reviewer"].get("/review")  # the township reviewer sees both villages
    assert f'id="item-{b["item"]}"' in r.text
    r = c.post(f"/import/{upload_b}/run", data={"csrf_token": csrf(c)}, follow_redirects=False)
    assert r.status_code == 404
    admin = clients["admin"]
    assert B_NAME in admin.get(f"/cases/{b['case']}").text  # the county sees it: the walk could have failed


def test_the_monthly_report_downloads_for_the_area_and_a_bad_month_is_explained(clients):
    from openpyxl import load_workbook

    r = clients["clerk_a"].get("/report/monthly", params={"month": "2022-06"})
    assert r.status_code == 200 and r.content.startswith(b"PK")
    assert "attachment" in r.headers["content-disposition"]
    cells = {str(c) for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)
             for c in row if c is not None}
    assert VILLAGE_B not in cells
    r = clients["clerk_a"].get("/report/monthly", params={"month": "六月"})
    assert r.status_code == 400 and "月份「六月」无效" in r.text


OTHER_TOWNSHIP, OTHER_VILLAGE = "白鹤镇", "柳塘村"


def _place_household(web, *, township: str, village: str, no: str, seq: str) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    ledger = Ledger.open(web.state.settings.db_url)
    try:
        with ledger.write() as s:
            h = Household(household_no=no, id_number=make_id(seq=seq), head_name="周九", township=township,
                          village=village)
            s.add(h)
            s.flush()
            s.add(Case(household_id=h.id, episode=1, opened_at=now))
    finally:
        ledger.close()


def _options(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]*\|[^"]*)"', html)


def test_the_print_page_picks_only_places_of_the_users_area_and_refuses_one_outside(web, clients):
    _place_household(web, township=TOWNSHIP, village=VILLAGE_A, no="P-A01", seq="901")
    _place_household(web, township=TOWNSHIP, village=VILLAGE_B, no="P-B01", seq="902")
    _place_household(web, township=OTHER_TOWNSHIP, village=OTHER_VILLAGE, no="P-O01", seq="903")
    admin = _options(clients["admin"].get("/print").text)
    assert f"{OTHER_TOWNSHIP}|{OTHER_VILLAGE}" in admin and f"{TOWNSHIP}|{VILLAGE_B}" in admin
    assert f"{TOWNSHIP}|" in admin  # a county admin may print a whole township
    reviewer = _options(clients["reviewer"].get("/print").text)
    assert set(reviewer) >= {f"{TOWNSHIP}|{VILLAGE_A}", f"{TOWNSHIP}|{VILLAGE_B}"}
    assert not any(o.startswith(OTHER_TOWNSHIP) for o in reviewer)
    clerk = clients["clerk_a"].get("/print").text
    assert _options(clerk) == [] and f"打印范围：{TOWNSHIP}{VILLAGE_A}" in clerk and VILLAGE_B not in clerk

    def submit(who: str, place: str):
        c = clients[who]
        return c.post("/print", data={"csrf_token": csrf(c), "form": "annex2", "mode": "ledger", "year": "2022",
                                      "place": place}, follow_redirects=False)

    # a township reviewer typing a village of another township into the form: refused, no job
    with session_factory(web.state.engine)() as db:
        jobs_before = len(db.scalars(select(Job)).all())
    refused = submit("reviewer", f"{OTHER_TOWNSHIP}|{OTHER_VILLAGE}")
    assert refused.status_code == 403 and "没有权限" in refused.text
    assert submit("clerk_a", f"{TOWNSHIP}|{VILLAGE_B}").status_code == 403
    assert submit("reviewer", f"{TOWNSHIP}|没有这个村").status_code == 400
    with session_factory(web.state.engine)() as db:
        assert len(db.scalars(select(Job)).all()) == jobs_before
    # the reviewer prints village B of their township: only its households
    page = job_of(clients["reviewer"], submit("reviewer", f"{TOWNSHIP}|{VILLAGE_B}"))
    with session_factory(web.state.engine)() as db:
        job = db.scalars(select(Job).order_by(Job.created.desc())).first()
    assert job.params["township"] == TOWNSHIP and job.params["village"] == VILLAGE_B
    ledger = Ledger.open(web.state.settings.db_url)
    try:
        with ledger.read() as s:
            in_b = len(s.scalars(select(Household).where(Household.township == TOWNSHIP,
                                                         Household.village == VILLAGE_B)).all())
    finally:
        ledger.close()
    from fanpin_forms.service.jobs import read_summary

    assert job.state == "done" and read_summary(Path(job.result_path).parent)["printed"] == in_b, page[:500]
