"""Case rules: the procedure's time limits and steps, checked over the case ledger.

A *rule* is ``rule(case, county, as_of)``; it returns or yields :class:`RuleFinding`
objects (or nothing). Plugins register rules through the ``register_rules`` hook;
``fanpin check`` loads the ``ledger`` form's rows as :class:`Case` objects and runs
every rule over every case (:func:`run_rules`), then groups the findings by
township and village (:func:`group_findings`).

Rules read every limit from the ``county`` argument (``county.publicity_days`` …),
so a county that only changes a value reuses them unchanged.

Day counting — stated once here, used by every rule
---------------------------------------------------

* **A period counts both ends.** A publicity from 6-01 to 6-05 lasts 5 days
  (:func:`period_days`); 6-01 to 6-04 lasts 4.
* **"Within N days of D" means on or before D + N** (:func:`deadline`). Risk found
  on 6-01, identification within 15 days: approved on 6-16 (day 15) passes, on 6-17
  (day 16) fails, 1 day over.
* **"Within N months of D" means on or before the same day N months later**,
  the month's last day when that day does not exist (:func:`deadline_months`):
  identified on 6-20, entered by 7-20 passes, 7-21 fails; 1-31 + 1 month = 2-28.
* **Days over** = the date (or ``as_of`` for a step not yet done) minus the
  deadline, in days (:func:`days_over`). A step still open is overdue only when
  ``as_of`` is *after* the deadline: on the deadline day itself there is still time.
* **Steps in order**: a step may fall on the same day as the step before it.

Dates are :class:`datetime.date` objects, never compared as text.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..forms.county import County
from ..errors import Code, FanpinError, PluginError, Problem, did_you_mean
from ..privacy.masking import mask_id, scrub
from ..forms.model import FormSpec
from ..intake.records import Record

Rule = Callable[["Case", County, "dt.date | None"], "Iterable[RuleFinding] | None"]

# --- day arithmetic -----------------------------------------------------------------


def period_days(start: dt.date, end: dt.date) -> int:
    """Length of a period counting both ends: 6-01..6-05 is 5 days."""
    return (end - start).days + 1


def deadline(day: dt.date, days: int) -> dt.date:
    """Last day that is still "within ``days`` days of ``day``": ``day + days``."""
    return day + dt.timedelta(days=days)


def deadline_months(day: dt.date, months: int) -> dt.date:
    """Last day that is still "within ``months`` months of ``day``" (clamped to month end)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def days_over(actual: dt.date, last_day: dt.date) -> int:
    """Days by which ``actual`` is after ``last_day`` (0 when on time)."""
    return max(0, (actual - last_day).days)


def fmt_date(day: dt.date | None) -> str:
    """A date as users write it: 2022年6月1日."""
    return "" if day is None else f"{day.year}年{day.month}月{day.day}日"


# --- cases and findings ---------------------------------------------------------------


class UnknownColumn(LookupError):
    """A rule asked for a column the case ledger does not declare (a misspelt key, or a
    county column without its ``extends: ledger`` spec)."""

    def __init__(self, key: str, known: list[str]):
        super().__init__(key)
        self.key, self.known = key, known


class Case:
    """One household of the case ledger, as a rule sees it.

    ``case["county_approval_date"]`` is the parsed value (a date, Decimal, str…) or
    None when the cell is empty; ``case.label(key)`` the field's Chinese label for
    messages. ``case.record`` is the underlying :class:`~fanpin_forms.intake.records.Record`.
    """

    def __init__(self, record: Record, form: FormSpec | None = None):
        self.record = record
        self.form = form

    def __getitem__(self, key: str) -> Any:
        if key not in self.record.values and self.form is not None and self.form.field(key) is None:
            raise UnknownColumn(key, [f.key for f in self.form.fields])
        value = self.record.values.get(key)
        return None if value in ("", (), []) else value

    def get(self, key: str, default: Any = None) -> Any:
        value = self[key]
        return default if value is None else value

    def label(self, key: str) -> str:
        f = self.form.field(key) if self.form else None
        return f.label if f else key

    def has_any(self, *keys: str) -> bool:
        return any(self[k] is not None for k in keys)

    @property
    def case_id(self) -> str:
        return self.record.case_id or (f"第{self.record.row}行" if self.record.row else "")

    @property
    def row(self) -> int | None:
        return self.record.row

    @property
    def head_name(self) -> str:
        return self.get("head_name", "")

    def _address(self, part: str) -> str:
        address = self.record.values.get("address") or {}
        return address.get(part, "") if isinstance(address, dict) else ""

    @property
    def township(self) -> str:
        return self._address("township")

    @property
    def village(self) -> str:
        return self._address("village")

    @property
    def group(self) -> str:
        return self._address("group")

    def secrets(self) -> list[str]:
        """The case's sensitive values as text (ID number, phone, bank account, health…)."""
        keys = self.form.sensitive_keys if self.form else {"id_number", "phone"}
        return [str(v) for k in keys if (v := self.record.values.get(k)) not in (None, "")]


