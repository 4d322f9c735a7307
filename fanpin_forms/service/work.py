"""What the pages and the API do with the existing pipelines: store and check an uploaded
sheet (``intake.load.load_and_check``), and the print job (``render``: blank or pre-filled
forms merged into one PDF by LibreOffice).

Uploads are checked before anything is stored: the size while it streams in, the
file's type from its name and first bytes. A stored sheet lives in a folder only this
user can read (mode 0700), written atomically, under a random name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Code, FanpinError, Problem, RenderError
from ..privacy.masking import scrub_shapes
from ..util.atomic import write_atomic
from ..util.limits import human_bytes
from .accounts import Actor, ServiceError
from .jobs import JobContext, job_kind
from .models import Upload
from .scope import Area, in_area, record_place
from .settings import Settings

SHEET_SUFFIXES = (".xlsx", ".xlsm", ".csv")
CHUNK = 1024 * 1024


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
    return list(db.scalars(select(Upload).where(Upload.user_id == actor.id, actor.area.where(Upload))
                           .order_by(Upload.created.desc()).limit(limit)))


def default_year(county: Any) -> int:
    """This year if the county has its baseline, else the latest year it has."""
    years = sorted(county.baselines)
    this = dt.date.today().year
    return this if this in years or not years else years[-1]


# --- the print job ------------------------------------------------------------------------------


@job_kind("print")
def print_job(ctx: JobContext) -> None:
    """params: form, mode ("blank" | "filled"), copies (blank), upload (filled), year."""
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
    if params.get("mode") == "filled":
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
    ctx.progress(len(contexts), len(contexts), "已完成")
    ctx.set_result(out, shown_name(name))
