"""The pages over the ledger: 上传台账 (import), 上传扫描件 (parse), 复核 (the review queue),
台账 (cases by stage) and the case page, 程序检查 (findings), 公示/公告 and 月报.

Every page reads the ledger through the user's :class:`~..ledger.scope.Scope` (derived
once from their :class:`~.scope.Area`): a case, page image, review item or download
outside it is "not found", exactly like one that does not exist. Pages are Chinese,
server-rendered and work without JavaScript; ``static/review.js`` only makes the review
queue quicker (Enter accepts or saves the correction without reloading, Tab moves on).
Full ID numbers and phones appear only on the case page of a user who handles the
paperwork (not 只读); everywhere else they are masked.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ..errors import Code, FanpinError
from ..ledger.audit import acting_as
from ..ledger.scope import Scope
from . import work
from .accounts import Actor
from .api import ledger_of
from .settings import Settings

#: the most files one scan upload may carry
MAX_SCAN_FILES = 50
#: what the review page's ``done`` parameter may say
DONE = re.compile(r"^户编号 [\w\-]{1,64}：已(接受|更正)$")


@dataclass
class Kit:
    """What the page routes need from ``create_app``'s closure."""

    state: Any
    settings: Settings
    fanpin: Any
    runner: Any
    get_db: Callable
    current: Callable
    signed_in: Callable
    page: Callable
    permit: Callable
    refuse: Callable


def scope_of(actor: Actor) -> Scope:
    return Scope.of(actor.area)


def may_reveal(actor: Actor) -> bool:
    """Whether the case page shows full ID numbers and phones: users who handle the paperwork."""
    return actor.can("upload")


def may_scan(actor: Actor) -> bool:
    return actor.can("scan") or actor.can("review")


