"""One case as the web service's case page shows it: the household, the timeline (stage and
lateness), every value with its provenance, the printed forms, the returned pages, the
review items, the evidence and the history — read through a :class:`~.scope.Scope`, so
a case outside it is None exactly as one that does not exist.

Sensitive values (ID numbers, phones, health details) are masked unless ``reveal`` (the
case page of a user allowed to see them); the history is masked always (it is stored so).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ..privacy.masking import mask_id
from . import values as V
from .attach import _Writer, files_dir
from .db import Ledger
from .history import SOURCE_NAMES, HistoryRow, history
from .models import Case, Document, Evidence, Household, Page, ReviewItem, ScanFile
from .records import typed
from .scope import Scope, case_in_scope
from .setup import LedgerSetup
from .status import Overdue, overdue_of, stage_of

#: the timeline's dates, in the order the steps happen
TIMELINE = ("risk_found_date", "apply_date", "home_visit_date", "review_date", "publicity_start", "publicity_end",
            "township_review_date", "county_approval_date", "measures_date", "system_entry_date",
            "elim_approval_date")


#: the sensitive kinds the case page shows in full to a user allowed to see them
REVEALED = ("id_number", "phone")


@dataclass
class CaseFile:
    case_id: int
    household_no: str
    head_name: str
    id_number: str  # masked unless revealed
    township: str
    village: str
    stage: str
    overdue: Overdue | None
    disputed: bool
    timeline: list[tuple[str, str]] = field(default_factory=list)  # (label, date)
    values: list[dict[str, Any]] = field(default_factory=list)  # label, value, source, pending
    documents: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    #: every value of the case typed as the rules read them (for the findings)
    typed_values: dict[str, Any] = field(default_factory=dict)


def case_file(setup: LedgerSetup, ledger: Ledger, scope: Scope, case_id: int, *, reveal: bool,
              as_of: dt.date | None = None) -> CaseFile | None:
    as_of = as_of or dt.date.today()
    form = setup.form
    fields = {f.key: f for f in form.fields}
    with ledger.read() as s:
        case = case_in_scope(s, scope, case_id)
        if case is None:
            return None
        h = s.get(Household, case.household_id)
        w = _Writer(setup, s, 0, "", "review")
        facts, pending = w.values(case.id)
        types = {f.key: f.type for f in form.fields}
        typed_values = {}
        for key, fv in facts.items():
            if key in types:
                try:
                    typed_values[key] = typed(V.decode(fv.value), types[key])
                except (TypeError, ValueError):
                    continue
        stage = stage_of(typed_values, as_of)
        out = CaseFile(case.id, h.household_no or "", h.head_name,
                       (h.id_number if reveal else mask_id(h.id_number, setup.county.mask)) if h.id_number else "",
                       h.township, h.village, stage, overdue_of(typed_values, stage, setup.county, as_of),
                       case.disputed, typed_values=typed_values)

        def show(key: str, text: str | None) -> str | None:
            """ID numbers and phones in full when revealed; bank accounts, health and the rest masked."""
            f = fields.get(key)
            if reveal and f is not None and text is not None and \
                    V.sensitive_kind(f, setup.field_types) in REVEALED:
                value = V.decode(text)
                if isinstance(value, str):
                    return value
            return w.shown(key, text)

        steps = [(show(key, facts[key].value) or "", fields[key].label) for key in TIMELINE
                 if key in facts and key in fields]
        out.timeline = [(label, day) for day, label in sorted(steps)]  # ISO dates: in the order they happened
        order = {f.key: n for n, f in enumerate(form.fields)}
        for key in sorted(set(facts) | set(pending), key=lambda k: (order.get(k, 10_000), k)):
            fv = facts.get(key)
            pv = pending.get(key)
            out.values.append({"key": key, "label": w.label(key), "value": show(key, fv.value) if fv else None,
                               "source": SOURCE_NAMES.get(fv.source, fv.source) if fv else "",
                               "pending": show(key, pv.value) if pv else None})
        returned = (select(Page.document_id, func.count(Page.id)).where(Page.case_id == case.id)
                    .group_by(Page.document_id))
        back = {doc: n for doc, n in s.execute(returned)}
        for d in s.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.at)):
            out.documents.append({"id": d.id, "form": d.form, "qr": d.qr_id, "at": d.at, "actor": d.actor,
                                  "year": d.baseline_year, "returned": back.get(d.id, 0)})
        for p, name in s.execute(select(Page, ScanFile.name).join(ScanFile, Page.scan_file_id == ScanFile.id)
                                 .where(Page.case_id == case.id).order_by(Page.id)):
            out.pages.append({"id": p.id, "file": name, "page": p.page_no, "status": p.status, "at": p.at})
        for r in s.scalars(select(ReviewItem).where(ReviewItem.case_id == case.id).order_by(ReviewItem.id)):
            out.reviews.append({"id": r.id, "label": w.label(r.field), "read": w.shown(r.field, r.read_value),
                                "final": w.shown(r.field, r.final_value), "status": r.status,
                                "by": r.decided_by or "", "at": r.decided_at})
        for e in s.scalars(select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.at)):
            out.evidence.append({"id": e.id, "name": e.name, "note": e.note, "actor": e.actor, "at": e.at})
    _, out.history = history(setup, ledger, f"案件{case.id}")
    return out


def page_file(ledger: Ledger, scope: Scope, page_id: int) -> tuple[Path, int] | None:
    """The stored scan file and page number of a returned page of a case in ``scope``."""
    with ledger.read() as s:
        row = s.execute(select(Page.page_no, ScanFile.stored_path, Page.case_id)
                        .join(ScanFile, Page.scan_file_id == ScanFile.id).where(Page.id == page_id)).first()
        if row is None or row.case_id is None or case_in_scope(s, scope, row.case_id) is None:
            return None
    if not row.stored_path:
        return None
    path = files_dir(ledger) / row.stored_path
    return (path, row.page_no) if path.is_file() else None


def cases_in(ledger: Ledger, scope: Scope) -> int:
    with ledger.read() as s:
        return s.scalar(select(func.count(Case.id)).join(Household, Case.household_id == Household.id)
                        .where(scope.where())) or 0


__all__ = ["CaseFile", "TIMELINE", "case_file", "cases_in", "page_file"]
