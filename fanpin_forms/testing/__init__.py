"""The plugin author's kit: in-process helpers for testing a county plugin.

::

    from fanpin_forms.testing import app_with, case, run_rule, render_pdf, read_back
    import my_county_plugin as plugin

    def test_my_rule():
        app = app_with(plugin, county="pingjiang")
        found = run_rule(app, plugin.helper_named, case(app, 户编号="PJ-1", 县级审定日期="2022-06-10"))
        assert [f.severity for f in found] == ["error"]

``app_with`` builds the application with the core's built-ins and the given plugin
modules only (installed entry points are not loaded, so another county on the machine
changes nothing). Everything goes through the product's own code: ``case`` loads the
values as a one-row case ledger sheet (the same parsing and messages as ``fanpin
check``), ``render_pdf`` prints with LibreOffice as ``fanpin fill`` does, and
``read_back`` reads pages as ``fanpin parse`` does. Installing fanpin-forms also
registers a pytest plugin (:mod:`.pytest_plugin`) that keeps every test's key and
ledger in a temporary folder.

Invented data only: :func:`households` gives valid made-up households.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .households import HEADERS, households, members, write_xlsx

__all__ = ["app_with", "case", "households", "members", "read_back", "render_pdf", "render_png", "run_rule", "write_xlsx"]


def app_with(*plugins: object, county: str | None = None):
    """An :class:`~fanpin_forms.app.App` with the built-ins and ``plugins`` only."""
    from ..app import App

    return App(county, extra_plugins=tuple(plugins), entry_points=False)


def _ledger_row(form, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` keyed by field key or Chinese label → a row headed by labels."""
    by_key = {f.key: f.label for f in form.fields}
    return {by_key.get(k, k): v for k, v in values.items()}


def case(app, **values: Any):
    """One case (:class:`~fanpin_forms.cases.rules.Case`) from a few case-ledger values,
    keyed by field key (``county_approval_date=``) or by the sheet's Chinese header
    (``县级审定日期=``), written as a clerk would write them (``"2022-06-10"``). Values
    left out are empty; the required ones (head of household, ID number, address, risk
    type) get invented defaults. A key that is no column of the ledger is an error.
    Invalid values raise the same :class:`~fanpin_forms.errors.DataError` as ``fanpin check``."""
    from ..cases.rules import Case
    from ..errors import Code, DataError

    form = app.form("ledger")
    household = households(1, seed=0, prefix="TEST")[0]
    row = {**{k: household[k] for k in ("户编号", "户主姓名", "身份证号码", "家庭人口", "乡镇（街道）", "村（社区）",
                                        "村民小组")},
           "风险类型": "⑥", **_ledger_row(form, values)}
    with tempfile.TemporaryDirectory(prefix="fanpin-kit-") as tmp:
        path = Path(tmp) / "监测对象台账.json"
        path.write_text(json.dumps([row], ensure_ascii=False, default=str), encoding="utf-8")
        result = app.load_and_check(form, path)
    # an invalid value, or a misspelt key (a mistake in a test, not a column to ignore)
    problems = [*result.errors, *(w for w in result.warnings if w.code is Code.DATA_UNKNOWN_HEADER)]
    if problems or not result.records:
        raise DataError(problems)
    return Case(result.records[0], form)


def run_rule(app, rule, cases, as_of=None, *, plugin: str = "test") -> list:
    """Run one case rule (as ``fanpin check`` runs it: messages scrubbed, source filled
    in from the county) over one case or several; returns the findings."""
    from ..cases.rules import Case, run_rules

    cases = [cases] if isinstance(cases, Case) else list(cases)
    return run_rules([(plugin, rule)], cases, app.county, as_of)


def render_pdf(app, form_id: str, out: Path | str, rows: Iterable[dict] | None = None, *, year: int | None = None,
               blanks: int = 1) -> Path:
    """Print form ``form_id`` (with the county's own template if it ships one) to ONE PDF
    at ``out`` as ``fanpin fill --merge`` does:
    one page per household row (clerk's headers, e.g. from :func:`households`), or
    ``blanks`` blank forms when ``rows`` is None. ``year`` defaults to the county's
    latest published baseline."""
    from ..render.context import record_context, record_ident
    from ..render.fill import compile_for
    from ..render.pdfout import merged_pdf

    form = app.form(form_id)
    year = year or max(app.county.baselines, default=None)
    if rows is None:
        contexts = [record_context(form, None, app.county, year, f"S:{form_id}-kit-{i + 1}", types=app.field_types)
                    for i in range(blanks)]
    else:
        with tempfile.TemporaryDirectory(prefix="fanpin-kit-") as tmp:
            rows = list(rows)
            headers = list(dict.fromkeys([*HEADERS, *(k for r in rows for k in r)]))  # a county's own columns too
            data = write_xlsx(Path(tmp) / "农户信息表.xlsx", rows, headers)
            records = app.load_and_check(form, data).records
        contexts = [record_context(form, r, app.county, year, record_ident(r, i + 1), types=app.field_types)
                    for i, r in enumerate(records)]
    return merged_pdf(compile_for(form, app.templates.get(form_id)), contexts, Path(out), label=form_id)


def render_png(pdf: Path | str, out_dir: Path | str, *, dpi: int = 150) -> list[Path]:
    """Every page of ``pdf`` as a PNG (``pdftoppm``), e.g. to look at a form or to use
    as a clean scan."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / Path(pdf).stem
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, capture_output=True,
                   timeout=300)
    return sorted(out_dir.glob(f"{Path(pdf).stem}-*.png"))


def read_back(app, paths: Sequence[Path | str], *, data: Path | None = None, workers: int = 1,
              review_dir: Path | None = None):
    """Read scans or photos (PDF or images) as ``fanpin parse`` does; returns the
    :class:`~fanpin_forms.readback.run.ParseResult` (``.read``: typed records).
    ``review_dir``: as ``parse --review``, the review items get the images of the paper there."""
    from ..readback.run import parse_inputs

    return parse_inputs(app.read_setup(), [Path(p) for p in paths], data=data, workers=workers,
                        review_dir=Path(review_dir) if review_dir else None)
