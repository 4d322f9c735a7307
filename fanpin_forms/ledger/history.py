"""``fanpin ledger history CASE``: every audit row of one household's cases, oldest first.

``CASE`` is a 户编号, or a case id (the number ``ledger status`` shows as 案件N when a
household has no 户编号). Audit rows store sensitive values masked; each line is scrubbed
once more of the household's ID number and phone before it is shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Code, did_you_mean
from ..privacy.masking import scrub
from .db import Ledger, LedgerError
from .models import Audit, Case, FieldValue, Household
from .setup import LedgerSetup
from .values import decode, field_labels

SOURCE_NAMES = {"import": "导入", "scan": "扫描读取", "review": "人工核对", "manual": "人工录入"}


@dataclass(frozen=True)
class HistoryRow:
    at: dt.datetime
    actor: str
    source: str
    what: str
    old: str
    new: str


def find_case(ledger: Ledger, key: str) -> tuple[Household, list[int]]:
    """The household named by 户编号 ``key`` (all its cases) or the case with id ``key``."""
    key = key.strip()
    with ledger.read() as s:
        h = s.scalars(select(Household).where(Household.household_no == key)).first()
        if h is not None:
            return h, list(s.scalars(select(Case.id).where(Case.household_id == h.id).order_by(Case.episode)))
        digits = key.removeprefix("案件")
        if digits.isdigit() and len(digits) < 19:
            c = s.get(Case, int(digits))
            if c is not None:
                return s.get(Household, c.household_id), [c.id]
        near = list(s.scalars(select(Household.household_no).where(Household.household_no.like(key[:3] + "%"))
                              .limit(200))) if key[:3] else []
    raise LedgerError.of(Code.LEDGER_CASE_UNKNOWN, case=scrub(key, [key]) if len(key) >= 15 else key,
                         hint=did_you_mean(key, [n for n in near if n]))


#: what the ledger itself records about a case, beside the form's fields
CASE_LABELS = {"disputed": "存在较大争议", "evidence": "证据材料"}


def case_secrets(setup: LedgerSetup, s: Session, household: Household, cases: list[int]) -> list[str]:
    """The household's private values (ID number, phone, bank account, health …) that a listing
    of its cases scrubs from every text it shows."""
    secrets = [household.id_number or ""]
    secrets += [str(decode(v)) for v in s.scalars(select(FieldValue.value).where(
        FieldValue.case_id.in_(cases), FieldValue.field.in_(list(setup.form.sensitive_keys))))]
    return [x for x in secrets if x]


def disputed_now(ledger: Ledger, household_id: int) -> bool:
    """Whether the household's current case is marked 存在较大争议."""
    with ledger.read() as s:
        return bool(s.scalar(select(Case.disputed).where(Case.household_id == household_id)
                             .order_by(Case.episode.desc()).limit(1)))


def history(setup: LedgerSetup, ledger: Ledger, key: str) -> tuple[Household, list[HistoryRow]]:
    household, cases = find_case(ledger, key)
    labels = {**field_labels(setup.form), **CASE_LABELS}
    mask = setup.county.mask
    with ledger.read() as s:
        secrets = case_secrets(setup, s, household, cases)
        rows = s.scalars(select(Audit).where(Audit.case_id.in_(cases)).order_by(Audit.id)).all()
        out = []
        for a in rows:
            what = labels.get(a.field, a.field) if a.field else a.entity
            shown = [scrub(t or "", secrets, mask) for t in (a.old, a.new)]
            out.append(HistoryRow(a.at, a.actor, SOURCE_NAMES.get(a.source, a.source), what, *shown))
    return household, out
