"""County policy values a county office sets in the ledger (``fanpin policy set|show``).

A value set here (e.g. the year's income baseline, with the 文号 of the document that
published it) overrides the county plugin's value for that year. The composition root
reads the overrides once (:func:`baseline_overrides`) and hands every other part of the
program a :class:`~fanpin_forms.forms.county.County` that already carries them
(:func:`with_overrides`), so the renderer and the case rules never look here.
Every value set writes an ``operations`` row and an ``audit`` row in the same transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from ..errors import Code, did_you_mean
from ..forms.county import County
from .audit import new_operation
from .db import Ledger, LedgerError
from .models import Audit, PolicyValue

#: policy values that can be set: name -> Chinese label
NAMES = {"baseline": "监测收入基准线"}
YEAR_MIN, YEAR_MAX = 2000, 2100
#: the largest baseline accepted (yuan per person per year): a typo guard
BASELINE_MAX = Decimal("1000000")


@dataclass(frozen=True)
class PolicyEntry:
    name: str
    year: int
    value: Decimal
    origin: str  # "ledger" | "plugin"
    source: str  # 文号 (ledger) or the plugin's notice
    actor: str = ""
    at: dt.datetime | None = None
    in_force: bool = True  # False: a ledger value overrides this plugin value


def parse_name(name: str) -> str:
    if name not in NAMES:
        raise LedgerError.of(Code.POLICY_UNKNOWN_NAME, name=name, known="、".join(f"{k}（{v}）" for k, v in NAMES.items()),
                             hint=did_you_mean(name, list(NAMES)))
    return name


def parse_year(year: str | int) -> int:
    try:
        y = int(str(year).strip())
    except ValueError:
        y = 0
    if not YEAR_MIN <= y <= YEAR_MAX:
        raise LedgerError.of(Code.POLICY_BAD_YEAR, year=year, min=YEAR_MIN, max=YEAR_MAX)
    return y


def parse_value(name: str, text: str) -> Decimal:
    label = NAMES[name]
    try:
        value = Decimal(str(text).strip().replace(",", "").replace("，", "").removesuffix("元"))
    except InvalidOperation:
        raise LedgerError.of(Code.POLICY_BAD_VALUE, label=label, value=text, why="应为金额（元），如 7800") from None
    if not value.is_finite() or value <= 0 or value > BASELINE_MAX:
        raise LedgerError.of(Code.POLICY_BAD_VALUE, label=label, value=text, why=f"应为 0 至 {BASELINE_MAX} 元之间的金额")
    if value != value.quantize(Decimal("0.01")):
        raise LedgerError.of(Code.POLICY_BAD_VALUE, label=label, value=text, why="最多两位小数")
    return value


def _text(value: Decimal) -> str:
    return format(value.quantize(Decimal(1)) if value == value.to_integral_value() else value, "f")


def set_value(ledger: Ledger, name: str, year: int, value: Decimal, source: str, actor: str) -> Decimal | None:
    """Record ``value`` for (``name``, ``year``); returns the value it replaced (None if new)."""
    now = dt.datetime.now(dt.timezone.utc)
    with ledger.write() as s:
        op = new_operation(s, "policy", actor, f"{name} {year}")
        row = s.scalars(select(PolicyValue).where(PolicyValue.name == name, PolicyValue.year == year)).first()
        old = Decimal(json.loads(row.value)) if row is not None else None
        old_text = None if row is None else f"{_text(old)}（{row.source}）"
        if row is None:
            row = PolicyValue(name=name, year=year)
            s.add(row)
        row.value, row.source, row.actor, row.at = json.dumps(_text(value)), source, actor, now
        s.flush()
        s.add(Audit(operation_id=op.id, at=now, actor=actor, entity="policy_values", entity_id=row.id,
                    field=f"{name}:{year}", old=old_text, new=f"{_text(value)}（{source}）", source="manual"))
    return old


def ledger_values(ledger: Ledger) -> list[PolicyValue]:
    with ledger.read() as s:
        return list(s.scalars(select(PolicyValue).order_by(PolicyValue.name, PolicyValue.year)))


def baseline_overrides(ledger: Ledger) -> dict[int, Decimal]:
    return {v.year: Decimal(json.loads(v.value)) for v in ledger_values(ledger) if v.name == "baseline"}


def with_overrides(county: County, baselines: dict[int, Decimal]) -> County:
    """``county`` with the ledger's baselines in place of (or beside) the plugin's."""
    if not baselines:
        return county
    return dataclasses.replace(county, baselines={**county.baselines, **baselines})


def entries(plugin_county: County, plugin: str, ledger: Ledger | None) -> list[PolicyEntry]:
    """Every policy value, the plugin's and the ledger's, with where it comes from, by name and year."""
    stored = ledger_values(ledger) if ledger is not None else []
    overridden = {(v.name, v.year) for v in stored}
    notice = plugin_county.notice
    out = [PolicyEntry("baseline", y, v, "plugin", f"插件 {plugin}" + (f"（{notice}）" if notice else ""),
                       in_force=("baseline", y) not in overridden)
           for y, v in plugin_county.baselines.items()]
    out += [PolicyEntry(v.name, v.year, Decimal(json.loads(v.value)), "ledger", v.source, v.actor, v.at) for v in stored]
    return sorted(out, key=lambda e: (e.name, e.year, e.origin != "ledger"))