@dataclass(frozen=True)
class RuleFinding:
    """What a rule found about one case.

    A rule fills ``severity``, ``message`` and, for a missed deadline, ``days_over``;
    :func:`run_rules` fills in the rule (id, title, source quote) and the case
    (id, head of household, township, village, row).
    """

    severity: str  # "error" | "warning"
    message: str
    days_over: int | None = None
    rule: str = ""  # the rule's id (its function name unless given)
    title: str = ""  # short Chinese title, e.g. 识别认定时限
    source: str = ""  # the notice's own words the rule enforces
    plugin: str = ""
    case_id: str = ""
    head_name: str = ""
    township: str = ""
    village: str = ""
    row: int | None = None
    id_masked: str = ""  # the head's ID number, masked with the county's policy

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "severity", "rule", "title", "message", "days_over", "source", "plugin", "case_id", "head_name",
            "id_masked", "township", "village", "row")}


def error(message: str, days_over: int | None = None) -> RuleFinding:
    """An error finding (``fanpin check`` exits 1)."""
    return RuleFinding("error", message, days_over)


def warning(message: str) -> RuleFinding:
    """A warning: worth a look, does not fail the check."""
    return RuleFinding("warning", message)


def rule(title: str, *, source: str | tuple[str, ...] = (), quote: str = "", id: str | None = None,
         reads: tuple[str, ...] = ()) -> Callable[[Rule], Rule]:
    """Give a rule its title and source.

    ``source`` names one or more :class:`~fanpin_forms.forms.county.County` ``sources``
    keys: the county's quotation of its own notice for the value the rule uses
    (so a county with a 7-day publicity shows its own words). ``quote`` is the
    rule's own quotation, used when the county has none for those keys.
    ``reads`` names the ledger columns the rule reads through helpers of its own
    (``_publicity(case, "publicity_start", …)``); the ones it reads itself
    (``case["key"]``, ``case.get("key")``, ``case.label("key")``, ``case.has_any("a", "b")``)
    are found in its source. All of them must be columns of the case ledger: see
    :func:`unknown_columns`, checked when the rules are loaded.
    """
    keys = (source,) if isinstance(source, str) else tuple(source)

    def decorate(fn: Rule) -> Rule:
        fn.rule_id = id or fn.__name__  # type: ignore[attr-defined]
        fn.rule_title = title  # type: ignore[attr-defined]
        fn.rule_source_keys = keys  # type: ignore[attr-defined]
        fn.rule_quote = quote  # type: ignore[attr-defined]
        fn.rule_reads = (reads,) if isinstance(reads, str) else tuple(reads)  # type: ignore[attr-defined]
        return fn

    return decorate


_CASE_METHODS = ("get", "label", "has_any")


