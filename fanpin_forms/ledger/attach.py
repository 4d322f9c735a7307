"""Returned scans into the ledger: what ``fanpin parse --ledger`` and ``fanpin review apply --ledger`` write.

:func:`attach_scans` takes what read-back produced (the typed records and the list of
pages) and, in one transaction:

* stores each scan file once, by its SHA-256 (a copy goes to the ledger's file store,
  written atomically); a file already stored is recognised, named in the result and
  not attached again;
* adds a ``pages`` row for every page of a new file, linked to the printed document
  (:mod:`.documents`) and its case through the page identifier the QR code carries
  (or, for a form printed without ``--ledger``, to the case by its 户编号);
* writes onto the case what was read (:func:`readings`): the stage dates mapped to the
  ledger's columns (:data:`STAGE_DATES`), which stages are signed, stamped or
  thumb-printed (``stage:<form>.<stage>``), the ticked codes, with provenance ``scan``.
  A value the reader flagged is stored *pending* (beside the accepted value, never in
  its place) with a ``review_items`` row. A value a person entered (in the clerk's
  sheet, by hand) or confirmed in review that differs from the reading is a
  :class:`Conflict`: kept, the reading stored pending, the conflict listed. A value an
  earlier scan wrote is replaced and listed as a change (the audit keeps old → new);
* a blank form returned filled by hand (``S:`` serial) is matched by the head's name
  and ID number read from its header: one household with both → its values go to that
  case as pending until a review confirms (:func:`apply_review`); none → listed as a
  new case candidate.

:func:`apply_review` takes the corrected records of ``fanpin review apply`` and turns
each corrected or confirmed value into a fact with provenance ``review``, removing its
pending row, deciding its review item, with an audit row; a blank form whose identity
(or header name/ID number) was confirmed in review is linked to its case.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ..util.atomic import ensure_dir, write_atomic
from ..util.secret import data_dir
from . import values as V
from .audit import actor_name, new_operation
from .db import Ledger, LedgerError
from .documents import document_key, find_documents, ident_of_record
from .models import PERSON_SOURCES, Audit, Case, Document, FieldValue, Household, Page, ReviewItem, ScanFile
from .setup import LedgerSetup

#: (form, stage) → the ledger column its date fills
STAGE_DATES: dict[tuple[str, str], str] = {
    ("annex1", "applicant"): "apply_date",
    ("annex2", "home_visit"): "home_visit_date",
    ("annex2", "village_review"): "review_date",
    ("annex2", "township_review"): "township_review_date",
    ("annex2", "county_approval"): "county_approval_date",
    ("annex3", "home_visit"): "elim_home_visit_date",
    ("annex3", "county_approval"): "elim_approval_date",
}
#: sources a reading never replaces: what a person typed (in the clerk's sheet, by hand, in review)
KEPT_SOURCES = ("import", *PERSON_SOURCES)
#: review kinds (``ReviewKind`` values; the ledger sits below read-back and does not import it)
FIELD, CODES, SIGNATURE, DATE, IDENTITY, ALIGNMENT = "field", "codes", "signature", "date", "identity", "alignment"
#: review kinds that make every value of the record uncertain
WHOLE_RECORD = (IDENTITY, ALIGNMENT)


def split_item(item: str) -> tuple[str, str]:
    """A review item's text as (kind, target): ``"codes:risk_types"`` → ("codes", "risk_types")."""
    kind, _, rest = str(item).partition(":")
    return kind, rest
CIRCLED = " ①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
#: how big a scan file the store copies (bigger ones are recorded by hash and name only)
STORE_MAX_BYTES = 200 * 1024 * 1024


def stage_key(form: str, stage: str) -> str:
    """The case value that says whether a stage was signed: ``stage:annex2.home_visit``."""
    return f"stage:{form}.{stage}"


def date_key(setup: LedgerSetup, form: str, stage: str) -> str:
    col = STAGE_DATES.get((form, stage))
    if col is not None and setup.form.field(col) is not None:
        return col
    return f"date:{form}.{stage}"


def codes_key(setup: LedgerSetup, form: str, name: str) -> str:
    f = setup.form.field(name)
    return name if f is not None and f.type == "multi_choice" else f"codes:{form}.{name}"


def files_dir(ledger: Ledger) -> Path:
    """Where the ledger keeps copies of scans: beside a SQLite file, else in the data folder."""
    u = make_url(ledger.url)
    db = u.database or ""
    if db.startswith("file:"):  # a SQLite URI filename (``sqlite:///file:/path?mode=ro&uri=true``)
        db = urlparse(db).path
    if u.get_backend_name() == "sqlite" and db and db != ":memory:":
        return Path(db).parent / "ledger-files"
    return data_dir() / "ledger-files"


