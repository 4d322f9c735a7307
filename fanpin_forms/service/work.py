"""What the pages and the API do with the existing pipelines: store and check an uploaded
sheet (``intake.load.load_and_check``), store scans, and the job kinds:

* ``print``: blank forms, forms pre-filled from an uploaded sheet, or (``mode`` ``ledger``)
  from the ledger's cases of the user's area, as ``fanpin fill --ledger`` does, each
  printed form recorded in the ledger (:mod:`..ledger.documents`); one merged PDF;
* ``import``: an uploaded household sheet / case timeline into the ledger
  (:mod:`..ledger.importer`), refused whole when a row lies outside the user's area;
* ``parse``: uploaded scans read back (:mod:`..readback.run`) and attached to their cases
  (:mod:`..ledger.attach`), each flagged value's crop and confidence kept for 复核.

Uploads are checked before anything is stored: the size while it streams in, the
file's type from its name and first bytes. A stored file lives in a folder only this
user can read (mode 0700), written atomically, under a random name; the same bytes
uploaded again by the same user are recognised (``Stored.again``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Code, DataError, FanpinError, Location, Problem, RenderError
from ..ledger.audit import acting_as
from ..ledger.scope import Scope
from ..privacy.masking import scrub_shapes
from ..util.atomic import write_atomic
from ..util.limits import SCAN_IMAGE_MAX_BYTES, SCAN_PDF_MAX_BYTES, human_bytes
from .accounts import Actor, ServiceError
from .jobs import JobContext, job_kind
from .models import Upload, User
from .scope import Area, in_area, record_place
from .settings import Settings

SHEET_SUFFIXES = (".xlsx", ".xlsm", ".csv")
CHUNK = 1024 * 1024
#: the pseudo form id of an uploaded scan (svc_upload.form_id)
SCAN = "scan"
#: the form whose columns the ledger has (an import's sheet is checked against it)
LEDGER_FORM = "ledger"
#: a scan's suffix → the first bytes its content starts with
SCAN_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",), ".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"), ".tiff": (b"II*\x00", b"MM\x00*"),
}


def printable_forms(app: Any) -> list:
    """Forms that are printed (not data layouts such as the case ledger)."""
    return [f for f in app.forms.values() if getattr(f, "kind", "form") == "form"]


def shown_name(name: str | None) -> str:
    """An uploaded file's name as it may be shown and stored: no folders, nothing ID-shaped."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip() or "未命名"
    return scrub_shapes(base)[:120]


def read_upload(stream: BinaryIO, name: str | None, settings: Settings) -> bytes:
    """The upload's bytes, refused (SVC_UPLOAD_*) when too large, empty or not a spreadsheet.
    Reading stops at the cap; nothing is written anywhere."""
    shown = shown_name(name)
    suffix = Path(shown).suffix.lower()
    if suffix not in SHEET_SUFFIXES:
        raise ServiceError.of(Code.SVC_UPLOAD_TYPE, name=shown)
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > settings.upload_max_bytes:
            raise ServiceError.of(Code.SVC_UPLOAD_TOO_LARGE, max=human_bytes(settings.upload_max_bytes))
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise ServiceError.of(Code.SVC_UPLOAD_EMPTY)
    if not looks_like_sheet(data, suffix):
        raise ServiceError.of(Code.SVC_UPLOAD_TYPE, name=shown)
    return data


def looks_like_sheet(data: bytes, suffix: str) -> bool:
    """An .xlsx/.xlsm is a zip holding ``[Content_Types].xml``; a .csv is text (no NUL bytes)."""
    if suffix in (".xlsx", ".xlsm"):
        return data.startswith(b"PK\x03\x04") and b"[Content_Types].xml" in data[:65536] + data[-65536:]
    head = data[:65536]
    return b"\x00" not in head or head.startswith((b"\xff\xfe", b"\xfe\xff"))  # UTF-16 CSV has NULs


@dataclass
class Checked:
    """An uploaded sheet after the same checks as ``fanpin validate``."""

    upload: Upload
    rows_total: int = 0
    valid: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: the valid records inside the user's area (what can be printed)
    records: list[Any] = field(default_factory=list)

    def rows(self, which: str = "errors") -> list[dict[str, Any]]:
        """Each problem as the page and the API show it (file, Excel row, Chinese label, message)."""
        return [{"file": p.location.file or self.upload.name, "sheet": p.location.sheet, "row": p.location.row,
                 "label": scrub_shapes(p.location.label or ""), "message": p.message, "code": p.code.name}
                for p in getattr(self, which)]


