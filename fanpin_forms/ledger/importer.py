"""``fanpin ledger import``: a clerk's sheet into the ledger, all or nothing.

Each chunk of rows is parsed and checked by the same code as ``fanpin validate``
(:func:`~fanpin_forms.intake.records.load_records` and the record checks), so the
messages are the same: file, Excel row, Chinese label, values masked. Every row is
validated; if any is invalid nothing is written (the whole import is one
transaction, rolled back) unless ``skip_invalid``.

Households are matched by 户编号, else by the head's ID number. Only the columns the
sheet has are compared; a blank cell under a present column clears the value. A value
whose provenance is a person (manual entry, review correction) is kept unless
``overwrite``, and listed as a conflict. Audit rows are written in the same
transaction: one per new household (its fields, masked), one per changed field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from .setup import LedgerSetup
from ..errors import Code, DataError, Location, Problem
from ..intake.checks import findings_as_problems, run_checks
from ..intake.records import HeaderIndex, Record, load_records
from ..intake.tabular import SourceTable
from ..forms.model import FormSpec
from ..privacy.masking import mask_id
from . import values as V
from .audit import actor_name, new_operation
from .bulk import insert_rows
from .db import Ledger
from .models import PERSON_SOURCES, Audit, Case, FieldValue, Household
from .export import EXPORT_ONLY
from .sheet import open_sheet



@dataclass
class Conflict:
    row: int | None
    household_no: str
    label: str
    kept: str | None
    offered: str | None
    source: str

    def __str__(self) -> str:
        return (f"第{self.row}行 户编号 {self.household_no}「{self.label}」：台账中为人工{'录入' if self.source == 'manual' else '核对'}的"
                f"「{self.kept or '（空）'}」，表中为「{self.offered or '（空）'}」，未覆盖")


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_fields: Counter = field(default_factory=Counter)
    conflicts: list[Conflict] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    skipped_rows: int = 0
    operation_id: int | None = None

    def summary(self) -> str:
        what = ""
        if self.changed_fields:
            what = "（" + "、".join(f"{label} {n} 户" for label, n in self.changed_fields.most_common()) + "）"
        return f"新增 {self.added} 户，更新 {self.updated} 户{what}，未变 {self.unchanged} 户"


def present_fields(form: FormSpec, headers: list[str]) -> set[str]:
    """The form fields the sheet has a column for (an address when any of its parts is there)."""
    index = HeaderIndex(form)
    out = set()
    for h in headers:
        target = index.match(h)
        if target is not None:
            out.add(target[0])
    return out


class _SeenKeys:
    """The keys (户编号, ID number) of the rows of earlier chunks with their first row, as two
    sorted numpy arrays of 64-bit hashes and row numbers: 16 bytes a key, so the memory of a
    100,000-row import stays that of one chunk (a dict of strings took ~200 bytes a key)."""

    def __init__(self):
        self.hashes = np.empty(0, dtype=np.int64)
        self.rows = np.empty(0, dtype=np.int64)

    def lookup(self, hashes: list[int]) -> list[int | None]:
        """The first row of each hash among the earlier chunks, or None."""
        if not hashes or not self.hashes.size:
            return [None] * len(hashes)
        h = np.array(hashes, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.hashes, h), self.hashes.size - 1)
        found = self.hashes[at] == h
        return [int(row) if f else None for row, f in zip(self.rows[at], found)]

    def add(self, pairs: list[tuple[int, int]]) -> None:
        """Add a chunk's (hash, row); a key seen before keeps its first row."""
        if not pairs:
            return
        hashes = np.concatenate([self.hashes, np.array([h for h, _ in pairs], dtype=np.int64)])
        rows = np.concatenate([self.rows, np.array([r for _, r in pairs], dtype=np.int64)])
        order = np.lexsort((rows, hashes))  # by hash, then the earliest row first
        hashes, rows = hashes[order], rows[order]
        first = np.ones(hashes.size, dtype=bool)
        first[1:] = hashes[1:] != hashes[:-1]
        self.hashes, self.rows = hashes[first], rows[first]