def file_sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


# --- what a record says, as case values ----------------------------------------------------


@dataclass
class Reading:
    key: str  # ledger field key (or stage:/date:/codes: key)
    value: Any  # JSON-able
    pending: bool
    items: list = field(default_factory=list)  # the review items it depends on
    corrected: bool = False


def _iso(text: Any) -> str | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(str(text)).isoformat()
    except ValueError:
        return None


def readings(setup: LedgerSetup, rec) -> list[Reading]:
    """What ``rec`` says about its case: stage dates, stage signatures, ticked codes.

    A value is pending when a review item is about it, or when the record as a whole
    is uncertain (identity, alignment). ``corrected``: a person decided it in review."""
    items = list(rec.needs_review)
    whole = [it for it in items if it.kind in WHOLE_RECORD]
    fixes = rec.corrections or []

    def about(kind: str, stage: str | None = None, target: str | None = None) -> list:
        return [it for it in items if it.kind == kind and (stage is None or it.stage == stage)
                and (target is None or it.target == target)]

    def fixed(kind: str, stage: str | None = None, target: str | None = None) -> bool:
        for c in fixes:
            k, rest = split_item(c.get("item", ""))
            if k == IDENTITY:
                return True
            if k == kind and (stage is None or c.get("stage") == stage) and (target is None or rest == target):
                return True
        return False

    out: list[Reading] = []
    for name, st in rec.stages.items():
        dates = about(DATE, name)
        value = _iso(st.date)
        if value is None and dates:
            value = _iso(dates[0].value)
        if value is not None:
            out.append(Reading(date_key(setup, rec.form, name), value, bool(dates or whole), dates + whole,
                               fixed(DATE, name)))
        signs = about(SIGNATURE, name)
        marked = [s for s in st.signers if s.present or s.seal or s.thumbprint]
        if marked or signs or (value is not None and st.signers):
            out.append(Reading(stage_key(rec.form, name),
                               {"signed": st.signed, "seal": any(s.seal for s in st.signers),
                                "thumbprint": any(s.thumbprint for s in st.signers)},
                               bool(signs or whole), signs + whole, fixed(SIGNATURE, name)))
    seen: set[str] = set()
    sources = [(None, rec.codes)] + [(name, st.codes) for name, st in rec.stages.items()]
    for _stage, codes in sources:
        for name, ticked in codes.items():
            key = codes_key(setup, rec.form, name)
            if key in seen or not ticked:
                continue
            seen.add(key)
            its = about(CODES, target=name)
            out.append(Reading(key, sorted(int(c) for c in ticked), bool(its or whole), its + whole,
                               fixed(CODES, target=name)))
    return out


# --- results -------------------------------------------------------------------------------


@dataclass
class Conflict:
    household_no: str
    label: str
    kept: str | None
    read: str | None
    source: str

    def __str__(self) -> str:
        who = {"manual": "人工录入", "import": "导入表格中"}.get(self.source, "人工核对")
        return (f"户编号 {self.household_no}「{self.label}」：台账中为{who}的「{self.kept or '（空）'}」，"
                f"扫描件上读到「{self.read or '（空）'}」，未覆盖（已作为待复核值保存）")


@dataclass
class Change:
    household_no: str
    label: str
    old: str | None
    new: str | None

    def __str__(self) -> str:
        return f"户编号 {self.household_no}「{self.label}」：{self.old or '（空）'} → {self.new or '（空）'}"


@dataclass
class AttachResult:
    files_new: int = 0
    files_known: list[str] = field(default_factory=list)  # names of files already in the ledger
    pages: int = 0
    pages_linked: int = 0
    forms_linked: int = 0
    facts: int = 0
    pending: int = 0
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # forms no case could be found for
    blank_matches: list[str] = field(default_factory=list)  # blank forms matched by name and ID, to confirm
    candidates: list[str] = field(default_factory=list)  # blank forms of no known household: new cases
    operation_id: int | None = None

    def summary(self) -> str:
        text = (f"台账：新存扫描文件 {self.files_new} 个、{self.pages} 页，{self.pages_linked} 页已对应到户；"
                f"写入 {self.facts} 项，待复核 {self.pending} 项，未变 {self.unchanged} 项")
        if self.files_known:
            text += f"；{len(self.files_known)} 个文件以前已存入台账，未重复记录"
        return text


