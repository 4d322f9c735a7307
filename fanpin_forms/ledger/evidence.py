"""``fanpin ledger evidence add|list``: evidence for a disputed household (存在较大争议).

Minutes of a village meeting, photos of a home visit, a PDF of a complaint: each file
is checked before anything is stored (its size against
:data:`~fanpin_forms.util.limits.EVIDENCE_MAX_BYTES`, its type by its content, which
must agree with its extension; one bad file stores nothing), then copied once into
the ledger's file store by SHA-256 (:func:`.attach.store_file`, as scans are). In one
transaction every new file gets an ``evidence`` row on the household's current case,
the case is marked disputed, and each change writes its audit row. A file already
attached to that case is recognised and not attached again. If the transaction
fails, the copies this call made are removed again.

The case is named as ``ledger status`` and ``ledger history`` name it (户编号, or
案件N). Listings scrub the household's private values (ID number, phone, bank
account, health) and any ID-, phone- or bank-shaped number from names and notes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ..errors import Code, Location, Problem
from ..privacy.masking import scrub, scrub_shapes
from ..util import limits
from ..util.limits import human_bytes
from ..util.zipguard import ZipLimitError, safe_zip
from .attach import file_sha256, files_dir, store_file
from .audit import actor_name, new_operation
from .db import Ledger, LedgerError
from .history import case_secrets, find_case
from .models import Audit, Case, Evidence, Household
from .setup import LedgerSetup

#: the kinds of evidence taken: kind → (name shown, extensions)
KINDS = {"pdf": ("PDF 文件", (".pdf",)), "jpeg": ("JPEG 图片", (".jpg", ".jpeg")), "png": ("PNG 图片", (".png",)),
         "tiff": ("TIFF 图片", (".tif", ".tiff")), "docx": ("Word 文件", (".docx",)), "xlsx": ("Excel 文件", (".xlsx",))}
_IMAGE_FORMATS = {"JPEG": "jpeg", "PNG": "png", "TIFF": "tiff"}
STORE_KIND = "evidence"


def safe_text(text: str, secrets: list[str], mask) -> str:
    """A free text (a note, a file name) as a listing shows it: every ID-, phone- or bank-shaped number
    masked first (so that a number sharing digits with a secret is still seen whole), then the
    household's own private values."""
    return scrub(scrub_shapes(text, mask), secrets, mask)


def kind_of_suffix(suffix: str) -> str | None:
    return next((k for k, (_, exts) in KINDS.items() if suffix.lower() in exts), None)


def sniff(path: Path) -> tuple[str | None, str]:
    """The evidence kind of ``path`` by its content, or (None, why) in Chinese."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"%PDF-"):
        import pypdfium2

        try:
            doc = pypdfium2.PdfDocument(str(path))
        except Exception:  # pdfium's own error kinds for a damaged file
            return None, "像是 PDF，但已损坏，无法打开"
        try:
            return ("pdf", "") if len(doc) > 0 else (None, "是没有页面的 PDF")
        finally:
            doc.close()
    if zipfile.is_zipfile(path):
        try:
            with path.open("rb") as fh, safe_zip(fh) as z:
                names = set(z.namelist())
        except ZipLimitError as exc:
            return None, f"是压缩包，但{exc.why}"
        except (zipfile.BadZipFile, OSError):
            return None, "是已损坏的压缩包"
        if "word/document.xml" in names:
            return "docx", ""
        if "xl/workbook.xml" in names:
            return "xlsx", ""
        return None, "是压缩包，不是 Word 或 Excel 文件"
    from PIL import Image

    try:
        with Image.open(path) as img:
            fmt = img.format
            w, h = img.size
            if w * h > limits.IMAGE_MAX_PIXELS:
                return None, f"是 {w}×{h} 像素的图片，超过上限 {limits.IMAGE_MAX_PIXELS // 10_000} 万像素"
            img.verify()
    except Image.DecompressionBombError:
        return None, "是像素过多的图片"
    except Exception:  # Pillow raises many kinds for what is not an image it can read
        return None, "无法识别（不是 PDF、图片或 Word/Excel 文件）"
    kind = _IMAGE_FORMATS.get(fmt or "")
    return (kind, "") if kind else (None, f"是 {fmt} 图片")


def check_file(path: Path) -> tuple[str, int] | Problem:
    """``path``'s (kind, size) when it may be stored as evidence, else the Problem naming it."""
    where = Location(file=path.name)
    try:
        if not path.is_file():
            return Problem(Code.LEDGER_EVIDENCE_MISSING, {"why": "不是文件" if path.exists() else "文件不存在"}, where)
        size = path.stat().st_size
        if size == 0:
            return Problem(Code.LEDGER_EVIDENCE_EMPTY, {}, where)
        if size > limits.EVIDENCE_MAX_BYTES:
            return Problem(Code.LEDGER_EVIDENCE_TOO_LARGE, {"size": human_bytes(size),
                                                            "max": human_bytes(limits.EVIDENCE_MAX_BYTES)}, where)
        kind, why = sniff(path)
    except OSError as exc:
        return Problem(Code.LEDGER_EVIDENCE_MISSING, {"why": exc.strerror or "无法打开"}, where)
    if kind is None:
        return Problem(Code.LEDGER_EVIDENCE_BAD_TYPE, {"what": why}, where)
    expected = kind_of_suffix(path.suffix)
    if expected != kind:
        return Problem(Code.LEDGER_EVIDENCE_MISMATCH, {"actual": KINDS[kind][0], "suffix": path.suffix or "（无）"},
                       where)
    return kind, size