def store_and_check(db: Session, app: Any, settings: Settings, actor: Actor, form_id: str, name: str | None,
                    data: bytes) -> Checked:
    """Store the sheet (atomically, privately), run every check on it, and note rows outside
    the user's area as errors. The same bytes uploaded again reuse the stored file."""
    form = app.form(form_id)
    shown = shown_name(name)
    digest = hashlib.sha256(data).hexdigest()
    upload = db.scalar(select(Upload).where(Upload.user_id == actor.id, Upload.sha256 == digest,
                                            Upload.form_id == form.id))
    if upload is None or not Path(upload.path).is_file():
        settings.uploads_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        upload_id = secrets.token_hex(16)
        path = settings.uploads_dir / f"{upload_id}{Path(shown).suffix.lower()}"
        write_atomic(path, data)
        path.chmod(0o600)
        township, village = actor.area.own()
        upload = Upload(id=upload_id, user_id=actor.id, township=township, village=village, form_id=form.id,
                        name=shown, path=str(path), sha256=digest, size=len(data))
        db.add(upload)
    upload.name = shown
    checked = check_upload(app, upload, actor.area)
    upload.rows, upload.errors = checked.rows_total, len(checked.errors)
    db.commit()
    return checked


def check_upload(app: Any, upload: Upload, area: Area, *, form_id: str | None = None) -> Checked:
    """``fanpin validate`` on a stored upload (against ``form_id``, default the form it was
    uploaded for), plus one error for every valid row outside ``area``."""

    out = Checked(upload)
    try:
        result = app.load_and_check(app.form(form_id or upload.form_id), Path(upload.path))
    except FanpinError as exc:
        out.errors = [_named(p, upload.name) for p in exc.problems]
        return out
    inside, outside = in_area(area, result.records)
    out.rows_total = result.rows_total
    out.valid = len(inside)
    out.records = inside
    errors = [_named(p, upload.name) for p in result.errors]
    for record in outside:
        township, village = record_place(record.values)
        errors.append(Problem(Code.SVC_OUT_OF_AREA, {"township": township or "（未填乡镇）", "village": village or "",
                                                     "area": area.label},
                              _named_location(upload.name, record.row, record.sheet)))
    errors.sort(key=lambda p: p.location.row or 0)
    out.errors = errors
    out.warnings = [_named(p, upload.name) for p in result.warnings]
    return out


def _named(p: Problem, name: str) -> Problem:
    return p.with_location(file=name)


def _named_location(name: str, row: int | None, sheet: str | None):
    from ..errors import Location

    return Location(file=name, row=row, sheet=sheet)


def visible_upload(db: Session, upload_id: str, actor: Actor) -> Upload | None:
    """One of the user's own uploads, or None."""
    return db.scalar(select(Upload).where(Upload.id == upload_id, Upload.user_id == actor.id))


def uploads_of(db: Session, actor: Actor, limit: int = 20) -> list[Upload]:
    return list(db.scalars(select(Upload).where(Upload.user_id == actor.id, actor.area.where(Upload),
                                                Upload.form_id != SCAN)
                           .order_by(Upload.created.desc()).limit(limit)))


def default_year(county: Any) -> int:
    """This year if the county has its baseline, else the latest year it has."""
    years = sorted(county.baselines)
    this = dt.date.today().year
    return this if this in years or not years else years[-1]


# --- the print job ------------------------------------------------------------------------------


