"""``fanpin ledger archive --village … -o DIR``: one village's archive, as a county files it.

The seed notice (四、完善防返贫监测村级工作台账) asks for the home-visit, review and
publicity and township-review materials to be archived per village. ``DIR`` gets:

* ``汇总表.xlsx``: one row per case: 户编号, 户主, place, stage, the stage dates, forms
  printed and returned, evidence files, 存在较大争议, its folder;
* per case a folder named by 户编号 and 户主姓名 (never an ID number), with
  ``表单/`` (the printed forms, where the file printed is still there), ``扫描件/``
  (the returned pages of this case only: a scanned batch is cut down to its pages),
  ``复核决定.xlsx`` (every review item: what was read, what was decided, by whom) and
  ``证据材料/`` (:mod:`.evidence`, from the ledger's file store).

Everything is written into a staging folder beside ``DIR`` and renamed into place only
when complete, so a failure (a store copy gone, a full disk, Ctrl-C) leaves nothing;
an existing ``DIR`` is replaced only then, and only if it is an earlier archive (it has
a ``汇总表.xlsx``) or empty. Every text written into a sheet and every file and folder
name is searched by the leak guard for ID-, phone- and bank-shaped numbers and the
households' own private values before anything is renamed into place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select

from ..errors import Code
from ..privacy.leakguard import KIND_LABELS, Secrets, find
from ..util.atomic import TMP_NAME, TMP_PREFIX, TMP_SUFFIX, ensure_dir, new_token, remove, stale_entries, write_error
from . import values as V
from .attach import ValueText, files_dir
from .db import Ledger, LedgerError
from .evidence import safe_text
from .history import case_secrets
from .models import Case, Document, Evidence, Household, Page, ReviewItem, ScanFile
from .setup import LedgerSetup
from .status import DATE_KEYS, iter_states

SUMMARY = "汇总表.xlsx"
#: the summary's date columns, in procedure order
SUMMARY_DATES = ("risk_found_date", "home_visit_date", "review_date", "publicity_start", "publicity_end",
                 "township_review_date", "county_approval_date", "elim_home_visit_date", "elim_approval_date")
REVIEW_STATUS = {"open": "待复核", "accepted": "已确认", "corrected": "已更正"}
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]')


@dataclass
class ArchiveResult:
    out: Path
    cases: int = 0
    forms: int = 0
    scans: int = 0
    evidence: int = 0
    missing: list[str] = field(default_factory=list)  # printed forms whose file is no longer there


def safe_name(text: str) -> str:
    """A file or folder name: no separators or characters Windows refuses, not hidden, not empty."""
    name = _UNSAFE.sub("_", text).strip().lstrip(".")
    return name[:80] or "_"


class _Guard:
    """Collects every text the archive writes and refuses private data in any of them."""

    def __init__(self):
        self.secrets = Secrets()

    def add_secrets(self, kinds: dict[str, str], values: list[tuple[str, str]]) -> None:
        for key, value in values:
            self.secrets.add(kinds.get(key, "text"), value)

    def check(self, where: str, text: str) -> None:
        hits = find(text, secrets=self.secrets)
        if hits:
            raise LedgerError.of(Code.LEDGER_ARCHIVE_LEAK, where=where, kind=KIND_LABELS.get(hits[0].kind, hits[0].kind))


def _sheet(guard: _Guard, where: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = where[:31]
    ws.append(headers)
    for row in rows:
        for cell in row:
            if isinstance(cell, str):
                guard.check(where, cell)
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _unique(folder: Path, name: str) -> Path:
    path = folder / name
    n = 2
    while path.exists():
        path = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
        n += 1
    return path


def _pages_of(src: Path, numbers: list[int], out: Path) -> None:
    """The pages ``numbers`` (1-based) of the PDF ``src`` as a new PDF ``out``."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(src))
    try:
        part = pypdfium2.PdfDocument.new()
        part.import_pages(doc, [n - 1 for n in numbers if 0 < n <= len(doc)])
        part.save(str(out))
        part.close()
    finally:
        doc.close()


