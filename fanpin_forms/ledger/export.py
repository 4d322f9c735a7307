"""``fanpin ledger export``: the ledger as a workbook a clerk opens in Excel/WPS.

The default layout has the columns ``fanpin ledger import`` reads (户编号 and every
field of the ``ledger`` form by its Chinese label, an address by its parts), so an
exported file re-imports unchanged; a last column 存在较大争议 (是 for a case with evidence,
:mod:`.evidence`) is the ledger's own and the import skips it. ``national`` writes the columns of the national
防返贫监测信息系统 export (one row per household head). Written atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select

from .setup import LedgerSetup
from ..errors import DataError
from ..forms.model import FormSpec
from ..util.atomic import atomic_open
from . import values as V
from .db import Ledger
from .models import Case, FieldValue, Household
from .scope import Scope, narrow

BATCH = 2000
#: columns the export adds that the import skips: the ledger sets them itself (``ledger evidence add``)
EXPORT_ONLY = ("存在较大争议",)
NATIONAL = ("县(市、区、旗)", "乡(镇)", "行政村", "自然村", "户编号", "人编号", "姓名", "证件号码", "人数", "与户主关系",
            "户联系电话", "易返贫致贫户(监测对象)类型", "风险类型", "人均纯收入", "风险是否消除", "风险识别时间", "风险消除时间")


def _columns(form: FormSpec) -> list[tuple[str, str, str | None]]:
    """(header, field key, address part) in form order, 户编号 first."""
    cols: list[tuple[str, str, str | None]] = [("户编号", "", None)]
    for f in form.fields:
        if f.type == "table":
            continue
        if f.type == "address":
            cols.extend((f.part_label(p), f.key, p) for p in f.params.get("parts", ()))
        else:
            cols.append((f.label, f.key, None))
    return cols


def iter_cases(ledger: Ledger, *, township: str | None = None, village: str | None = None,
               scope: Scope | None = None, disputed: set[int] | None = None
               ) -> Iterator[tuple[Household, dict[str, Any]]]:
    """Every household (in ``scope``) with its current case's values (decoded), in 户编号 order,
    batch by batch.

    ``disputed``: if given, the ids of households whose current case is 存在较大争议 are added to it."""
    with ledger.read() as s:
        q = narrow(select(Household).order_by(Household.household_no, Household.id), township=township,
                   village=village, scope=scope)
        last = 0
        while True:
            households = list(s.scalars(q.offset(last).limit(BATCH)))
            if not households:
                return
            last += len(households)
            ids = [h.id for h in households]
            current: dict[int, int] = {}
            for c in s.scalars(select(Case).where(Case.household_id.in_(ids)).order_by(Case.episode)):
                current[c.household_id] = c.id
                if disputed is not None:
                    (disputed.add if c.disputed else disputed.discard)(c.household_id)
            vals: dict[int, dict[str, Any]] = {}
            q2 = select(FieldValue).where(FieldValue.case_id.in_(list(current.values())), FieldValue.pending.is_(False))
            for fv in s.scalars(q2):
                vals.setdefault(fv.case_id, {})[fv.field] = V.decode(fv.value)
            for h in households:
                yield h, vals.get(current.get(h.id, -1), {})
            s.expunge_all()


def _cell(value: Any, f, setup: LedgerSetup) -> Any:
    """A stored (JSON) value as a cell the import reads back to the same value."""
    if value is None:
        return None
    t = f.type
    if t == "date":
        return dt.date.fromisoformat(value)
    if t == "money":
        return str(Decimal(value))
    if t in ("multi_choice", "choice"):
        ftype = setup.field_types[t]
        return ftype.display(tuple(value) if isinstance(value, list) else value, f) or None
    return value


def export(setup: LedgerSetup, ledger: Ledger, out: Path, *, township: str | None = None, village: str | None = None,
           national: bool = False, scope: Scope | None = None) -> int:
    form = setup.form
    fields = {f.key: f for f in form.fields}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    count = 0
    if national:
        ws.append(list(NATIONAL))
    else:
        cols = _columns(form)
        ws.append([c[0] for c in cols] + list(EXPORT_ONLY))
    disputed: set[int] = set()
    for h, values in iter_cases(ledger, township=township, village=village, scope=scope, disputed=disputed):
        count += 1
        if national:
            ws.append(_national_row(setup, form, h, values))
            continue
        row = []
        for _, key, part in cols:
            if not key:
                row.append(h.household_no)
            elif part:
                row.append((values.get(key) or {}).get(part) or None)
            else:
                row.append(_cell(values.get(key), fields[key], setup))
        ws.append(row + ["是" if h.id in disputed else None])
    with atomic_open(out, error=DataError) as fh:
        wb.save(fh)
    return count


def _national_row(setup: LedgerSetup, form: FormSpec, h: Household, v: dict[str, Any]) -> list[Any]:
    def disp(key: str) -> Any:
        f = form.field(key)
        return _cell(v.get(key), f, setup) if f is not None else None

    address = v.get("address") or {}
    risk = form.field("risk_types")
    names = ""
    if risk is not None and v.get("risk_types"):
        codes = {c.no: c.name for lid in risk.code_lists for c in form.code_lists[lid].codes}
        names = "、".join(codes.get(n, str(n)) for n in v["risk_types"])
    eliminated = v.get("elim_approval_date")
    return [address.get("county") or setup.county.name, address.get("township"), address.get("village"),
            address.get("group"), h.household_no, None, h.head_name, h.id_number, v.get("household_size"), "户主",
            v.get("phone"), disp("monitor_type"), names or None, disp("income"), "是" if eliminated else "否",
            disp("county_approval_date"), disp("elim_approval_date")]
