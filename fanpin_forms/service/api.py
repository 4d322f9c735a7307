"""``/api/v1``: the JSON API for the county's other systems (an :class:`~fastapi.APIRouter` that
``create_app`` includes).

Every call carries ``Authorization: Bearer <token>`` (per-user tokens, revocable; never the
session cookie). What it may see is the token owner's :class:`~fanpin_forms.service.scope.Area`:
job listings through :func:`~fanpin_forms.service.jobs.visible_job`'s rule, cases, findings and
reports through the ledger's query layer (``scope=`` :class:`~fanpin_forms.ledger.scope.Scope` of the
user's area, given to ``iter_states``, ``load_ledger`` and ``report.monthly``).
Import, print (fill) and parse are jobs: the answer names the job, whose state is polled at
``/api/v1/jobs/{id}`` and which can be cancelled or retried. Every refusal is
``{"error": {"code", "message", "problems"}}`` with the catalogue's code and Chinese message.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Code, Problem
from ..ledger.scope import Scope
from . import accounts, work
from .accounts import Actor, ServiceError
from .jobs import CANCELLED, ENDED, FAILED, STATE_LABELS, JobStatus, visible_job
from .models import Job, session_factory

#: HTTP status of each refusal
STATUS = {
    Code.SVC_LOGIN_FAILED: 401, Code.SVC_LOGIN_REQUIRED: 401, Code.SVC_TOKEN_INVALID: 401,
    Code.SVC_LOGIN_THROTTLED: 429, Code.SVC_CSRF: 403, Code.SVC_FORBIDDEN: 403, Code.SVC_NOT_FOUND: 404,
    Code.SVC_UPLOAD_TOO_LARGE: 413, Code.SVC_UPLOAD_TYPE: 415, Code.SVC_UPLOAD_EMPTY: 400,
    Code.SVC_BAD_REQUEST: 400, Code.SVC_JOB_NOT_CANCELLABLE: 409, Code.SVC_JOB_NOT_RETRYABLE: 409,
    Code.SVC_SCAN_TYPE: 415, Code.LEDGER_REVIEW_UNKNOWN: 404, Code.LEDGER_REVIEW_CONFLICT: 409,
    Code.LEDGER_REVIEW_VALUE: 400, Code.SVC_NOTHING_TO_PRINT: 400,
}
#: bytes a multipart request may carry besides the file (boundaries, the other fields)
FORM_OVERHEAD = 64 * 1024


class Refused(ServiceError):
    pass


def refuse(code: Code, **context: object) -> Refused:
    return Refused(Problem(code, context))


def problem_json(problems: list[Problem]) -> dict[str, Any]:
    first = problems[0]
    return {"error": {"code": first.code.name, "message": first.message,
                      "problems": [{"code": p.code.name, "message": p.message} for p in problems]}}


# --- the OpenAPI document's shapes ---------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="错误目录（fanpin_forms/errors.py）中的代码，如 SVC_NOT_FOUND")
    message: str = Field(description="中文说明")
    problems: list[dict[str, str]] = Field(description="全部问题（code、message）")


class ErrorBody(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in ((400, "请求无效"), (401, "令牌无效或已吊销"), (403, "没有权限"),
                         (404, "不存在或不在辖区内"), (409, "任务状态不允许这项操作"))
}


class TokenRequest(BaseModel):
    label: str = Field("", max_length=64, description="令牌的名称，如「县级平台」")


class PrintRequest(BaseModel):
    form: str = Field(description="表单编号，如 annex2")
    mode: Literal["blank", "filled", "ledger"] = Field(
        "blank", description="blank：空白表；filled：按已上传的台账预填；ledger：按台账数据库中辖区内的案件预填，每份表记入台账")
    copies: int = Field(1, description="空白表的份数")
    upload: str | None = Field(None, description="预填时用的台账（/api/v1/validate 回答中的 upload）")
    year: int | None = Field(None, description="基准年份（默认：今年或县里有的最近一年）")
    township: str | None = Field(None, description="ledger 模式：只打印这个乡镇（须在辖区内；默认：整个辖区）")
    village: str | None = Field(None, description="ledger 模式：只打印这个村（须同时给出乡镇）")


class ImportRequest(BaseModel):
    upload: str = Field(description="已上传并检查过的台账（/api/v1/validate 回答中的 upload）")
    skip_invalid: bool = Field(False, description="跳过有错误的行（默认：有错误就什么都不导入）")
    overwrite: bool = Field(False, description="用台账中的值覆盖数据库中已有的值")


class ParseRequest(BaseModel):
    uploads: list[str] = Field(min_length=1, description="已上传的扫描件（PDF 或图片）")


class JobSubmitted(BaseModel):
    job: str = Field(description="任务编号")
    status: str = Field(description="查询任务状态的地址")


# --- plumbing ------------------------------------------------------------------------------------


def get_db(request: Request) -> Iterator[Session]:
    with session_factory(request.app.state.engine)() as db:
        yield db


def api_user(request: Request, db: Session = Depends(get_db)) -> Actor:
    """The token's user; SVC_TOKEN_INVALID without a live ``Bearer`` token."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    user = accounts.user_for_token(db, secret.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise refuse(Code.SVC_TOKEN_INVALID)
    return Actor.of(user)


