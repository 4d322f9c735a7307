"""``fanpin report monthly``: the township's monthly check report (每月28日前报县乡村振兴局).

Per township and village, for one calendar month: households checked (入户核实日期 in the
month), new risk clues (the earlier of 风险发现日期 and 申请日期 in the month), identified
(县级审定日期 in the month), eliminated (消除县级审定日期 in the month), overdue by the
County's time limits at the month's end (:mod:`.status`), identified households whose
measures are still not in the national system a month after identification (the County's
``system_entry_within_months``), and printed forms not yet returned. The same figures
grouped by the County's focus groups (``County.focus_groups``) when it supplies them, else
by 监测对象类型 and by 风险类型 (a household with two risk types counts under each).

The report holds counts and place names only: no name, ID number or phone. It is checked
with the leak guard before it is written, atomically, as .xlsx or .docx.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ..cases.rules import deadline_months, fmt_date
from ..errors import Code, DataError
from ..privacy.leakguard import KIND_LABELS, find
from ..util.atomic import write_atomic
from .db import Ledger
from .models import Case, Document, Household, Page
from .scope import Scope, narrow
from .setup import LedgerSetup
from .status import DATE_KEYS, GROUP_KEYS, CaseState, day_start, iter_states

#: (attribute, column header) of each figure, in report order
COLUMNS = (("checked", "本月入户核实（户）"), ("clues", "本月新增风险线索（户）"), ("identified", "本月识别认定（户）"),
           ("eliminated", "本月风险消除（户）"), ("overdue", "超过时限未办结（户）"),
           ("not_entered", "帮扶措施超过时限未录入系统（户）"), ("forms", "表单未收回（份）"))
UNFILLED = "（未填）"


@dataclass
class Counts:
    checked: int = 0
    clues: int = 0
    identified: int = 0
    eliminated: int = 0
    overdue: int = 0
    not_entered: int = 0
    forms: int = 0
    households: int = 0

    def add(self, other: Counts) -> None:
        for name in _COUNT_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def row(self) -> list[int]:
        return [self.households, *(getattr(self, key) for key, _ in COLUMNS)]


#: the names of :class:`Counts`' fields, worked out once (``dataclasses.fields`` per case was slow)
_COUNT_NAMES = tuple(f.name for f in fields(Counts))


@dataclass
class Section:
    """One table: rows of (township, village, group) with their counts."""

    title: str
    group_header: str  # "" for the plain per-village table
    rows: dict[tuple[str, str, str], Counts] = field(default_factory=dict)

    def add(self, key: tuple[str, str, str], counts: Counts) -> None:
        self.rows.setdefault(key, Counts()).add(counts)


@dataclass
class Report:
    county: str
    township: str | None
    year: int
    month: int
    as_of: dt.date
    due_day: int
    sections: list[Section]

    @property
    def title(self) -> str:
        return f"{self.county}{self.township or ''}防返贫动态监测排查情况月报（{self.year}年{self.month}月）"

    @property
    def note(self) -> str:
        return (f"统计截至 {fmt_date(self.as_of)}；超期按县里规定的时限计算；"
                f"请于每月{self.due_day}日前报县乡村振兴局。本表只含户数，不含个人信息。")


def parse_month(text: str) -> tuple[dt.date, dt.date]:
    """(first day, last day) of a month written 2022-06, 2022/6 or 2022年6月."""
    m = re.fullmatch(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*", text or "")
    if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise DataError.of(Code.REPORT_BAD_MONTH, month=text)
    year, month = int(m.group(1)), int(m.group(2))
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _in(day: Any, first: dt.date, last: dt.date) -> bool:
    return isinstance(day, dt.date) and first <= day <= last


def case_counts(c: CaseState, first: dt.date, last: dt.date, as_of: dt.date, months: int, forms: int) -> Counts:
    v = c.values
    found = [d for d in (v.get("risk_found_date"), v.get("apply_date")) if isinstance(d, dt.date)]
    approved, entered = v.get("county_approval_date"), v.get("system_entry_date")
    late_entry = (isinstance(approved, dt.date) and approved <= as_of and as_of > deadline_months(approved, months)
                  and not (isinstance(entered, dt.date) and entered <= as_of))
    visited = _in(v.get("home_visit_date"), first, last) or _in(v.get("elim_home_visit_date"), first, last)
    return Counts(checked=int(visited),
                  clues=int(bool(found) and _in(min(found), first, last)),
                  identified=int(_in(approved, first, last)), eliminated=int(_in(v.get("elim_approval_date"), first, last)),
                  overdue=int(c.overdue is not None), not_entered=int(late_entry), forms=forms, households=1)


def outstanding_by_case(ledger: Ledger, until: dt.datetime, township: str | None, scope: Scope | None = None
                        ) -> dict[int, int]:
    """case id -> printed forms with no returned page, printed before ``until``."""
    returned = select(Page.id).where(Page.document_id == Document.id).exists()
    q = (select(Document.case_id, func.count(Document.id)).where(Document.case_id.is_not(None), ~returned,
                                                                  Document.at < until).group_by(Document.case_id))
    if township or (scope is not None and not scope.everything):
        q = narrow(q.join(Case, Document.case_id == Case.id).join(Household, Case.household_id == Household.id),
                   township=township, scope=scope)
    with ledger.read() as s:
        return {cid: n for cid, n in s.execute(q)}


def _code_names(setup: LedgerSetup, key: str) -> dict[Any, str]:
    """code number -> ⑥因病 for a coded field of the ledger form."""
    f = setup.form.field(key)
    lists = [setup.form.code_lists[i] for i in (f.code_lists if f is not None else ()) if i in setup.form.code_lists]
    return {c.no: f"{c.mark}{c.name}" for cl in lists for c in cl.codes}


def _groups(c: CaseState, focus, risk_names: dict[Any, str]) -> Iterable[tuple[int, str]]:
    """(section index, group name) of every grouped table the case counts in."""
    if focus:
        for name, test in focus:
            if test(c.values):
                yield 1, name
        return
    yield 1, c.values.get("monitor_type") or UNFILLED
    for risk in c.values.get("risk_types") or (UNFILLED,):
        yield 2, risk_names.get(risk, str(risk))


def monthly(setup: LedgerSetup, ledger: Ledger, month: str, *, township: str | None = None,
            today: dt.date | None = None, scope: Scope | None = None) -> Report:
    first, last = parse_month(month)
    today = today or dt.date.today()
    as_of = min(last, today)
    county = setup.county
    focus = county.focus_groups
    sections = [Section("按村汇总", "")]
    if focus:
        sections.append(Section("按重点对象", "重点对象"))
    else:
        sections += [Section("按监测对象类型", "监测对象类型"), Section("按风险类型", "风险类型")]
    forms = outstanding_by_case(ledger, day_start(as_of + dt.timedelta(days=1)), township, scope)
    keys = None if focus else DATE_KEYS + GROUP_KEYS
    risk_names = _code_names(setup, "risk_types")
    for c in iter_states(setup, ledger, as_of, township=township, keys=keys, scope=scope):
        counts = case_counts(c, first, last, as_of, county.system_entry_within_months, forms.get(c.case_id, 0))
        sections[0].add((c.township, c.village, ""), counts)
        for i, name in _groups(c, focus, risk_names):
            sections[i].add((c.township, c.village, str(name)), counts)
    for s in sections:
        s.rows = dict(sorted(s.rows.items()))
    return Report(county.name, township, first.year, first.month, as_of, county.monthly_report_day, sections)


# --- writing ------------------------------------------------------------------------------


def table_rows(section: Section) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a section: each township's villages, the township's subtotal, the total."""
    header = ["乡镇（街道）", "村（社区）", *([section.group_header] if section.group_header else []), "监测户数",
              *(label for _, label in COLUMNS)]
    rows: list[list[Any]] = []
    total = Counts()
    by_town: dict[str, list[tuple[tuple[str, str, str], Counts]]] = {}
    for key, counts in section.rows.items():
        by_town.setdefault(key[0], []).append((key, counts))
    for town, items in by_town.items():
        sub = Counts()
        for (t, v, g), counts in items:
            rows.append([t, v, *([g] if section.group_header else []), *counts.row()])
            sub.add(counts)
        if not section.group_header:
            rows.append([town, "小计", *sub.row()])
        total.add(sub)
    if not section.group_header:
        rows.append(["合计", "", *total.row()])
    return header, rows


