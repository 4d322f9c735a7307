"""``fanpin fill --ledger`` and ``fanpin blank --ledger``: every printed form recorded in the ledger."""

from __future__ import annotations

import json

import sqlalchemy as sa

from .conftest import household, make_id, write_xlsx
from fanpin_forms.cli import cli
from fanpin_forms.ledger.db import Ledger
from fanpin_forms.ledger.documents import Printed, document_key, key_of_record, record_printed
from fanpin_forms.ledger.models import Audit, Case, Document, Household, Operation


def rows():
    return [household(**{"户编号": "T-001", "户主姓名": "张三", "身份证号码": make_id(seq="001")}),
            household(**{"户编号": "T-002", "户主姓名": "李四", "身份证号码": make_id(seq="002")})]


def documents(url: str) -> list[Document]:
    ledger = Ledger.open(url)
    try:
        with ledger.read() as s:
            return list(s.scalars(sa.select(Document).order_by(Document.qr_id)))
    finally:
        ledger.close()


def audit_rows(url: str, entity: str) -> list[Audit]:
    ledger = Ledger.open(url)
    try:
        with ledger.read() as s:
            return list(s.scalars(sa.select(Audit).where(Audit.entity == entity).order_by(Audit.id)))
    finally:
        ledger.close()


def test_fill_with_ledger_records_each_form_with_its_case(runner, ledger_url, tmp_path):
    data = write_xlsx(tmp_path / "h.xlsx", rows())
    assert runner.invoke(cli, ["ledger", "import", str(data), "--db", ledger_url]).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(cli, ["fill", "annex2", "--data", str(data), "--year", "2022", "-o", str(out), "-j", "1",
                                 "--ledger", "--db", ledger_url])
    assert result.exit_code == 0, result.output
    assert "台账已记录 2 份表（新增 2，重新打印 0）" in result.output
    docs = documents(ledger_url)
    assert [d.qr_id for d in docs] == ["annex2|C:T-001", "annex2|C:T-002"]
    ledger = Ledger.open(ledger_url)
    with ledger.read() as s:
        cases = dict(s.execute(sa.select(Household.household_no, Case.id).join(Case, Case.household_id == Household.id)).all())
    ledger.close()
    for d, no in zip(docs, ("T-001", "T-002")):
        assert d.case_id == cases[no]
        assert d.form == "annex2" and d.spec_version and len(d.template_hash) == 64 and d.baseline_year == 2022
        assert d.file.endswith(".docx") and (out / d.file.rsplit("/", 1)[-1]).is_file()
        assert d.actor and d.at is not None
        assert make_id(seq="001") not in d.file  # no ID number in what is stored about the file
    added = audit_rows(ledger_url, "documents")
    assert len(added) == 2 and all(a.old is None and a.source == "fill" for a in added)


def test_printing_again_replaces_the_row_and_audits_it(runner, ledger_url, tmp_path):
    data = write_xlsx(tmp_path / "h.xlsx", rows())
    runner.invoke(cli, ["ledger", "import", str(data), "--db", ledger_url])
    args = ["fill", "annex2", "--data", str(data), "--year", "2022", "-j", "1", "--ledger", "--db", ledger_url]
    assert runner.invoke(cli, args + ["-o", str(tmp_path / "a")]).exit_code == 0
    again = runner.invoke(cli, args + ["-o", str(tmp_path / "b")])
    assert "新增 0，重新打印 2" in again.output, again.output
    docs = documents(ledger_url)
    assert len(docs) == 2 and all("/b/" in d.file for d in docs)
    rows_ = audit_rows(ledger_url, "documents")
    assert len(rows_) == 4 and json.loads(rows_[-1].old)["file"].split("/")[-2] == "a"


def test_fill_of_households_not_in_the_ledger_records_them_unlinked(runner, ledger_url, tmp_path):
    data = write_xlsx(tmp_path / "h.xlsx", rows())
    result = runner.invoke(cli, ["fill", "annex2", "--data", str(data), "--year", "2022", "-o", str(tmp_path / "o"),
                                 "-j", "1", "--ledger", "--db", ledger_url])
    assert result.exit_code == 0, result.output
    assert "其中 2 份的户不在台账中" in result.output
    assert [d.case_id for d in documents(ledger_url)] == [None, None]


def test_fill_without_ledger_needs_no_database(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("FANPIN_FORMS_DATABASE_URL", str(tmp_path / "never.sqlite3"))
    data = write_xlsx(tmp_path / "h.xlsx", rows())
    result = runner.invoke(cli, ["fill", "annex2", "--data", str(data), "--year", "2022", "-o", str(tmp_path / "o"),
                                 "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "台账" not in result.output and not (tmp_path / "never.sqlite3").exists()


def test_blank_serials_are_recorded_as_issued_to_a_village(runner, ledger_url, tmp_path):
    out = tmp_path / "blank.docx"
    result = runner.invoke(cli, ["blank", "annex1", "--copies", "3", "--start", "5", "--year", "2022", "-o", str(out),
                                 "--ledger", "--township", "荣家湾镇", "--village", "杨林村", "--db", ledger_url])
    assert result.exit_code == 0, result.output
    docs = documents(ledger_url)
    assert len(docs) == 3 and all(d.qr_id.startswith("annex1|S:annex1-") for d in docs)
    assert sorted(d.qr_id.rsplit("-", 1)[1] for d in docs) == ["5", "6", "7"]
    assert all(d.issued_to == "荣家湾镇/杨林村" and d.case_id is None and d.file == str(out.resolve()) for d in docs)
    ledger = Ledger.open(ledger_url)
    with ledger.read() as s:
        ops = list(s.scalars(sa.select(Operation).where(Operation.kind == "blank")))
    ledger.close()
    assert len(ops) == 1  # one batch, one operation


def test_blank_township_needs_ledger(runner, tmp_path):
    result = runner.invoke(cli, ["blank", "annex1", "--year", "2022", "-o", str(tmp_path / "b.docx"),
                                 "--village", "杨林村"])
    assert result.exit_code == 2 and "须与 --ledger 一起使用" in result.output
    assert not (tmp_path / "b.docx").exists()


def test_a_failed_batch_records_nothing(ledger_url, tmp_path):
    ledger = Ledger.open(ledger_url)
    docs = [Printed("annex2", "C:X-1", "2022.1", "0" * 64, 2022, "a.docx"),
            Printed("annex2", "C:X-1", "2022.1", "0" * 64, 2022, "b.docx")]
    try:
        record_printed(ledger, docs[:1], kind="fill")
        with ledger.write() as s:  # an interrupted batch: everything rolled back
            s.add(Document(qr_id="annex2|C:X-2", form="annex2", actor="t"))
            s.flush()
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        ledger.close()
    assert [d.qr_id for d in documents(ledger_url)] == ["annex2|C:X-1"]


def test_keys_of_printed_and_read_forms_agree():
    assert document_key("annex2", "C:YY-1") == key_of_record({"form": "annex2", "case_id": "YY-1"})
    assert key_of_record({"form": "annex1", "serial": "annex1-20220601-3"}) == "annex1|S:annex1-20220601-3"
    assert key_of_record({"form": "annex1", "row": 7}) == "annex1|R:7"
    assert key_of_record({"form": "annex1"}) is None