@dataclass
class EvidenceResult:
    household_no: str
    head_name: str
    case_id: int
    added: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # already attached to this case
    newly_disputed: bool = False
    operation_id: int | None = None


@dataclass(frozen=True)
class EvidenceRow:
    at: dt.datetime
    actor: str
    name: str
    kind: str
    note: str
    sha256: str
    stored_path: str


def add_evidence(setup: LedgerSetup, ledger: Ledger, key: str, files: list[Path], note: str) -> EvidenceResult:
    """Attach ``files`` to the current case of the household ``key`` names and mark it disputed."""
    note = (note or "").strip()
    household, cases = find_case(ledger, key)
    problems: list[Problem] = [] if note else [Problem(Code.LEDGER_EVIDENCE_NO_NOTE, {}, Location())]
    checked: list[tuple[Path, str, int]] = []
    for p in files:
        got = check_file(Path(p))
        if isinstance(got, Problem):
            problems.append(got)
        else:
            checked.append((Path(p), *got))
    if problems:
        raise LedgerError(problems)
    hashed = []
    for path, kind, size in checked:
        try:
            sha, _ = file_sha256(path)
        except OSError as exc:
            raise LedgerError.of(Code.LEDGER_EVIDENCE_MISSING, Location(file=path.name),
                                 why=exc.strerror or "无法读取") from None
        hashed.append((path, kind, sha))
    created: list[Path] = []
    try:
        stored = {}
        for path, _kind, sha in hashed:
            rel, new = store_file(ledger, path, sha, STORE_KIND)
            stored[sha] = rel
            if new:
                created.append(files_dir(ledger) / rel)
        result = _write(setup, ledger, household, cases[-1], hashed, stored, note)
    except BaseException:
        for copy in created:  # nothing of this call stays when its transaction did not
            with contextlib.suppress(OSError):
                copy.unlink()
        raise
    return result


def _write(setup: LedgerSetup, ledger: Ledger, household: Household, case_id: int,
           hashed: list[tuple[Path, str, str]], stored: dict[str, str], note: str) -> EvidenceResult:
    actor = actor_name()
    now = dt.datetime.now(dt.timezone.utc)
    out = EvidenceResult(household.household_no or "", household.head_name, case_id)
    with ledger.write() as s:
        secrets = case_secrets(setup, s, household, [case_id])
        mask = setup.county.mask
        op = new_operation(s, "evidence", actor, "")
        out.operation_id = op.id
        have = set(s.scalars(select(Evidence.sha256).where(Evidence.case_id == case_id)))
        for path, _kind, sha in hashed:
            if sha in have:
                out.known.append(path.name)
                continue
            have.add(sha)
            row = Evidence(case_id=case_id, sha256=sha, name=path.name, stored_path=stored[sha], note=note,
                           actor=actor, at=now)
            s.add(row)
            s.flush()
            s.add(Audit(operation_id=op.id, at=now, actor=actor, entity="evidence", entity_id=row.id, case_id=case_id,
                        field="evidence", old=None, new=safe_text(f"{path.name}（{note}）", secrets, mask), source="manual"))
            out.added.append(path.name)
        case = s.get(Case, case_id)
        if out.added and not case.disputed:
            case.disputed = True
            out.newly_disputed = True
            s.add(Audit(operation_id=op.id, at=now, actor=actor, entity="cases", entity_id=case_id, case_id=case_id,
                        field="disputed", old="否", new="是", source="manual"))
        op.detail = f'{{"added": {len(out.added)}, "known": {len(out.known)}}}'
    return out


def list_evidence(setup: LedgerSetup, ledger: Ledger, key: str) -> tuple[Household, bool, list[EvidenceRow]]:
    """The household ``key`` names, whether its current case is disputed, and its evidence (names and
    notes scrubbed), oldest first."""
    household, cases = find_case(ledger, key)
    with ledger.read() as s:
        secrets = case_secrets(setup, s, household, cases)
        disputed = bool(s.scalar(select(Case.disputed).where(Case.id == cases[-1])))
        rows = evidence_rows(s, cases, secrets, setup.county.mask)
    return household, disputed, rows


def evidence_rows(s, cases: list[int], secrets: list[str], mask) -> list[EvidenceRow]:
    out = []
    for e in s.scalars(select(Evidence).where(Evidence.case_id.in_(cases)).order_by(Evidence.id)):
        kind = kind_of_suffix(Path(e.stored_path or e.name).suffix) or ""
        out.append(EvidenceRow(e.at, e.actor, safe_text(e.name, secrets, mask), KINDS[kind][0] if kind else "",
                               safe_text(e.note, secrets, mask), e.sha256, e.stored_path))
    return out


__all__ = ["KINDS", "EvidenceResult", "EvidenceRow", "add_evidence", "check_file", "evidence_rows", "list_evidence",
           "safe_text", "sniff"]
