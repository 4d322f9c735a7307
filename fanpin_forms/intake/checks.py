"""Record checks: rules over one record's parsed values.

Core rules live in ``default_plugins/core_checks.py``; a county adds its own through
the ``register_checks`` hook. Each check is ``check(record, form, county)`` and
returns (or yields) :class:`Finding` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..forms.county import County
from ..errors import Code, Location, Problem
from ..forms.model import FormSpec
from .records import Record


@dataclass(frozen=True)
class Finding:
    """What a check found. ``field`` is a field key (its label is shown to users)."""

    severity: str  # "error" | "warning"
    field: str | None
    message: str
    rule: str = ""  # the check's name, filled in by run_checks

    @classmethod
    def error(cls, field: str | None, message: str) -> Finding:
        return cls("error", field, message)

    @classmethod
    def warning(cls, field: str | None, message: str) -> Finding:
        return cls("warning", field, message)


def run_checks(checks: Iterable[tuple[str, Callable]], record: Record, form: FormSpec,
               county: County) -> list[Finding]:
    """Run every check on one record; a check's findings get its name as ``rule``.

    On a record with unreadable fields (``record.invalid``, a row that already has
    errors) the checks run too, so that a clerk sees every problem of the row at
    once; what they say about an unreadable field is dropped (that field's own
    error says it better), and a check that fails on the missing values is skipped:
    it needed a field the row does not have yet."""
    found: list[Finding] = []
    for _plugin, check in checks:
        try:
            findings = list(check(record, form, county) or ())
        except Exception:  # noqa: BLE001 - see the docstring: only for rows already in error
            if not record.invalid:
                raise
            continue
        for finding in findings:
            if record.invalid and finding.field in record.invalid:
                continue
            found.append(Finding(finding.severity, finding.field, finding.message,
                                 finding.rule or getattr(check, "__name__", "check")))
    return found


def findings_as_problems(findings: Iterable[Finding], record: Record, form: FormSpec) -> list[Problem]:
    """Findings in the same shape as data errors: file, sheet, row, field label."""
    out = []
    for f in findings:
        field = form.field(f.field) if f.field else None
        loc = Location(file=record.source or None, row=record.row, label=field.label if field else None,
                       sheet=record.sheet)
        out.append(Problem(Code.CHECK_FINDING, {"message": f.message, "rule": f.rule}, loc, f.severity))
    return out
