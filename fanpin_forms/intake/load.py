"""Load a data file for a form and run every record check: what validate and fill share."""

from __future__ import annotations

from pathlib import Path

from ..app import App
from .checks import findings_as_problems, run_checks
from ..errors import Problem
from ..forms.model import FormSpec
from .records import LoadResult, Record, load_records


def load_and_check(app: App, form: FormSpec, data: Path, *, sheet: str | None = None) -> LoadResult:
    """Parse every row, then run core and county checks on every row, so that one run
    reports every problem of every row (rows with unreadable cells are checked as far
    as they could be read).

    Records with an error finding move from ``records`` to ``errors``; problems are
    in row order, a row's field problems before its check problems."""
    county = app.county
    result = load_records(data, form, county, app.field_types, sheet=sheet)
    valid = []
    for record in result.records:
        problems = _checked(app, record, form, result)
        if not any(p.severity == "error" for p in problems):
            valid.append(record)
    for record in result.partial:
        _checked(app, record, form, result)
    result.records = valid
    result.errors.sort(key=lambda p: (p.location.row or 0))
    result.warnings.sort(key=lambda p: (p.location.row or 0))
    return result


def _checked(app: App, record: Record, form: FormSpec, result: LoadResult) -> list[Problem]:
    """Run the checks on one record, adding what they find to ``result``."""
    problems = findings_as_problems(run_checks(app.checks, record, form, app.county), record, form)
    result.errors.extend(p for p in problems if p.severity == "error")
    result.warnings.extend(p for p in problems if p.severity != "error")
    return problems
