"""The two public notices of the procedure, built from the case ledger.

* **村级公示** (village publicity): the households a village proposes for
  identification or for risk elimination, with the publicity period and where to
  object. One DOCX per village and publicity period, for the village notice board.
* **县级公告** (county announcement): the households the county approved
  (identified or eliminated), "通过政府官网向社会公告". One DOCX and one HTML page.

Privacy — 二、5：“县级公告、村级公示中不得公开农户身份证号码、手机号、银行账号、健康状况等敏感信息。”

* A notice is built from :class:`NoticeRow` (name, township, village, group,
  household size, monitoring type, risk type), filled field by field from a
  whitelist (:mod:`.rows`); the record itself never reaches a template. ``其他原因`` (free text
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

A county adds non-sensitive ledger columns, chooses the columns and rewords a few
sentences through the ``register_notices`` hook (:mod:`.style`); a sensitive column is
refused when the plugin loads, and everything shown still goes through both checks.

The package: :mod:`.rows` (the whitelist and the check of every value), :mod:`.style`
(a county's columns and wording),
:mod:`.select` (which households, grouped into notices), :mod:`.wording` (every
sentence), :mod:`.docx` and :mod:`.html` (the layouts; the page is ``notice.html``),
:mod:`.write` (the last search and the writing). The shared pieces live in
:mod:`fanpin_forms.privacy.leakguard` and :mod:`fanpin_forms.office.docxkit`.
"""

from ...privacy.leakguard import find_leaks, ledger_secrets
from .docx import county_docx, village_docx
from .html import county_html
from .rows import COLUMNS, VILLAGE_COLUMNS, NoticeRow, guard_rows, notice_row
from .select import CountyNotice, Selection, VillageNotice, select_county, select_village
from .style import DEFAULT_STYLE, WORDING, NoticeStyle, notice_style
from .wording import OBJECTION, county_text, village_text
from .write import render_county, render_village, write_files

__all__ = [
    "COLUMNS", "DEFAULT_STYLE", "OBJECTION", "VILLAGE_COLUMNS", "WORDING", "CountyNotice", "NoticeRow", "NoticeStyle",
    "Selection", "VillageNotice", "notice_style",
    "county_docx", "county_html", "county_text", "find_leaks", "guard_rows", "ledger_secrets", "notice_row",
    "render_county", "render_village", "select_county", "select_village", "village_docx", "village_text",
    "write_files",
]
