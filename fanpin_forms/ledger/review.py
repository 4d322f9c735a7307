"""``fanpin review apply --ledger``: review decisions become facts in the case ledger,
each with its audit row (provenance ``review``); a confirmed blank form links its
document to the case.

The web service's 复核 page decides one item at a time: :func:`review_queue` lists the
open items of a :class:`~.scope.Scope`, :func:`decide` accepts the value read or a
correction (parsed by :func:`parse_value`) and writes it as a fact at once, in one
transaction with its audit row; an item someone else decided meanwhile is a
``LEDGER_REVIEW_CONFLICT`` naming who and what, and nothing is written."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..errors import Code

from . import values as V
from .attach import FIELD, _by_header, _case_of_household, _Writer, readings, split_item
from .audit import actor_name, new_operation
from .documents import document_key, find_documents, ident_of_record
from .db import Ledger, LedgerError
from .models import Case, FieldValue, Household, Page, ReviewItem, ScanFile
from .scope import Scope
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


# --- one item at a time (the web service's 复核 page) -----------------------------------------


@dataclass(frozen=True)
class QueueItem:
    """An open review item as the 复核 page shows it (sensitive values masked)."""

    id: int
    case_id: int
    household_no: str
    head_name: str
    township: str
    village: str
    field: str
    label: str
    kind: str  # date / stage / codes / text
    read: str | None  # the value read, shown
    read_text: str | None  # the value read, as a correction would be typed
    current: str | None  # the ledger's value beside it (what was printed or entered), shown
    file: str
    page: int | None
    page_id: int | None = None


def value_kind(setup: LedgerSetup, key: str) -> str:
    if key.startswith("stage:"):
        return "stage"
    if key.startswith("codes:"):
        return "codes"
    if key.startswith("date:"):
        return "date"
    f = setup.form.field(key)
    if f is not None and f.type == "date":
        return "date"
    if f is not None and f.type == "multi_choice":
        return "codes"
    return "text"


def typed_text(kind: str, text: str | None) -> str | None:
    """A stored value as a person types it back: 2022-06-01, 1,3, 是/否."""
    if text is None:
        return None
    value = V.decode(text)
    if kind == "stage" and isinstance(value, dict):
        return "是" if value.get("signed") else "否"
    if kind == "codes" and isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_YES, _NO = ("是", "已签字", "签字", "有", "y", "yes", "1", "true"), ("否", "未签字", "无", "没有", "n", "no", "0", "false")


def parse_value(kind: str, text: str, read_text: str | None = None) -> Any:
    """A person's correction as the value to store, or LEDGER_REVIEW_VALUE."""
    raw = (text or "").strip()
    if kind == "date":
        m = _DATE.match(raw) or (re.match(r"^(\d{4})(\d{2})(\d{2})$", raw) if raw.isdigit() else None)
        try:
            if m is None:
                raise ValueError
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            raise LedgerError.of(Code.LEDGER_REVIEW_VALUE, value=raw[:40], what="日期",
                                 hint="请写成 2022-06-01 或 2022年6月1日") from None
    if kind == "stage":
        old = V.decode(read_text) if read_text else {}
        old = old if isinstance(old, dict) else {}
        if raw.lower() in _YES:
            return {**old, "signed": True}
        if raw.lower() in _NO:
            return {**old, "signed": False}
        raise LedgerError.of(Code.LEDGER_REVIEW_VALUE, value=raw[:40], what="签字情况", hint="请写“是”或“否”")
    if kind == "codes":
        from .attach import CIRCLED

        digits = [CIRCLED.index(ch) for ch in raw if ch in CIRCLED[1:]]
        digits += [int(n) for n in re.findall(r"\d+", raw)]
        if not digits or any(not 0 < d < 100 for d in digits):
            raise LedgerError.of(Code.LEDGER_REVIEW_VALUE, value=raw[:40], what="勾选项",
                                 hint="请写勾选的序号，如 1,3 或 ①③")
        return sorted(set(digits))
    if not raw:
        raise LedgerError.of(Code.LEDGER_REVIEW_VALUE, value="", what="值", hint="不能为空")
    return raw[:500]


def _scoped_items(scope: Scope):
    return (select(ReviewItem, Household, Page.page_no, ScanFile.name)
            .join(Case, ReviewItem.case_id == Case.id).join(Household, Case.household_id == Household.id)
            .outerjoin(Page, ReviewItem.page_id == Page.id).outerjoin(ScanFile, Page.scan_file_id == ScanFile.id)
            .where(scope.where()))