def permit(actor: Actor, *permissions: str) -> None:
    """Refuse unless the actor has one of ``permissions``."""
    if not any(actor.can(p) for p in permissions):
        raise refuse(Code.SVC_FORBIDDEN)


def check_length(request: Request, settings: Any) -> None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.upload_max_bytes + FORM_OVERHEAD:
        raise refuse(Code.SVC_UPLOAD_TOO_LARGE, max=work.human_bytes(settings.upload_max_bytes))


async def read_json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise refuse(Code.SVC_BAD_REQUEST, why="请求体应为 JSON 对象") from None
    if not isinstance(body, dict):
        raise refuse(Code.SVC_BAD_REQUEST, why="请求体应为 JSON 对象")
    return body


def form_and_file(fanpin: Any, form: Any) -> tuple[str, Any]:
    """The ``form`` id and the ``file`` of a multipart upload, checked."""
    form_id = str(form.get("form") or "")
    file = form.get("file")
    if file is None or isinstance(file, str) or not getattr(file, "filename", None):
        raise refuse(Code.SVC_UPLOAD_EMPTY)
    if form_id not in {f.id for f in work.printable_forms(fanpin)} | {work.LEDGER_FORM}:
        fanpin.form(form_id)  # the catalogue's "no such form"
        raise refuse(Code.SVC_BAD_REQUEST, why=f"表单「{form_id}」不能用于台账")
    return form_id, file