class _Importer:
    def __init__(self, setup: LedgerSetup, ledger: Ledger, session: Session, source: str, *, overwrite: bool):
        self.setup, self.ledger, self.session = setup, ledger, session
        self.form = setup.form
        self.types = setup.field_types
        self.mask = setup.county.mask
        self.labels = V.field_labels(self.form)
        self.fields = {f.key: f for f in self.form.fields}
        self.id_key = next((f.key for f in self.form.fields if f.type == "id_number"), None)
        self.overwrite = overwrite
        self.actor = actor_name()
        self.now = dt.datetime.now(dt.timezone.utc)
        self.operation = new_operation(session, "import", self.actor, source)
        self.result = ImportResult(operation_id=self.operation.id)
        self.seen = _SeenKeys()  # ("no"|"id", key) of earlier chunks -> their first row

    # --- validation ---------------------------------------------------------------------

    def validate(self, records: list[Record], chunk_start: int) -> tuple[list[Record], list[Problem]]:
        """Cross-chunk duplicates (a chunk's own are found by load_records) and the ledger's
        one-ID-one-household rule; returns the records still valid and the problems."""
        ok, problems = [], []
        keyed: list[tuple[Record, list[tuple[str, str, str]]]] = []
        for r in records:
            keys = []
            if r.case_id:
                keys.append(("no", r.case_id, f"户编号 {r.case_id}"))
            idn = r.values.get(self.id_key) if self.id_key else None
            if idn:
                keys.append(("id", str(idn), f"身份证号码 {mask_id(str(idn), self.mask)}"))
            if not keys:
                problems.append(Problem(Code.LEDGER_NO_CASE_ID, {}, Location(file=r.source, sheet=r.sheet, row=r.row)))
                continue
            keyed.append((r, keys))
        flat = [(hash((kind, key)), r.row or 0) for r, keys in keyed for kind, key, _ in keys]
        earlier = iter(self.seen.lookup([h for h, _ in flat]))
        for r, keys in keyed:
            bad = False
            for _kind, _key, shown in keys:
                first = next(earlier)
                if first is not None and first < chunk_start:
                    where = Location(file=r.source, sheet=r.sheet, row=r.row)
                    problems.append(Problem(Code.LEDGER_DUPLICATE_ROW, {"first": first, "key": shown}, where))
                    bad = True
            if not bad:
                ok.append(r)
        self.seen.add(flat)
        return ok, problems

    # --- writing --------------------------------------------------------------------------

    def write(self, records: list[Record], present: set[str]) -> list[Problem]:
        if not records:
            return []
        s = self.session
        nos = [r.case_id for r in records if r.case_id]
        ids = [str(r.values[self.id_key]) for r in records if self.id_key and r.values.get(self.id_key)]
        by_no = {h.household_no: h for h in s.scalars(select(Household).where(Household.household_no.in_(nos)))} if nos else {}
        by_id = {h.id_number: h for h in s.scalars(select(Household).where(Household.id_number.in_(ids)))} if ids else {}
        problems: list[Problem] = []
        plan: list[tuple[Record, Household | None]] = []
        for r in records:
            where = Location(file=r.source, sheet=r.sheet, row=r.row, label="身份证号码")
            idn = str(r.values.get(self.id_key)) if self.id_key and r.values.get(self.id_key) else None
            h = by_no.get(r.case_id) if r.case_id else None
            other = by_id.get(idn) if idn else None
            if h is None and r.case_id is None:
                h = other
            elif other is not None and other is not h:
                if h is None and other.household_no is None:
                    h = other  # a household first known by its ID number now gets its 户编号
                else:
                    problems.append(Problem(Code.LEDGER_ID_ELSEWHERE, {
                        "id": mask_id(idn, self.mask), "other": other.household_no or "（无户编号）",
                        "case_id": r.case_id or "（无户编号）"}, where))
                    continue
            plan.append((r, h))
        if problems:
            return problems
        existing = [h for _, h in plan if h is not None]
        cases = self._current_cases([h.id for h in existing])
        stored = self._values([c.id for c in cases.values()])
        for r, h in plan:
            if h is not None:
                self._update(r, h, cases[h.id], stored.get(cases[h.id].id, {}), present)
        self.session.flush()
        self._add_all([r for r, h in plan if h is None], present)
        return []

    def _current_cases(self, household_ids: list[int]) -> dict[int, Case]:
        out: dict[int, Case] = {}
        if not household_ids:
            return out
        for c in self.session.scalars(select(Case).where(Case.household_id.in_(household_ids)).order_by(Case.episode)):
            out[c.household_id] = c  # the latest episode wins
        missing = [hid for hid in household_ids if hid not in out]
        for hid in missing:
            c = Case(household_id=hid, episode=1, opened_at=self.now)
            self.session.add(c)
            out[hid] = c
        if missing:
            self.session.flush()
        return out

    def _values(self, case_ids: list[int]) -> dict[int, dict[str, FieldValue]]:
        out: dict[int, dict[str, FieldValue]] = {}
        if not case_ids:
            return out
        q = select(FieldValue).where(FieldValue.case_id.in_(case_ids), FieldValue.pending.is_(False))
        for fv in self.session.scalars(q):
            out.setdefault(fv.case_id, {})[fv.field] = fv
        return out

    def _household_columns(self, r: Record) -> dict[str, Any]:
        address = r.values.get("address") or {}
        idn = r.values.get(self.id_key) if self.id_key else None
        return {"household_no": r.case_id, "id_number": str(idn) if idn else None,
                "head_name": str(r.values.get("head_name") or ""),
                "township": str(address.get("township") or ""), "village": str(address.get("village") or "")}

    def _add_all(self, records: list[Record], present: set[str]) -> None:
        """New households of one chunk: one bulk insert each for households, cases, values and audit rows."""
        if not records:
            return
        conn = self.session.connection()
        hrows = [dict(self._household_columns(r), created_at=self.now, updated_at=self.now) for r in records]
        hids = insert_rows(conn, Household, hrows, ids=True)
        cids = insert_rows(conn, Case, [{"household_id": hid, "episode": 1, "opened_at": self.now, "stage": "",
                                         "disputed": False, "closed_at": None} for hid in hids], ids=True)
        values, audits = [], []
        keys = self._keys(present)
        for r, cid in zip(records, cids):
            shown = {}
            for key in keys:
                text = V.encode(r.values.get(key))
                if text is None:
                    continue
                values.append({"case_id": cid, "field": key, "value": text, "source": "import", "actor": self.actor,
                               "at": self.now, "pending": False, "document_id": None, "page_id": None})
                shown[self.labels[key]] = V.shown(text, self.fields[key], self.types, self.mask)
            audits.append({"operation_id": self.operation.id, "at": self.now, "actor": self.actor, "entity": "cases",
                           "entity_id": cid, "case_id": cid, "field": "", "old": None,
                           "new": json.dumps(shown, ensure_ascii=False), "source": "import"})
        insert_rows(conn, FieldValue, values)
        insert_rows(conn, Audit, audits)
        self.result.added += len(records)

    def _keys(self, present: set[str]) -> list[str]:
        return [f.key for f in self.form.fields if f.key in present and f.type != "table"]

    def _update(self, r: Record, h: Household, c: Case, stored: dict[str, FieldValue], present: set[str]) -> None:
        s = self.session
        changed: list[str] = []
        for key in self._keys(present):
            new = V.encode(r.values.get(key))
            fv = stored.get(key)
            old = fv.value if fv is not None else None
            if new == old:
                continue
            f = self.fields[key]
            if fv is not None and fv.source in PERSON_SOURCES and not self.overwrite:
                self.result.conflicts.append(Conflict(r.row, h.household_no or "", f.label,
                                                      V.shown(old, f, self.types, self.mask),
                                                      V.shown(new, f, self.types, self.mask), fv.source))
                continue
            if new is None:
                s.delete(fv)
            elif fv is None:
                s.add(FieldValue(case_id=c.id, field=key, value=new, source="import", actor=self.actor,
                                 at=self.now, pending=False))
            else:
                fv.value, fv.source, fv.actor, fv.at = new, "import", self.actor, self.now
                fv.document_id = fv.page_id = None
            s.add(Audit(operation_id=self.operation.id, at=self.now, actor=self.actor, entity="field_values",
                        entity_id=fv.id if fv is not None else None, case_id=c.id, field=key,
                        old=V.shown(old, f, self.types, self.mask), new=V.shown(new, f, self.types, self.mask),
                        source="import"))
            changed.append(f.label)
        columns = self._household_columns(r)
        if r.case_id is None:
            columns.pop("household_no")
        if any(getattr(h, k) != v for k, v in columns.items()):
            for k, v in columns.items():
                setattr(h, k, v)
            h.updated_at = self.now
        if changed:
            self.result.updated += 1
            self.result.changed_fields.update(changed)
        else:
            self.result.unchanged += 1


