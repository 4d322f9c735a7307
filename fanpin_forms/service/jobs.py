"""Background jobs: an interface, the job bodies by kind, and an in-process runner.

A job is a row of ``svc_job`` (kind, JSON params, owner, area, state, progress,
result file). Everything a job needs is in its row, so executing one takes only its
id: :func:`execute` is the unit of work. :class:`ThreadJobRunner` calls it on a thread
pool inside ``fanpin serve``; :class:`~fanpin_forms.service.queue.QueueJobRunner`
(Procrastinate on PostgreSQL) inserts the same row and defers a task that calls
``execute(job_id, ...)`` in a ``fanpin worker`` process. Progress and results are read
from the database, never from the runner, so any web process can show any job.

Exactly once, whatever the delivery: :func:`execute` claims the row (queued → running,
``attempt`` + 1) and, while the body runs, beats ``heartbeat``; a running row whose
heartbeat is older than :func:`stale_after` belongs to a dead worker and may be claimed
again. Every write of an attempt names its ``attempt``, so a late duplicate of a reclaimed
job records nothing, and the ending (``finishes`` + 1) is written once. Cancel: a queued
job ends at once; a running one at its next progress step (or when its body returns).
Retry: a failed or cancelled job is queued again.

Job bodies are registered in :data:`KINDS` with :func:`job_kind`; each gets a
:class:`JobContext` (params, the owner's area, an output folder, ``progress()``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import socket
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

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATE_LABELS = {QUEUED: "排队中", RUNNING: "进行中", DONE: "已完成", FAILED: "失败", CANCELLED: "已取消"}
ENDED = (DONE, FAILED, CANCELLED)


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
    attempt: int = 0
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
        return self.state in ENDED

    @property
    def can_cancel(self) -> bool:
        return self.state in (QUEUED, RUNNING)

    @property
    def can_retry(self) -> bool:
        return self.state in (FAILED, CANCELLED)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "state_label": self.state_label,
                "done": self.done, "total": self.total, "percent": self.percent, "step": self.step,
                "message": self.message, "download": f"/api/v1/jobs/{self.id}/result" if self.has_result else None,
                "created": self.created.isoformat() + "Z",
                "finished": self.finished.isoformat() + "Z" if self.finished else None,
                "attempt": self.attempt, "cancel": f"/api/v1/jobs/{self.id}/cancel" if self.can_cancel else None,
                "retry": f"/api/v1/jobs/{self.id}/retry" if self.can_retry else None,
                "summary": self.summary}

    @classmethod
    def of(cls, job: Job, jobs_dir: Path | None = None) -> JobStatus:
        return cls(job.id, job.kind, job.state, job.done, job.total, job.step, job.message,
                   job.state == DONE and bool(job.result_path), job.result_name, job.created, job.finished,
                   job.attempt or 0, read_summary(jobs_dir / job.id) if jobs_dir is not None else None)


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

    def cancel(self, job_id: str, user: Actor) -> JobStatus | None:
        """Cancel a queued or running job ``user`` may see (None: not there for them)."""

    def retry(self, job_id: str, user: Actor) -> JobStatus | None:
        """Queue a failed or cancelled job again (None: not there for them)."""

    def shutdown(self) -> None:
        """Stop taking jobs; wait for the running ones."""


class JobCancelled(Exception):
    """Raised inside a job body by :meth:`JobContext.progress` once a cancel was asked for."""


# --- job bodies ------------------------------------------------------------------------------


class JobContext:
    """What a job body gets: its params, its owner's area, a folder for its output."""

    def __init__(self, job: Job, settings: Settings, engine: Engine, fanpin: Callable[[], Any]):
        self.job_id = job.id
        self.attempt = job.attempt
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
        """Record progress; raises :class:`JobCancelled` when a cancel was asked for, or when this
        attempt is no longer the job's (its worker was taken for dead and the job reclaimed)."""
        with session_factory(self.engine)() as db:
            mine = db.execute(update(Job).where(Job.id == self.job_id, Job.attempt == self.attempt,
                                                Job.state == RUNNING)
                              .values(done=done, total=total, step=step[:128], heartbeat=now())).rowcount
            cancel = db.scalar(select(Job.cancel_requested).where(Job.id == self.job_id))
            db.commit()
        if not mine or cancel:
            raise JobCancelled(self.job_id)

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


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def stale_after(settings: Settings) -> dt.timedelta:
    """A running job whose heartbeat is older than this belongs to a dead worker (half the
    queue's stalled-worker timeout, so the queue's redelivery always finds it claimable)."""
    return dt.timedelta(seconds=settings.stalled_seconds / 2)


