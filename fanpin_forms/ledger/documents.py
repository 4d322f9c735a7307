"""Printed forms in the ledger: what ``fanpin fill --ledger`` and ``fanpin blank --ledger`` record.

A document is known by its page identifier: the form and the ident its QR code carries
(``C:<户编号>`` for a pre-filled form, ``S:<serial>`` for a blank one, ``R:<row>`` for
a pre-filled form whose row had no 户编号), joined by :func:`document_key`. Read-back
finds the same key in a returned page (:func:`key_of_record`), so a scan is linked to
the document printed and, through it, to the case.

One batch (one ``fill`` or ``blank`` run) is one transaction, written after the output
files are in place: an interrupted print records nothing; a form printed again
replaces its row (file, version, template, who and when) and says so in the audit.
A pre-filled form whose household is not in the ledger is still recorded, without a
case, and counted so the command can say so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from .audit import actor_name, new_operation
from .db import Ledger
from .models import Audit, Case, Document, Household


def document_key(form_id: str, ident: str) -> str:
    """The ledger's key of a printed form: ``annex2|C:YY-RJW-001``."""
    return f"{form_id}|{ident}"


def ident_of_record(rec) -> str | None:
    """The ident a read-back record (:class:`~fanpin_forms.readback.results.ReadRecord`, or its
    dict) was identified by: ``C:…``, ``S:…`` or ``R:…``; None for a page known by its title only."""
    get = rec.get if isinstance(rec, dict) else lambda k: getattr(rec, k, None)
    if get("case_id"):
        return "C:" + str(get("case_id"))
    if get("serial"):
        return "S:" + str(get("serial"))
    if get("row") is not None:
        return f"R:{get('row')}"
    return None


def key_of_record(rec) -> str | None:
    ident = ident_of_record(rec)
    form = rec.get("form") if isinstance(rec, dict) else rec.form
    return document_key(form, ident) if ident else None


def template_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Printed:
    """One printed form, as the print command knows it."""

    form: str
    ident: str
    spec_version: str
    template_hash: str
    baseline_year: int | None
    file: str
    household_no: str | None = None  # 户编号 (pre-filled forms)
    id_number: str | None = None  # the head's ID number: finds the household when there is no 户编号
    issued_to: str = ""  # blank forms: 乡镇/村


@dataclass
class Recorded:
    added: int = 0
    replaced: int = 0
    linked: int = 0
    #: pre-filled forms whose household is not in the ledger (their idents)
    unlinked: list[str] = field(default_factory=list)
    operation_id: int | None = None

    def summary(self) -> str:
        text = f"台账已记录 {self.added + self.replaced} 份表（新增 {self.added}，重新打印 {self.replaced}）"
        if self.unlinked:
            text += f"；其中 {len(self.unlinked)} 份的户不在台账中（可先用 fanpin ledger import 导入户表）"
        return text


def _households(session: Session, docs: Sequence[Printed]) -> tuple[dict[str, int], dict[str, int]]:
    nos = sorted({d.household_no for d in docs if d.household_no})
    ids = sorted({d.id_number for d in docs if d.id_number and not d.household_no})
    by_no = dict(session.execute(select(Household.household_no, Household.id).where(Household.household_no.in_(nos)))
                 .all()) if nos else {}
    by_id = dict(session.execute(select(Household.id_number, Household.id).where(Household.id_number.in_(ids)))
                 .all()) if ids else {}
    return by_no, by_id


def _current_cases(session: Session, household_ids: set[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    if household_ids:
        q = select(Case.household_id, Case.id).where(Case.household_id.in_(sorted(household_ids))).order_by(Case.episode)
        for hid, cid in session.execute(q):
            out[hid] = cid  # the latest episode wins
    return out


def record_printed(ledger: Ledger, docs: Sequence[Printed], *, kind: str, detail: str = "") -> Recorded:
    """Record one batch of printed forms in one transaction (``kind``: ``fill`` or ``blank``)."""
    actor = actor_name()
    now = dt.datetime.now(dt.timezone.utc)
    out = Recorded()
    docs = [d if d.household_no or not d.ident.startswith("C:") else replace(d, household_no=d.ident[2:]) for d in docs]
    with ledger.write() as s:
        op = new_operation(s, kind, actor, detail)
        out.operation_id = op.id
        by_no, by_id = _households(s, docs)
        cases = _current_cases(s, set(by_no.values()) | set(by_id.values()))
        keys = [document_key(d.form, d.ident) for d in docs]
        existing = {doc.qr_id: doc for doc in s.scalars(select(Document).where(Document.qr_id.in_(keys)))} if keys else {}
        for d, key in zip(docs, keys):
            hid = by_no.get(d.household_no) if d.household_no else by_id.get(d.id_number) if d.id_number else None
            case_id = cases.get(hid) if hid is not None else None
            if d.ident.startswith(("C:", "R:")):
                if case_id is None:
                    out.unlinked.append(d.ident)
                else:
                    out.linked += 1
            doc = existing.get(key)
            new = {"form": d.form, "ident": d.ident, "spec_version": d.spec_version, "file": d.file,
                   "issued_to": d.issued_to}
            if doc is None:
                doc = Document(qr_id=key, case_id=case_id, form=d.form, spec_version=d.spec_version,
                               template_hash=d.template_hash, baseline_year=d.baseline_year, issued_to=d.issued_to,
                               file=d.file, actor=actor, at=now)
                s.add(doc)
                s.flush()
                existing[key] = doc
                old = None
                out.added += 1
            else:
                old = json.dumps({"spec_version": doc.spec_version, "file": doc.file, "issued_to": doc.issued_to},
                                 ensure_ascii=False)
                doc.case_id = case_id if case_id is not None else doc.case_id
                doc.spec_version, doc.template_hash, doc.baseline_year = d.spec_version, d.template_hash, d.baseline_year
                doc.issued_to, doc.file, doc.actor, doc.at = d.issued_to, d.file, actor, now
                out.replaced += 1
            s.add(Audit(operation_id=op.id, at=now, actor=actor, entity="documents", entity_id=doc.id,
                        case_id=doc.case_id, field="", old=old, new=json.dumps(new, ensure_ascii=False), source=kind))
        op.detail = json.dumps({"what": detail, "added": out.added, "replaced": out.replaced,
                                "unlinked": len(out.unlinked)}, ensure_ascii=False)
    return out


def find_documents(session: Session, keys: Sequence[str]) -> dict[str, Document]:
    keys = sorted(set(keys))
    if not keys:
        return {}
    return {d.qr_id: d for d in session.scalars(select(Document).where(Document.qr_id.in_(keys)))}


__all__ = ["Printed", "Recorded", "document_key", "find_documents", "ident_of_record", "key_of_record",
           "record_printed", "template_hash"]
