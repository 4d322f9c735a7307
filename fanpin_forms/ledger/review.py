"""``fanpin review apply --ledger``: review decisions become facts in the case ledger,
each with its audit row (provenance ``review``); a confirmed blank form links its
document to the case."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from . import values as V
from .attach import FIELD, _by_header, _case_of_household, _Writer, readings, split_item
from .audit import actor_name, new_operation
from .documents import document_key, find_documents, ident_of_record
from .db import Ledger
from .models import Household, ReviewItem
from .setup import LedgerSetup


@dataclass
class ReviewResult:
    decided: int = 0
    confirmed_forms: int = 0
    unmatched: list[str] = field(default_factory=list)
    operation_id: int | None = None

    def summary(self) -> str:
        text = f"台账：{self.decided} 项复核结果已写入（来源：人工复核）"
        if self.confirmed_forms:
            text += f"，{self.confirmed_forms} 份手填空白表已确认对应的户"
        return text


def apply_review(setup: LedgerSetup, ledger: Ledger, records: Sequence) -> ReviewResult:
    """Write the values decided in review as facts, in one transaction. ``records``: the typed
    read-back records (``ReadRecord``) after ``apply_corrections``."""
    actor = actor_name()
    out = ReviewResult()
    with ledger.write() as s:
        op = new_operation(s, "review", actor, "")
        out.operation_id = op.id
        w = _Writer(setup, s, op.id, actor, "review")
        typed = [r for r in records if r.corrections]
        docs = find_documents(s, [document_key(r.form, i) for r in typed if (i := ident_of_record(r))])
        for rec in typed:
            ident = ident_of_record(rec)
            doc = docs.get(document_key(rec.form, ident)) if ident else None
            case_id = doc.case_id if doc is not None and not (ident or "").startswith("S:") else None
            fixes = rec.corrections or []
            header_confirmed = any(split_item(c.get("item", ""))[0] == FIELD
                                   and split_item(c.get("item", ""))[1] in ("id_number", "head_name")
                                   for c in fixes)
            if case_id is None and ident and ident.startswith("C:"):
                h = s.scalars(select(Household).where(Household.household_no == ident[2:])).first()
                c = _case_of_household(s, h.id) if h is not None else None
                case_id = c.id if c is not None else None
            blank_confirmed = False
            if case_id is None and ident and ident.startswith("S:") and header_confirmed:
                h, matched = _by_header(s, rec)
                c = _case_of_household(s, h.id) if matched and h is not None else None
                if c is not None:
                    case_id, blank_confirmed = c.id, True
            if case_id is None:
                out.unmatched.append(f"{rec.form} {ident or '（按标题识别）'}")
                continue
            if blank_confirmed and doc is not None and doc.case_id is None:
                doc.case_id = case_id
                w.audit(case_id, "", None, json.dumps({"document": doc.qr_id}, ensure_ascii=False),
                        entity="documents", entity_id=doc.id)
            if blank_confirmed:
                out.confirmed_forms += 1
            facts, pending = w.values(case_id)
            for r in readings(setup, rec):
                if not (r.corrected or blank_confirmed):
                    continue
                if r.pending and not r.corrected:
                    continue  # still flagged: stays pending
                text = V.encode(r.value)
                if text is None:
                    continue
                if facts.get(r.key) is None or facts[r.key].value != text:
                    w.put_fact(case_id, r.key, text, facts, doc.id if doc else None, None)
                w.drop_pending(case_id, r.key, pending)
                for item in s.scalars(select(ReviewItem).where(ReviewItem.case_id == case_id, ReviewItem.field == r.key,
                                                               ReviewItem.status == "open")):
                    item.final_value = text
                    item.status = "accepted" if item.read_value == text else "corrected"
                    item.decided_by, item.decided_at = actor, w.now
                out.decided += 1
        op.detail = json.dumps({"decided": out.decided, "confirmed_forms": out.confirmed_forms}, ensure_ascii=False)
    return out



__all__ = ["ReviewResult", "apply_review"]
