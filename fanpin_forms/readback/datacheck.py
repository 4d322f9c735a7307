"""The household sheet given with ``--data``: what each pre-filled form should show.

Each form's rows are loaded and checked once (through the composition root's
``load_and_check``, as ``fanpin validate`` does) and indexed by 户编号 and by row; a
record's header values are then compared with what the fill command printed for its
row (:meth:`.fields.HeaderLayout.expected`, through the setup's printer).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError, FanpinError, Problem
from .reference import header_layout, reference_year
from .setup import ReadSetup


class DataCheck:
    """Expected header values of pre-filled forms, from the household sheet."""

    def __init__(self, setup: ReadSetup, data: Path, sheet: str | None):
        self.setup, self.data, self.sheet = setup, Path(data), sheet
        self.label = Path(data).name
        self.problems: list[Problem] = []
        self._by_form: dict[str, tuple[dict, dict] | None] = {}

    def _load(self, form):
        if form.id in self._by_form:
            return self._by_form[form.id]
        try:
            result = self.setup.load_records(form, self.data, sheet=self.sheet)
        except (DataError, FanpinError) as exc:
            self.problems.extend(p.with_location(file=str(self.data)) if not p.location.file else p
                                 for p in exc.problems[:5])
            self._by_form[form.id] = None
            return None
        by_case = {str(r.case_id): r for r in result.records if r.case_id}
        by_row = {r.row: r for r in result.records if r.row is not None}
        self._by_form[form.id] = (by_case, by_row)
        return self._by_form[form.id]

    def available(self, form) -> bool:
        return self._load(form) is not None

    def record(self, form, kind: str, value: str):
        """The sheet's record printed on a form with ident ``kind:value`` (C: 户编号, R: row), or None."""
        loaded = self._load(form)
        if loaded is None:
            return None
        by_case, by_row = loaded
        return by_case.get(value) if kind == "C" else (by_row.get(int(value)) if value.isdigit() else None)

    def expected(self, form, kind: str, value: str) -> dict[str, str] | None:
        record = self.record(form, kind, value)
        if record is None:
            return None
        setup = self.setup
        return header_layout(setup, form).expected(record, setup.county, setup.field_types,
                                                   reference_year(setup.county), setup.printer.context)


__all__ = ["DataCheck"]
