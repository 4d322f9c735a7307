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
    env = pytest.MonkeyPatch()  # module fixtures run before the per-test FANPIN_FORMS_HOME: never the user's
    env.setenv("FANPIN_FORMS_HOME", str(home))
    web = create_app(make_settings(home, throttle_per_user=3, db_url=f"sqlite:///{home / 'ledger.db'}"), app)
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
    env.undo()


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
    page.click("text=核对农户信息表")
    page.select_option("select[name=form]", "annex2")
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('上传并检查')")
    cells = page.eval_on_selector_all("table.problems tbody tr",
                                      "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    found = {(c[1], c[2]) for c in cells}
    assert {("3", "身份证号码"), ("4", "家庭人口"), ("5", "联系电话")} <= found
    assert all(c[0].startswith("杨林村台账.xlsx") for c in cells)
    assert make_id(seq="004") not in page.content()
    page.screenshot(path=shots / "04-核对农户信息表-错误.png", full_page=True)
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
    page.click("nav a[href='/print']")
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


# --- the walk over the ledger: import, print, scans, review, case, report, refusal -----------

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(scope="module")
def returned_scans(tmp_path_factory, app):
    """The sample scans (as ``samples/make_scans.py`` makes them for ``make demo``): two households'
    application and approval forms and two risk-elimination forms, signed, scanned, shuffled, with
    a foreign page and a page scanned twice. Made here because their QR codes carry this
    installation's key."""
    from tests.scansim import simulate

    out = tmp_path_factory.mktemp("scans") / "returned-scans.pdf"
    forms = []
    for form_id, first in (("annex1", 9), ("annex2", 9), ("annex3", 13)):
        records = app.load_and_check(app.form(form_id), SAMPLES / "households.xlsx").records
        forms.append((form_id, records[first:first + 2]))
    simulate(app, out, forms=forms, seed=20221129, dpi=150, jpeg_quality=(55, 70))
    return out


def _wait_job(page, timeout_ms: int = 300_000) -> None:
    """The job page refreshes itself every 2 s until the job has ended."""
    page.wait_for_function("() => !document.querySelector('meta[http-equiv=refresh]')", timeout=timeout_ms)


def test_the_ledger_walk_import_print_scans_review_case_report_and_refusal(server, browser, shots, tmp_path,
                                                                          returned_scans):
    import io

    import pdfplumber
    from openpyxl import load_workbook

    base, web = server
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    _login(page, base, "clerk_a")

    # 上传台账: the sample ledger with two mistakes, then as it is
    wb = load_workbook(SAMPLES / "ledger.xlsx")
    ws = wb.active
    ws["C5"] = "43062119840111686"  # one digit short
    ws["D7"] = "很多"
    broken = tmp_path / "杨林村台账-有错.xlsx"
    wb.save(broken)
    page.click("nav a[href='/import']")
    page.screenshot(path=shots / "10-上传台账.png", full_page=True)
    page.set_input_files("input[name=file]", str(broken))
    page.click("button:has-text('上传并检查')")
    cells = page.eval_on_selector_all("table.problems tbody tr",
                                      "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    found = {(c[1], c[2]) for c in cells}
    assert ("5", "身份证号码") in found and ("7", "家庭人口") in found, cells
    assert "43062119840111686" not in page.content()
    page.screenshot(path=shots / "11-上传台账-错误.png", full_page=True)
    page.set_input_files("input[name=file]", str(SAMPLES / "ledger.xlsx"))
    page.click("button:has-text('上传并检查')")
    assert "全部通过检查" in page.inner_text("main")
    page.click("button:has-text('导入台账')")
    _wait_job(page)
    text = page.inner_text("main")
    assert "新增 20 户，更新 0 户，未变 0 户" in text, text
    page.screenshot(path=shots / "12-导入完成.png", full_page=True)

    # 台账: the village's cases by stage, overdue first
    page.click("nav a[href='/cases']")
    assert "超期" in page.inner_text("main") and "YY-RJW-011" in page.inner_text("main")
    assert "430621198401116866" not in page.content()
    page.screenshot(path=shots / "13-台账.png", full_page=True)

    # 打印: the village pre-filled from the ledger, as one PDF
    page.click("nav a[href='/print']")
    page.select_option("select[name=form]", "annex2")
    page.check("input[value=ledger]")
    page.click("button:has-text('开始生成')")
    _wait_job(page)
    assert "台账已记录 20 份表" in page.inner_text("main")
    with page.expect_download() as info:
        page.click("text=下载")
    with pdfplumber.open(io.BytesIO(Path(info.value.path()).read_bytes())) as pdf:
        assert len(pdf.pages) == 20
    page.screenshot(path=shots / "14-打印完成.png", full_page=True)

    # 上传扫描件: the returned scans, read page by page into the cases
    page.click("nav a[href='/scans']")
    page.screenshot(path=shots / "15-上传扫描件.png", full_page=True)
    page.set_input_files("input[name=files]", [str(returned_scans)])
    page.click("button:has-text('上传并识别')")
    assert "/jobs/" in page.url
    page.screenshot(path=shots / "16-识别进行中.png", full_page=True)
    _wait_job(page, 600_000)
    rows = page.eval_on_selector_all("table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    outcomes = [r[2] for r in rows]
    assert "不是本系统的表" in outcomes and "重复" in outcomes and "失败" not in outcomes, rows
    assert all(r[3] for r in rows if r[2] in ("不是本系统的表", "重复")), rows  # each with its reason
    page.screenshot(path=shots / "17-识别结果.png", full_page=True)

    # 复核: every flagged item with the keyboard (Enter accepts, the focus moves on)
    reviewer = browser.new_context(locale="zh-CN").new_page()
    said: list[str] = []
    reviewer.on("console", lambda m: said.append(m.text))
    reviewer.on("response", lambda r: said.append(f"{r.status} {r.url}") if "/review/" in r.url else None)
    _login(reviewer, base, "admin")
    reviewer.goto(base + "/review")
    items = reviewer.locator("section.review-item").count()
    reviewer.screenshot(path=shots / "18-复核.png", full_page=True)
    if items:
        reviewer.locator("section.review-item input[name=value]").first.focus()
        for n in range(items):
            reviewer.keyboard.press("Enter")
            try:
                reviewer.wait_for_function(
                    f"() => document.querySelectorAll('section.review-item.decided').length > {n}", timeout=15_000)
            except playwright_api.TimeoutError:
                raise AssertionError(said) from None
        assert "全部复核完毕" in reviewer.inner_text("#status")
        reviewer.screenshot(path=shots / "19-复核完毕.png", full_page=True)
        reviewer.goto(base + "/review")
        assert reviewer.locator("section.review-item").count() == 0
    # the case is updated: its returned pages, its review history, its timeline
    page.click("nav a[href='/cases']")
    page.click("text=YY-RJW-010")
    main = page.inner_text("main")
    assert "交回的扫描页" in main and page.locator(".thumbs img").count() >= 1
    page.wait_for_function("() => [...document.querySelectorAll('.thumbs img')].every(i => i.complete && i.naturalWidth > 0)")
    assert "430621" in page.content()  # the clerk who handles the case sees the full ID number here
    page.screenshot(path=shots / "20-户.png", full_page=True)
    case_url = page.url

    # 程序检查, 公示/公告
    page.click("nav a[href='/findings']")
    assert "错误" in page.inner_text("main")
    page.screenshot(path=shots / "21-程序检查.png", full_page=True)
    page.click("nav a[href='/notices']")
    page.screenshot(path=shots / "22-公示公告.png", full_page=True)
    with page.expect_download() as info:
        page.click("text=下载村级公示")
    assert Path(info.value.path()).read_bytes().startswith(b"PK")

    # 月报
    page.click("nav a[href='/report']")
    page.fill("input[name=month]", "2022-07")
    page.screenshot(path=shots / "23-月报.png", full_page=True)
    with page.expect_download() as info:
        page.click("button:has-text('下载月报')")
    assert info.value.suggested_filename.endswith(".xlsx")
    report = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    cells = [str(c) for row in report.active.iter_rows(values_only=True) for c in row if c is not None]
    assert any("2022" in c and "7" in c for c in cells) and VILLAGE_A in cells, cells[:20]
    assert not any(c.startswith("4306") and len(c) >= 15 for c in cells)

    # a village-B user opening a village-A case is refused
    other = browser.new_context(locale="zh-CN").new_page()
    _login(other, base, "clerk_b")
    r = other.goto(case_url)
    assert r.status == 404 and Code.SVC_NOT_FOUND.format() in other.inner_text(".alert")
    assert "YY-RJW-010" not in other.content()
    other.screenshot(path=shots / "24-他村的户.png", full_page=True)
