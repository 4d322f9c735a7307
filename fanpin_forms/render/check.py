"""``fanpin templates check``: is a (county-edited) DOCX template usable for a form?

Word often splits a tag over several runs (spell-check marks, a font change in the
middle); docxtpl's ``patch_xml`` — which the filler uses too — joins them again, so
the variables are read from the patched XML with Jinja's
``meta.find_undeclared_variables``. Reported as errors:

* a variable that is not a value of the form (with a did-you-mean);
* a required field (or required address part) that no slot of the template shows;
* a syntax error, or something the sandbox refuses (found by a trial fill);
* anything :mod:`.docxsafe` refuses when the template is loaded (zip bombs, DTDs,
  external links, field codes that would fetch a URL or carry a value);
* a template that goes over the limits of one form (time, size) in a trial fill of a
  blank form and of a worst-case record (every text as long as the data allows, every
  table full) — the same limits as ``fanpin fill``; the time it took is reported.

A template without the QR placeholder picture, or a bundled template that no longer
matches its spec, is reported as a warning.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..forms.county import County
from ..errors import Code, FanpinError, Problem, RenderError, did_you_mean
from ..forms.model import FormSpec
from . import names as N
from .context import known_names, record_context
from .compiled import CompiledTemplate

#: characters a text without ``max_length`` is given in the worst-case trial fill
WORST_TEXT = 200
#: characters of each table cell in the worst-case trial fill
WORST_CELL = 20


@dataclass
class CheckResult:
    label: str
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    variables: set[str] = field(default_factory=set)
    trial_seconds: float | None = None  # the slower of the two trial fills (None: not tried)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_year(county: County, year: int | None) -> int | None:
    """A year with a baseline (names only depend on it being there)."""
    if year is not None:
        return year
    return max(county.baselines) if county.baselines else None


def _slot_label(f, part) -> str:
    return f"{f.label}·{f.part_label(part)}" if part else f.label


def _expected_var(f, part) -> str:
    return "{{ " + (f"f_{f.key}__{part}" if part else f"f_{f.key}") + " }}"


def check_template(form: FormSpec, template: Path | bytes | CompiledTemplate, county: County, *,
                   year: int | None = None, types=None, label: str | None = None) -> CheckResult:
    label = label or (Path(template).name if isinstance(template, (str, Path)) else
                      getattr(template, "label", "（模板）"))
    result = CheckResult(label)
    try:
        compiled = template if isinstance(template, CompiledTemplate) else CompiledTemplate(template, label=label)
    except FanpinError as exc:
        result.errors.extend(exc.problems)
        return result
    year = check_year(county, year)
    known = known_names(form, county, year)
    used = compiled.variables()
    result.variables = used
    for name in sorted(used - known):
        result.errors.append(Problem(Code.RENDER_TEMPLATE_UNKNOWN_VAR, {
            "path": label, "name": name, "hint": did_you_mean(name, sorted(known))}))
    shown: set[tuple[str, str | None]] = set()
    for var in used & known:
        shown |= N.shown_by(form, var)
    for f, part in N.required_slots(form):
        if (f.key, part) in shown:
            continue
        if f.type in ("choice", "multi_choice") and f.code_lists:
            ticks = {N.tick_var(f.key, c.no) for lid in f.code_lists for c in form.code_lists[lid].codes}
            if ticks <= used:
                continue
        result.errors.append(Problem(Code.RENDER_TEMPLATE_MISSING_FIELD, {
            "path": label, "label": _slot_label(f, part), "var": _expected_var(f, part)}))
    if not compiled.has_qr:
        result.warnings.append(Problem(Code.RENDER_TEMPLATE_NO_QR, {"path": label}, severity="warning"))
    if not result.errors:
        # trial fills: the sandbox, strict variables and the limits only complain while rendering
        try:
            for context in (record_context(form, None, county, year, "S:check", types=types),
                            worst_case_context(form, county, year, types)):
                start = time.monotonic()
                compiled.render_bytes(context)
                result.trial_seconds = max(result.trial_seconds or 0.0, time.monotonic() - start)
        except RenderError as exc:
            result.errors.extend(exc.problems)
    return result


def worst_case_context(form: FormSpec, county: County, year: int | None, types=None) -> dict[str, Any]:
    """A form filled as fully as the data allows: every text at its longest, every table row full.

    A loop or filter whose cost grows with a value is tried at that value's worst case
    before the first real form is written."""
    ctx = record_context(form, None, county, year, "S:check", types=types)
    longest = {f.key: int(f.params.get("max_length") or WORST_TEXT) for f in form.fields}
    for key, value in ctx.items():
        if key in (N.IDENT_VAR, "qr_payload"):
            continue
        if isinstance(value, str) and value not in (N.BOX_EMPTY, N.BOX_TICKED):
            root = key[2:].split("__", 1)[0] if key[:2] in ("f_", "v_") else ""
            ctx[key] = "测" * max(len(value), longest.get(root, WORST_TEXT))
        elif isinstance(value, list):
            ctx[key] = [{k: "测" * WORST_CELL for k in row} if isinstance(row, dict) else row for row in value]
    return ctx
