"""Load a household sheet (or case ledger sheet) for a form and run every record check:
what validate, fill, check and notice share.

It gets what it needs as arguments (the county, the field types, the record checks);
:meth:`fanpin_forms.app.App.load_and_check` fills them in from the plugins."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ..errors import Problem
from ..forms.county import County
from ..forms.fieldtypes import FieldType
from ..forms.model import FormSpec
from .checks import findings_as_problems, run_checks
from .records import LoadResult, Record, load_records


def load_and_check(form: FormSpec, data: Path, *, county: County, field_types: Mapping[str, FieldType],
                   record_checks: Iterable[tuple[str, Callable]], sheet: str | None = None) -> LoadResult:
    """Parse every row, then run the record checks (core and county, ``register_checks``)
    on every row, so that one run reports every problem of every row (rows with
    unreadable cells are checked as far as they could be read).

    Records with an error finding move from ``records`` to ``errors``; problems are
    in row order, a row's field problems before its check problems."""
    record_checks = list(record_checks)
    result = load_records(data, form, county, field_types, sheet=sheet)
    valid = []
    for record in result.records:
        problems = _checked(record_checks, county, record, form, result)
        if not any(p.severity == "error" for p in problems):
            valid.append(record)
    for record in result.partial:
        _checked(record_checks, county, record, form, result)
    result.records = valid
    result.errors.sort(key=lambda p: (p.location.row or 0))
    result.warnings.sort(key=lambda p: (p.location.row or 0))
    return result


def _checked(record_checks: list[tuple[str, Callable]], county: County, record: Record, form: FormSpec,
             result: LoadResult) -> list[Problem]:
    """Run the record checks on one record, adding what they find to ``result``."""
    problems = findings_as_problems(run_checks(record_checks, record, form, county), record, form)
    result.errors.extend(p for p in problems if p.severity == "error")
    result.warnings.extend(p for p in problems if p.severity != "error")
    return problems