@job_kind("print")
def print_job(ctx: JobContext) -> None:
    """params: form, mode ("blank" | "filled" | "ledger"), copies (blank), upload (filled), year.

    ``ledger``: the ledger's cases of the user's area, pre-filled as ``fanpin fill --ledger``
    prints them, each printed form recorded in the ledger (QR id, case, version, template)."""
    from ..render.context import record_context, record_ident
    from ..render.fill import compile_for
    from ..render.pdfout import merged_pdf

    app = ctx.app
    params = ctx.params
    form = app.form(str(params.get("form", "")))
    if getattr(form, "kind", "form") != "form":
        raise RenderError.of(Code.RENDER_NOT_PRINTABLE, form=form.id, kind=form.kind,
                             known="、".join(f.id for f in printable_forms(app)))
    year = int(params.get("year") or default_year(app.county))
    app.county.baseline(year)
    compiled = compile_for(form, None)
    ctx.progress(0, 1, "正在准备")
    records: list[Any] = []
    mode = params.get("mode")
    if mode == "ledger":
        records = ledger_records(ctx, form)
        if not records:
            raise ServiceError.of(Code.SVC_NOTHING_TO_PRINT, area=ctx.area.label)
        ctx.progress(0, len(records), f"正在生成 {len(records)} 份（台账中{ctx.area.label}的户）")
        contexts = [record_context(form, r, app.county, year, record_ident(r, i + 1), types=app.field_types)
                    for i, r in enumerate(records)]
        name = f"{form.id}-{ctx.area.label}-台账-打印.pdf"
    elif mode == "filled":
        with Session(ctx.engine) as db:
            upload = db.scalar(select(Upload).where(Upload.id == str(params.get("upload", "")),
                                                    Upload.user_id == ctx.user_id))
        if upload is None:
            raise ServiceError.of(Code.SVC_NOT_FOUND)
        checked = check_upload(app, upload, ctx.area, form_id=form.id)
        records = checked.records
        if not records:
            raise RenderError.of(Code.RENDER_NO_RECORDS, file=upload.name)
        skipped = len(checked.errors)
        ctx.progress(0, len(records), f"正在生成 {len(records)} 份" + (f"（{skipped} 个问题的记录已跳过）" if skipped else ""))
        contexts = [record_context(form, r, app.county, year, record_ident(r, i + 1), types=app.field_types)
                    for i, r in enumerate(records)]
        name = f"{form.id}-{Path(upload.name).stem}-打印.pdf"
    else:
        copies = max(1, min(int(params.get("copies") or 1), ctx.settings.blank_max_copies))
        start = int(params.get("start") or 1)
        today = dt.date.today()
        contexts = [record_context(form, None, app.county, year, f"S:{form.id}-{today:%Y%m%d}-{n}",
                                   types=app.field_types) for n in range(start, start + copies)]
        ctx.progress(0, copies, f"正在生成 {copies} 份空白表")
        name = f"{form.id}-空白-{copies}份.pdf"
    out = ctx.out_dir / "result.pdf"
    merged_pdf(compiled, contexts, out, workers=1, label=form.id)
    summary: dict[str, Any] = {"form": form.id, "printed": len(contexts), "mode": mode or "blank"}
    if mode == "ledger":
        summary["ledger"] = _record_printed(ctx, form, compiled, year, records, out)
    ctx.set_summary(summary)
    ctx.progress(len(contexts), len(contexts), "已完成")
    ctx.set_result(out, shown_name(name))


def ledger_records(ctx: JobContext, form: Any) -> list[Any]:
    """The ledger's current cases in the job owner's area as records of ``form`` (the fields
    the ledger holds; what it does not hold is left blank on the paper)."""
    from ..intake.records import Record
    from ..ledger.db import Ledger
    from ..ledger.export import iter_cases
    from ..ledger.records import typed

    township = str(ctx.params.get("township") or "") or None
    village = str(ctx.params.get("village") or "") or None
    ledger = Ledger.open(ctx.settings.db_url)
    out = []
    try:
        for h, values in iter_cases(ledger, township=township, village=village, scope=Scope.of(ctx.area)):
            vals: dict[str, Any] = {}
            for f in form.fields:
                try:
                    v = typed(values.get(f.key), f.type)
                except (TypeError, ValueError):
                    v = None
                if v is None:
                    v = () if f.type == "multi_choice" else ([] if f.type == "table" else None)
                vals[f.key] = v
            out.append(Record(form.id, vals, None, h.household_no, ledger.name, None))
    finally:
        ledger.close()
    return out


def _record_printed(ctx: JobContext, form: Any, compiled: Any, year: int, records: list[Any], out: Path) -> str:
    from ..ledger.db import Ledger
    from ..ledger.documents import Printed, record_printed, template_hash
    from ..render.context import record_ident

    digest = template_hash(compiled.data)
    id_key = next((f.key for f in form.fields if f.type == "id_number"), None)
    docs = [Printed(form.id, record_ident(r, i + 1), form.version, digest, year, str(out.resolve()),
                    household_no=r.case_id, id_number=(str(r.values.get(id_key) or "") or None) if id_key else None)
            for i, r in enumerate(records)]
    with Session(ctx.engine) as db:
        who = _user_name(db, ctx.user_id)
    ledger = Ledger.open(ctx.settings.db_url)
    try:
        with acting_as(who):
            done = record_printed(ledger, docs, kind="fill", detail=f"{form.id} {ctx.area.label}")
    finally:
        ledger.close()
    return done.summary()