def heartbeat_seconds(settings: Settings) -> float:
    return max(0.2, settings.stalled_seconds / 6)


def claim(engine: Engine, job_id: str, settings: Settings) -> Job | None:
    """Take the job for this process: a queued one, or a running one whose worker stopped
    beating. Returns the claimed row (its ``attempt`` is this run's), or None."""
    make = session_factory(engine)
    with make() as db:
        stamp = now()
        claimable = (Job.state == QUEUED) | ((Job.state == RUNNING) & (Job.heartbeat < stamp - stale_after(settings)))
        claimed = db.execute(update(Job).where(Job.id == job_id, claimable, Job.cancel_requested.is_(False))
                             .values(state=RUNNING, started=stamp, heartbeat=stamp, attempt=Job.attempt + 1,
                                     worker=worker_name(), done=0, message="")).rowcount
        db.commit()
        return db.get(Job, job_id) if claimed else None


class _Heartbeat:
    """Beats the claimed attempt's heartbeat from a thread while the body runs."""

    def __init__(self, engine: Engine, job_id: str, attempt: int, every: float):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(engine, job_id, attempt, every),
                                        name=f"fanpin-beat-{job_id[:8]}", daemon=True)

    def _run(self, engine: Engine, job_id: str, attempt: int, every: float) -> None:
        make = session_factory(engine)
        while not self._stop.wait(every):
            try:
                with make() as db:
                    db.execute(update(Job).where(Job.id == job_id, Job.attempt == attempt, Job.state == RUNNING)
                               .values(heartbeat=now()))
                    db.commit()
            except Exception:  # noqa: BLE001 -- a missed beat is retried; the job goes on
                log.warning("heartbeat of job %s missed", job_id)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def execute(job_id: str, engine: Engine, settings: Settings, fanpin: Callable[[], Any]) -> None:
    """Run one job to its end and record how it ended, once. Claims the job first
    (:func:`claim`), so that a job delivered twice runs once, and one whose worker died
    runs again."""
    job = claim(engine, job_id, settings)
    if job is None:
        return
    attempt = job.attempt
    started = time.monotonic()
    values: dict[str, Any]
    try:
        body = KINDS.get(job.kind)
        if body is None:
            raise ServiceError.of(Code.SVC_JOB_UNKNOWN_KIND, kind=job.kind)
        with _Heartbeat(engine, job_id, attempt, heartbeat_seconds(settings)):
            ctx = JobContext(job, settings, engine, fanpin)
            body(ctx)
        values = {"state": DONE, "done": job.total, "step": "已完成"}
        if ctx.result:
            values.update(result_path=str(ctx.result[0]), result_name=ctx.result[1])
    except JobCancelled:
        values = {"state": CANCELLED, "message": Code.SVC_JOB_CANCELLED.format(), "step": "已取消"}
    except Exception as exc:  # noqa: BLE001 -- every failure becomes the job's message
        log.warning("job %s (%s) failed: %s", job_id, job.kind, type(exc).__name__)
        values = {"state": FAILED, "message": failure_text(exc)}
    values.update(finished=now(), seconds=time.monotonic() - started, finishes=Job.finishes + 1)
    mine = (Job.id == job_id) & (Job.attempt == attempt) & (Job.state == RUNNING)
    with session_factory(engine)() as db:
        if values["state"] == DONE:
            # a cancel asked for while the body ran wins over its result
            db.execute(update(Job).where(mine, Job.cancel_requested.is_(True))
                       .values(state=CANCELLED, message=Code.SVC_JOB_CANCELLED.format(), step="已取消",
                               finished=values["finished"], seconds=values["seconds"], finishes=Job.finishes + 1))
        db.execute(update(Job).where(mine).values(**values))
        if values["state"] == DONE:  # done == total for the bar
            db.execute(update(Job).where(Job.id == job_id, Job.state == DONE, Job.total > Job.done)
                       .values(done=Job.total))
        db.commit()


