"""The service at scale, running: two ``fanpin worker`` and two ``fanpin serve --queue`` processes
(real subprocesses on loopback ports) on the test PostgreSQL, print jobs submitted through the
API of both web processes, one worker killed with SIGKILL in the middle of a job — and every
job ends exactly once, with its whole output."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from .conftest import PG_REQUIRED, PG_URL, PG_URL_ENV
from fanpin_forms.service import accounts
from fanpin_forms.service.accounts import Role
from fanpin_forms.service.models import Job, open_database, session_factory
from .service_kit import PASSWORD, TOWNSHIP, VILLAGE_A

pytestmark = pytest.mark.slow

FANPIN = str(Path(sys.executable).with_name("fanpin"))
#: seconds without a heartbeat after which a worker counts as dead (short, for the test)
STALLED = 4
#: copies of each print job; the first (the one whose worker is killed) is longer
COPIES = [12, 2, 2, 2]


@pytest.fixture
def pg_url() -> str:
    if not PG_URL:
        if PG_REQUIRED:
            pytest.fail(f"{PG_URL_ENV} is not set: run the tests through scripts/test-services.sh")
        pytest.skip(f"no PostgreSQL: {PG_URL_ENV} is not set (make test / scripts/test-services.sh sets it)")
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return PG_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Every process the test starts; all of them are killed (with their groups) at the end."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, *args: str, env: dict[str, str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 -- closed with the process
        proc = subprocess.Popen([FANPIN, *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        proc.log_file = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            proc.log_file.close()  # type: ignore[attr-defined]

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in sorted(self.logs.iterdir()))


def wait_up(base: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the web process ended early"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"{base} did not answer")


def test_two_workers_two_web_processes_a_killed_worker_and_every_job_ends_once(pg_url, tmp_path):
    import pypdfium2 as pdfium

    engine = open_database(pg_url)
    with session_factory(engine)() as db:
        clerk = accounts.add_user(db, "clerk_a", PASSWORD, Role.VILLAGE_CLERK, TOWNSHIP, VILLAGE_A)
        _, secret = accounts.create_token(db, clerk.id, "平台")
    env = {**os.environ, "FANPIN_FORMS_SERVICE_HOME": str(tmp_path / "home"),
           "FANPIN_FORMS_SERVICE_STALLED_SECONDS": str(STALLED), "PYTHONUNBUFFERED": "1"}
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(logs)
    try:
        workers = [procs.start(f"worker{i}", "worker", "--db", pg_url, "--queue", pg_url, env=env) for i in (1, 2)]
        ports = [free_port(), free_port()]
        webs = [procs.start(f"web{i}", "serve", "--port", str(port), "--db", pg_url, "--queue", pg_url, env=env)
                for i, port in enumerate(ports, 1)]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, web in zip(bases, webs):
            wait_up(base, web)
        apis = [httpx.Client(base_url=b, headers={"Authorization": f"Bearer {secret}"}, timeout=30) for b in bases]

        # the long job first, through web 1; wait until a worker holds it, then kill that worker
        ids = [apis[0].post("/api/v1/print", json={"form": "annex2", "mode": "blank",
                                                   "copies": COPIES[0]}).json()["job"]]
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline:
            with session_factory(engine)() as db:
                job = db.get(Job, ids[0])
                if job.state == "running" and job.worker:
                    victim = int(job.worker.rsplit(":", 1)[1])
            time.sleep(0.1)
        assert victim in [w.pid for w in workers], "no worker took the first job"
        # the rest, alternating between the two web processes, while the first one runs
        for n, copies in enumerate(COPIES[1:], 1):
            r = apis[n % 2].post("/api/v1/print", json={"form": "annex2", "mode": "blank", "copies": copies})
            assert r.status_code == 200, r.text
            ids.append(r.json()["job"])
        time.sleep(1.0)  # mid-job: LibreOffice is converting the 12 copies
        os.kill(victim, signal.SIGKILL)

        # every job ends; each web process shows every job (the state is in the database)
        deadline = time.monotonic() + 150
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = {j: apis[k % 2].get(f"/api/v1/jobs/{j}").json()["state"] for k, j in enumerate(ids)}
            if all(s in ("done", "failed", "cancelled") for s in states.values()):
                break
            time.sleep(0.5)
        if set(states.values()) != {"done"}:
            with session_factory(engine)() as db:
                why = [(j.state, j.message) for j in db.scalars(sa.select(Job).where(Job.id.in_(ids)))]
            raise AssertionError((why, procs.tail()))
        assert [apis[1].get(f"/api/v1/jobs/{j}").json()["state"] for j in ids] == ["done"] * len(ids)

        with session_factory(engine)() as db:
            rows = {j.id: j for j in db.scalars(sa.select(Job).where(Job.id.in_(ids)))}
            stuck = db.execute(sa.text("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo','doing')"))
            assert stuck.scalar() == 0
        # exactly once: one ending each; the killed job was taken over once, by the other worker
        assert [rows[j].finishes for j in ids] == [1] * len(ids)
        assert rows[ids[0]].attempt == 2 and int(rows[ids[0]].worker.rsplit(":", 1)[1]) != victim
        assert [rows[j].attempt for j in ids[1:]] == [1] * (len(ids) - 1)
        # and each result is whole: one page per copy, fetched through either web process
        for k, (j, copies) in enumerate(zip(ids, COPIES)):
            pdf = apis[(k + 1) % 2].get(f"/api/v1/jobs/{j}/result")
            assert pdf.status_code == 200
            doc = pdfium.PdfDocument(io.BytesIO(pdf.content))
            assert len(doc) == copies
            doc.close()
    finally:
        procs.stop_all()
        engine.dispose()