def write_archive(setup: LedgerSetup, ledger: Ledger, out: Path, *, village: str, township: str | None = None,
                  as_of: dt.date | None = None) -> ArchiveResult:
    """Write the archive of ``village`` (in ``township``) to the folder ``out``; see the module text."""
    out = Path(out)
    as_of = as_of or dt.date.today()
    with ledger.read() as s:
        q = select(Household.township).where(Household.village == village).distinct()
        if township:
            q = q.where(Household.township == township)
        townships = sorted(s.scalars(q))
    if not townships:
        raise LedgerError.of(Code.LEDGER_ARCHIVE_EMPTY, where=f"{township or ''}{village}")
    if len(townships) > 1:
        raise LedgerError.of(Code.LEDGER_ARCHIVE_AMBIGUOUS, count=len(townships), village=village,
                             townships="、".join(t or "（未填乡镇）" for t in townships))
    if out.exists() and not (out.is_dir() and ((out / SUMMARY).is_file() or not any(out.iterdir()))):
        raise LedgerError.of(Code.LEDGER_ARCHIVE_NOT_ARCHIVE, path=str(out))
    parent = ensure_dir(out.absolute().parent, error=LedgerError)
    for leftover in stale_entries(parent, TMP_NAME):  # what a killed run left
        if leftover.is_dir():
            remove(leftover)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{new_token()}-", suffix=TMP_SUFFIX, dir=parent))
    except OSError as exc:
        raise write_error(exc, out, error=LedgerError) from None
    try:
        try:
            result = _fill(setup, ledger, staging, townships[0], village, as_of)
        except OSError as exc:
            raise write_error(exc, out, error=LedgerError) from None
        result.out = out
        _swap(staging, out)
    except BaseException:
        remove(staging)
        raise
    return result