def columns_read(fn: Callable) -> set[str]:
    """The ledger columns a rule reads: its declared ``reads`` and every constant key it
    uses on its first argument (``case["k"]``, ``case.get("k")``, ``case.label("k")``,
    ``case.has_any("a", "b")``) in its own source. A rule whose source cannot be read
    (built in C, made at run time) has only its ``reads``; keys computed at run time are
    still checked when the rule runs."""
    import ast
    import textwrap

    found = set(getattr(fn, "rule_reads", ()) or ())
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        first = next(iter(inspect.signature(fn).parameters), None)
    except (OSError, TypeError, ValueError, SyntaxError):
        return found
    if first is None:
        return found
    for node in ast.walk(tree):
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == first
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            found.add(node.slice.value)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name) and node.func.value.id == first
              and node.func.attr in _CASE_METHODS):
            args = node.args if node.func.attr == "has_any" else node.args[:1]
            found.update(a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return found


def unknown_columns(rules: Iterable[tuple[str, Callable]], ledger: FormSpec) -> list[Problem]:
    """RULE_UNKNOWN_COLUMN for every column a rule reads (:func:`columns_read`) that the
    case ledger ``ledger`` does not declare (a misspelt key, or a county column without
    its ``extends: ledger`` spec)."""
    known = [f.key for f in ledger.fields]
    problems = []
    for plugin, fn in rules:
        for key in sorted(columns_read(fn)):
            if ledger.field(key) is None:
                problems.append(Problem(Code.RULE_UNKNOWN_COLUMN, {
                    "plugin": plugin, "rule": rule_id(fn), "key": key, "hint": did_you_mean(key, known)}))
    return problems


def rule_id(fn: Callable) -> str:
    return getattr(fn, "rule_id", None) or getattr(fn, "__name__", "rule")


def rule_title(fn: Callable) -> str:
    title = getattr(fn, "rule_title", "")
    if title:
        return title
    doc = inspect.getdoc(fn) or ""
    return doc.splitlines()[0].rstrip("。.") if doc else rule_id(fn)


def rule_source(fn: Callable, county: County) -> str:
    """The notice's words behind a rule: the county's own quotations for the values the
    rule uses. A rule reused by a county that gave none says so rather than quoting
    another county's notice; only a rule that uses no county value falls back to its
    own ``quote``."""
    keys = getattr(fn, "rule_source_keys", ())
    quotes = list(dict.fromkeys(county.sources[k] for k in keys if county.sources.get(k)))
    if quotes:
        return "；".join(quotes)
    if keys:
        return Code.RULE_NO_SOURCE.format(county=county.name, keys="、".join(keys))
    return getattr(fn, "rule_quote", "")


# --- running ---------------------------------------------------------------------------


def run_rules(rules: Iterable[tuple[str, Callable]], cases: Iterable[Case], county: County,
              as_of: dt.date | None = None) -> list[RuleFinding]:
    """Run every rule over every case; findings in ledger order, then rule order.

    Every message is scrubbed of the case's sensitive values (ID numbers and phones
    come out masked with ``county.mask``), whatever a rule put in it. A rule that
    raises is reported as a :class:`~fanpin_forms.errors.PluginError` naming its
    plugin and the case (never a value from the case).
    """
    rules = list(rules)
    out: list[RuleFinding] = []
    for case in cases:
        secrets = case.secrets()
        id_number = case.get("id_number", "")
        id_masked = mask_id(str(id_number), county.mask) if id_number else ""
        where = f"第 {case.row} 行（户编号 {case.record.case_id}）" if case.record.case_id else f"第 {case.row} 行"
        for plugin, fn in rules:
            try:
                found = list(fn(case, county, as_of) or ())
            except FanpinError:
                raise
            except UnknownColumn as exc:
                raise PluginError(Problem(Code.RULE_UNKNOWN_COLUMN, {
                    "plugin": plugin, "rule": rule_id(fn), "key": exc.key,
                    "hint": did_you_mean(exc.key, exc.known)})) from None
            except Exception as exc:  # a broken plugin rule: name it, never leak the case
                why = scrub(f"{type(exc).__name__}: {exc}", secrets, county.mask)
                raise PluginError(Problem(Code.RULE_CRASHED, {"plugin": plugin, "rule": rule_id(fn),
                                                              "where": where, "why": why})) from None
            for f in found:
                if not isinstance(f, RuleFinding) or f.severity not in ("error", "warning"):
                    raise PluginError(Problem(Code.RULE_BAD_RESULT, {
                        "plugin": plugin, "rule": rule_id(fn),
                        "why": "应为 RuleFinding，severity 为 error 或 warning"}))
                out.append(replace(
                    f, message=scrub(f.message, secrets, county.mask),
                    rule=f.rule or rule_id(fn), title=f.title or rule_title(fn),
                    source=f.source or rule_source(fn, county), plugin=plugin,
                    case_id=case.case_id, head_name=case.head_name, township=case.township,
                    village=case.village, row=case.row, id_masked=id_masked))
    return out


def cases_from(records: Iterable[Record], form: FormSpec) -> list[Case]:
    return [Case(r, form) for r in records]


Grouped = list[tuple[str, list[tuple[str, list[RuleFinding]]]]]


def group_findings(findings: Iterable[RuleFinding]) -> Grouped:
    """Findings by township, then village, each in order of first appearance in the ledger.

    Within a village the findings keep ledger (row) order, so one household's
    findings stay together."""
    townships: dict[str, dict[str, list[RuleFinding]]] = {}
    for f in findings:
        townships.setdefault(f.township, {}).setdefault(f.village, []).append(f)
    return [(t, [(v, sorted(fs, key=lambda f: (f.row or 0))) for v, fs in villages.items()])
            for t, villages in townships.items()]


def summary(findings: Iterable[RuleFinding]) -> dict[str, int]:
    findings = list(findings)
    return {
        "errors": sum(f.severity == "error" for f in findings),
        "warnings": sum(f.severity == "warning" for f in findings),
        "cases_with_errors": len({(f.row, f.case_id) for f in findings if f.severity == "error"}),
    }


__all__ = [
    "Case", "RuleFinding", "cases_from", "days_over", "deadline", "deadline_months", "error", "fmt_date",
    "group_findings", "period_days", "rule", "rule_id", "rule_source", "rule_title", "run_rules", "summary",
    "warning",
]
