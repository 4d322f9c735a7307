"""The ledger's cases as :class:`~fanpin_forms.intake.records.Record` objects, for the case
rules and the notices (what ``fanpin check`` and ``fanpin notice`` read without ``--data``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from .setup import LedgerSetup
from ..forms.model import FormSpec
from ..intake.records import LoadResult, Record
from .db import Ledger
from .export import iter_cases
from .scope import Scope


def typed(value: Any, ftype: str) -> Any:
    """A decoded JSON value as the field type's parser returns it."""
    if value is None:
        return None
    if ftype == "date":
        return dt.date.fromisoformat(value)
    if ftype == "money":
        return Decimal(value)
    if ftype == "multi_choice":
        return tuple(value)
    return value


def load_ledger(setup: LedgerSetup, ledger: Ledger, *, township: str | None = None, village: str | None = None,
                scope: Scope | None = None) -> LoadResult:
    form: FormSpec = setup.form
    records = []
    for h, values in iter_cases(ledger, township=township, village=village, scope=scope):
        out: dict[str, Any] = {}
        for f in form.fields:
            v = typed(values.get(f.key), f.type)
            if v is None:
                v = () if f.type == "multi_choice" else ([] if f.type == "table" else None)
            out[f.key] = v
        records.append(Record(form.id, out, None, h.household_no, ledger.name, None))
    return LoadResult(records=records, rows_total=len(records))
