"""Load a data file for a form and run every record check: what validate and fill share."""

from __future__ import annotations

from pathlib import Path

from .app import App
from .checks import findings_as_problems, run_checks
from .model import FormSpec
from .records import LoadResult, load_records


def load_and_check(app: App, form: FormSpec, data: Path, *, sheet: str | None = None) -> LoadResult:
    """Parse every row, then run core and county checks on the rows that parsed.

    Records with an error finding move from ``records`` to ``errors``."""
    county = app.county
    result = load_records(data, form, county, app.field_types, sheet=sheet)
    valid = []
    for record in result.records:
        problems = findings_as_problems(run_checks(app.checks, record, form, county), record, form)
        result.errors.extend(p for p in problems if p.severity == "error")
        result.warnings.extend(p for p in problems if p.severity != "error")
        if not any(p.severity == "error" for p in problems):
            valid.append(record)
    result.records = valid
    result.errors.sort(key=lambda p: (p.location.row or 0))
    return result