def _swap(staging: Path, out: Path) -> None:
    """Put ``staging`` at ``out``; an earlier archive there is removed only once the new one is in place."""
    old = None
    try:
        if out.exists():
            old = out.with_name(f"{TMP_PREFIX}{new_token()}-old00000{TMP_SUFFIX}")
            os.replace(out, old)
        os.replace(staging, out)
    except OSError as exc:
        if old is not None and not out.exists():
            with contextlib.suppress(OSError):
                os.replace(old, out)
        raise write_error(exc, out, error=LedgerError) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fill(setup: LedgerSetup, ledger: Ledger, root: Path, township: str, village: str, as_of: dt.date
          ) -> ArchiveResult:
    out = ArchiveResult(root)
    guard = _Guard()
    text = ValueText(setup)
    kinds = {f.key: str(f.sensitive or f.type) for f in setup.form.fields}
    store = files_dir(ledger)
    summary: list[list[Any]] = []
    states = list(iter_states(setup, ledger, as_of, township=township, village=village, keys=DATE_KEYS))
    with ledger.read() as s:
        for c in sorted(states, key=lambda c: (c.household_no, c.case_id)):
            h = s.get(Case, c.case_id).household
            secrets = case_secrets(setup, s, h, [c.case_id])
            guard.add_secrets(kinds, [("id_number", x) for x in secrets])
            folder_name = safe_name(f"{c.label}-{c.head_name}")
            guard.check(f"文件夹名 {folder_name}", folder_name)
            folder = ensure_dir(root / folder_name, error=LedgerError)
            docs = list(s.scalars(select(Document).where(Document.case_id == c.case_id).order_by(Document.id)))
            returned = set(s.scalars(select(Page.document_id).where(Page.document_id.in_([d.id for d in docs]))))
            for d in docs:
                src = Path(d.file) if d.file else None
                if src is None or not src.is_file():
                    out.missing.append(f"{c.label} {d.form}")
                    continue
                target = _unique(ensure_dir(folder / "表单", error=LedgerError), safe_name(f"{d.form}{src.suffix.lower()}"))
                shutil.copyfile(src, target)
                out.forms += 1
            out.scans += _scans(s, c.case_id, folder, store)
            reviews = [[text.label(r.field), text.shown(r.field, r.read_value), text.shown(r.field, r.final_value),
                        REVIEW_STATUS.get(r.status, r.status), r.decided_by,
                        r.decided_at.astimezone().replace(tzinfo=None) if r.decided_at else None]
                       for r in s.scalars(select(ReviewItem).where(ReviewItem.case_id == c.case_id).order_by(ReviewItem.id))]
            (folder / "复核决定.xlsx").write_bytes(_sheet(guard, "复核决定", ["项目", "扫描件上读到", "复核后", "状态",
                                                                          "复核人", "复核时间"], reviews))
            evidence = list(s.scalars(select(Evidence).where(Evidence.case_id == c.case_id).order_by(Evidence.id)))
            for e in evidence:
                src = store / e.stored_path if e.stored_path else None
                if src is None or not src.is_file():
                    raise LedgerError.of(Code.LEDGER_EVIDENCE_STORE_MISSING, what="证据材料",
                                         name=safe_text(e.name, secrets, setup.county.mask), path=e.stored_path or "—")
                name = safe_name(safe_text(e.name, secrets, setup.county.mask))
                guard.check(f"文件名 {name}", name)
                shutil.copyfile(src, _unique(ensure_dir(folder / "证据材料", error=LedgerError), name))
            out.evidence += len(evidence)
            dates = [c.values.get(k) for k in SUMMARY_DATES]
            summary.append([c.label, c.head_name, c.township, c.village, c.stage, *dates, len(docs),
                            len(returned), len(evidence), "是" if c.disputed else "否", folder_name])
            out.cases += 1
    labels = V.field_labels(setup.form)
    headers = ["户编号", "户主姓名", "乡镇", "村", "环节", *(labels.get(k, k) for k in SUMMARY_DATES),
               "打印表单（份）", "已收回（份）", "证据材料（个）", "存在较大争议", "文件夹"]
    (root / SUMMARY).write_bytes(_sheet(guard, "汇总表", headers, summary))
    return out


def _scans(s, case_id: int, folder: Path, store: Path) -> int:
    """The returned pages of the case into ``folder/扫描件``: a PDF cut to its pages, an image copied."""
    pages: dict[int, list[int]] = {}
    for scan_id, page_no in s.execute(select(Page.scan_file_id, Page.page_no).where(Page.case_id == case_id)
                                      .order_by(Page.scan_file_id, Page.page_no)):
        pages.setdefault(scan_id, []).append(page_no)
    written = 0
    for n, (scan_id, numbers) in enumerate(sorted(pages.items()), 1):
        scan = s.get(ScanFile, scan_id)
        if not scan.stored_path:
            continue  # too big to be copied into the store when it was read
        src = store / scan.stored_path
        if not src.is_file():
            raise LedgerError.of(Code.LEDGER_EVIDENCE_STORE_MISSING, what="扫描件", name=safe_name(scan.name),
                                 path=scan.stored_path)
        target_dir = ensure_dir(folder / "扫描件", error=LedgerError)
        suffix = src.suffix.lower()
        target = target_dir / f"扫描件{n}-第{'、'.join(map(str, numbers))}页{suffix}"
        if suffix == ".pdf":  # never the whole batch: it holds other households' pages
            try:
                _pages_of(src, numbers, target)
            except OSError:
                raise
            except Exception as exc:  # pdfium's own error kinds
                raise LedgerError.of(Code.LEDGER_ARCHIVE_SCAN_UNREADABLE, name=safe_name(scan.name),
                                     why=type(exc).__name__) from None
        else:
            shutil.copyfile(src, target)
        written += 1
    return written


__all__ = ["SUMMARY", "ArchiveResult", "safe_name", "write_archive"]