def print_params(state: Any, form: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """A print job's params from a page form or an API body, checked before the job exists."""
    fanpin, settings = state.fanpin, state.settings
    mode = str(form.get("mode")) if str(form.get("mode")) in ("filled", "ledger") else "blank"
    out: dict[str, Any] = {"form": str(form.get("form") or ""), "mode": mode}
    try:
        out["copies"] = int(form.get("copies") or 1)
        out["year"] = int(form.get("year")) if form.get("year") else None
    except (TypeError, ValueError):
        raise refuse(Code.SVC_BAD_REQUEST, why="份数和年份应为整数") from None
    if not 1 <= out["copies"] <= settings.blank_max_copies:
        raise refuse(Code.SVC_BAD_REQUEST, why=f"份数应在 1 到 {settings.blank_max_copies} 之间")
    if out["form"] not in {f.id for f in work.printable_forms(fanpin)}:
        fanpin.form(out["form"])
        raise refuse(Code.SVC_BAD_REQUEST, why=f"表单「{out['form']}」不能打印")
    if mode == "ledger":
        out.update(ledger_place(state, form, actor))
    if mode == "filled":
        out["upload"] = str(form.get("upload") or "")
        with session_factory(state.engine)() as db:
            if work.visible_upload(db, out["upload"], actor) is None:
                raise refuse(Code.SVC_BAD_REQUEST, why="请先上传台账，再选择要打印的台账")
    return out


def ledger_place(state: Any, form: dict[str, Any], actor: Actor) -> dict[str, str]:
    """The township / village a print from the ledger is limited to (``place`` "乡镇|村" from the
    page's picker, or ``township`` / ``village``); nothing chosen: the user's whole area. A place
    outside the user's area is refused, one the ledger has no household of too."""
    from ..ledger.scope import places

    place = str(form.get("place") or "")
    township, _, village = place.partition("|") if place else (str(form.get("township") or ""), "",
                                                                 str(form.get("village") or ""))
    township, village = township.strip()[:64], village.strip()[:64]
    if not township:
        if village:
            raise refuse(Code.SVC_BAD_REQUEST, why="选择村时须同时选择乡镇")
        return {}
    scope = Scope.of(actor.area)
    if not scope.covers(township, village or None):
        raise refuse(Code.SVC_FORBIDDEN)
    with ledger_of(state).read() as db:
        known = places(db, scope)
    if not any(t == township and (not village or v == village) for t, v in known):
        raise refuse(Code.SVC_BAD_REQUEST, why=f"台账中没有{township}{village}的户，请先上传台账")
    return {"township": township, "village": village}


def own_upload(state: Any, upload_id: str, actor: Actor, *, scan: bool) -> str:
    """``upload_id`` if it is one of the user's own uploads of the right kind (a scan or a sheet)."""
    with session_factory(state.engine)() as db:
        upload = work.visible_upload(db, upload_id, actor)
    if upload is None or (upload.form_id == work.SCAN) != scan:
        what = "扫描件（/api/v1/scans）" if scan else "台账（/api/v1/validate）"
        raise refuse(Code.SVC_BAD_REQUEST, why=f"请先上传{what}，再提交任务")
    return upload_id


def job_result(db: Session, job_id: str, actor: Actor) -> Response:
    job = visible_job(db, job_id, actor)
    if job is None or job.state != "done" or not job.result_path or not Path(job.result_path).is_file():
        raise refuse(Code.SVC_NOT_FOUND)
    media = "application/zip" if job.result_path.endswith(".zip") else "application/pdf"
    return FileResponse(job.result_path, media_type=media, filename=job.result_name or Path(job.result_path).name)


_LEDGER_LOCK = threading.Lock()


def ledger_of(state: Any):
    """The ledger on the service's database, opened once per web process."""
    with _LEDGER_LOCK:
        if getattr(state, "ledger", None) is None:
            from ..ledger.db import Ledger

            state.ledger = Ledger.open(state.settings.db_url, upgrade=False)
        return state.ledger


def close_ledger(state: Any) -> None:
    with _LEDGER_LOCK:
        ledger, state.ledger = getattr(state, "ledger", None), None
    if ledger is not None:
        ledger.close()


def submitted(job_id: str) -> dict[str, str]:
    return {"job": job_id, "status": f"/api/v1/jobs/{job_id}"}


def _case_json(c: Any, *, values: bool = False) -> dict[str, Any]:
    out = {"case_id": c.case_id, "household_no": c.household_no, "head_name": c.head_name,
           "id_masked": c.id_masked, "township": c.township, "village": c.village, "stage": c.stage,
           "overdue": ({"days": c.overdue.days, "what": c.overdue.what, "last_day": c.overdue.last_day.isoformat()}
                       if c.overdue else None)}
    if values:
        out["values"] = c.values
    return out


# --- the routes -----------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1", tags=["接口"], responses=ERRORS)


@router.get("/me", summary="当前令牌的用户：用户名、角色、辖区")
def api_me(actor: Actor = Depends(api_user)) -> dict[str, Any]:
    return {"name": actor.name, "role": actor.role.value, "role_label": actor.role.label,
            "area": {"level": actor.area.level, "township": actor.area.township, "village": actor.area.village,
                     "label": actor.area.label}}


@router.post("/tokens", summary="为当前用户新建接口令牌（令牌原文只在这次回答中出现）")
def api_token_create(body: TokenRequest, actor: Actor = Depends(api_user),
                     db: Session = Depends(get_db)) -> dict[str, Any]:
    token, secret = accounts.create_token(db, actor.id, body.label)
    return {"id": token.id, "label": token.label, "token": secret}


@router.post("/tokens/{token_id}/revoke", summary="吊销当前用户自己的一个令牌（也可以是正在用的这个）")
def api_token_revoke(token_id: int, actor: Actor = Depends(api_user), db: Session = Depends(get_db)
                     ) -> dict[str, Any]:
    if not accounts.revoke_token(db, actor.id, token_id):
        raise refuse(Code.SVC_NOT_FOUND)
    return {"id": token_id, "revoked": True}


@router.post("/validate", summary="上传并检查农户信息表：按文件、Excel 行号和中文列名列出每个问题",
             description="multipart 表单：`form`（表单编号）、`file`（.xlsx 或 .csv）。检查与 `fanpin validate` "
                         "相同；台账留存，回答中的 `upload` 用于导入和预填打印。")
async def api_validate(request: Request, actor: Actor = Depends(api_user),
                       db: Session = Depends(get_db)) -> dict[str, Any]:
    state = request.app.state
    permit(actor, "upload")
    check_length(request, state.settings)
    form_id, file = form_and_file(state.fanpin, await request.form())
    data = work.read_upload(file.file, file.filename, state.settings)
    checked = work.store_and_check(db, state.fanpin, state.settings, actor, form_id, file.filename, data)
    return {"upload": checked.upload.id, "form": form_id, "rows_total": checked.rows_total,
            "valid": checked.valid, "ok": not checked.errors, "errors": checked.rows("errors"),
            "warnings": checked.rows("warnings")}


@router.post("/scans", summary="上传扫描件（multipart：一个或多个 file，PDF 或图片）：类型在保存前检查，同一文件只存一次",
             description="回答中每个文件的 `upload` 用于 `POST /api/v1/parse`；`again` 为真表示这个文件以前上传过。")
async def api_scans(request: Request, actor: Actor = Depends(api_user),
                    db: Session = Depends(get_db)) -> dict[str, Any]:
    state = request.app.state
    permit(actor, "scan", "review")
    form = await request.form()
    files = [f for f in form.getlist("file") if not isinstance(f, str) and getattr(f, "filename", None)]
    if not files:
        raise refuse(Code.SVC_UPLOAD_EMPTY)
    stored = [work.store_scan(db, state.settings, actor, f.file, f.filename) for f in files]
    return {"uploads": [{"upload": s.upload.id, "name": s.upload.name, "size": s.upload.size, "again": s.again}
                        for s in stored]}


@router.post("/import", summary="把已上传的台账导入监测台账数据库（任务）", response_model=JobSubmitted)
def api_import(body: ImportRequest, request: Request, actor: Actor = Depends(api_user)) -> dict[str, str]:
    state = request.app.state
    permit(actor, "upload")
    params = {"upload": own_upload(state, body.upload, actor, scan=False), "skip_invalid": body.skip_invalid,
              "overwrite": body.overwrite}
    return submitted(state.runner.submit("import", params, actor))


@router.post("/print", summary="打印（填写）表格（任务）：空白表，或按已上传的台账预填，合并成一个 PDF",
             response_model=JobSubmitted)
def api_print(body: PrintRequest, request: Request, actor: Actor = Depends(api_user)) -> dict[str, str]:
    state = request.app.state
    permit(actor, "print")
    return submitted(state.runner.submit("print", print_params(state, body.model_dump(), actor), actor))


@router.post("/parse", summary="识别已上传的扫描件（任务）：识别出的、外来的、重复的、失败的页", response_model=JobSubmitted)
def api_parse(body: ParseRequest, request: Request, actor: Actor = Depends(api_user)) -> dict[str, str]:
    state = request.app.state
    permit(actor, "scan", "review")
    params = {"uploads": [own_upload(state, u, actor, scan=True) for u in body.uploads]}
    return submitted(state.runner.submit("parse", params, actor))


@router.get("/jobs", summary="任务列表：自己的任务（乡镇审核员、县级管理员：辖区内的任务），最新的在前")
def api_jobs(request: Request, actor: Actor = Depends(api_user), db: Session = Depends(get_db),
             state: str | None = Query(None, description="只列出这个状态：" + "、".join(STATE_LABELS)),
             limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)) -> dict[str, Any]:
    query = select(Job)
    if actor.can("approve"):
        query = query.where((Job.user_id == actor.id) | actor.area.where(Job))
    else:
        query = query.where(Job.user_id == actor.id)
    if state:
        query = query.where(Job.state == state)
    rows = db.scalars(query.order_by(Job.created.desc(), Job.id).offset(offset).limit(limit))
    jobs_dir = request.app.state.settings.jobs_dir
    return {"jobs": [JobStatus.of(j, jobs_dir).to_json() for j in rows], "limit": limit, "offset": offset}