def review_meta(settings: Settings, item_id: int) -> dict[str, Any]:
    try:
        return json.loads((work.review_store(settings) / f"{item_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def page_routes(kit: Kit, dependencies: list) -> APIRouter:
    settings, fanpin, runner, page, permit, refuse = (kit.settings, kit.fanpin, kit.runner, kit.page, kit.permit,
                                                     kit.refuse)
    signed_in, current, get_db = kit.signed_in, kit.current, kit.get_db
    r = APIRouter(dependencies=dependencies, include_in_schema=False)

    def ledger():
        """The web process's one ledger (``api.ledger_of``); ``close()`` on what this returns is a
        no-op, ``create_app`` closes it on shutdown."""
        return _Kept(ledger_of(kit.state))

    def setup():
        return fanpin.ledger_setup()

    # --- 上传台账: a sheet into the ledger ---------------------------------------------------------

    @r.get("/import", response_class=HTMLResponse)
    def import_page(request: Request, actor: Actor = Depends(signed_in), cur=Depends(current)) -> Response:
        permit(actor, "upload")
        return page(request, "import.html", cur, max=work.human_bytes(settings.upload_max_bytes))

    @r.post("/import", response_class=HTMLResponse)
    async def import_upload(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_db),
                            cur=Depends(current)) -> Response:
        permit(actor, "upload")
        form = await request.form()
        file = form.get("file")
        if file is None or isinstance(file, str) or not getattr(file, "filename", None):
            raise refuse(Code.SVC_UPLOAD_EMPTY)
        data = work.read_upload(file.file, file.filename, settings)
        checked = work.store_and_check(db, fanpin, settings, actor, work.LEDGER_FORM, file.filename, data)
        return page(request, "import.html", cur, max=work.human_bytes(settings.upload_max_bytes), checked=checked)

    @r.post("/import/{upload_id}/run")
    async def import_run(upload_id: str, request: Request, actor: Actor = Depends(signed_in),
                         db: Session = Depends(get_db)) -> Response:
        permit(actor, "upload")
        upload = work.visible_upload(db, upload_id, actor)
        if upload is None or upload.form_id != work.LEDGER_FORM:
            raise refuse(Code.SVC_NOT_FOUND)
        form = await request.form()
        job_id = runner.submit("import", {"upload": upload.id, "skip_invalid": form.get("skip_invalid") == "1",
                                          "overwrite": form.get("overwrite") == "1"}, actor)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    # --- 上传扫描件: scans read back into the ledger ------------------------------------------------

    @r.get("/scans", response_class=HTMLResponse)
    def scans_page(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_db),
                   cur=Depends(current)) -> Response:
        if not may_scan(actor):
            raise refuse(Code.SVC_FORBIDDEN)
        return page(request, "scans.html", cur, max=work.human_bytes(settings.scan_max_bytes),
                    uploads=work.scan_uploads_of(db, actor, 20), max_files=MAX_SCAN_FILES)

    @r.post("/scans")
    async def scans_upload(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_db)
                           ) -> Response:
        if not may_scan(actor):
            raise refuse(Code.SVC_FORBIDDEN)
        form = await request.form()
        files = [f for f in form.getlist("files") if not isinstance(f, str) and getattr(f, "filename", None)]
        if not files:
            raise refuse(Code.SVC_UPLOAD_EMPTY)
        if len(files) > MAX_SCAN_FILES:
            raise refuse(Code.SVC_BAD_REQUEST, why=f"一次最多上传 {MAX_SCAN_FILES} 个文件")
        for f in files:  # every file's type is checked before any is stored
            name = work.shown_name(f.filename)
            suffix = Path(name).suffix.lower()
            head = f.file.read(16)
            f.file.seek(0)
            if suffix not in work.SCAN_MAGIC or not head.startswith(work.SCAN_MAGIC[suffix]):
                raise refuse(Code.SVC_SCAN_TYPE, name=name) if head or suffix not in work.SCAN_MAGIC else \
                    refuse(Code.SVC_UPLOAD_EMPTY)
        stored = [work.store_scan(db, settings, actor, f.file, f.filename) for f in files]
        ids = list(dict.fromkeys(s.upload.id for s in stored))
        job_id = runner.submit("parse", {"uploads": ids, "again": [s.upload.name for s in stored if s.again]}, actor)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    # --- 复核: the review queue ----------------------------------------------------------------------

    def queue(actor: Actor, case_id: int | None = None) -> list[dict[str, Any]]:
        from ..ledger.review import review_queue

        lg = ledger()
        try:
            items = review_queue(setup(), lg, scope_of(actor), case_id=case_id)
        finally:
            lg.close()
        out = []
        for it in items:
            meta = review_meta(settings, it.id)
            out.append({"item": it, "confidence": meta.get("confidence"), "why": meta.get("why", ""),
                        "crop": bool(meta.get("crop"))})
        out.sort(key=lambda x: (x["confidence"] if x["confidence"] is not None else 2.0, x["item"].id))
        return out

    @r.get("/review", response_class=HTMLResponse)
    def review_page(request: Request, actor: Actor = Depends(signed_in), cur=Depends(current)) -> Response:
        permit(actor, "review")
        done = request.query_params.get("done", "")
        if not DONE.match(done):  # only the words this page itself puts there, never free text from a link
            done = ""
        return page(request, "review.html", cur, items=queue(actor), done=done)

    @r.post("/review/{item_id}")
    async def review_decide(item_id: int, request: Request, actor: Actor = Depends(signed_in),
                            cur=Depends(current)) -> Response:
        from ..ledger.review import decide

        permit(actor, "review")
        form = await request.form()
        value = str(form.get("value") or "").strip()
        accept = form.get("do") == "accept" or value == str(form.get("read") or "").strip()
        wants_json = "application/json" in request.headers.get("accept", "")
        lg = ledger()
        try:
            with acting_as(actor.name):
                done = decide(setup(), lg, scope_of(actor), item_id, accept=accept, value=value)
        except FanpinError as exc:
            if wants_json:
                return JSONResponse({"ok": False, "code": exc.problems[0].code.name,
                                     "message": exc.problems[0].message}, status_code=409)
            return page(request, "review.html", cur, 409, items=queue(actor), problems=exc.problems)
        finally:
            lg.close()
        text = f"户编号 {done.household_no}：已{'接受' if done.status == 'accepted' else '更正为'}「{done.value}」"
        if wants_json:
            return JSONResponse({"ok": True, "message": text, "status": done.status})
        # the address carries no value (it may land in a proxy's log): the page words it again
        short = f"户编号 {done.household_no}：已{'接受' if done.status == 'accepted' else '更正'}"
        return RedirectResponse("/review?done=" + _quote(short), status_code=303)

    @r.get("/review/{item_id}/crop.png")
    def review_crop(item_id: int, actor: Actor = Depends(signed_in)) -> Response:
        from ..ledger.review import item_in_scope

        permit(actor, "review")
        lg = ledger()
        try:
            ok = item_in_scope(lg, scope_of(actor), item_id)
        finally:
            lg.close()
        path = work.review_store(settings) / f"{item_id}.png"
        if not ok or not path.is_file():
            raise refuse(Code.SVC_NOT_FOUND)
        return FileResponse(path, media_type="image/png")

    # --- 台账: cases by stage, the case page ----------------------------------------------------------

    @r.get("/cases", response_class=HTMLResponse)
    def cases_page(request: Request, actor: Actor = Depends(signed_in), cur=Depends(current)) -> Response:
        from ..ledger.status import STAGES, status

        permit(actor, "view")
        lg = ledger()
        try:
            st = status(setup(), lg, dt.date.today(), scope=scope_of(actor), keep=200)
        finally:
            lg.close()
        return page(request, "cases.html", cur, st=st, stages=STAGES)

    @r.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(case_id: int, request: Request, actor: Actor = Depends(signed_in), cur=Depends(current)
                  ) -> Response:
        from ..ledger.casefile import case_file

        permit(actor, "view")
        lg = ledger()
        try:
            cf = case_file(setup(), lg, scope_of(actor), case_id, reveal=may_reveal(actor))
            found = _findings(lg, actor, household_no=cf.household_no) if cf is not None else []
        finally:
            lg.close()
        if cf is None:
            raise refuse(Code.SVC_NOT_FOUND)
        return page(request, "case.html", cur, cf=cf, findings=found,
                    open_items=queue(actor, case_id) if actor.can("review") else [])

    @r.get("/cases/{case_id}/pages/{page_id}.jpg")
    def case_page_image(case_id: int, page_id: int, actor: Actor = Depends(signed_in)) -> Response:
        from ..ledger.casefile import page_file

        permit(actor, "view")
        lg = ledger()
        try:
            found = page_file(lg, scope_of(actor), page_id)
        finally:
            lg.close()
        if found is None:
            raise refuse(Code.SVC_NOT_FOUND)
        jpeg = _page_jpeg(*found)
        if jpeg is None:
            raise refuse(Code.SVC_NOT_FOUND)
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    # --- 程序检查, 公示/公告, 月报 ---------------------------------------------------------------------

    def _findings(lg, actor: Actor, *, household_no: str | None = None) -> list:
        from ..cases.rules import cases_from, run_rules
        from ..ledger.records import load_ledger

        result = load_ledger(setup(), lg, scope=scope_of(actor))
        records = [rec for rec in result.records if household_no is None or rec.case_id == household_no]
        return run_rules(fanpin.rules, cases_from(records, fanpin.form("ledger")), fanpin.county, dt.date.today())

    @r.get("/findings", response_class=HTMLResponse)
    def findings_page(request: Request, actor: Actor = Depends(signed_in), cur=Depends(current)) -> Response:
        from ..cases.rules import group_findings, summary

        permit(actor, "view")
        lg = ledger()
        try:
            found = _findings(lg, actor)
        finally:
            lg.close()
        return page(request, "findings.html", cur, grouped=group_findings(found), counts=summary(found))

    @r.get("/notices", response_class=HTMLResponse)
    def notices_page(request: Request, actor: Actor = Depends(signed_in), cur=Depends(current)) -> Response:
        permit(actor, "view")
        return page(request, "notices.html", cur)

    @r.get("/notices/{kind}.zip")
    def notices_download(kind: str, actor: Actor = Depends(signed_in)) -> Response:
        from ..cases.notices import (ledger_secrets, render_county, render_village, select_county, select_village,
                                     write_files)
        from ..ledger.records import load_ledger

        permit(actor, "view")
        if kind not in ("village", "county"):
            raise refuse(Code.SVC_NOT_FOUND)
        form = fanpin.form("ledger")
        lg = ledger()
        try:
            result = load_ledger(setup(), lg, scope=scope_of(actor))
            source = lg.name
        finally:
            lg.close()
        if kind == "village":
            selection = select_village(result.records, form, health_terms=fanpin.county.health_terms, source=source)
            what, why = "村级公示", "没有已定公示期、尚未县级审定的户"
        else:
            selection = select_county(result.records, form, fanpin.county, date=dt.date.today(), source=source)
            what, why = "县级公告", "没有已县级审定、尚未公告的户"
        if not selection.notices:
            raise FanpinError.of(Code.NOTICE_NOTHING, data=actor.area.label, what=f"列入{what}", why=why)
        files = render_village(selection) if kind == "village" else render_county(selection)
        with tempfile.TemporaryDirectory(prefix="fanpin-notice-") as tmp:
            paths = write_files(files, Path(tmp), ledger_secrets(result.records, form), what)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for p in paths:
                    z.write(p, p.name)
        return _download(buf.getvalue(), f"{what}-{actor.area.label}.zip", "application/zip")

    @r.get("/report", response_class=HTMLResponse)
    def report_page(request: Request, actor: Actor = Depends(signed_in), cur=Depends(current)) -> Response:
        permit(actor, "view")
        today = dt.date.today()
        months = [f"{y:04d}-{m:02d}" for y, m in _months_back(today, 24)]
        return page(request, "report.html", cur, months=months, month=months[0])

    @r.get("/report/monthly")
    def report_download(request: Request, actor: Actor = Depends(signed_in)) -> Response:
        from ..ledger.report import monthly, write

        permit(actor, "view")
        month = request.query_params.get("month", "")[:7]
        fmt = "docx" if request.query_params.get("format") == "docx" else "xlsx"
        lg = ledger()
        try:
            rep = monthly(setup(), lg, month, township=actor.area.township, scope=scope_of(actor))
        finally:
            lg.close()
        name = f"月报-{month}-{actor.area.label}.{fmt}"
        with tempfile.TemporaryDirectory(prefix="fanpin-report-") as tmp:
            out = write(rep, Path(tmp) / name)
            data = out.read_bytes()
        media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx" else
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        return _download(data, name, media)

    return r