def cancel_job(engine: Engine, job_id: str, user: Actor) -> Job | None:
    """A queued job ends cancelled now; a running one is asked to stop (it ends cancelled at its
    next step). An ended job is left as it is. None: ``user`` may not see the job."""
    with session_factory(engine)() as db:
        job = visible_job(db, job_id, user)
        if job is None:
            return None
        db.execute(update(Job).where(Job.id == job_id, Job.state == QUEUED)
                   .values(state=CANCELLED, cancel_requested=True, finished=now(), finishes=Job.finishes + 1,
                           message=Code.SVC_JOB_CANCELLED.format(), step="已取消"))
        db.execute(update(Job).where(Job.id == job_id, Job.state == RUNNING).values(cancel_requested=True))
        db.commit()
        db.refresh(job)
        return job


def requeue_job(engine: Engine, job_id: str, user: Actor) -> tuple[Job | None, bool]:
    """A failed or cancelled job back to queued (its progress, message and result cleared);
    returns (the job or None when not visible, whether it was queued again)."""
    with session_factory(engine)() as db:
        job = visible_job(db, job_id, user)
        if job is None:
            return None, False
        again = db.execute(update(Job).where(Job.id == job_id, Job.state.in_((FAILED, CANCELLED)))
                           .values(state=QUEUED, cancel_requested=False, done=0, step="", message="",
                                   result_path=None, result_name=None, finished=None, started=None,
                                   finishes=0)).rowcount
        db.commit()
        db.refresh(job)
        return job, bool(again)


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


class RunnerBase:
    """What every runner shares: status, cancel and retry read and write the job rows only;
    a subclass schedules (``_schedule``) and stops."""

    engine: Engine
    settings: Settings

    def _schedule(self, job_id: str) -> None:
        raise NotImplementedError

    def submit(self, kind: str, params: dict[str, Any], user: Actor) -> str:
        job_id = new_job(self.engine, kind, params, user)
        self._schedule(job_id)
        return job_id

    def status(self, job_id: str, user: Actor) -> JobStatus | None:
        with session_factory(self.engine)() as db:
            job = visible_job(db, job_id, user)
            return JobStatus.of(job, self.settings.jobs_dir) if job else None

    def cancel(self, job_id: str, user: Actor) -> JobStatus | None:
        job = cancel_job(self.engine, job_id, user)
        return JobStatus.of(job, self.settings.jobs_dir) if job else None

    def retry(self, job_id: str, user: Actor) -> JobStatus | None:
        job, again = requeue_job(self.engine, job_id, user)
        if job is None:
            return None
        if again:
            (self.settings.jobs_dir / job_id / SUMMARY).unlink(missing_ok=True)  # the last attempt's
            self._schedule(job_id)
        return JobStatus.of(job, self.settings.jobs_dir)


class ThreadJobRunner(RunnerBase):
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
                       .values(state=FAILED, finished=now(), finishes=Job.finishes + 1,
                               message=Code.SVC_JOB_INTERRUPTED.format()))
            db.commit()

    def _schedule(self, job_id: str) -> None:
        with self._lock:
            self._pool.submit(execute, job_id, self.engine, self.settings, self.fanpin)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