def review_queue(setup: LedgerSetup, ledger: Ledger, scope: Scope, *, limit: int = 500,
                 case_id: int | None = None) -> list[QueueItem]:
    """The open review items in ``scope`` (oldest first; the service orders them by confidence)."""
    out: list[QueueItem] = []
    with ledger.read() as s:
        w = _Writer(setup, s, 0, "", "review")
        q = _scoped_items(scope).where(ReviewItem.status == "open").order_by(ReviewItem.id).limit(limit)
        if case_id is not None:
            q = q.where(ReviewItem.case_id == case_id)
        rows = s.execute(q).all()
        facts: dict[tuple[int, str], str] = {}
        if rows:
            for cid, key, text in s.execute(select(FieldValue.case_id, FieldValue.field, FieldValue.value).where(
                    FieldValue.case_id.in_(sorted({r[0].case_id for r in rows})), FieldValue.pending.is_(False))):
                facts[(cid, key)] = text
        for item, h, page_no, name in rows:
            kind = value_kind(setup, item.field)
            out.append(QueueItem(item.id, item.case_id, h.household_no or "", h.head_name, h.township, h.village,
                                 item.field, w.label(item.field), kind, w.shown(item.field, item.read_value),
                                 None if setup.form.field(item.field) is not None and
                                 setup.form.field(item.field).sensitive else typed_text(kind, item.read_value),
                                 w.shown(item.field, facts.get((item.case_id, item.field))), name or "", page_no,
                                 item.page_id))
    return out


def item_in_scope(ledger: Ledger, scope: Scope, item_id: int) -> bool:
    with ledger.read() as s:
        return s.execute(_scoped_items(scope).where(ReviewItem.id == item_id)).first() is not None


@dataclass(frozen=True)
class Decided:
    item_id: int
    status: str  # accepted / corrected
    value: str | None  # shown
    household_no: str


def decide(setup: LedgerSetup, ledger: Ledger, scope: Scope, item_id: int, *, accept: bool,
           value: str | None = None) -> Decided:
    """Accept the value read (``accept``) or store the correction ``value`` as the case's fact,
    with provenance ``review`` and its audit row, in one transaction; the pending value and
    every open item on the same field of the case are decided with it."""
    actor = actor_name()
    with ledger.write() as s:
        row = s.execute(_scoped_items(scope).where(ReviewItem.id == item_id)).first()  # writes are serialised
        if row is None:
            raise LedgerError.of(Code.LEDGER_REVIEW_UNKNOWN)
        item, h = row[0], row[1]
        op = new_operation(s, "review", actor, json.dumps({"item": item.id}, ensure_ascii=False))
        w = _Writer(setup, s, op.id, actor, "review")
        if item.status != "open":
            raise LedgerError.of(Code.LEDGER_REVIEW_CONFLICT, who=item.decided_by or "另一位复核员",
                                 value=w.shown(item.field, item.final_value) or "（空）")
        kind = value_kind(setup, item.field)
        if accept:
            text = item.read_value
        else:
            text = V.encode(parse_value(kind, value or "", item.read_value))
        if text is None:
            raise LedgerError.of(Code.LEDGER_REVIEW_VALUE, value="", what="值", hint="不能为空")
        facts, pending = w.values(item.case_id)
        if facts.get(item.field) is None or facts[item.field].value != text:
            pv = pending.get(item.field)
            w.put_fact(item.case_id, item.field, text, facts, pv.document_id if pv is not None else None, item.page_id)
        w.drop_pending(item.case_id, item.field, pending)
        status = "accepted" if text == item.read_value else "corrected"
        for other in s.scalars(select(ReviewItem).where(ReviewItem.case_id == item.case_id,
                                                        ReviewItem.field == item.field, ReviewItem.status == "open")):
            other.final_value = text
            other.status = "accepted" if other.read_value == text else "corrected"
            other.decided_by, other.decided_at = actor, w.now
        w.audit(item.case_id, item.field, item.read_value, text, entity="review_items", entity_id=item.id)
        return Decided(item.id, status, w.shown(item.field, text), h.household_no or "")


__all__ = ["Decided", "QueueItem", "ReviewResult", "apply_review", "decide", "item_in_scope", "parse_value", "review_queue"]
