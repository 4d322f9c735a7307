"""The pages over the ledger through FastAPI's TestClient: 上传台账 → import, 上传扫描件 → parse,
复核 (one keystroke per value, conflicts between two reviewers), 台账 and the case page,
程序检查, 公示/公告, 月报; hostile uploads; and every route walked as a village-A user."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from .conftest import household, make_id, write_xlsx
from fanpin_forms.errors import Code
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.models import Audit, Case, FieldValue, Household, Operation, Page, ReviewItem, ScanFile
from fanpin_forms.service.app import create_app
from fanpin_forms.service.models import Job, Upload, session_factory
from .service_kit import TOWNSHIP, VILLAGE_A, VILLAGE_B, add_users, csrf_of, login, make_settings, wait_job

B_NAME, B_NO, B_ID = "钱八", "B-777", make_id(seq="777")
A_ID = make_id(seq="001")


@pytest.fixture
def web(tmp_path, app):
    w = create_app(make_settings(tmp_path / "home", db_url=f"sqlite:///{tmp_path / 'ledger.db'}",
                                 upload_max_bytes=300_000, scan_max_bytes=400_000), app)
    add_users(w)
    yield w
    w.state.runner.shutdown()


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
def test_every_page_renders_in_chinese_for_a_village_clerk(web, path):
    r = client_as(web, "clerk_a").get(path)
    assert r.status_code == 200 and 'lang="zh-CN"' in r.text
    assert "http://" not in r.text.replace("http://127.0.0.1", "") and "https://" not in r.text  # no CDN


def test_pages_need_a_login(web):
    for path in ("/import", "/scans", "/review", "/cases", "/cases/1", "/findings", "/report/monthly"):
        r = TestClient(web).get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"


def test_a_village_clerk_may_not_review_and_read_only_may_not_import(web):
    assert client_as(web, "clerk_a").get("/review").status_code == 403
    assert client_as(web, "viewer").get("/import").status_code == 403
    assert client_as(web, "viewer").get("/scans").status_code == 403
