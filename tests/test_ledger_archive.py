"""``fanpin ledger archive --village … -o DIR``: one village's archive, written whole or not at all.

Real parts: forms printed by ``fanpin fill --ledger`` (docxtpl), a real three-page scan PDF
(pdfium) attached for two households, evidence through ``ledger evidence add``; SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pypdfium2
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from .conftest import household, make_id, write_xlsx
from .test_ledger_attach import date_item, record
from .test_ledger_evidence import image
from fanpin_forms.cli import cli
from fanpin_forms.ledger.attach import attach_scans, files_dir
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.models import Evidence, Household
from fanpin_forms.privacy.leakguard import find

ID1, ID2, ID3 = make_id(seq="001"), make_id(seq="002"), make_id(seq="003")


def scan_pdf(path: Path, widths: list[int]) -> Path:
    """A PDF whose pages can be told apart by their width."""
    doc = pypdfium2.PdfDocument.new()
    for w in widths:
        doc.new_page(w, 842)
    doc.save(str(path))
    doc.close()
    return path


def widths(path: Path) -> list[int]:
    doc = pypdfium2.PdfDocument(str(path))
    try:
        return [round(doc[i].get_width()) for i in range(len(doc))]
    finally:
        doc.close()


@pytest.fixture
def village(runner, app, ledger_url, tmp_path):
    """Two households of 杨林村 with printed forms, one scan batch and evidence; one of 清水村."""
    data = write_xlsx(tmp_path / "h.xlsx", [
        household(**{"户编号": "T-001", "户主姓名": "张三", "身份证号码": ID1}),
        household(**{"户编号": "T-002", "户主姓名": "李四", "身份证号码": ID2, "联系电话": "13907305678"}),
        household(**{"户编号": "T-003", "户主姓名": "王五", "身份证号码": ID3, "村（社区）": "清水村"})])
    assert runner.invoke(cli, ["ledger", "import", str(data), "--db", ledger_url]).exit_code == 0
    forms = tmp_path / "forms"
    result = runner.invoke(cli, ["fill", "annex2", "--data", str(data), "--year", "2022", "-o", str(forms), "-j", "1",
                                 "--ledger", "--db", ledger_url])
    assert result.exit_code == 0, result.output
    scan = scan_pdf(tmp_path / "回收.pdf", [500, 510, 520])
    recs = [record(scan, case="T-001", review=[date_item()]), record(scan, case="T-002")]
    recs[1].source = {"file": str(scan), "pages": [2]}
    pages = [{"file": str(scan), "page": n, "status": "recognised", "form": "annex2", "ident": ident, "why": ""}
             for n, ident in ((1, "C:T-001"), (2, "C:T-002"), (3, "C:T-001"))]
    ledger = Ledger.open(ledger_url)
    attach_scans(app.ledger_setup(), ledger, recs, pages, [scan])
    ledger.close()
    photo = image(tmp_path / "入户照片.jpg", color="blue")
    assert runner.invoke(cli, ["ledger", "evidence", "add", "T-001", str(photo), "--note", "评议有争议",
                               "--db", ledger_url]).exit_code == 0
    return {"db": ledger_url, "forms": forms, "photo": photo}


def test_archive_per_case_folders_and_summary(runner, village, tmp_path):
    out = tmp_path / "杨林村档案"
    result = runner.invoke(cli, ["ledger", "archive", "--village", "杨林村", "-o", str(out), "--db", village["db"]])
    assert result.exit_code == 0, result.output
    assert "2 户，表单 2 份，扫描件 2 个，证据材料 1 个" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["T-001-张三", "T-002-李四", "汇总表.xlsx"]
    one, two = out / "T-001-张三", out / "T-002-李四"
    printed = sorted(village["forms"].glob("*.docx"))
    assert (one / "表单" / "annex2.docx").read_bytes() in [p.read_bytes() for p in printed]
    [s1], [s2] = list((one / "扫描件").iterdir()), list((two / "扫描件").iterdir())
    assert widths(s1) == [500, 520] and widths(s2) == [510]  # only each household's own pages of the batch
    assert (one / "证据材料" / "入户照片.jpg").read_bytes() == village["photo"].read_bytes()
    assert not (two / "证据材料").exists()
    reviews = list(load_workbook(one / "复核决定.xlsx").active.iter_rows(values_only=True))
    assert reviews[0][:4] == ("项目", "扫描件上读到", "复核后", "状态")
    assert ("入户核实日期", "2022-06-03", None, "待复核") in [r[:4] for r in reviews[1:]]
    rows = list(load_workbook(out / "汇总表.xlsx").active.iter_rows(values_only=True))
    head = rows[0]
    by_no = {r[0]: dict(zip(head, r)) for r in rows[1:]}
    assert set(by_no) == {"T-001", "T-002"}  # 清水村's household is not in 杨林村's archive
    assert by_no["T-001"]["存在较大争议"] == "是" and by_no["T-002"]["存在较大争议"] == "否"
    assert by_no["T-001"]["证据材料（个）"] == 1 and by_no["T-001"]["打印表单（份）"] == 1
    assert by_no["T-001"]["已收回（份）"] == 1 and by_no["T-002"]["已收回（份）"] == 1
    assert by_no["T-002"]["入户核实日期"].date().isoformat() == "2022-06-03"
    for p in out.rglob("*"):
        assert ID1 not in p.name and ID2 not in p.name and not find(p.name)
    for sheet in [out / "汇总表.xlsx", one / "复核决定.xlsx"]:
        cells = [str(c) for r in load_workbook(sheet).active.iter_rows(values_only=True) for c in r if c is not None]
        assert not any(find(c) for c in cells)


def test_existing_archive_replaced_only_when_the_new_one_is_complete(runner, village, tmp_path):
    out = tmp_path / "档案"
    args = ["ledger", "archive", "--village", "杨林村", "-o", str(out), "--db", village["db"]]
    assert runner.invoke(cli, args).exit_code == 0
    (out / "旧文件.txt").write_text("上次的档案")
    ledger = Ledger.open(village["db"])
    with ledger.read() as s:
        stored = s.scalar(sa.select(Evidence.stored_path))
    copy = files_dir(ledger) / stored
    ledger.close()
    kept = copy.read_bytes()
    copy.unlink()  # the store lost a file: the new archive cannot be complete
    result = runner.invoke(cli, args)
    assert result.exit_code == 1 and "缺少证据材料" in result.output and "Traceback" not in result.output
    assert (out / "旧文件.txt").read_text() == "上次的档案"  # the earlier archive is untouched
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".fanpin-")] == []
    copy.write_bytes(kept)
    assert runner.invoke(cli, args).exit_code == 0
    assert not (out / "旧文件.txt").exists() and (out / "汇总表.xlsx").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".fanpin-")] == []


def test_a_folder_that_is_not_an_archive_is_not_replaced(runner, village, tmp_path):
    out = tmp_path / "我的文件"
    out.mkdir()
    (out / "重要.docx").write_bytes(b"keep")
    result = runner.invoke(cli, ["ledger", "archive", "--village", "杨林村", "-o", str(out), "--db", village["db"]])
    assert result.exit_code == 1 and "不是村级档案文件夹" in result.output
    assert [p.name for p in out.iterdir()] == ["重要.docx"]


def test_private_data_in_a_name_stops_the_archive(runner, village, tmp_path):
    ledger = Ledger.open(village["db"])
    with ledger.write() as s:
        s.execute(sa.update(Household).where(Household.household_no == "T-002").values(head_name="李四13907305678"))
    ledger.close()
    out = tmp_path / "档案"
    result = runner.invoke(cli, ["ledger", "archive", "--village", "杨林村", "-o", str(out), "--db", village["db"]])
    assert result.exit_code == 1 and "村级档案中出现了个人隐私信息" in result.output
    assert "13907305678" not in result.output
    assert not out.exists() and [p for p in tmp_path.iterdir() if p.name.startswith(".fanpin-")] == []


def test_unknown_or_ambiguous_village(runner, village, tmp_path):
    out = tmp_path / "档案"
    result = runner.invoke(cli, ["ledger", "archive", "--village", "无此村", "-o", str(out), "--db", village["db"]])
    assert result.exit_code == 1 and "台账中没有无此村的户" in result.output and not out.exists()
    ledger = Ledger.open(village["db"])
    with ledger.write() as s:
        s.execute(sa.update(Household).where(Household.household_no == "T-002").values(township="另一镇"))
    ledger.close()
    result = runner.invoke(cli, ["ledger", "archive", "--village", "杨林村", "-o", str(out), "--db", village["db"]])
    assert result.exit_code == 1 and "请用 --township" in result.output and not out.exists()
    result = runner.invoke(cli, ["ledger", "archive", "--village", "杨林村", "--township", "另一镇", "-o", str(out),
                                 "--db", village["db"]])
    assert result.exit_code == 0 and sorted(p.name for p in out.iterdir()) == ["T-002-李四", "汇总表.xlsx"]
