"""Background jobs: an interface, the job bodies by kind, and an in-process runner.

A job is a row of ``svc_job`` (kind, JSON params, owner, area, state, progress,
result file). Everything a job needs is in its row, so executing one takes only its
id: :func:`execute` is the unit of work. :class:`ThreadJobRunner` calls it on a thread
pool inside ``fanpin serve``; a distributed runner (Procrastinate on PostgreSQL, or
Celery) implements the same :class:`JobRunner` by inserting the row and deferring a
task that calls ``execute(job_id, ...)`` in a worker process. Progress and results are
read from the database, never from the runner, so any web process can show any job.

Job bodies are registered in :data:`KINDS` with :func:`job_kind`; each gets a
:class:`JobContext` (params, the owner's area, an output folder, ``progress()``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ..errors import Code, FanpinError
from ..privacy.masking import scrub_shapes
from .accounts import Actor, ServiceError
from .models import Job, now, session_factory
from .scope import Area
from .settings import Settings

log = logging.getLogger("fanpin_forms.service.jobs")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATE_LABELS = {QUEUED: "排队中", RUNNING: "进行中", DONE: "已完成", FAILED: "失败"}


@dataclass(frozen=True)
class JobStatus:
    id: str
    kind: str
    state: str
    done: int
    total: int
    step: str
    message: str
    has_result: bool
    result_name: str | None
    created: dt.datetime
    finished: dt.datetime | None
    #: what the job did (``JobContext.set_summary``): counts and lists the page and the API show
    summary: dict[str, Any] | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def percent(self) -> int:
        if self.state == DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def finished_state(self) -> bool:
        return self.state in (DONE, FAILED)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "state_label": self.state_label,
                "done": self.done, "total": self.total, "percent": self.percent, "step": self.step,
                "message": self.message, "download": f"/api/v1/jobs/{self.id}/result" if self.has_result else None,
                "created": self.created.isoformat() + "Z",
                "finished": self.finished.isoformat() + "Z" if self.finished else None,
                "summary": self.summary}

    @classmethod
    def of(cls, job: Job, jobs_dir: Path | None = None) -> JobStatus:
        return cls(job.id, job.kind, job.state, job.done, job.total, job.step, job.message,
                   job.state == DONE and bool(job.result_path), job.result_name, job.created, job.finished,
                   read_summary(jobs_dir / job.id) if jobs_dir is not None else None)


SUMMARY = "summary.json"


def read_summary(folder: Path) -> dict[str, Any] | None:
    """The summary a job body stored in its folder, or None."""
    try:
        return json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class JobRunner(Protocol):
    """What the web application needs from a job runner."""

    def submit(self, kind: str, params: dict[str, Any], user: Actor) -> str:
        """Record a job for ``user`` (stamped with their area) and schedule it; return its id."""

    def status(self, job_id: str, user: Actor) -> JobStatus | None:
        """The job's state and progress, or None when ``user`` may not see it (or it is not there)."""

    def shutdown(self) -> None:
        """Stop taking jobs; wait for the running ones."""


# --- job bodies ------------------------------------------------------------------------------


class JobContext:
    """What a job body gets: its params, its owner's area, a folder for its output."""

    def __init__(self, job: Job, settings: Settings, engine: Engine, fanpin: Callable[[], Any]):
        self.job_id = job.id
        self.params = dict(job.params or {})
        self.user_id = job.user_id
        self.area = Area.of_user(job)
        self.settings = settings
        self.engine = engine
        self._fanpin = fanpin
        self.out_dir = settings.jobs_dir / job.id
        self.out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.result: tuple[Path, str] | None = None

    @property
    def app(self):
        """The shared :class:`~fanpin_forms.app.App` (plugins, county, forms)."""
        return self._fanpin()

    def progress(self, done: int, total: int, step: str = "") -> None:
        with session_factory(self.engine)() as db:
            db.execute(update(Job).where(Job.id == self.job_id).values(done=done, total=total, step=step[:128]))
            db.commit()

    def set_result(self, path: Path, download_name: str) -> None:
        self.result = (path, download_name)

    def set_summary(self, summary: dict[str, Any]) -> None:
        """Store what the job did (JSON; already masked) for the job page and the API."""
        from ..util.atomic import write_atomic

        write_atomic(self.out_dir / SUMMARY, json.dumps(summary, ensure_ascii=False).encode("utf-8"))


KINDS: dict[str, Callable[[JobContext], None]] = {}


