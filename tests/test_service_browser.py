"""The web service in a real browser: Debian's chromium, driven by Playwright, against
uvicorn on a free loopback port. Screenshots go to a temporary folder
(``FANPIN_FORMS_SHOTS`` keeps them somewhere else, to look at)."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from .conftest import household, make_id, write_xlsx
from fanpin_forms.errors import Code
from .service_kit import PASSWORD, TOWNSHIP, VILLAGE_A, add_users, make_settings

CHROMIUM = Path("/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, app):
    import uvicorn

    from fanpin_forms.service.app import create_app

    home = tmp_path_factory.mktemp("svc-home")
    web = create_app(make_settings(home, throttle_per_user=3), app)
    add_users(web)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", web
    srv.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots():
    folder = Path(os.environ.get("FANPIN_FORMS_SHOTS") or tempfile.mkdtemp(prefix="fanpin-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _login(page, base: str, name: str, password: str = PASSWORD) -> None:
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_login_wrong_then_right(server, browser, shots):
    base, _ = server
    page = browser.new_context(locale="zh-CN").new_page()
    _login(page, base, "clerk_a", "wrong-password")
    assert Code.SVC_LOGIN_FAILED.format() in page.inner_text(".alert")
    page.screenshot(path=shots / "01-登录失败.png", full_page=True)
    _login(page, base, "clerk_a")
    assert page.url == base + "/"
    assert f"{TOWNSHIP}{VILLAGE_A}" in page.inner_text("h1")
    page.screenshot(path=shots / "02-首页.png", full_page=True)
    cookie = next(c for c in page.context.cookies() if c["name"] == "fanpin_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_a_post_without_the_csrf_token_is_refused(server, browser):
    base, web = server
    page = browser.new_context().new_page()
    _login(page, base, "clerk_a")
    r = page.request.post(base + "/print", form={"form": "annex2", "mode": "blank", "copies": "1"},
                          max_redirects=0)
    assert r.status == 403 and Code.SVC_CSRF.format() in r.text()


def test_login_throttling(server, browser, shots):
    base, _ = server
    page = browser.new_context().new_page()
    for _ in range(3):
        _login(page, base, "reviewer", "wrong-password")
    _login(page, base, "reviewer")
    assert Code.SVC_LOGIN_THROTTLED.format(minutes=15) in page.inner_text(".alert")
    assert page.url.endswith("/login")
    page.screenshot(path=shots / "03-登录过多.png", full_page=True)


def test_upload_a_sheet_with_errors_and_see_them_by_row_and_label(server, browser, shots, tmp_path):
    base, _ = server
    rows = [household(), household(**{"户编号": "T-002", "身份证号码": make_id(seq="002")[:-1] + "X"}),
            household(**{"户编号": "T-003", "家庭人口": "很多", "身份证号码": make_id(seq="003")}),
            household(**{"户编号": "T-004", "联系电话": "12345", "身份证号码": make_id(seq="004")})]
    path = write_xlsx(tmp_path / "杨林村台账.xlsx", rows)
    page = browser.new_context().new_page()
    _login(page, base, "clerk_a")
    page.click("text=上传台账")
    page.select_option("select[name=form]", "annex2")
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('上传并检查')")
    cells = page.eval_on_selector_all("table.problems tbody tr",
                                      "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    found = {(c[1], c[2]) for c in cells}
    assert {("3", "身份证号码"), ("4", "家庭人口"), ("5", "联系电话")} <= found
    assert all(c[0].startswith("杨林村台账.xlsx") for c in cells)
    assert make_id(seq="004") not in page.content()
    page.screenshot(path=shots / "04-上传台账-错误.png", full_page=True)
    # a file that is not a spreadsheet
    fake = tmp_path / "照片.xlsx"
    fake.write_bytes(b"\x89PNG\r\n\x1a\nnot a sheet")
    page.set_input_files("input[name=file]", str(fake))
    page.click("button:has-text('上传并检查')")
    assert Code.SVC_UPLOAD_TYPE.format(name="照片.xlsx") in page.inner_text(".alert")


def test_print_a_blank_form_job_and_download_the_pdf(server, browser, shots):
    base, web = server
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    _login(page, base, "clerk_a")
    page.click("text=打印")
    page.screenshot(path=shots / "05-打印.png", full_page=True)
    page.select_option("select[name=form]", "annex1")
    page.check("input[value=blank]")
    page.fill("input[name=copies]", "2")
    page.click("button:has-text('开始生成')")
    assert "/jobs/" in page.url
    page.screenshot(path=shots / "06-任务进行中.png", full_page=True)
    page.wait_for_selector("text=下载", timeout=240_000)  # the page refreshes itself (no JS)
    page.screenshot(path=shots / "07-任务完成.png", full_page=True)
    with page.expect_download() as info:
        page.click("text=下载")
    data = Path(info.value.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    import pdfplumber, io

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 2
    test_print_a_blank_form_job_and_download_the_pdf.job_url = page.url


def test_a_village_b_user_cannot_reach_village_a_job_or_upload(server, browser, shots):
    base, web = server
    job_url = getattr(test_print_a_blank_form_job_and_download_the_pdf, "job_url", None)
    if job_url is None:
        pytest.skip("needs the print test's job")
    page = browser.new_context().new_page()
    _login(page, base, "clerk_b")
    r = page.goto(job_url)
    assert r.status == 404 and Code.SVC_NOT_FOUND.format() in page.inner_text(".alert")
    page.screenshot(path=shots / "08-他村任务.png", full_page=True)
    assert page.goto(job_url + "/download").status == 404
    from sqlalchemy import select

    from fanpin_forms.service.models import Upload, session_factory

    with session_factory(web.state.engine)() as db:
        upload_id = db.scalar(select(Upload.id))
    page.goto(f"{base}/print?upload={upload_id}")
    assert upload_id not in page.content()
    assert "杨林村台账" not in page.content()