@router.get("/jobs/{job_id}", summary="任务的状态和进度")
def api_job(job_id: str, request: Request, actor: Actor = Depends(api_user)) -> dict[str, Any]:
    status = request.app.state.runner.status(job_id, actor)
    if status is None:
        raise refuse(Code.SVC_NOT_FOUND)
    return status.to_json()


@router.post("/jobs/{job_id}/cancel", summary="取消排队中或进行中的任务（进行中的在下一步时停止）")
def api_job_cancel(job_id: str, request: Request, actor: Actor = Depends(api_user)) -> dict[str, Any]:
    runner = request.app.state.runner
    before = runner.status(job_id, actor)
    if before is None:
        raise refuse(Code.SVC_NOT_FOUND)
    if before.state in ENDED:
        raise refuse(Code.SVC_JOB_NOT_CANCELLABLE, state=before.state_label)
    return runner.cancel(job_id, actor).to_json()


@router.post("/jobs/{job_id}/retry", summary="重试失败或已取消的任务")
def api_job_retry(job_id: str, request: Request, actor: Actor = Depends(api_user)) -> dict[str, Any]:
    runner = request.app.state.runner
    before = runner.status(job_id, actor)
    if before is None:
        raise refuse(Code.SVC_NOT_FOUND)
    if before.state not in (FAILED, CANCELLED):
        raise refuse(Code.SVC_JOB_NOT_RETRYABLE, state=before.state_label)
    return runner.retry(job_id, actor).to_json()