# --- attach --------------------------------------------------------------------------------


class ValueText:
    """How a case value read from a scan is named and shown (messages, audit rows, the archive)."""

    def __init__(self, setup: LedgerSetup):
        self.setup = setup
        self.fields = {f.key: f for f in setup.form.fields}
        self.labels = V.field_labels(setup.form)

    def label(self, key: str) -> str:
        if key in self.labels:
            return self.labels[key]
        kind, _, rest = key.partition(":")
        form, _, part = rest.partition(".")
        what = {"stage": "签字盖章", "date": "日期", "codes": "勾选"}.get(kind, kind)
        return f"{form} {part} {what}"

    def shown(self, key: str, text: str | None) -> str | None:
        """A value as messages and audit rows show it: a stage as 已签字、盖章, codes as ①③, the rest masked."""
        if text is None:
            return None
        value = V.decode(text)
        if key.startswith("stage:") and isinstance(value, dict):
            marks = [name for k, name in (("signed", "签字"), ("seal", "盖章"), ("thumbprint", "按手印")) if value.get(k)]
            return ("已" + "、".join(marks)) if marks else "未签字"
        if isinstance(value, list) and all(isinstance(v, int) for v in value):
            return "".join(CIRCLED[v] if 0 < v < len(CIRCLED) else f"({v})" for v in value) or "（无）"
        return V.shown(text, self.fields.get(key), self.setup.field_types, self.setup.county.mask)


class _Writer(ValueText):
    def __init__(self, setup: LedgerSetup, session: Session, operation_id: int, actor: str, source: str):
        super().__init__(setup)
        self.s, self.op, self.actor, self.source = session, operation_id, actor, source
        self.now = dt.datetime.now(dt.timezone.utc)

    def audit(self, case_id: int, key: str, old: str | None, new: str | None, entity: str = "field_values",
              entity_id: int | None = None) -> None:
        self.s.add(Audit(operation_id=self.op, at=self.now, actor=self.actor, entity=entity, entity_id=entity_id,
                         case_id=case_id, field=key, old=self.shown(key, old), new=self.shown(key, new),
                         source=self.source))

    def values(self, case_id: int) -> tuple[dict[str, FieldValue], dict[str, FieldValue]]:
        facts: dict[str, FieldValue] = {}
        pending: dict[str, FieldValue] = {}
        for fv in self.s.scalars(select(FieldValue).where(FieldValue.case_id == case_id)):
            (pending if fv.pending else facts)[fv.field] = fv
        return facts, pending

    def put_pending(self, case_id: int, key: str, text: str, pending: dict[str, FieldValue], doc_id, page_id) -> bool:
        row = pending.get(key)
        if row is not None and row.value == text:
            return False
        old = row.value if row is not None else None
        if row is None:
            row = FieldValue(case_id=case_id, field=key, value=text, source=self.source, actor=self.actor,
                             at=self.now, pending=True, document_id=doc_id, page_id=page_id)
            self.s.add(row)
            pending[key] = row
        else:
            row.value, row.source, row.actor, row.at = text, self.source, self.actor, self.now
            row.document_id, row.page_id = doc_id, page_id
        self.s.flush()
        self.audit(case_id, key, old, text, entity="pending_values", entity_id=row.id)
        return True

    def put_fact(self, case_id: int, key: str, text: str, facts: dict[str, FieldValue], doc_id, page_id) -> FieldValue:
        row = facts.get(key)
        old = row.value if row is not None else None
        if row is None:
            row = FieldValue(case_id=case_id, field=key, value=text, source=self.source, actor=self.actor,
                             at=self.now, pending=False, document_id=doc_id, page_id=page_id)
            self.s.add(row)
            facts[key] = row
        else:
            row.value, row.source, row.actor, row.at = text, self.source, self.actor, self.now
            row.document_id, row.page_id = doc_id, page_id
        self.s.flush()
        self.audit(case_id, key, old, text, entity_id=row.id)
        return row

    def drop_pending(self, case_id: int, key: str, pending: dict[str, FieldValue]) -> None:
        row = pending.pop(key, None)
        if row is not None:
            self.s.delete(row)
            self.s.flush()


def _case_of_household(session: Session, household_id: int) -> Case | None:
    return session.scalars(select(Case).where(Case.household_id == household_id).order_by(Case.episode.desc())).first()


def _household_of_case(session: Session, case_id: int) -> Household | None:
    c = session.get(Case, case_id)
    return c.household if c is not None else None