# --- scans: checked while they stream in, stored once ---------------------------------------


def scan_cap(suffix: str) -> int:
    return SCAN_PDF_MAX_BYTES if suffix == ".pdf" else SCAN_IMAGE_MAX_BYTES


@dataclass
class Stored:
    upload: Upload
    #: the same bytes were uploaded before (by this user): nothing new was stored
    again: bool = False


def store_scan(db: Session, settings: Settings, actor: Actor, stream: BinaryIO, name: str | None) -> Stored:
    """Stream one scan (PDF or image) into the user's private folder: its type is checked on
    the first bytes before anything is kept, its size while it streams (a temporary file
    in the same folder, renamed when complete, removed on any failure), and the same file
    uploaded again is recognised by its SHA-256."""
    shown = shown_name(name)
    suffix = Path(shown).suffix.lower()
    if suffix not in SCAN_MAGIC:
        raise ServiceError.of(Code.SVC_SCAN_TYPE, name=shown)
    cap = min(scan_cap(suffix), settings.scan_max_bytes)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix=".scan-", suffix=".part", dir=settings.uploads_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            first = True
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                if first and not chunk.startswith(SCAN_MAGIC[suffix]):
                    raise ServiceError.of(Code.SVC_SCAN_TYPE, name=shown)
                first = False
                size += len(chunk)
                if size > cap:
                    raise ServiceError.of(Code.SVC_UPLOAD_TOO_LARGE, max=human_bytes(cap))
                digest.update(chunk)
                out.write(chunk)
        if not size:
            raise ServiceError.of(Code.SVC_UPLOAD_EMPTY)
        sha = digest.hexdigest()
        known = db.scalar(select(Upload).where(Upload.user_id == actor.id, Upload.sha256 == sha, Upload.form_id == SCAN))
        if known is not None and Path(known.path).is_file():
            os.unlink(tmp)
            return Stored(known, again=True)
        upload_id = secrets.token_hex(16)
        path = settings.uploads_dir / f"{upload_id}{suffix}"
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        township, village = actor.area.own()
        upload = Upload(id=upload_id, user_id=actor.id, township=township, village=village, form_id=SCAN,
                        name=shown, path=str(path), sha256=sha, size=size)
        db.add(upload)
        db.commit()
        return Stored(upload)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def scan_uploads_of(db: Session, actor: Actor, limit: int = 50) -> list[Upload]:
    return list(db.scalars(select(Upload).where(Upload.user_id == actor.id, Upload.form_id == SCAN)
                           .order_by(Upload.created.desc()).limit(limit)))


def _user_name(db: Session, user_id: int) -> str:
    user = db.get(User, user_id)
    return user.name if user is not None else f"用户{user_id}"


def _own_upload(ctx: JobContext, upload_id: str, kind: str) -> tuple[Upload, str]:
    with Session(ctx.engine) as db:
        upload = db.scalar(select(Upload).where(Upload.id == str(upload_id), Upload.user_id == ctx.user_id))
        who = _user_name(db, ctx.user_id)
    if upload is None or (upload.form_id == SCAN) != (kind == SCAN) or not Path(upload.path).is_file():
        raise ServiceError.of(Code.SVC_NOT_FOUND)
    return upload, who


# --- the import job -----------------------------------------------------------------------------


def _outside_rows(ctx: JobContext, upload: Upload, ledger: Any) -> list[Problem]:
    """Every row of the sheet that lies outside the user's area: placed elsewhere in the sheet,
    or naming (by 户编号) a household the ledger places elsewhere."""
    from ..ledger.models import Household

    app = ctx.app
    area = ctx.area
    checked = check_upload(app, upload, area, form_id=LEDGER_FORM)
    problems = [p for p in checked.errors if p.code is Code.SVC_OUT_OF_AREA]
    if area.level == "county":
        return problems
    rows = {r.case_id: r for r in checked.records if r.case_id}
    if rows:
        with ledger.read() as s:
            for no, town, village in s.execute(select(Household.household_no, Household.township, Household.village)
                                               .where(Household.household_no.in_(sorted(rows)))):
                if not area.covers(town or None, village or None):
                    r = rows[no]
                    problems.append(Problem(Code.SVC_IMPORT_ELSEWHERE, {"case_id": no, "place": f"{town}{village}",
                                                                       "area": area.label},
                                            Location(file=upload.name, row=r.row, sheet=r.sheet)))
    problems.sort(key=lambda p: p.location.row or 0)
    return problems