def _xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for section in report.sections:
        ws = wb.create_sheet(section.title)
        ws.append([report.title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([report.note])
        header, rows = table_rows(section)
        ws.append(header)
        for cell in ws[3]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(row)
        for i, h in enumerate(header, start=1):
            ws.column_dimensions[ws.cell(3, i).column_letter].width = max(10, len(h) * 2 + 2)
        ws.freeze_panes = "A4"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _docx(report: Report) -> bytes:
    from docx import Document as Docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Pt

    doc = Docx()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = sec.page_height, sec.page_width
    doc.add_heading(report.title, level=1)
    doc.add_paragraph(report.note)
    for section in report.sections:
        doc.add_heading(section.title, level=2)
        header, rows = table_rows(section)
        t = doc.add_table(rows=1, cols=len(header))
        t.style = "Table Grid"
        for cell, text in zip(t.rows[0].cells, header):
            cell.text = text
        for row in rows:
            for cell, value in zip(t.add_row().cells, row):
                cell.text = str(value)
        for r in t.rows:
            for cell in r.cells:
                for p in cell.paragraphs:
                    for run in p.runs:
                        run.font.size = Pt(9)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def check_leaks(report: Report, name: str) -> None:
    """Refuse a report in which the leak guard finds private data (an ID number, phone or bank
    account shape) in any text: the file name, the title, a header, a place or group name.

    Each text is checked on its own: the counts are numbers, and side by side in the file's
    XML they would read as one long number."""
    texts = [("文件名", name), ("标题", report.title), ("说明", report.note)]
    for section in report.sections:
        header, rows = table_rows(section)
        texts += [(section.title, str(t)) for t in header]
        texts += [(section.title, v) for row in rows for v in row if isinstance(v, str)]
    for where, text in texts:
        hits = find(text)
        if hits:
            raise DataError.of(Code.REPORT_LEAK, where=where, kind=KIND_LABELS.get(hits[0].kind, hits[0].kind))


def write(report: Report, out: Path) -> Path:
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".docx"):
        raise DataError.of(Code.REPORT_BAD_SUFFIX, name=out.name)
    check_leaks(report, out.name)
    data = _xlsx(report) if suffix == ".xlsx" else _docx(report)
    write_atomic(out, data, error=DataError)
    return out