class _Kept:
    """A shared ledger handed to one request: everything but ``close``."""

    def __init__(self, ledger: Any):
        self._ledger = ledger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)

    def close(self) -> None:
        return None


def _months_back(today: dt.date, n: int) -> list[tuple[int, int]]:
    y, m = today.year, today.month
    out = []
    for _ in range(n):
        out.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text[:200])


def _download(data: bytes, name: str, media: str) -> Response:
    from urllib.parse import quote

    return Response(data, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


def _page_jpeg(path: Path, page_no: int) -> bytes | None:
    """One page of a stored scan as a JPEG about 900 pixels wide (light on a weak connection)."""
    from PIL import Image

    try:
        if path.suffix.lower() == ".pdf":
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(str(path))
            try:
                if not 1 <= page_no <= len(doc):
                    return None
                pg = doc[page_no - 1]
                width = pg.get_width() or 595
                image = pg.render(scale=min(2.0, 900 / width)).to_pil()
                pg.close()
            finally:
                doc.close()
        else:
            with Image.open(path) as im:
                im.seek(max(0, page_no - 1))
                image = im.convert("RGB")
                image.thumbnail((900, 1300))
        buf = io.BytesIO()
        image.convert("RGB").save(buf, "JPEG", quality=75, optimize=True)
        return buf.getvalue()
    except Exception:  # noqa: BLE001 -- a stored file that no longer reads is "not found"
        return None


__all__ = ["Kit", "page_routes"]
