"""Jobs at scale: the same :func:`~fanpin_forms.service.jobs.execute` on Procrastinate, a job
queue that lives in PostgreSQL (usually the ledger's own database), so no second broker runs.

* ``fanpin serve --db postgresql+psycopg://… --queue postgresql://…`` uses
  :class:`QueueJobRunner`: it inserts the ``svc_job`` row (as the thread runner does) and
  defers the task ``fanpin.execute`` with the job's id. The web process runs nothing.
* ``fanpin worker`` (:func:`run_worker`) takes the tasks and calls ``execute(job_id, …)``.
  Its heartbeat is Procrastinate's; a worker killed mid-job leaves its task ``doing`` with a
  stale heartbeat, and every worker's :func:`reap_stalled` loop gives such tasks back to the
  queue. The job row's own heartbeat (``jobs.claim``) lets the next delivery take it over,
  and the attempt fences the dead one's writes, so each job ends exactly once.

Procrastinate's tables (``procrastinate_*``) are its own schema, applied by
:func:`ensure_schema` under an advisory lock when missing; the job rows stay in the ledger's
migration chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from ..errors import Code
from .accounts import ServiceError
from .jobs import RunnerBase, execute, heartbeat_seconds
from .settings import Settings

log = logging.getLogger("fanpin_forms.service.queue")

#: the Procrastinate queue and task every fanpin job goes through
QUEUE = "fanpin"
TASK = "fanpin.execute"
#: pg_advisory_xact_lock key while the queue's schema is applied ("fanpinqu")
SCHEMA_LOCK = 0x66616E70696E7175 & 0x7FFFFFFFFFFFFFFF


def conninfo(url: str) -> str:
    """A libpq URL from ``url`` (a SQLAlchemy ``postgresql+psycopg://`` URL is accepted);
    SVC_QUEUE_NEEDS_POSTGRES for anything else."""
    scheme, sep, rest = url.partition("://")
    base = scheme.split("+", 1)[0].lower()
    if not sep or base not in ("postgresql", "postgres"):
        raise ServiceError.of(Code.SVC_QUEUE_NEEDS_POSTGRES, scheme=(scheme or "（空）")[:32])
    return f"postgresql://{rest}"


def ensure_schema(url: str) -> None:
    """Apply Procrastinate's schema to the queue's database unless it is there (once, whichever
    of several processes starting together gets the lock)."""
    import psycopg
    from procrastinate.schema import SchemaManager

    try:
        with psycopg.connect(conninfo(url)) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
                conn.execute(SchemaManager.get_schema())  # type: ignore[arg-type]
            conn.commit()
    except psycopg.OperationalError as exc:
        raise ServiceError.of(Code.SVC_QUEUE_UNREACHABLE, why=_first_line(exc)) from exc


def _first_line(exc: BaseException) -> str:
    from ..privacy.masking import scrub_shapes

    return scrub_shapes(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)[:200]


class QueueJobRunner(RunnerBase):
    """The web process's side: job rows in the ledger, tasks deferred to Procrastinate."""

    def __init__(self, engine: Engine, settings: Settings):
        import procrastinate

        self.engine, self.settings = engine, settings
        ensure_schema(settings.queue_url)
        self._app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(
            conninfo=conninfo(settings.queue_url), min_size=1, max_size=4))
        self._app.open()
        self._task = self._app.configure_task(TASK, queue=QUEUE)

    def _schedule(self, job_id: str) -> None:
        self._task.defer(job_id=job_id)

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self._app.close()


def worker_app(engine: Engine, settings: Settings, fanpin: Callable[[], Any]):
    """The worker's Procrastinate app, with the one task that runs a job by its id."""
    import procrastinate

    from . import work  # noqa: F401 -- registers the job kinds (print, import, parse)

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=conninfo(settings.queue_url), min_size=1, max_size=max(3, settings.worker_concurrency + 2)))

    @app.task(name=TASK, queue=QUEUE)
    def run_job(job_id: str) -> None:
        execute(job_id, engine, settings, fanpin)

    return app


async def reap_stalled(app: Any, settings: Settings) -> None:
    """Forever: tasks left ``doing`` by a worker whose heartbeat stopped go back to the queue."""
    while True:
        await asyncio.sleep(heartbeat_seconds(settings))
        try:
            stalled = await app.job_manager.get_stalled_jobs(queue=QUEUE,
                                                             seconds_since_heartbeat=settings.stalled_seconds)
            for job in stalled:
                try:
                    await app.job_manager.retry_job(job)
                    log.warning("job task %s of a stalled worker given back to the queue", job.id)
                except Exception:  # noqa: BLE001 -- another worker's reaper was first
                    continue
        except Exception as exc:  # noqa: BLE001 -- the database may be back at the next round
            log.warning("looking for stalled jobs failed: %s", type(exc).__name__)


def run_worker(engine: Engine, settings: Settings, fanpin: Callable[[], Any]) -> None:
    """``fanpin worker``: run jobs until SIGINT/SIGTERM (then finish the running ones)."""
    ensure_schema(settings.queue_url)
    app = worker_app(engine, settings, fanpin)

    async def main() -> None:
        async with app.open_async():
            reaper = asyncio.create_task(reap_stalled(app, settings))
            try:
                await app.run_worker_async(
                    queues=[QUEUE], concurrency=max(1, settings.worker_concurrency),
                    update_heartbeat_interval=heartbeat_seconds(settings),
                    stalled_worker_timeout=settings.stalled_seconds,
                    fetch_job_polling_interval=max(0.5, heartbeat_seconds(settings)),
                    delete_jobs="successful", install_signal_handlers=True)
            finally:
                reaper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reaper

    asyncio.run(main())
