"""``fanpin ledger evidence add|list``: evidence of a disputed household, stored once, checked first.

Every test runs on SQLite and on PostgreSQL; files are real PDFs (pdfium), images (Pillow)
and Word files (python-docx)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from .conftest import household, make_id, write_xlsx
from fanpin_forms.cli import cli
from fanpin_forms.ledger import evidence as E
from fanpin_forms.ledger.attach import files_dir
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.models import Audit, Case, Evidence, Operation
from fanpin_forms.privacy.leakguard import find

ID1 = make_id(seq="001")
PHONE = "13807301234"


@pytest.fixture
def db(runner, ledger_url, tmp_path):
    data = write_xlsx(tmp_path / "h.xlsx", [
        household(**{"户编号": "T-001", "户主姓名": "张三", "身份证号码": ID1, "联系电话": PHONE}),
        household(**{"户编号": "T-002", "户主姓名": "李四", "身份证号码": make_id(seq="002")})])
    result = runner.invoke(cli, ["ledger", "import", str(data), "--db", ledger_url])
    assert result.exit_code == 0, result.output
    return ledger_url


def pdf(path: Path, pages: int = 1) -> Path:
    import pypdfium2

    doc = pypdfium2.PdfDocument.new()
    for _ in range(pages):
        doc.new_page(595, 842)
    doc.save(str(path))
    doc.close()
    return path


def image(path: Path, fmt: str | None = None, color: str = "white") -> Path:
    from PIL import Image

    Image.new("RGB", (64, 48), color).save(path, format=fmt)
    return path


def docx(path: Path) -> Path:
    from docx import Document

    d = Document()
    d.add_paragraph("村民代表会议记录")
    d.save(str(path))
    return path


def state(url: str) -> dict:
    ledger = Ledger.open(url)
    try:
        with ledger.read() as s:
            return {"evidence": s.scalar(sa.select(sa.func.count()).select_from(Evidence)),
                    "operations": s.scalar(sa.select(sa.func.count()).select_from(Operation)),
                    "audit": s.scalar(sa.select(sa.func.count()).select_from(Audit)),
                    "disputed": sorted(s.scalars(sa.select(Case.id).where(Case.disputed.is_(True)))),
                    "store": sorted(p.name for p in (files_dir(ledger) / "evidence").rglob("*") if p.is_file())}
    finally:
        ledger.close()


def test_add_stores_once_marks_disputed_and_audits(runner, db, tmp_path):
    files = [pdf(tmp_path / "会议记录.pdf"), image(tmp_path / "入户照片.jpg"), docx(tmp_path / "情况说明.docx")]
    before = state(db)
    result = runner.invoke(cli, ["ledger", "evidence", "add", "T-001", *map(str, files), "--note", "村民代表会议有异议",
                                 "--db", db])
    assert result.exit_code == 0, result.output
    assert "已添加证据材料 3 个" in result.output and "存在较大争议" in result.output
    after = state(db)
    assert after["evidence"] == 3 and after["operations"] == before["operations"] + 1
    assert after["audit"] == before["audit"] + 4  # three files and the mark, in one operation
    assert len(after["disputed"]) == 1 and len(after["store"]) == 3
    ledger = Ledger.open(db)
    try:
        store = files_dir(ledger) / "evidence"
        for f in files:
            copy = next(store.rglob(E.file_sha256(f)[0] + f.suffix))
            assert copy.read_bytes() == f.read_bytes()
            assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        with ledger.read() as s:
            ops = set(s.scalars(sa.select(Audit.operation_id).where(Audit.field.in_(["evidence", "disputed"]))))
            assert len(ops) == 1
    finally:
        ledger.close()
    # the same file again, under another name: recognised, not attached twice
    again = tmp_path / "照片副本.jpg"
    again.write_bytes(files[1].read_bytes())
    result = runner.invoke(cli, ["ledger", "evidence", "add", "T-001", str(again), "--note", "重复", "--db", db])
    assert result.exit_code == 0 and "以前已附到这一户" in result.output
    assert state(db)["evidence"] == 3 and len(state(db)["store"]) == 3


def test_disputed_is_visible_in_status_history_list_and_export(runner, db, tmp_path):
    f = image(tmp_path / "照片.png", color="red")
    assert runner.invoke(cli, ["ledger", "evidence", "add", "T-002", str(f), "--note", "入户照片",
                               "--db", db]).exit_code == 0
    status = runner.invoke(cli, ["ledger", "status", "--db", db, "--as-of", "2022-07-01"])
    assert "存在较大争议 1 户" in status.output and "李四〔争议〕" in status.output
    assert "张三〔争议〕" not in status.output
    history = runner.invoke(cli, ["ledger", "history", "T-002", "--db", db])
    assert "存在较大争议" in history.output and "否 → 是" in history.output and "照片.png（入户照片）" in history.output
    listing = runner.invoke(cli, ["ledger", "evidence", "list", "T-002", "--db", db])
    assert listing.exit_code == 0 and "PNG 图片" in listing.output and "入户照片" in listing.output
    assert "存在较大争议" in listing.output
    out = tmp_path / "台账.xlsx"
    assert runner.invoke(cli, ["ledger", "export", "-o", str(out), "--db", db]).exit_code == 0
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    col = rows[0].index("存在较大争议")
    assert {r[0]: r[col] for r in rows[1:]} == {"T-001": None, "T-002": "是"}
    reimport = runner.invoke(cli, ["ledger", "import", str(out), "--db", db])
    assert reimport.exit_code == 0 and "未变 2 户" in reimport.output and "存在较大争议" not in reimport.output


@pytest.mark.parametrize("bad, why", [
    ("fake.jpg", "与扩展名「.jpg」不符"),
    ("notes.pdf", "证据材料只能是"),
    ("empty.png", "文件是空的"),
    ("missing.pdf", "文件不存在"),
    ("big.pdf", "证据材料文件太大"),
])
def test_bad_file_stores_nothing(runner, db, tmp_path, monkeypatch, bad, why):
    good = pdf(tmp_path / "good.pdf")
    path = tmp_path / bad
    if bad == "fake.jpg":
        image(path, fmt="PNG")
    elif bad == "notes.pdf":
        path.write_text("这不是 PDF", encoding="utf-8")
    elif bad == "empty.png":
        path.write_bytes(b"")
    elif bad == "big.pdf":
        pdf(path, pages=30)
        monkeypatch.setattr(E.limits, "EVIDENCE_MAX_BYTES", path.stat().st_size - 1)
    before = state(db)
    result = runner.invoke(cli, ["ledger", "evidence", "add", "T-001", str(good), str(path), "--note", "说明",
                                 "--db", db])
    assert result.exit_code == 1 and why in result.output and bad in result.output
    assert "Traceback" not in result.output
    assert state(db) == before


def test_unknown_case_and_missing_note(runner, db, tmp_path):
    f = pdf(tmp_path / "a.pdf")
    before = state(db)
    result = runner.invoke(cli, ["ledger", "evidence", "add", "T-00l", str(f), "--note", "x", "--db", db])
    assert result.exit_code == 1 and "台账中没有户编号或案件编号为「T-00l」的户" in result.output
    result = runner.invoke(cli, ["ledger", "evidence", "add", "T-001", str(f), "--note", "  ", "--db", db])
    assert result.exit_code == 1 and "--note" in result.output
    result = runner.invoke(cli, ["ledger", "evidence", "add", "T-001", str(f), "--db", db])
    assert result.exit_code == 2 and "--note" in result.output
    assert state(db) == before


def test_case_named_by_case_number(runner, db, tmp_path):
    ledger = Ledger.open(db)
    with ledger.read() as s:
        cid = s.scalar(sa.select(Case.id).order_by(Case.id.desc()).limit(1))
    ledger.close()
    result = runner.invoke(cli, ["ledger", "evidence", "add", f"案件{cid}", str(pdf(tmp_path / "a.pdf")), "--note", "x",
                                 "--db", db])
    assert result.exit_code == 0, result.output
    assert state(db)["disputed"] == [cid]


def test_private_data_in_notes_and_names_is_masked(runner, db, tmp_path):
    f = image(tmp_path / f"张三{ID1}.jpg")
    other = make_id(birth="19751203", seq="117")  # shares 430621 with the household's ID
    note = f"户主电话 {PHONE}，身份证 {ID1}，证人 {other}"
    assert runner.invoke(cli, ["ledger", "evidence", "add", "T-001", str(f), "--note", note, "--db", db]).exit_code == 0
    for args in (["ledger", "evidence", "list", "T-001"], ["ledger", "history", "T-001"]):
        out = runner.invoke(cli, [*args, "--db", db]).output
        assert ID1 not in out and PHONE not in out and other[6:14] not in out
        assert not find(out), out


def test_failed_transaction_removes_the_copies_it_made(app, db, tmp_path, monkeypatch):
    f = pdf(tmp_path / "a.pdf")
    before = state(db)

    def boom(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(E, "_write", boom)
    ledger = Ledger.open(db)
    with pytest.raises(KeyboardInterrupt):
        E.add_evidence(app.ledger_setup(), ledger, "T-001", [f], "说明")
    ledger.close()
    assert state(db) == before