def problem_rows(problems: list[Problem], name: str) -> list[dict[str, Any]]:
    return [{"file": name, "row": p.location.row, "label": scrub_shapes(p.location.label or ""),
             "message": scrub_shapes(p.message), "code": p.code.name} for p in problems]


@job_kind("import")
def import_job(ctx: JobContext) -> None:
    """params: upload (a sheet the user uploaded), skip_invalid, overwrite. The sheet goes
    through ``fanpin ledger import`` (every row checked first, one transaction); rows outside
    the user's area refuse the whole import, naming them."""
    from ..ledger.db import Ledger
    from ..ledger.importer import import_file

    upload, who = _own_upload(ctx, ctx.params.get("upload", ""), "sheet")
    skip = bool(ctx.params.get("skip_invalid"))
    overwrite = bool(ctx.params.get("overwrite"))
    ctx.progress(0, 2, "正在检查表格")
    ledger = Ledger.open(ctx.settings.db_url)
    try:
        outside = _outside_rows(ctx, upload, ledger)
        if outside:
            rows = sorted({p.location.row for p in outside if p.location.row is not None})
            head = Problem(Code.SVC_IMPORT_REFUSED, {"file": upload.name, "rows": "、".join(map(str, rows[:20]))
                                                    + ("……" if len(rows) > 20 else ""), "area": ctx.area.label})
            ctx.set_summary({"file": upload.name, "imported": False, "errors": problem_rows(outside, upload.name)})
            raise ServiceError([head, *outside])
        ctx.progress(1, 2, "正在导入台账")
        source = Path(upload.path)
        try:
            with acting_as(who):
                result = _import_named(ctx.app.ledger_setup(), ledger, source, upload.name, import_file,
                                       skip_invalid=skip, overwrite=overwrite)
        except DataError as exc:
            ctx.set_summary({"file": upload.name, "imported": False,
                             "errors": problem_rows([p for p in exc.problems if p.location.row is not None]
                                                    or exc.problems, upload.name)})
            raise
    finally:
        ledger.close()
    ctx.set_summary({
        "file": upload.name, "imported": True, "added": result.added, "updated": result.updated,
        "unchanged": result.unchanged, "changed_fields": dict(result.changed_fields.most_common()),
        "text": result.summary(), "conflicts": [scrub_shapes(str(c)) for c in result.conflicts],
        "skipped_rows": result.skipped_rows, "skipped": problem_rows(result.skipped, upload.name),
        "warnings": len(result.warnings)})
    ctx.progress(2, 2, "已完成")