def job_kind(name: str) -> Callable[[Callable[[JobContext], None]], Callable[[JobContext], None]]:
    def register(fn: Callable[[JobContext], None]) -> Callable[[JobContext], None]:
        KINDS[name] = fn
        return fn
    return register


def failure_text(exc: BaseException) -> str:
    """What the user is told when a job fails: the catalogue's messages, scrubbed; never a traceback."""
    if isinstance(exc, FanpinError):
        why = "；".join(p.message for p in exc.problems[:20])
    else:
        why = "程序内部错误，请联系管理员查看服务日志"
    return scrub_shapes(Code.SVC_JOB_FAILED.format(why=why))[:2000]


def execute(job_id: str, engine: Engine, settings: Settings, fanpin: Callable[[], Any]) -> None:
    """Run one job to its end and record how it ended. Claims the job first (queued → running)
    so that a job delivered twice runs once."""
    make = session_factory(engine)
    with make() as db:
        claimed = db.execute(update(Job).where(Job.id == job_id, Job.state == QUEUED)
                             .values(state=RUNNING, started=now())).rowcount
        db.commit()
        if not claimed:
            return
        job = db.get(Job, job_id)
    started = time.monotonic()
    values: dict[str, Any]
    try:
        body = KINDS.get(job.kind)
        if body is None:
            raise ServiceError.of(Code.SVC_JOB_UNKNOWN_KIND, kind=job.kind)
        ctx = JobContext(job, settings, engine, fanpin)
        body(ctx)
        values = {"state": DONE, "done": job.total, "step": "已完成"}
        if ctx.result:
            values.update(result_path=str(ctx.result[0]), result_name=ctx.result[1])
    except Exception as exc:  # noqa: BLE001 -- every failure becomes the job's message
        log.warning("job %s (%s) failed: %s", job_id, job.kind, type(exc).__name__)
        values = {"state": FAILED, "message": failure_text(exc)}
    values.update(finished=now(), seconds=time.monotonic() - started)
    with make() as db:
        db.execute(update(Job).where(Job.id == job_id).values(**values))
        if values["state"] == DONE:  # done == total for the bar
            db.execute(update(Job).where(Job.id == job_id, Job.total > Job.done).values(done=Job.total))
        db.commit()


def new_job(engine: Engine, kind: str, params: dict[str, Any], user: Actor) -> str:
    """Insert a queued job row for ``user`` and return its id (unguessable)."""
    if kind not in KINDS:
        raise ServiceError.of(Code.SVC_JOB_UNKNOWN_KIND, kind=kind)
    job_id = secrets.token_hex(16)
    township, village = user.area.own()
    with session_factory(engine)() as db:
        db.add(Job(id=job_id, kind=kind, params=params, user_id=user.id, township=township, village=village))
        db.commit()
    return job_id


def visible_job(db, job_id: str, user: Actor) -> Job | None:
    """The job if ``user`` may see it: their own, or (for a county admin or township reviewer) one
    in their area. Everyone else's is None, exactly as a job that does not exist."""
    query = select(Job).where(Job.id == job_id)
    if user.can("approve"):
        query = query.where((Job.user_id == user.id) | user.area.where(Job))
    else:
        query = query.where(Job.user_id == user.id)
    return db.scalar(query)


class ThreadJobRunner:
    """Jobs on a thread pool inside the web process (the embedded default)."""

    def __init__(self, engine: Engine, settings: Settings, fanpin: Callable[[], Any]):
        self.engine, self.settings, self.fanpin = engine, settings, fanpin
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.job_workers), thread_name_prefix="fanpin-job")
        self._lock = threading.Lock()
        self._abandon_previous()

    def _abandon_previous(self) -> None:
        """Jobs a previous process left queued or running can never end: fail them."""
        with session_factory(self.engine)() as db:
            db.execute(update(Job).where(Job.state.in_((QUEUED, RUNNING)))
                       .values(state=FAILED, finished=now(), message=Code.SVC_JOB_INTERRUPTED.format()))
            db.commit()

    def submit(self, kind: str, params: dict[str, Any], user: Actor) -> str:
        job_id = new_job(self.engine, kind, params, user)
        with self._lock:
            self._pool.submit(execute, job_id, self.engine, self.settings, self.fanpin)
        return job_id

    def status(self, job_id: str, user: Actor) -> JobStatus | None:
        with session_factory(self.engine)() as db:
            job = visible_job(db, job_id, user)
            return JobStatus.of(job, self.settings.jobs_dir) if job else None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