@router.get("/jobs/{job_id}/result", summary="已完成任务的文件（如合并的打印 PDF）",
            response_class=FileResponse)
def api_job_result(job_id: str, actor: Actor = Depends(api_user), db: Session = Depends(get_db)) -> Response:
    return job_result(db, job_id, actor)


@router.get("/cases", summary="辖区内的监测对象（每户当前的案件）：阶段、超期，超期最多的在前")
def api_cases(request: Request, actor: Actor = Depends(api_user),
              stage: str | None = Query(None, description="只列出这个阶段，如 公示中"),
              overdue: bool = Query(False, description="只列出超期的"),
              limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> dict[str, Any]:
    from ..ledger.status import iter_states

    permit(actor, "view")
    state = request.app.state
    cases = [c for c in iter_states(state.fanpin.ledger_setup(), ledger_of(state), dt.date.today(),
                                    scope=Scope.of(actor.area))
             if (not stage or c.stage == stage) and (not overdue or c.overdue)]
    cases.sort(key=lambda c: (-(c.overdue.days if c.overdue else -1), c.township, c.village, c.case_id))
    return {"total": len(cases), "limit": limit, "offset": offset,
            "cases": [_case_json(c) for c in cases[offset:offset + limit]]}


@router.get("/cases/{case_id}", summary="一个案件：阶段、超期、各环节日期和分类")
def api_case(case_id: int, request: Request, actor: Actor = Depends(api_user)) -> dict[str, Any]:
    from ..ledger.status import iter_states

    permit(actor, "view")
    state = request.app.state
    for c in iter_states(state.fanpin.ledger_setup(), ledger_of(state), dt.date.today(),
                         scope=Scope.of(actor.area)):
        if c.case_id == case_id:
            return _case_json(c, values=True)
    raise refuse(Code.SVC_NOT_FOUND)


@router.get("/findings", summary="按县里的规则检查辖区内每个案件的程序和时限（同 fanpin check）")
def api_findings(request: Request, actor: Actor = Depends(api_user),
                 as_of: dt.date | None = Query(None, description="按这一天检查（默认今天）")) -> dict[str, Any]:
    from ..cases.rules import cases_from, run_rules, summary
    from ..ledger.records import load_ledger

    permit(actor, "view")
    state = request.app.state
    fanpin = state.fanpin
    setup = fanpin.ledger_setup()
    result = load_ledger(setup, ledger_of(state), scope=Scope.of(actor.area))
    findings = run_rules(fanpin.rules, cases_from(result.records, setup.form), fanpin.county, as_of)
    return {"as_of": (as_of or dt.date.today()).isoformat(), "cases_checked": len(result.records),
            "summary": summary(findings), "findings": [f.to_json() for f in findings],
            "data_errors": [p.message for p in result.errors]}


@router.get("/reports/monthly", summary="辖区的防返贫动态监测月报（只含户数，不含个人信息）")
def api_report(request: Request, actor: Actor = Depends(api_user),
               month: str = Query(description="月份，如 2022-06")) -> dict[str, Any]:
    from ..ledger.report import monthly, table_rows

    permit(actor, "view")
    state = request.app.state
    report = monthly(state.fanpin.ledger_setup(), ledger_of(state), month, scope=Scope.of(actor.area))
    sections = []
    for section in report.sections:
        headers, rows = table_rows(section)
        sections.append({"title": section.title, "headers": headers, "rows": rows})
    return {"title": report.title, "note": report.note, "as_of": report.as_of.isoformat(),
            "area": actor.area.label, "sections": sections}


__all__ = ["router", "problem_json", "refuse", "Refused", "STATUS", "print_params", "form_and_file", "job_result"]