def _by_header(session: Session, rec) -> tuple[Household | None, bool]:
    """The household a hand-filled blank form names: (household, matched). A household is
    matched only when the ID number read belongs to it and the name read is its head's."""
    def read(key: str) -> str | None:
        v = rec.fields.get(key)
        if not v:
            v = next((it.value for it in rec.needs_review if it.kind == FIELD and it.target == key
                      and it.value), None)
        return str(v).strip().upper() if v else None

    idn, name = read("id_number"), read("head_name")
    if not idn:
        return None, False
    h = session.scalars(select(Household).where(Household.id_number == idn)).first()
    if h is None or not name or (h.head_name or "").strip().upper() != name:
        return None, False
    return h, True


def store_file(ledger: Ledger, path: Path, sha: str, kind: str) -> tuple[str, bool]:
    """Copy ``path`` into the ledger's file store under ``kind`` (``scans``, ``evidence``),
    content-addressed by its SHA-256 and written atomically, readable by its owner only.

    Returns its path relative to :func:`files_dir` (the store moves with a SQLite ledger)
    and whether this call created it (a copy already there is kept). A failure to write
    is a LedgerError naming the file."""
    rel = Path(kind) / sha[:2] / (sha + path.suffix.lower())
    target = files_dir(ledger) / rel
    if target.exists():
        return rel.as_posix(), False
    ensure_dir(target.parent, error=LedgerError)
    write_atomic(target, path.read_bytes(), error=LedgerError)
    os.chmod(target, 0o600)
    return rel.as_posix(), True


def _store_copy(ledger: Ledger, path: Path, sha: str) -> tuple[str, bool]:
    """A copy of the scan in the file store (:func:`store_file`): (its path, or '' if not
    copied; whether this call created it)."""
    try:
        if path.stat().st_size > STORE_MAX_BYTES:
            return "", False
        return store_file(ledger, path, sha, "scans")
    except OSError:
        return "", False


def attach_scans(setup: LedgerSetup, ledger: Ledger, records: Sequence, pages: Sequence[dict],
                 files: Sequence[Path]) -> AttachResult:
    """Store the scan ``files``, their ``pages`` (as ``ParseResult.pages`` lists them) and what
    ``records`` read, in one transaction."""
    actor = actor_name()
    out = AttachResult()
    hashed: dict[str, tuple[str, int, Path]] = {}
    for p in files:
        try:
            sha, size = file_sha256(Path(p))
        except OSError:
            continue  # a file that could not be read is a failed page already
        hashed[str(p)] = (sha, size, Path(p))
    stored = {key: _store_copy(ledger, path, sha) for key, (sha, _size, path) in hashed.items()}
    copies = {key: rel for key, (rel, _new) in stored.items()}
    try:
        with ledger.write() as s:
            op = new_operation(s, "scan", actor, "")
            out.operation_id = op.id
            w = _Writer(setup, s, op.id, actor, "scan")
            known = {f.sha256: f for f in s.scalars(select(ScanFile).where(
                ScanFile.sha256.in_(sorted({v[0] for v in hashed.values()}))))} if hashed else {}
            scan_ids: dict[str, int] = {}  # file as read-back names it → scan_files.id, new files only
            for key, (sha, size, path) in hashed.items():
                if sha in known:
                    out.files_known.append(path.name)
                    continue
                row = ScanFile(sha256=sha, name=path.name, size=size, stored_path=copies.get(key, ""), actor=actor,
                               at=w.now)
                s.add(row)
                s.flush()
                known[sha] = row
                scan_ids[key] = row.id
                out.files_new += 1
            keys = [document_key(p["form"], p["ident"]) for p in pages if p.get("form") and p.get("ident")]
            keys += [document_key(r.form, i) for r in records if (i := ident_of_record(r))]
            docs = find_documents(s, keys)
            nos = {p["ident"][2:] for p in pages if (p.get("ident") or "").startswith("C:")}
            households = {h.household_no: h for h in s.scalars(select(Household).where(Household.household_no.in_(sorted(nos))))
                          } if nos else {}

            def case_for(form: str | None, ident: str | None) -> tuple[Document | None, int | None]:
                if not form or not ident:
                    return None, None
                doc = docs.get(document_key(form, ident))
                if doc is not None and doc.case_id is not None:
                    return doc, doc.case_id
                if ident.startswith("C:") and ident[2:] in households:
                    c = _case_of_household(s, households[ident[2:]].id)
                    return doc, c.id if c is not None else None
                return doc, None

            page_ids: dict[tuple[str, int], int] = {}
            for n, p in enumerate(pages):
                sid = scan_ids.get(p["file"])
                if sid is None:
                    continue
                doc, case_id = case_for(p.get("form"), p.get("ident"))
                if p["status"] == "foreign":
                    doc, case_id = None, None
                row = Page(scan_file_id=sid, page_no=p.get("page") or 0, document_id=doc.id if doc else None,
                           case_id=case_id, status=p["status"], at=w.now)
                s.add(row)
                s.flush()
                page_ids[(p["file"], p.get("page") or 0)] = row.id
                out.pages += 1
                if case_id is not None:
                    out.pages_linked += 1
            for rec in records:
                src = rec.source or {}
                rec_files = [f["file"] for f in src.get("files", [])] or [src.get("file")]
                if not any(f in scan_ids for f in rec_files):
                    continue  # every page of it is in a file attached before
                first_page = page_ids.get((src.get("file"), (src.get("pages") or [0])[0] or 0))
                ident = ident_of_record(rec)
                doc, case_id = case_for(rec.form, ident)
                confirm = False
                if ident and ident.startswith("S:"):
                    h, matched = _by_header(s, rec)
                    c = _case_of_household(s, h.id) if h is not None else None
                    if matched and c is not None:
                        case_id, confirm = c.id, True
                        out.blank_matches.append(f"{rec.form} 流水号 {rec.serial} → 户编号 {h.household_no}"
                                                 "（按表头的姓名和身份证号码，待复核确认）")
                    else:
                        out.candidates.append(f"{rec.form} 流水号 {rec.serial}（台账中没有姓名和身份证号码都相同的户，"
                                              "可作为新的监测对象登记）")
                        continue
                if case_id is None:
                    out.unmatched.append(f"{rec.form} {ident or '（按标题识别）'}")
                    continue
                out.forms_linked += 1
                _write_readings(w, out, case_id, readings(setup, rec), doc.id if doc else None, first_page,
                                all_pending=confirm)
            op.detail = json.dumps({"files": out.files_new, "known": len(out.files_known), "pages": out.pages,
                                    "facts": out.facts, "pending": out.pending, "conflicts": len(out.conflicts)},
                                   ensure_ascii=False)
    except BaseException:
        for rel, new in stored.values():  # nothing of this call stays when its transaction did not
            if new:
                with contextlib.suppress(OSError):
                    (files_dir(ledger) / rel).unlink()
        raise
    return out


