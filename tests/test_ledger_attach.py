"""Returned scans into the ledger (``parse --ledger``) and review decisions (``review apply --ledger``).

The read-back records are built here as the reader's typed results, so these tests are
about the ledger's side: stored once, linked, pending versus fact, conflicts, audit."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import household, make_id, write_xlsx
from fanpin_forms.cli import cli
from fanpin_forms.ledger import attach as A
from fanpin_forms.ledger.attach import attach_scans, files_dir
from fanpin_forms.ledger.review import apply_review
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.documents import Printed, record_printed
from fanpin_forms.ledger.importer import import_file
from fanpin_forms.ledger.models import Audit, Document, FieldValue, Household, Page, ReviewItem, ScanFile
from fanpin_forms.readback.records_io import record_from_dict, record_to_dict, write_records
from fanpin_forms.readback.results import ReadRecord, ReviewItem as Item, ReviewKind, SignerReading, StageReading

ID1 = make_id(seq="001")


@pytest.fixture
def ledger(ledger_url, app, tmp_path):
    data = write_xlsx(tmp_path / "h.xlsx", [
        household(**{"户编号": "T-001", "户主姓名": "张三", "身份证号码": ID1, "入户核实日期": "2022-06-01",
                     "风险类型": "⑥"}),
        household(**{"户编号": "T-002", "户主姓名": "李四", "身份证号码": make_id(seq="002")})])
    led = Ledger.open(ledger_url)
    import_file(app.ledger_setup(), led, data)
    yield led
    led.close()


def scan_file(tmp_path: Path, name: str = "scan.pdf", body: bytes = b"%PDF-1.4 a returned page") -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def record(path: Path, *, case: str | None = "T-001", serial: str | None = None, date: str | None = "2022-06-03",
           review=(), codes=None, fields=None) -> ReadRecord:
    stage = StageReading(signers=[SignerReading("入户核实人员", ["签字"], True, False, False, 0.9)], date=date,
                         codes=codes or {})
    return ReadRecord(form="annex2", form_version="2022.1", case_id=case, serial=serial, row=None, identified_by="qr",
                      fields=fields or {}, stages={"home_visit": stage}, source={"file": str(path), "pages": [1]},
                      needs_review=list(review))


def pages_of(path: Path, ident: str = "C:T-001") -> list[dict]:
    return [{"file": str(path), "page": 1, "status": "recognised", "form": "annex2", "ident": ident, "why": ""},
            {"file": str(path), "page": 2, "status": "foreign", "form": None, "ident": None, "why": "不是本系统的表"}]


def values(led: Ledger, no: str = "T-001") -> dict[tuple[str, bool], FieldValue]:
    with led.read() as s:
        q = (sa.select(FieldValue).join(Household, sa.true())
             .where(Household.household_no == no,
                    FieldValue.case_id.in_(sa.text("(SELECT id FROM cases WHERE household_id = households.id)"))))
        return {(fv.field, fv.pending): fv for fv in s.scalars(q)}


def rows(led: Ledger, model, *where):
    with led.read() as s:
        return list(s.scalars(sa.select(model).where(*where).order_by(model.id)))


def date_item(value="2022-06-05", id_="R0001") -> Item:
    return Item("home_visit", ReviewKind.DATE, None, "日期看不清", value, 0.4, id=id_)


def test_read_values_written_with_provenance_links_and_audit(app, ledger, tmp_path):
    path = scan_file(tmp_path)
    record_printed(ledger, [Printed("annex2", "C:T-002", "2022.1", "0" * 64, 2022, "x.docx")], kind="fill")
    rec = record(path, case="T-002", codes={"sanbaozhang": [1, 3]})
    done = attach_scans(app.ledger_setup(), ledger, [rec], pages_of(path, "C:T-002"), [path])
    assert done.files_new == 1 and done.pages == 2 and done.pages_linked == 1 and done.forms_linked == 1
    v = values(ledger, "T-002")
    assert v[("home_visit_date", False)].value == '"2022-06-03"'
    assert v[("home_visit_date", False)].source == "scan"
    assert json.loads(v[(A.stage_key("annex2", "home_visit"), False)].value) == {"signed": True, "seal": False,
                                                                                 "thumbprint": False}
    assert v[("sanbaozhang", False)].source == "import" and done.unchanged == 1  # read as imported: kept as is
    assert not done.changes and not done.conflicts
    doc = rows(ledger, Document)[0]
    page = rows(ledger, Page, Page.status == "recognised")[0]
    assert page.document_id == doc.id and page.case_id == doc.case_id == v[("home_visit_date", False)].case_id
    assert v[("home_visit_date", False)].document_id == doc.id and v[("home_visit_date", False)].page_id == page.id
    assert rows(ledger, Page, Page.status == "foreign")[0].case_id is None
    scan = rows(ledger, ScanFile)[0]
    assert scan.name == "scan.pdf" and scan.size == path.stat().st_size
    assert not Path(scan.stored_path).is_absolute()  # the store moves with the ledger
    assert (files_dir(ledger) / scan.stored_path).read_bytes() == path.read_bytes()
    audit = {a.field: a for a in rows(ledger, Audit, Audit.source == "scan")}
    assert audit["home_visit_date"].old is None and audit["home_visit_date"].new == "2022-06-03"
    assert audit[A.stage_key("annex2", "home_visit")].new == "已签字"


def test_a_later_scan_replaces_an_earlier_scan_and_says_so(app, ledger, tmp_path):
    setup = app.ledger_setup()
    first = scan_file(tmp_path, "a.pdf", b"first")
    attach_scans(setup, ledger, [record(first, case="T-002", codes={"risk_types": [6, 8]})],
                 pages_of(first, "C:T-002"), [first])
    assert values(ledger, "T-002")[("risk_types", True)].value == "[6, 8]"  # differs from the import: pending
    second = scan_file(tmp_path, "b.pdf", b"second")
    done = attach_scans(setup, ledger, [record(second, case="T-002", date="2022-06-04")],
                        pages_of(second, "C:T-002"), [second])
    assert [str(c) for c in done.changes] == ["户编号 T-002「入户核实日期」：2022-06-03 → 2022-06-04"]
    v = values(ledger, "T-002")
    assert v[("home_visit_date", False)].value == '"2022-06-04"'
    audit = [a for a in rows(ledger, Audit, Audit.field == "home_visit_date")]
    assert [(a.old, a.new) for a in audit] == [(None, "2022-06-03"), ("2022-06-03", "2022-06-04")]


def test_the_same_scan_twice_is_recognised_and_changes_nothing(app, ledger, tmp_path):
    path = scan_file(tmp_path)
    setup = app.ledger_setup()
    attach_scans(setup, ledger, [record(path)], pages_of(path), [path])
    before = {k: (fv.value, fv.source) for k, fv in values(ledger).items()}
    n_audit = len(rows(ledger, Audit))
    again = attach_scans(setup, ledger, [record(path)], pages_of(path), [path])
    assert again.files_known == ["scan.pdf"] and again.files_new == 0 and again.pages == 0
    assert "1 个文件以前已存入台账" in again.summary()
    copy = scan_file(tmp_path, "另存的副本.pdf")  # the same content under another name is the same scan
    third = attach_scans(setup, ledger, [record(copy)], pages_of(copy), [copy])
    assert third.files_known == ["另存的副本.pdf"]
    assert len(rows(ledger, ScanFile)) == 1 and len(rows(ledger, Page)) == 2
    assert {k: (fv.value, fv.source) for k, fv in values(ledger).items()} == before
    assert len(rows(ledger, Audit)) == n_audit  # only operation rows were added, no changes


def test_a_flagged_value_is_stored_pending_not_as_fact(app, ledger, tmp_path):
    path = scan_file(tmp_path)
    done = attach_scans(app.ledger_setup(), ledger, [record(path, date="2022-06-05", review=[date_item()])],
                        pages_of(path), [path])
    v = values(ledger)
    assert v[("home_visit_date", False)].value == '"2022-06-01"' and v[("home_visit_date", False)].source == "import"
    assert v[("home_visit_date", True)].value == '"2022-06-05"' and v[("home_visit_date", True)].source == "scan"
    assert done.pending == 1
    items = rows(ledger, ReviewItem)
    assert [(i.field, i.status) for i in items] == [("home_visit_date", "open")]
    from fanpin_forms.ledger.records import load_ledger

    loaded = {r.case_id: r for r in load_ledger(app.ledger_setup(), ledger).records}
    assert str(loaded["T-001"].values["home_visit_date"]) == "2022-06-01"  # the rules see the fact only
    assert rows(ledger, Audit, Audit.entity == "pending_values")[0].new == "2022-06-05"


def test_an_uncertain_identity_makes_every_value_pending(app, ledger, tmp_path):
    path = scan_file(tmp_path)
    who = Item(None, ReviewKind.IDENTITY, None, "二维码与印刷文字不一致", "C:T-001", 0.5, id="R0001")
    attach_scans(app.ledger_setup(), ledger, [record(path, review=[who])], pages_of(path), [path])
    v = values(ledger)
    assert ("home_visit_date", True) in v and (A.stage_key("annex2", "home_visit"), True) in v
    assert (A.stage_key("annex2", "home_visit"), False) not in v


@pytest.mark.parametrize("source", ["manual", "import"])
def test_a_person_entered_value_is_kept_and_the_reading_is_a_conflict(app, ledger, tmp_path, source):
    if source == "manual":
        with ledger.write() as s:
            fv = s.scalars(sa.select(FieldValue).where(FieldValue.field == "home_visit_date")).one()
            fv.source = "manual"
    path = scan_file(tmp_path)
    done = attach_scans(app.ledger_setup(), ledger, [record(path, date="2022-06-03")], pages_of(path), [path])
    assert len(done.conflicts) == 1 and not done.changes
    text = str(done.conflicts[0])
    assert "T-001" in text and "入户核实日期" in text and "2022-06-01" in text and "2022-06-03" in text
    assert ("人工录入" if source == "manual" else "导入表格中") in text
    v = values(ledger)
    assert v[("home_visit_date", False)].value == '"2022-06-01"' and v[("home_visit_date", False)].source == source
    assert v[("home_visit_date", True)].value == '"2022-06-03"'


def test_review_apply_with_ledger_turns_pending_into_a_review_fact(app, runner, ledger, ledger_url, tmp_path):
    path = scan_file(tmp_path)
    rec = record(path, date="2022-06-05", review=[date_item()])
    attach_scans(app.ledger_setup(), ledger, [rec], pages_of(path), [path])
    records = tmp_path / "r.jsonl"
    write_records(records, [rec])
    fixes = tmp_path / "fix.csv"
    fixes.write_text("条目编号,更正值\nR0001,2022-06-06\n", encoding="utf-8")
    result = runner.invoke(cli, ["review", "apply", str(fixes), "-o", str(tmp_path / "r2.jsonl"), "--records",
                                 str(records), "--ledger", "--db", ledger_url])
    assert result.exit_code == 0, result.output
    assert "1 项复核结果已写入" in result.output
    v = values(ledger)
    assert v[("home_visit_date", False)].value == '"2022-06-06"' and v[("home_visit_date", False)].source == "review"
    assert ("home_visit_date", True) not in v
    item = rows(ledger, ReviewItem)[0]
    assert item.status == "corrected" and item.final_value == '"2022-06-06"' and item.decided_by
    a = rows(ledger, Audit, Audit.source == "review", Audit.field == "home_visit_date")
    assert [(x.old, x.new) for x in a] == [("2022-06-01", "2022-06-06")]


def test_review_without_ledger_leaves_the_ledger_alone(app, runner, ledger, tmp_path):
    path = scan_file(tmp_path)
    rec = record(path, date="2022-06-05", review=[date_item()])
    attach_scans(app.ledger_setup(), ledger, [rec], pages_of(path), [path])
    records = tmp_path / "r.jsonl"
    write_records(records, [rec])
    fixes = tmp_path / "fix.csv"
    fixes.write_text("条目编号,更正值\nR0001,2022-06-06\n", encoding="utf-8")
    assert runner.invoke(cli, ["review", "apply", str(fixes), "-o", str(records)]).exit_code == 0
    assert ("home_visit_date", True) in values(ledger)


def test_a_hand_filled_blank_form_is_matched_by_name_and_id_then_confirmed(app, ledger, tmp_path):
    setup = app.ledger_setup()
    serial = "annex2-20220601-1"
    record_printed(ledger, [Printed("annex2", "S:" + serial, "2022.1", "0" * 64, 2022, "b.pdf",
                                    issued_to="荣家湾镇/杨林村")], kind="blank")
    path = scan_file(tmp_path)
    name_item = Item(None, ReviewKind.FIELD, "id_number", "看不清", ID1, 0.5, id="R0001")
    rec = record(path, case=None, serial=serial, date="2022-06-09", fields={"head_name": "张三"}, review=[name_item])
    done = attach_scans(setup, ledger, [rec], pages_of(path, "S:" + serial), [path])
    assert len(done.blank_matches) == 1 and "T-001" in done.blank_matches[0] and ID1 not in done.blank_matches[0]
    v = values(ledger)
    assert v[("home_visit_date", True)].value == '"2022-06-09"'  # pending until a person confirms who it is
    assert v[("home_visit_date", False)].value == '"2022-06-01"'
    d = record_to_dict(rec)
    d["needs_review"] = []
    d["corrections"] = [{"id": "R0001", "stage": None, "item": "field:id_number", "value": ID1, "was": None}]
    d["fields"]["id_number"] = ID1
    result = apply_review(setup, ledger, [record_from_dict(d)])
    assert result.confirmed_forms == 1 and result.decided >= 1
    v = values(ledger)
    assert v[("home_visit_date", False)].value == '"2022-06-09"' and v[("home_visit_date", False)].source == "review"
    assert ("home_visit_date", True) not in v
    assert rows(ledger, Document)[0].case_id == v[("home_visit_date", False)].case_id


def test_a_blank_form_of_no_known_household_is_a_new_case_candidate(app, ledger, tmp_path):
    path = scan_file(tmp_path)
    rec = record(path, case=None, serial="annex2-20220601-2", fields={"head_name": "王五", "id_number": make_id(seq="009")})
    before = {k: fv.value for k, fv in values(ledger).items()}
    done = attach_scans(app.ledger_setup(), ledger, [rec], pages_of(path, "S:annex2-20220601-2"), [path])
    assert len(done.candidates) == 1 and "annex2-20220601-2" in done.candidates[0]
    assert make_id(seq="009") not in done.candidates[0]
    assert {k: fv.value for k, fv in values(ledger).items()} == before


def test_a_failure_while_attaching_leaves_the_ledger_as_before(app, ledger, tmp_path, monkeypatch):
    path = scan_file(tmp_path)

    def broken(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(A, "_write_readings", broken)
    with pytest.raises(KeyboardInterrupt):
        attach_scans(app.ledger_setup(), ledger, [record(path)], pages_of(path), [path])
    assert rows(ledger, ScanFile) == [] and rows(ledger, Page) == []
    monkeypatch.undo()
    assert attach_scans(app.ledger_setup(), ledger, [record(path)], pages_of(path), [path]).files_new == 1


def test_annex3_home_visit_date_has_its_own_ledger_column(app, runner, ledger, ledger_url, tmp_path):
    """The home visit of a risk elimination (annex 3) goes to 消除入户核实日期, a declared column that
    status, the report, the rules and the export see, not to a loose ``date:`` key."""
    from fanpin_forms.ledger.report import monthly
    from fanpin_forms.ledger.status import iter_states

    setup = app.ledger_setup()
    assert A.date_key(setup, "annex3", "home_visit") == "elim_home_visit_date"
    assert setup.form.field("elim_home_visit_date").label == "消除入户核实日期"
    path = scan_file(tmp_path, "annex3.pdf", b"%PDF-1.4 annex3")
    rec = record(path, case="T-002", date="2022-05-20")
    rec.form = "annex3"
    pages = [dict(p, form="annex3") for p in pages_of(path, "C:T-002")]
    done = attach_scans(setup, ledger, [rec], pages, [path])
    assert done.facts >= 1
    v = values(ledger, "T-002")
    assert v[("elim_home_visit_date", False)].value == '"2022-05-20"'
    assert not [k for k, _ in v if k.startswith("date:")]
    state = next(c for c in iter_states(setup, ledger, dt.date(2022, 6, 30)) if c.household_no == "T-002")
    assert state.values["elim_home_visit_date"] == dt.date(2022, 5, 20)
    report = monthly(setup, ledger, "2022-05")
    assert sum(c.checked for c in report.sections[0].rows.values()) == 1  # visited in May: checked that month
    out = tmp_path / "台账.xlsx"
    assert runner.invoke(cli, ["ledger", "export", "-o", str(out), "--db", ledger_url]).exit_code == 0
    from openpyxl import load_workbook

    table = list(load_workbook(out).active.iter_rows(values_only=True))
    col = table[0].index("消除入户核实日期")
    assert {r[0]: r[col] for r in table[1:]}["T-002"].date() == dt.date(2022, 5, 20)
    # the rules see it: an elimination home visit dated before the identification it undoes
    with ledger.write() as s:
        cid = s.scalar(sa.select(FieldValue.case_id).where(FieldValue.field == "elim_home_visit_date"))
        s.add(FieldValue(case_id=cid, field="county_approval_date", value='"2022-06-01"', source="manual", actor="t"))
    check = runner.invoke(cli, ["check", "--as-of", "2022-06-30", "--db", ledger_url])
    assert "消除入户核实日期 2022年5月20日 早于县级审定日期 2022年6月1日" in check.output, check.output