def _import_named(setup: Any, ledger: Any, source: Path, name: str, import_file: Any, **options: Any) -> Any:
    """Import ``source`` under the name the user gave it (messages and the operation name it),
    through a private hard link (or copy) in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="fanpin-import-") as tmp:
        named = Path(tmp) / (Path(name).stem[:80] + source.suffix)
        _link(source, named)
        return import_file(setup, ledger, named, **options)


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


# --- the parse job ------------------------------------------------------------------------------


def review_store(settings: Settings) -> Path:
    """Where the crop (``<item>.png``) and what the reader said (``<item>.json``) of each ledger
    review item are kept for the 复核 page."""
    return settings.home / "review"


@job_kind("parse")
def parse_job(ctx: JobContext) -> None:
    """params: uploads (scan uploads of the user). Every page is read (progress per page), the
    files are attached to their cases in one transaction; the summary lists recognised /
    foreign / duplicate / failed pages, each failure with its reason."""
    from ..ledger.attach import attach_scans
    from ..ledger.db import Ledger
    from ..readback.run import parse_inputs

    ids = ctx.params.get("uploads") or []
    if not isinstance(ids, list) or not ids:
        raise ServiceError.of(Code.SVC_UPLOAD_EMPTY)
    uploads = []
    who = ""
    for upload_id in ids[:200]:
        upload, who = _own_upload(ctx, upload_id, SCAN)
        uploads.append(upload)
    ctx.progress(0, 1, "正在准备")
    work_dir = ctx.out_dir / "files"
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    files: list[Path] = []
    names: dict[str, str] = {}
    for n, upload in enumerate(uploads, start=1):
        stem, suffix = Path(upload.name).stem[:80], Path(upload.path).suffix
        target = work_dir / f"{stem}{suffix}"
        if target.exists():
            target = work_dir / f"{stem}-{n}{suffix}"
        _link(Path(upload.path), target)
        files.append(target)
        names[str(target)] = target.name
    review_dir = ctx.out_dir / "review"
    state = {"done": 0, "total": 0}

    def started(total: int) -> None:
        state["total"] = total
        ctx.progress(0, total, f"正在读取 {total} 页")

    def advanced(n: int) -> None:
        state["done"] += n
        ctx.progress(state["done"], state["total"], f"已读取 {state['done']}/{state['total']} 页")

    result = parse_inputs(ctx.app.read_setup(), files, review_dir=review_dir, workers=1, progress=advanced,
                          on_start=started, in_process=False)
    ctx.progress(state["done"], state["total"], "正在写入台账")
    ledger = Ledger.open(ctx.settings.db_url)
    try:
        with acting_as(who):
            done = attach_scans(ctx.app.ledger_setup(), ledger, result.read, result.pages, files)
        kept = _keep_review_items(ctx, ledger, result, review_dir, names)
    finally:
        ledger.close()

    def shown(text: Any) -> str:
        out = str(text or "")
        for full, name in names.items():
            out = out.replace(full, name)
        return scrub_shapes(out.replace(str(work_dir) + "/", ""))

    known = set(done.files_known)
    pages = [{"file": names.get(p["file"], Path(str(p["file"])).name), "page": p.get("page"),
              "status": "duplicate" if names.get(p["file"]) in known and p["status"] != "failed" else p["status"],
              "why": shown(p.get("why")) if p["status"] != "recognised" else "",
              "again": names.get(p["file"]) in known} for p in result.pages]
    s = result.summary
    ctx.set_summary({
        "files": s.get("files", 0), "pages": s.get("pages", 0), "recognised": s.get("recognised", 0),
        "flagged": s.get("flagged", 0), "foreign": s.get("foreign", 0), "duplicates": s.get("duplicates", 0),
        "failed": s.get("failed", 0), "forms": s.get("forms", 0), "review": kept,
        "files_again": sorted(known), "ledger": done.summary(), "page_list": pages,
        "failures": [shown(p.message) for p in result.failures],
        "conflicts": [scrub_shapes(str(c)) for c in done.conflicts],
        "changes": [scrub_shapes(str(c)) for c in done.changes],
        "unmatched": [scrub_shapes(x) for x in done.unmatched],
        "blank_matches": [scrub_shapes(x) for x in done.blank_matches],
        "candidates": [scrub_shapes(x) for x in done.candidates]})


def _keep_review_items(ctx: JobContext, ledger: Any, result: Any, review_dir: Path, names: dict[str, str]) -> int:
    """For each open ledger review item of the pages just attached: the crop and what the
    reader said (why, confidence, item number), kept by the item's id for the 复核 page.
    Returns how many open items the attached pages have."""
    from ..ledger.attach import readings
    from ..ledger.models import Page, ReviewItem, ScanFile

    setup = ctx.app.ledger_setup()
    by_place: dict[tuple[str, int, str], list[Any]] = {}
    for rec in result.read:
        src = rec.source or {}
        name = names.get(str(src.get("file")), Path(str(src.get("file") or "")).name)
        first = (src.get("pages") or [0])[0] or 0
        for r in readings(setup, rec):
            if r.items:
                by_place.setdefault((name, first, r.key), []).extend(r.items)
    store = review_store(ctx.settings)
    store.mkdir(parents=True, exist_ok=True, mode=0o700)
    count = 0
    with ledger.read() as s:
        q = (select(ReviewItem.id, ReviewItem.field, ScanFile.name, Page.page_no)
             .join(Page, ReviewItem.page_id == Page.id).join(ScanFile, Page.scan_file_id == ScanFile.id)
             .where(ReviewItem.status == "open", ScanFile.name.in_(sorted(set(names.values())))))
        for item_id, key, name, page_no in s.execute(q):
            count += 1
            items = by_place.get((name, page_no, key)) or []
            if not items:
                continue
            worst = min(items, key=lambda it: it.confidence)
            crop = next((it.crop for it in sorted(items, key=lambda it: it.confidence) if it.crop), None)
            if crop and (review_dir / crop).is_file():
                shutil.copyfile(review_dir / crop, store / f"{item_id}.png")
            meta = {"why": scrub_shapes(str(worst.why)), "confidence": float(worst.confidence),
                    "item": worst.item, "crop": bool(crop), "file": name, "page": page_no}
            write_atomic(store / f"{item_id}.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    return count