def _write_readings(w: _Writer, out: AttachResult, case_id: int, reads: list[Reading], doc_id: int | None,
                    page_id: int | None, *, all_pending: bool) -> None:
    facts, pending = w.values(case_id)
    hh = _household_of_case(w.s, case_id)
    no = (hh.household_no if hh is not None else None) or "（无户编号）"
    for r in reads:
        text = V.encode(r.value)
        if text is None:
            continue
        fact = facts.get(r.key)
        if r.pending or all_pending:
            if fact is not None and fact.value == text and not all_pending:
                out.unchanged += 1
                continue
            if w.put_pending(case_id, r.key, text, pending, doc_id, page_id):
                out.pending += 1
                w.s.add(ReviewItem(page_id=page_id, case_id=case_id, field=r.key, read_value=text, status="open"))
            else:
                out.unchanged += 1
            continue
        if fact is not None and fact.value == text:
            out.unchanged += 1
            if r.key in pending and pending[r.key].value == text:
                w.drop_pending(case_id, r.key, pending)
            continue
        if fact is not None and fact.source in KEPT_SOURCES:
            out.conflicts.append(Conflict(no, w.label(r.key), w.shown(r.key, fact.value), w.shown(r.key, text),
                                          fact.source))
            if w.put_pending(case_id, r.key, text, pending, doc_id, page_id):
                out.pending += 1
                w.s.add(ReviewItem(page_id=page_id, case_id=case_id, field=r.key, read_value=text, status="open"))
            continue
        if fact is not None:
            out.changes.append(Change(no, w.label(r.key), w.shown(r.key, fact.value), w.shown(r.key, text)))
        w.put_fact(case_id, r.key, text, facts, doc_id, page_id)
        out.facts += 1


__all__ = ["STAGE_DATES", "AttachResult", "Change", "Conflict", "Reading", "ValueText",
           "attach_scans", "codes_key", "date_key", "file_sha256", "files_dir", "readings", "stage_key",
           "store_file"]