def _without(table: SourceTable, headers: list[str]) -> SourceTable:
    """``table`` without the columns ``headers`` (the export's own, :data:`.export.EXPORT_ONLY`)."""
    for row in table.rows:
        for h in headers:
            row.cells.pop(h, None)
    return SourceTable(table.path, table.sheet, [h for h in table.headers if h not in headers], table.header_row,
                       table.rows)


def import_file(setup: LedgerSetup, ledger: Ledger, path: Path, *, sheet: str | None = None, skip_invalid: bool = False,
                overwrite: bool = False) -> ImportResult:
    """Import ``path`` into ``ledger`` in one transaction; raise DataError (nothing written) on invalid rows."""
    form = setup.form
    index = HeaderIndex(form)
    opened = open_sheet(path, sheet=sheet, header_score=index.known)
    present = present_fields(form, opened.headers)
    skipped = [h for h in opened.headers if h in EXPORT_ONLY]
    errors: list[Problem] = []
    with ledger.write() as session:
        imp = _Importer(setup, ledger, session, path.name, overwrite=overwrite)
        first = True
        for chunk in opened.chunks:
            if skipped:
                chunk = _without(chunk, skipped)
            loaded = load_records(path, form, setup.county, setup.field_types, table=chunk)
            warnings = [w for w in loaded.warnings if first or w.code is not Code.DATA_UNKNOWN_HEADER]
            imp.result.warnings.extend(warnings)
            valid = []
            chunk_errors = list(loaded.errors)
            for record in loaded.records:
                problems = findings_as_problems(run_checks(setup.record_checks, record, form, setup.county), record, form)
                bad = [p for p in problems if p.severity == "error"]
                imp.result.warnings.extend(p for p in problems if p.severity != "error")
                chunk_errors.extend(bad)
                if not bad:
                    valid.append(record)
            for record in loaded.partial:  # every problem of a bad row, as validate reports it
                problems = findings_as_problems(run_checks(setup.record_checks, record, form, setup.county), record, form)
                chunk_errors.extend(p for p in problems if p.severity == "error")
            start = chunk.rows[0].number if chunk.rows else 0
            valid, dup = imp.validate(valid, start)
            chunk_errors.extend(dup)
            if not (chunk_errors and not skip_invalid) and not (errors and not skip_invalid):
                chunk_errors.extend(imp.write(valid, present))
            errors.extend(chunk_errors)
            first = False
        errors.sort(key=lambda p: p.location.row or 0)
        if errors and not skip_invalid:
            rows = {p.location.row for p in errors if p.location.row is not None}
            raise DataError([Problem(Code.LEDGER_NOT_IMPORTED, {"count": len(rows) or len(errors)}, Location()), *errors])
        imp.result.skipped = errors
        imp.result.skipped_rows = len({p.location.row for p in errors})
        imp.operation.detail = json.dumps({"file": path.name, "added": imp.result.added, "updated": imp.result.updated,
                                           "unchanged": imp.result.unchanged,
                                           "skipped_rows": imp.result.skipped_rows}, ensure_ascii=False)
        return imp.result
