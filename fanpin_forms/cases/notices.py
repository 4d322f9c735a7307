"""The two public notices of the procedure, built from the case ledger.

* **村级公示** (village publicity): the households a village proposes for
  identification or for risk elimination, with the publicity period and where to
  object. One DOCX per village and publicity period, for the village notice board.
* **县级公告** (county announcement): the households the county approved
  (identified or eliminated), "通过政府官网向社会公告". One DOCX and one HTML page.

Privacy — 二、5：“县级公告、村级公示中不得公开农户身份证号码、手机号、银行账号、健康状况等敏感信息。”

* A notice is built from :class:`NoticeRow` (name, township, village, group,
  household size, monitoring type, risk type), filled field by field from a
  whitelist; the record itself never reaches a template. ``其他原因`` (free text
  that may hold health details) is not on the list: ⑭ shows as "其他".
* Before anything is laid out, every whitelisted value of every listed household
  goes through :mod:`fanpin_forms.privacy.leakguard` in its strict mode: ID-, phone- and
  bank-shaped numbers however they are written (spaces, dashes, full-width,
  一三五……), any long number, any piece of any sensitive value of any household of
  the ledger, and the county's health terms (``County.health_terms``). A hit stops
  the notice (``NOTICE_PRIVATE_VALUE``, naming the row and the column, the value
  masked); nothing is cleaned up silently, because a clerk must see what was typed.
* DOCX core properties are emptied; the thumbnail, the custom XML part and the
  application properties of python-docx's default template are dropped or neutral.
* File names use only the township, the village, the county name and dates
  written with dashes.
* Second line of defence: before anything is written, every part of every output
  file and every file name is searched byte by byte for every sensitive value of
  the whole ledger, and its text (read with the same normalisation) for private
  shapes and pieces of those values: a hit stops everything (``NOTICE_SENSITIVE``).
* All files of a run are written to temporary names and renamed only when every
  one of them is complete: a full disk leaves the previous notice as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from ..util.atomic import atomic_open
from ..forms.county import County
from ..errors import Code, DataError, FanpinError, Location, Problem
from ..privacy.leakguard import DEFAULT_HEALTH_TERMS, KIND_LABELS, Hit, Secrets, find
from ..privacy.masking import mask_hits
from ..forms.model import FormSpec
from ..intake.records import Record
from ..render.naming import MAX_STEM_BYTES, fit_bytes
from .rules import fmt_date, period_days

# --- the whitelist --------------------------------------------------------------------

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
#: relative column widths in the DOCX tables (序号 first); the table fills the A4 text width
_WIDTHS = {"no": 2, "name": 3.5, "township": 4, "village": 4, "group": 3, "household_size": 3, "monitor_type": 5.5,
           "risk_types": 5}
OBJECTION = "如有异议，请于公示期内向村民委员会或乡镇人民政府反映。"

#: free-text secrets shorter than this (e.g. 健康状况「良好」) are too common words to search for
_TEXT_SECRET_MIN = 3


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

    def cells(self, columns: Sequence[str]) -> list[str]:
        out = []
        for key in columns:
            value = getattr(self, key)
            out.append("" if value is None else (f"{value}人" if key == "household_size" else str(value)))
        return out


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _group(text: str) -> str:
    return f"{text}组" if text.isdigit() else text


def notice_row(record: Record, form: FormSpec) -> NoticeRow:
    """Build a :class:`NoticeRow` from the whitelisted fields of a ledger record."""
    values = record.values
    address = values.get("address") or {}
    size = values.get("household_size")
    return NoticeRow(
        name=_text(values.get("head_name")), township=_text(address.get("township")),
        village=_text(address.get("village")), group=_group(_text(address.get("group"))),
        household_size=size if isinstance(size, int) else None, monitor_type=_text(values.get("monitor_type")),
        risk_types=_risk_names(values.get("risk_types"), form), row=record.row)


def _risk_names(chosen: object, form: FormSpec) -> str:
    """Risk codes → their names (因病、因学); ⑭ is "其他", never its free-text reason."""
    if not chosen:
        return ""
    nos = chosen if isinstance(chosen, (tuple, list)) else (chosen,)
    field_ = form.field("risk_types")
    codes = {c.no: c.name for lid in (field_.code_lists if field_ else ()) for c in form.code_lists[lid].codes}
    return "、".join(codes.get(n, str(n)) for n in nos)


# --- choosing the households ---------------------------------------------------------------


@dataclass
class VillageNotice:
    """The publicity list of one village for one publicity period."""

    township: str
    village: str
    start: dt.date
    end: dt.date
    identify: list[NoticeRow] = field(default_factory=list)
    eliminate: list[NoticeRow] = field(default_factory=list)

    @property
    def days(self) -> int:
        return period_days(self.start, self.end)

    @property
    def title(self) -> str:
        return f"{self.township}{self.village}防止返贫监测对象民主评议结果公示"

    @property
    def file_stem(self) -> str:
        return _safe_name(f"{self.township}{self.village}_村级公示_{self.start.isoformat()}至{self.end.isoformat()}")


@dataclass
class CountyNotice:
    """The county announcement of the households approved (identified or eliminated)."""

    county: County
    date: dt.date
    identify: list[NoticeRow] = field(default_factory=list)
    eliminate: list[NoticeRow] = field(default_factory=list)
    identify_range: tuple[dt.date, dt.date] | None = None
    eliminate_range: tuple[dt.date, dt.date] | None = None

    @property
    def title(self) -> str:
        body = self.county.approving_body
        if self.identify and self.eliminate:
            return f"{body}关于防止返贫监测对象识别和风险消除情况的公告"
        if self.eliminate:
            return f"{body}关于防止返贫监测对象风险消除的公告"
        return f"{body}关于新识别防止返贫监测对象的公告"

    @property
    def file_stem(self) -> str:
        return _safe_name(f"{self.county.name}_防返贫监测县级公告_{self.date.isoformat()}")


@dataclass
class Selection:
    """What :func:`select_village` / :func:`select_county` chose, and what they left out and why."""

    notices: list
    warnings: list[str] = field(default_factory=list)


def _in_range(day: dt.date | None, start: dt.date | None, end: dt.date | None) -> bool:
    return day is not None and (start is None or day >= start) and (end is None or day <= end)


def _check_range(start: dt.date | None, end: dt.date | None) -> None:
    if start and end and start > end:
        raise FanpinError.of(Code.NOTICE_BAD_RANGE, start=fmt_date(start), end=fmt_date(end))


def _ledger_order(records: Iterable[Record]) -> dict[tuple[str, str], int]:
    order: dict[tuple[str, str], int] = {}
    for r in records:
        a = r.values.get("address") or {}
        order.setdefault((a.get("township", ""), a.get("village", "")), len(order))
    return order


def select_village(records: Sequence[Record], form: FormSpec, *, date_from: dt.date | None = None,
                   date_to: dt.date | None = None, health_terms: Sequence[str] = DEFAULT_HEALTH_TERMS,
                   source: str | None = None) -> Selection:
    """Households to publish in their village, grouped by village and publicity period.

    Without a range: those in publicity and not yet approved (no 县级审定日期 for
    identification, no 消除县级审定日期 for elimination). With ``date_from``/``date_to``:
    those whose publicity *starts* in the range (inclusive), approved or not — to
    reprint a past publicity for the archive.

    Every value to be shown is checked by :func:`guard_rows` against the whole of
    ``records`` and ``health_terms`` (the county's); ``source`` names the ledger in
    its messages."""
    _check_range(date_from, date_to)
    warnings: list[str] = []
    groups: dict[tuple[str, str, dt.date, dt.date], VillageNotice] = {}
    for r in records:
        v = r.values
        for start_key, end_key, approved_key, bucket in (
                ("publicity_start", "publicity_end", "county_approval_date", "identify"),
                ("elim_publicity_start", "elim_publicity_end", "elim_approval_date", "eliminate")):
            start, end = v.get(start_key), v.get(end_key)
            if start is None:
                continue
            chosen = (_in_range(start, date_from, date_to) if (date_from or date_to)
                      else v.get(approved_key) is None)
            if not chosen:
                continue
            what = "识别" if bucket == "identify" else "风险消除"
            if end is None or end < start:
                warnings.append(f"第 {r.row} 行：{what}公示的结束日期未填或早于开始日期，未列入公示")
                continue
            row = notice_row(r, form)
            key = (row.township, row.village, start, end)
            notice = groups.setdefault(key, VillageNotice(row.township, row.village, start, end))
            getattr(notice, bucket).append(row)
    order = _ledger_order(records)
    notices = sorted(groups.values(), key=lambda n: (order.get((n.township, n.village), 0), n.start, n.end))
    guard_rows([r for n in notices for r in (*n.identify, *n.eliminate)], records, form, health_terms,
               what="村级公示", source=source)
    return Selection(notices, warnings)


def select_county(records: Sequence[Record], form: FormSpec, county: County, *, date: dt.date,
                  date_from: dt.date | None = None, date_to: dt.date | None = None,
                  source: str | None = None) -> Selection:
    """Households for the county announcement.

    Without a range: approved and not yet announced (县级审定日期 but no 县级公告日期;
    消除县级审定日期 but no 消除县级公告日期). With a range: approved in it (inclusive).
    Every value to be shown is checked as in :func:`select_village`, with the
    county's ``health_terms``."""
    _check_range(date_from, date_to)
    warnings: list[str] = []
    notice = CountyNotice(county, date)
    order = _ledger_order(records)
    days: dict[str, list[dt.date]] = {"identify": [], "eliminate": []}
    for r in sorted(records, key=lambda r: (order.get(((r.values.get("address") or {}).get("township", ""),
                                                       (r.values.get("address") or {}).get("village", "")), 0),
                                            r.row or 0)):
        v = r.values
        for approved_key, notice_key, bucket in (("county_approval_date", "county_notice_date", "identify"),
                                                  ("elim_approval_date", "elim_notice_date", "eliminate")):
            approved = v.get(approved_key)
            if approved is None:
                continue
            chosen = (_in_range(approved, date_from, date_to) if (date_from or date_to)
                      else v.get(notice_key) is None)
            if chosen:
                getattr(notice, bucket).append(notice_row(r, form))
                days[bucket].append(approved)
    if days["identify"]:
        notice.identify_range = (min(days["identify"]), max(days["identify"]))
    if days["eliminate"]:
        notice.eliminate_range = (min(days["eliminate"]), max(days["eliminate"]))
    guard_rows([*notice.identify, *notice.eliminate], records, form, county.health_terms, what="县级公告",
               source=source)
    return Selection([notice] if notice.identify or notice.eliminate else [], warnings)


# --- wording ---------------------------------------------------------------------------------


def _count(rows: Sequence[NoticeRow]) -> str:
    people = sum(r.household_size or 0 for r in rows)
    return f"{len(rows)}户{people}人"


def _by_type(rows: Sequence[NoticeRow]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        if r.monitor_type:
            counts[r.monitor_type] = counts.get(r.monitor_type, 0) + 1
    return "、".join(f"{t}{n}户" for t, n in counts.items())


def _range_text(span: tuple[dt.date, dt.date] | None) -> str:
    if span is None:
        return ""
    a, b = span
    return f"于{fmt_date(a)}" if a == b else f"于{fmt_date(a)}至{fmt_date(b)}"


def village_text(n: VillageNotice) -> dict[str, object]:
    """Every sentence of a village publicity, for the DOCX (and tests)."""
    sections = []
    if n.identify:
        sections.append((f"一、拟纳入防止返贫监测对象（{_count(n.identify)}）", n.identify))
    if n.eliminate:
        no = "二" if n.identify else "一"
        sections.append((f"{no}、拟风险消除的监测对象（{_count(n.eliminate)}）", n.eliminate))
    what = "、".join(w for w, rows in (("拟纳入防止返贫监测对象", n.identify), ("拟风险消除的监测对象", n.eliminate)) if rows)
    return {
        "title": n.title,
        "intro": (("根据农户申请、授权等程序，" if n.identify else "")
                  + f"经入户核实，{n.village}组织召开村（居）民主评议会议，"
                  f"履行防止返贫监测民主评议程序。现将{what}名单公示如下："),
        "sections": sections,
        "period": f"公示期：{fmt_date(n.start)}至{fmt_date(n.end)}（共{n.days}天）。",
        "objection": OBJECTION,
        "signer": _village_committee(n.village),
        "date": fmt_date(n.start),
    }


def _village_committee(village: str) -> str:
    """杨林村 → 杨林村村民委员会; 城南社区 → 城南社区居民委员会."""
    if village.endswith("委员会"):
        return village
    return f"{village}居民委员会" if village.endswith(("社区", "居")) else f"{village}村民委员会"


def county_text(n: CountyNotice) -> dict[str, object]:
    """Every sentence of a county announcement, for the DOCX, the HTML page and tests."""
    sections = []
    if n.identify:
        types = _by_type(n.identify)
        sections.append((f"一、{_range_text(n.identify_range)}审定新识别防止返贫监测对象{_count(n.identify)}"
                         + (f"，其中{types}" if types else "") + "。", n.identify))
    if n.eliminate:
        no = "二" if n.identify else "一"
        sections.append((f"{no}、{_range_text(n.eliminate_range)}审定风险消除的监测对象{_count(n.eliminate)}。",
                         n.eliminate))
    return {
        "title": n.title,
        "intro": (f"根据防止返贫动态监测和帮扶工作要求，经入户核实、村（居）民主评议和公示、乡镇（街道）审核、"
                  f"{n.county.approving_body}审定，现将结果公告如下（名单附后）："),
        "sections": sections,
        "objection": f"如对公告名单有异议，请向{n.county.approving_body}反映。",
        "closing": "特此公告。",
        "signer": n.county.approving_body,
        "date": fmt_date(n.date),
    }


# --- DOCX -------------------------------------------------------------------------------------

TITLE_FONT, BODY_FONT, TABLE_FONT = "宋体", "仿宋", "宋体"
TITLE_SIZE, BODY_SIZE, TABLE_SIZE = 22, 16, 10.5  # 二号, 三号, 五号
TEXT_WIDTH_MM = 210 - 28 - 26  # A4 minus the left and right margins of a 公文

_NEUTRAL_APP_XML = (
    b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
    b'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    b"<Application>fanpin-forms</Application></Properties>"
)


def _set_font(run, name: str, size: float, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _paragraph(doc, text: str, *, font: str = BODY_FONT, size: float = BODY_SIZE, bold: bool = False,
               align=None, indent: bool = False, space_after: float = 0):
    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    fmt = p.paragraph_format
    fmt.space_after = Pt(space_after)
    fmt.space_before = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    _set_font(p.add_run(text), font, size, bold)
    return p


def _new_document(date: dt.date):
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.font.size = Pt(BODY_SIZE)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    _strip_metadata(doc, date)
    return doc


def _strip_metadata(doc, date: dt.date) -> None:
    """Empty the core properties; drop the template's thumbnail and custom XML; neutral app properties."""
    cp = doc.core_properties
    for attr in ("author", "category", "comments", "content_status", "identifier", "keywords", "language",
                 "last_modified_by", "subject", "title", "version"):
        setattr(cp, attr, "")
    cp.revision = 1
    cp.created = cp.modified = dt.datetime(date.year, date.month, date.day)
    package = doc.part.package
    for rels in (package.rels, doc.part.rels):
        for r_id, rel in list(rels.items()):
            if rel.reltype in (RT.THUMBNAIL, RT.CUSTOM_XML):
                rels.pop(r_id)
    for part in package.iter_parts():
        if str(part.partname) == "/docProps/app.xml":
            part._blob = _NEUTRAL_APP_XML  # python-docx keeps generic parts as bytes


def _table(doc, rows: Sequence[NoticeRow], columns: Sequence[str]) -> None:
    headings = dict(COLUMNS)
    table = doc.add_table(rows=1, cols=len(columns) + 1)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = table.rows[0]
    tr_pr = header._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)  # repeat the heading row on every page
    for cell, text in zip(header.cells, ["序号", *(headings[c] for c in columns)]):
        _cell(cell, text, bold=True)
    for i, row in enumerate(rows, start=1):
        cells = table.add_row().cells
        for cell, text in zip(cells, [str(i), *row.cells(columns)]):
            _cell(cell, text)
    table.autofit = False
    weights = [_WIDTHS["no"], *(_WIDTHS[c] for c in columns)]
    for col, weight in zip(table.columns, weights):
        width = Mm(TEXT_WIDTH_MM * weight / sum(weights))
        col.width = width  # the grid (LibreOffice reads this) …
        for cell in col.cells:  # … and every cell (Word reads these)
            cell.width = width


def _cell(cell, text: str, bold: bool = False) -> None:
    p = cell.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_font(p.add_run(text), TABLE_FONT, TABLE_SIZE, bold)


def _signature(doc, signer: str, date: str) -> None:
    _paragraph(doc, "")
    _paragraph(doc, signer, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(doc, date, align=WD_ALIGN_PARAGRAPH.RIGHT)


def _save(doc) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def village_docx(notice: VillageNotice) -> bytes:
    """The village publicity as DOCX bytes (A4, 宋体 title, 仿宋 body)."""
    t = village_text(notice)
    doc = _new_document(notice.start)
    _paragraph(doc, str(t["title"]), font=TITLE_FONT, size=TITLE_SIZE, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER,
               space_after=12)
    _paragraph(doc, str(t["intro"]), indent=True)
    for heading, rows in t["sections"]:  # type: ignore[union-attr]
        _paragraph(doc, heading, indent=True)
        _table(doc, rows, VILLAGE_COLUMNS)
    _paragraph(doc, str(t["period"]), indent=True)
    _paragraph(doc, str(t["objection"]), indent=True)
    _signature(doc, str(t["signer"]), str(t["date"]))
    return _save(doc)


def county_docx(notice: CountyNotice) -> bytes:
    """The county announcement as DOCX bytes."""
    t = county_text(notice)
    doc = _new_document(notice.date)
    _paragraph(doc, str(t["title"]), font=TITLE_FONT, size=TITLE_SIZE, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER,
               space_after=12)
    _paragraph(doc, str(t["intro"]), indent=True)
    for heading, rows in t["sections"]:  # type: ignore[union-attr]
        _paragraph(doc, heading, indent=True)
        _table(doc, rows, [c for c, _ in COLUMNS])
    _paragraph(doc, str(t["objection"]), indent=True)
    _paragraph(doc, str(t["closing"]), indent=True)
    _signature(doc, str(t["signer"]), str(t["date"]))
    return _save(doc)


# --- HTML -------------------------------------------------------------------------------------

_HTML = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.title }}</title>
<style>
body { font-family: "FangSong", "仿宋", "STFangsong", serif; font-size: 16pt; line-height: 1.6;
       max-width: 210mm; margin: 0 auto; padding: 2em 1.5em; color: #000; }
h1 { font-family: "SimSun", "宋体", "STSong", serif; font-size: 22pt; text-align: center; margin: 0 0 1em; }
p { text-indent: 2em; margin: 0.3em 0; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1em; font-family: "SimSun", "宋体", serif;
        font-size: 10.5pt; }
th, td { border: 1px solid #000; padding: 0.3em 0.4em; text-align: center; }
.sign { text-align: right; text-indent: 0; }
</style>
</head>
<body>
<article>
<h1>{{ t.title }}</h1>
<p>{{ t.intro }}</p>
{% for heading, rows in t.sections %}
<p>{{ heading }}</p>
<table>
<thead><tr><th>序号</th>{% for h in headings %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}<tr><td>{{ loop.index }}</td>{% for c in row.cells(columns) %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
{% endfor %}
<p>{{ t.objection }}</p>
<p>{{ t.closing }}</p>
<p class="sign">{{ t.signer }}</p>
<p class="sign">{{ t.date }}</p>
</article>
</body>
</html>
"""

_ENV = jinja2.Environment(loader=jinja2.DictLoader({"county_notice.html": _HTML}), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def county_html(notice: CountyNotice) -> str:
    """The county announcement as one HTML page for the government website (autoescaped)."""
    columns = [c for c, _ in COLUMNS]
    return _ENV.get_template("county_notice.html").render(
        t=county_text(notice), columns=columns, headings=[h for _, h in COLUMNS])


# --- the leak guard and writing ---------------------------------------------------------------

#: NoticeRow attribute → the ledger field it comes from (address parts by part name)
_SOURCES = {"name": "head_name", "township": "township", "village": "village", "group": "group",
            "monitor_type": "monitor_type", "risk_types": "risk_types"}
#: values made from code names (因病、因残 …): public categories, not searched for health terms
_CODED = {"risk_types"}


def ledger_secrets(records: Iterable[Record], form: FormSpec) -> list[tuple[str, str]]:
    """(kind, value) for every sensitive value of every record (ID, phone, bank account, health…)."""
    return [(kind, value) for kind, value, _ in _owned_secrets(records, form)]


def _owned_secrets(records: Iterable[Record], form: FormSpec) -> list[tuple[str, str, int | None]]:
    kinds = {f.key: f.sensitive for f in form.fields if f.sensitive}
    out: list[tuple[str, str, int | None]] = []
    for r in records:
        for key, kind in kinds.items():
            value = r.values.get(key)
            if value not in (None, ""):
                out.append((str(kind), str(value), r.row))
    return out


def _column_label(form: FormSpec, key: str) -> str:
    f = form.field(_SOURCES[key])
    if f is not None:
        return f.label
    address = next((f for f in form.fields if f.type == "address"), None)
    return address.part_label(_SOURCES[key]) if address is not None else dict(COLUMNS)[key]


def guard_rows(rows: Sequence[NoticeRow], records: Sequence[Record], form: FormSpec, health_terms: Sequence[str],
               *, what: str, source: str | None = None) -> None:
    """Stop the notice if any value of ``rows`` carries private data (see the module docstring).

    ``records`` is the whole ledger: a value is checked against every household's
    sensitive values, not only its own. Raises one ``DataError`` with a problem per
    cell, naming the row, the column, and the value masked."""
    secrets = Secrets(_owned_secrets(records, form))
    problems: dict[tuple[int | None, str], Problem] = {}
    for row in rows:
        for key in _SOURCES:
            value = str(getattr(row, key) or "")
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


def _parts(name: str, blob: bytes) -> list[tuple[str, bytes]]:
    if name.endswith(".docx"):
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            return [(f"{name} → {n}", z.read(n)) for n in z.namelist()]
    return [(name, blob)]


def _visible_text(blob: bytes) -> str:
    """The text a reader sees in an XML or HTML part: tags dropped, entities read."""
    return html.unescape(re.sub(r"<[^>]*>", " ", blob.decode("utf-8", "ignore")))


def _is_text_part(where: str, blob: bytes) -> bool:
    return where.startswith("文件名") or blob.lstrip()[:1] == b"<"


def find_leaks(files: dict[str, bytes], secrets: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(where, kind) for each piece of private data found in ``files`` (name → bytes).

    Looks for each sensitive value whole in every byte of every part (and in the
    file names), and reads the text of each XML/HTML part and each file name with
    the leak guard's normalisation: private shapes (ID, phone, bank account), and
    any piece of a sensitive value however it is written."""
    pairs = list(secrets)
    index = Secrets((kind, value, None) for kind, value in pairs)
    needles = [(kind, value.strip().encode("utf-8")) for kind, value in pairs
               if kind not in ("health", "text") or len(value.strip()) >= _TEXT_SECRET_MIN]
    found: list[tuple[str, str]] = []
    for name, blob in files.items():
        for where, part in [(f"文件名 {name}", name.encode("utf-8")), *_parts(name, blob)]:
            found.extend((where, kind) for kind, needle in needles if needle and needle in part)
            if _is_text_part(where, part):
                found.extend((where, hit.kind) for hit in find(_visible_text(part), secrets=index))
    return list(dict.fromkeys(found))


def render_village(selection: Selection) -> dict[str, bytes]:
    """File name → bytes for every village publicity of a selection."""
    files: dict[str, bytes] = {}
    for n in selection.notices:
        name = f"{n.file_stem}.docx"
        i = 2
        while name in files:  # two villages whose names clean up the same
            name, i = f"{n.file_stem}_{i}.docx", i + 1
        files[name] = village_docx(n)
    return files


def render_county(selection: Selection) -> dict[str, bytes]:
    """File name → bytes: the county announcement as DOCX and HTML."""
    files: dict[str, bytes] = {}
    for n in selection.notices:
        files[f"{n.file_stem}.docx"] = county_docx(n)
        files[f"{n.file_stem}.html"] = county_html(n).encode("utf-8")
    return files


def write_files(files: dict[str, bytes], out_dir: Path, secrets: Iterable[tuple[str, str]], what: str) -> list[Path]:
    """Check every output for private data, then write them all, or nothing.

    Each file goes to a temporary name in ``out_dir`` and is flushed to disk; only
    when all of them are complete are they renamed into place, so a full disk or a
    read-only folder leaves an earlier notice of the same name as it was."""
    leaks = find_leaks(files, list(secrets))
    if leaks:
        raise FanpinError([Problem(Code.NOTICE_SENSITIVE, {"what": what, "kind": KIND_LABELS.get(kind, kind),
                                                           "where": where}, Location()) for where, kind in leaks])
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FanpinError.of(Code.IO_WRITE, path=str(out_dir), why=exc.strerror or str(exc)) from None
    paths = [out_dir / name for name in files]
    with contextlib.ExitStack() as stack:
        handles = [stack.enter_context(atomic_open(path)) for path in paths]
        for fh, blob in zip(handles, files.values()):
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
    return paths


_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


def _safe_name(text: str) -> str:
    """A file name from checked place names and dates: no path characters, at most :data:`MAX_STEM_BYTES`."""
    return fit_bytes(_UNSAFE.sub("", text), MAX_STEM_BYTES) or "notice"


__all__ = [
    "COLUMNS", "CountyNotice", "NoticeRow", "Selection", "VillageNotice", "county_docx", "county_html", "county_text",
    "find_leaks", "guard_rows", "ledger_secrets", "notice_row", "render_county", "render_village", "select_county",
    "select_village", "village_docx", "village_text", "write_files",
]
