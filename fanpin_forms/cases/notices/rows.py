"""What a notice may show of a household: the whitelist of columns, and the check of every value.

A :class:`NoticeRow` is filled field by field from the whitelist; the record itself
never reaches a layout. ``其他原因`` (free text that may hold health details) is not
on the list: ⑭ shows as "其他". :func:`guard_rows` then runs every value through
the leak guard in its strict mode (see :mod:`fanpin_forms.cases.notices`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ...errors import Code, DataError, Location, Problem
from ...forms.model import FormSpec
from ...intake.records import Record
from ...privacy.leakguard import KIND_LABELS, Hit, Secrets, find, owned_secrets
from ...privacy.masking import mask_hits

#: NoticeRow attribute → column heading. Nothing else from a record is ever printed.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "户主姓名"),
    ("township", "乡镇（街道）"),
    ("village", "村（社区）"),
    ("group", "村民小组"),
    ("household_size", "家庭人口"),
    ("monitor_type", "监测对象类型"),
    ("risk_types", "风险类型"),
)
#: columns of the village list (township and village are in its title)
VILLAGE_COLUMNS = ("name", "group", "household_size", "monitor_type", "risk_types")

#: NoticeRow attribute → the ledger field it comes from (address parts by part name)
_SOURCES = {"name": "head_name", "township": "township", "village": "village", "group": "group",
            "monitor_type": "monitor_type", "risk_types": "risk_types"}
#: values made from code names (因病、因残 …): public categories, not searched for health terms
_CODED = {"risk_types"}


@dataclass(frozen=True)
class NoticeRow:
    """One household as a public notice shows it: only non-sensitive facts."""

    name: str
    township: str
    village: str
    group: str
    household_size: int | None
    monitor_type: str
    risk_types: str
    row: int | None = None  # ledger row, for messages; never printed
    #: the county's added columns (``register_notices``): (ledger key, shown text)
    extra: tuple[tuple[str, str], ...] = ()

    def cells(self, columns: Sequence[str]) -> list[str]:
        out = []
        added = dict(self.extra)
        for key in columns:
            if key in added:
                out.append(added[key])
                continue
            value = getattr(self, key)
            out.append("" if value is None else (f"{value}人" if key == "household_size" else str(value)))
        return out


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _group(text: str) -> str:
    return f"{text}组" if text.isdigit() else text


def notice_row(record: Record, form: FormSpec, extra: Sequence[str] = ()) -> NoticeRow:
    """Build a :class:`NoticeRow` from the whitelisted fields of a ledger record, and the
    county's added columns ``extra`` (non-sensitive ledger keys, checked by :mod:`.style`)."""
    values = record.values
    address = values.get("address") or {}
    size = values.get("household_size")
    return NoticeRow(
        name=_text(values.get("head_name")), township=_text(address.get("township")),
        village=_text(address.get("village")), group=_group(_text(address.get("group"))),
        household_size=size if isinstance(size, int) else None, monitor_type=_text(values.get("monitor_type")),
        risk_types=_risk_names(values.get("risk_types"), form), row=record.row,
        extra=tuple((key, _shown(values.get(key))) for key in extra))


def _shown(value: object) -> str:
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, (tuple, list)):
        return "、".join(_text(v) for v in value)
    return _text(value)


def _risk_names(chosen: object, form: FormSpec) -> str:
    """Risk codes → their names (因病、因学); ⑭ is "其他", never its free-text reason."""
    if not chosen:
        return ""
    nos = chosen if isinstance(chosen, (tuple, list)) else (chosen,)
    field_ = form.field("risk_types")
    codes = {c.no: c.name for lid in (field_.code_lists if field_ else ()) for c in form.code_lists[lid].codes}
    return "、".join(codes.get(n, str(n)) for n in nos)


def _column_label(form: FormSpec, key: str) -> str:
    if key not in _SOURCES:  # a county's added column: its ledger key
        f = form.field(key)
        return f.label if f is not None else key
    f = form.field(_SOURCES[key])
    if f is not None:
        return f.label
    address = next((f for f in form.fields if f.type == "address"), None)
    return address.part_label(_SOURCES[key]) if address is not None else dict(COLUMNS)[key]


def guard_rows(rows: Sequence[NoticeRow], records: Sequence[Record], form: FormSpec, health_terms: Sequence[str],
               *, what: str, source: str | None = None) -> None:
    """Stop the notice if any value of ``rows`` carries private data (see the package docstring).

    ``records`` is the whole ledger: a value is checked against every household's
    sensitive values, not only its own. Raises one ``DataError`` with a problem per
    cell, naming the row, the column, and the value masked."""
    secrets = Secrets(owned_secrets(records, form))
    problems: dict[tuple[int | None, str], Problem] = {}
    for row in rows:
        cells = [(key, str(getattr(row, key) or "")) for key in _SOURCES] + list(row.extra)
        for key, value in cells:
            hits = find(value, secrets=secrets, terms=() if key in _CODED else health_terms, strict=True)
            if hits:
                label = _column_label(form, key)
                problems.setdefault((row.row, label), Problem(
                    Code.NOTICE_PRIVATE_VALUE,
                    {"value": mask_hits(value, hits), "kinds": _kinds(hits), "whose": _whose(hits, row.row),
                     "what": what},
                    Location(file=source, row=row.row, label=label)))
    if problems:
        raise DataError(sorted(problems.values(), key=lambda p: p.location.row or 0))


def _kinds(hits: Sequence[Hit]) -> str:
    return "、".join(dict.fromkeys(KIND_LABELS.get(h.kind, h.kind) for h in hits))


def _whose(hits: Sequence[Hit], row: int | None) -> str:
    hit = next((h for h in hits if h.owner is not None), None)
    if hit is None:
        return ""
    label = KIND_LABELS.get(hit.kind, hit.kind)
    return f"（就是本户的{label}）" if hit.owner == row else f"（与第{hit.owner}行那一户的{label}相同）"
