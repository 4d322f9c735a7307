"""``create_app(settings, fanpin)``: the FastAPI application — the pages and ``/api/v1``.

Pages are server-rendered Chinese HTML that work without JavaScript (a running job's
page refreshes itself with ``<meta http-equiv=refresh>``). Every page POST carries the
session's CSRF token (checked by one dependency on the pages router); the API takes
only ``Authorization: Bearer <token>`` and never the session cookie, so a page on
another site cannot call it with the user's cookie. Every failure is a catalogue
message: an HTML page for the pages, ``{"error": {"code", "message"}}`` for the API.

``fanpin`` is the :class:`~fanpin_forms.app.App` built by the composition root (the
CLI); this package never builds one itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import Code, FanpinError, Problem
from . import accounts, api, sessions, web, work
from .accounts import ROLE_LABELS, Actor, ServiceError
from .api import FORM_OVERHEAD, STATUS, Refused, refuse  # noqa: F401 -- one refusal type for pages and API
from .api import problem_json as _problem_json
from .jobs import JobRunner, ThreadJobRunner
from .models import Job, open_database, session_factory
from .settings import Settings

log = logging.getLogger("fanpin_forms.service")
HERE = Path(__file__).resolve().parent

def create_app(settings: Settings, fanpin: Any, *, runner: JobRunner | None = None) -> FastAPI:
    """The application over ``settings.db_url``; ``fanpin`` is the App whose forms and checks it uses."""
    engine = open_database(settings.db_url)
    make_db = session_factory(engine)
    # everything the job threads read is computed once, here, before any thread starts
    fanpin.county, fanpin.field_types, fanpin.forms, fanpin.record_checks  # noqa: B018
    runner = runner or ThreadJobRunner(engine, settings, lambda: fanpin)
    templates = Jinja2Templates(directory=str(HERE / "pages"))
    templates.env.globals.update(role_labels=ROLE_LABELS, csrf_field=sessions.CSRF_FIELD)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        runner.shutdown()
        api.close_ledger(app.state)

    app = FastAPI(title="防返贫监测表单服务", version="1", docs_url="/api/v1/docs", redoc_url=None,
                  openapi_url="/api/v1/openapi.json", lifespan=lifespan,
                  description="县里其他系统用的 JSON 接口：每次请求带 `Authorization: Bearer <令牌>`（在网页「接口令牌」"
                              "中创建，可随时吊销）；只能看到令牌所属用户辖区内的数据。导入、打印、识别都是任务："
                              "提交后按回答中的地址查询状态，可取消、重试。出错时回答 "
                              "`{\"error\": {\"code\", \"message\"}}`，code 为错误目录中的代码，message 为中文说明。")
    app.state.settings, app.state.engine, app.state.runner, app.state.fanpin = settings, engine, runner, fanpin

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # --- plumbing ---------------------------------------------------------------------------

    def get_db() -> Iterator[Session]:
        with make_db() as db:
            yield db

    def current(request: Request, db: Session = Depends(get_db)) -> sessions.Current | None:
        return sessions.load_session(db, request.cookies.get(sessions.COOKIE))

    def signed_in(cur: sessions.Current | None = Depends(current)) -> Actor:
        if cur is None or cur.user is None:
            raise refuse(Code.SVC_LOGIN_REQUIRED)
        return Actor.of(cur.user)

    async def csrf_guard(request: Request, cur: sessions.Current | None = Depends(current)) -> None:
        """Every POST of a page: the session's token must come back in the form."""
        if request.method != "POST":
            return
        length = request.headers.get("content-length")
        cap = settings.scan_max_bytes if request.url.path == "/scans" else settings.upload_max_bytes
        if length and length.isdigit() and int(length) > cap + FORM_OVERHEAD:
            raise refuse(Code.SVC_UPLOAD_TOO_LARGE, max=work.human_bytes(cap))
        form = await request.form()
        if not sessions.csrf_ok(cur, str(form.get(sessions.CSRF_FIELD) or "")):
            raise refuse(Code.SVC_CSRF)

    def page(request: Request, template: str, cur: sessions.Current | None, status: int = 200, **ctx: Any
             ) -> HTMLResponse:
        actor = Actor.of(cur.user) if cur and cur.user else None
        return templates.TemplateResponse(request, template, {"actor": actor, "csrf": cur.row.csrf if cur else "",
                                                          **ctx}, status_code=status)

    def permit(actor: Actor, permission: str) -> None:
        if not actor.can(permission):
            raise refuse(Code.SVC_FORBIDDEN)

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/api/v1/docs"):
            response.headers.setdefault("Content-Security-Policy",
                                        "default-src 'self'; img-src 'self' data:; form-action 'self'; "
                                        "frame-ancestors 'none'")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def _error_response(request: Request, problems: list[Problem], status: int) -> Response:
        if _is_api(request):
            return JSONResponse(_problem_json(problems), status_code=status)
        if problems[0].code == Code.SVC_LOGIN_REQUIRED:
            return RedirectResponse("/login", status_code=303)
        with make_db() as db:
            cur = sessions.load_session(db, request.cookies.get(sessions.COOKIE))
            return page(request, "error.html", cur, status, problems=problems)

    @app.exception_handler(FanpinError)
    async def _fanpin_error(request: Request, exc: FanpinError) -> Response:
        code = exc.problems[0].code if exc.problems else Code.SVC_BAD_REQUEST
        return _error_response(request, exc.problems, STATUS.get(code, 400))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = Code.SVC_NOT_FOUND if exc.status_code in (404, 405) else Code.SVC_BAD_REQUEST
        return _error_response(request, [Problem(code, {"why": "请求方式不对"})], exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = "、".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors()[:5])
        return _error_response(request, [Problem(Code.SVC_BAD_REQUEST, {"why": f"缺少或无效的字段 {fields}"})], 400)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s: %s", request.url.path, type(exc).__name__)
        return _error_response(request, [Problem(Code.SVC_JOB_FAILED, {"why": "程序内部错误，请联系管理员查看服务日志"})], 500)

    def set_cookie(response: Response, cookie: str) -> None:
        response.set_cookie(sessions.COOKIE, cookie, max_age=int(settings.session_hours * 3600), httponly=True,
                            samesite="lax", secure=settings.secure_cookies, path="/")

    # --- pages -----------------------------------------------------------------------------------

    pages = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)

    @pages.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, db: Session = Depends(get_db), cur=Depends(current)) -> Response:
        if cur and cur.user:
            return RedirectResponse("/", status_code=303)
        if cur is None:
            cookie = sessions.new_session(db, settings, None)
            cur = sessions.load_session(db, cookie)
            response = page(request, "login.html", cur)
            set_cookie(response, cookie)
            return response
        return page(request, "login.html", cur)

    @pages.post("/login")
    async def login(request: Request, db: Session = Depends(get_db), cur=Depends(current)) -> Response:
        form = await request.form()
        name = str(form.get("name") or "").strip()[:64]
        password = str(form.get("password") or "")
        client = request.client.host if request.client else "?"
        try:
            sessions.check_throttle(db, settings, name, client)
        except ServiceError as exc:
            return page(request, "login.html", cur, 429, problems=exc.problems, name=name)
        user = accounts.authenticate(db, name, password) if name and password else None
        sessions.record_attempt(db, settings, name, client, user is not None)
        if user is None:
            return page(request, "login.html", cur, 401, problems=[Problem(Code.SVC_LOGIN_FAILED, {})], name=name)
        sessions.end_session(db, request.cookies.get(sessions.COOKIE))
        response = RedirectResponse("/", status_code=303)
        set_cookie(response, sessions.new_session(db, settings, user))
        return response

    @pages.post("/logout")
    def logout(request: Request, db: Session = Depends(get_db)) -> Response:
        sessions.end_session(db, request.cookies.get(sessions.COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response

    @pages.get("/", response_class=HTMLResponse)
    def home(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_db),
             cur=Depends(current)) -> Response:
        from sqlalchemy import select

        jobs = db.scalars(select(Job).where(Job.user_id == actor.id).order_by(Job.created.desc()).limit(10))
        return page(request, "home.html", cur, jobs=[_status(j) for j in jobs],
                    uploads=[u for u in work.uploads_of(db, actor) if u.form_id != work.SCAN],
                    users=accounts.list_users(db, actor.area) if actor.can("accounts") else None,
                    county=fanpin.county.name)

    @pages.get("/upload", response_class=HTMLResponse)
    def upload_page(request: Request, actor: Actor = Depends(signed_in), cur=Depends(current)) -> Response:
        permit(actor, "upload")
        return page(request, "upload.html", cur, forms=work.printable_forms(fanpin), max=_max())

    @pages.post("/upload", response_class=HTMLResponse)
    async def upload(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_db),
                     cur=Depends(current)) -> Response:
        permit(actor, "upload")
        form = await request.form()
        form_id, file = _form_and_file(form)
        data = work.read_upload(file.file, file.filename, settings)
        checked = work.store_and_check(db, fanpin, settings, actor, form_id, file.filename, data)
        return page(request, "upload.html", cur, forms=work.printable_forms(fanpin), max=_max(), checked=checked,
                    chosen=form_id)

    @pages.get("/print", response_class=HTMLResponse)
    def print_page(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_db),
                   cur=Depends(current)) -> Response:
        permit(actor, "print")
        return page(request, "print.html", cur, forms=work.printable_forms(fanpin),
                    uploads=[u for u in work.uploads_of(db, actor) if u.errors < u.rows or u.rows],
                    chosen_upload=request.query_params.get("upload", ""),
                    years=sorted(fanpin.county.baselines, reverse=True), year=work.default_year(fanpin.county),
                    max_copies=settings.blank_max_copies, places=_places(actor))

    @pages.post("/print")
    async def print_submit(request: Request, actor: Actor = Depends(signed_in)) -> Response:
        permit(actor, "print")
        job_id = runner.submit("print", _print_params(dict(await request.form()), actor), actor)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @pages.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(job_id: str, request: Request, actor: Actor = Depends(signed_in), cur=Depends(current)) -> Response:
        status = runner.status(job_id, actor)
        if status is None:
            raise refuse(Code.SVC_NOT_FOUND)
        return page(request, "job.html", cur, job=status, params=_job_params(job_id))

    @pages.post("/jobs/{job_id}/cancel")
    def job_cancel(job_id: str, actor: Actor = Depends(signed_in)) -> Response:
        if runner.cancel(job_id, actor) is None:
            raise refuse(Code.SVC_NOT_FOUND)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @pages.post("/jobs/{job_id}/retry")
    def job_retry(job_id: str, actor: Actor = Depends(signed_in)) -> Response:
        if runner.retry(job_id, actor) is None:
            raise refuse(Code.SVC_NOT_FOUND)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @pages.get("/jobs/{job_id}/download")
    def job_download(job_id: str, actor: Actor = Depends(signed_in), db: Session = Depends(get_db)) -> Response:
        return _result(db, job_id, actor)

    @pages.get("/tokens", response_class=HTMLResponse)
    def tokens_page(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_db),
                    cur=Depends(current)) -> Response:
        return page(request, "tokens.html", cur, tokens=accounts.tokens_of(db, actor.id))

    @pages.post("/tokens", response_class=HTMLResponse)
    async def tokens_create(request: Request, actor: Actor = Depends(signed_in), db: Session = Depends(get_db),
                            cur=Depends(current)) -> Response:
        form = await request.form()
        _, secret = accounts.create_token(db, actor.id, str(form.get("label") or ""))
        return page(request, "tokens.html", cur, tokens=accounts.tokens_of(db, actor.id), secret=secret)

    @pages.post("/tokens/{token_id}/revoke")
    def tokens_revoke(token_id: int, actor: Actor = Depends(signed_in), db: Session = Depends(get_db)) -> Response:
        if not accounts.revoke_token(db, actor.id, token_id):
            raise refuse(Code.SVC_NOT_FOUND)
        return RedirectResponse("/tokens", status_code=303)

    app.include_router(pages)
    ledger_pages = web.page_routes(web.Kit(app.state, settings, fanpin, runner, get_db, current, signed_in, page, permit, refuse),
                                   [Depends(csrf_guard)])
    app.include_router(ledger_pages)

    app.include_router(api.router)

    # --- helpers that need the closure -------------------------------------------------------------

    def _job_params(job_id: str) -> dict[str, Any]:
        with make_db() as db:
            job = db.get(Job, job_id)
            return dict(job.params or {}) if job is not None else {}

    def _max() -> str:
        return work.human_bytes(settings.upload_max_bytes)

    def _status(job: Job):
        from .jobs import JobStatus

        return JobStatus.of(job)

    def _form_and_file(form: Any) -> tuple[str, Any]:
        return api.form_and_file(fanpin, form)

    def _places(actor: Actor) -> dict[str, list[str]]:
        """The picker of the print page: each township of the user's area with its villages in the
        ledger (a village clerk: only their own village)."""
        from ..ledger.scope import Scope, places

        with api.ledger_of(app.state).read() as db:
            found = places(db, Scope.of(actor.area))
        out: dict[str, list[str]] = {}
        for township, village in found:
            out.setdefault(township, []).append(village)
        return out

    def _print_params(form: dict[str, Any], actor: Actor) -> dict[str, Any]:
        return api.print_params(app.state, form, actor)

    def _result(db: Session, job_id: str, actor: Actor) -> Response:
        return api.job_result(db, job_id, actor)

    return app


__all__ = ["create_app"]
