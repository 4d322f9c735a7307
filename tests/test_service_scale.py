"""The service at scale, running: two ``fanpin worker`` and two ``fanpin serve --queue`` processes
(real subprocesses on loopback ports) on the test PostgreSQL; import, print and parse jobs
submitted through the API of both web processes, the worker reading the scans killed with
SIGKILL in the middle of the job — and every job ends exactly once, with its whole output and
nothing attached twice."""

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

from .conftest import PG_REQUIRED, PG_URL, PG_URL_ENV, household, make_id, write_xlsx
from fanpin_forms.ledger.models import Document, Page, ScanFile
from fanpin_forms.service import accounts
from fanpin_forms.service.accounts import Role
from fanpin_forms.service.models import Job, open_database, session_factory
from .service_kit import PASSWORD, TOWNSHIP, VILLAGE_A

pytestmark = pytest.mark.slow

FANPIN = str(Path(sys.executable).with_name("fanpin"))
#: seconds without a heartbeat after which a worker counts as dead (short, for the test)
STALLED = 4
#: copies of the blank print jobs submitted while the parse job runs
COPIES = [2, 3]


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


def wait_all(apis, ids, seconds: float) -> dict[str, str]:
    """Poll (through both web processes in turn) until every job has ended; their states."""
    deadline = time.monotonic() + seconds
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {j: apis[k % 2].get(f"/api/v1/jobs/{j}").json()["state"] for k, j in enumerate(ids)}
        if all(s in ("done", "failed", "cancelled") for s in states.values()):
            break
        time.sleep(0.3)
    return states


def test_two_workers_two_web_processes_a_killed_worker_and_every_job_ends_once(pg_url, tmp_path, app):
    import pypdfium2 as pdfium

    from .scansim import simulate

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
        # while they start: two households, and their forms printed, signed and scanned (one foreign page)
        rows = [household(), household(**{"户编号": "T-002", "户主姓名": "李四", "身份证号码": make_id(seq="002")})]
        sheet = write_xlsx(tmp_path / "监测台账.xlsx", rows)
        scans = tmp_path / "回收扫描件.pdf"
        simulate(app, scans, forms=[("annex2", app.load_and_check(app.form("annex2"), sheet).records)], seed=7,
                 dpi=150, foreign=1)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, web in zip(bases, webs):
            wait_up(base, web)
        apis = [httpx.Client(base_url=b, headers={"Authorization": f"Bearer {secret}"}, timeout=60) for b in bases]

        # import through web 1, print from the ledger through web 2 (each shown by the other)
        with open(sheet, "rb") as fh:
            upload = apis[0].post("/api/v1/validate", data={"form": "ledger"},
                                  files={"file": (sheet.name, fh)}).json()["upload"]
        ids = [apis[0].post("/api/v1/import", json={"upload": upload}).json()["job"]]
        assert wait_all(apis[::-1], ids, 60) == {ids[0]: "done"}, procs.tail()
        ids.append(apis[1].post("/api/v1/print", json={"form": "annex2", "mode": "ledger", "year": 2022}).json()["job"])
        assert wait_all(apis, ids, 90)[ids[1]] == "done", procs.tail()

        # the scans read back through web 2; once a worker holds that job, kill that worker
        with open(scans, "rb") as fh:
            scan = apis[1].post("/api/v1/scans", files=[("file", (scans.name, fh, "application/pdf"))]).json()
        parse = apis[1].post("/api/v1/parse", json={"uploads": [scan["uploads"][0]["upload"]]}).json()["job"]
        ids.append(parse)
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline:
            with session_factory(engine)() as db:
                job = db.get(Job, parse)
                if job.state == "running" and job.worker:
                    victim = int(job.worker.rsplit(":", 1)[1])
            time.sleep(0.1)
        assert victim in [w.pid for w in workers], "no worker took the parse job"
        # blank prints, alternating between the two web processes, while the scans are read
        for n, copies in enumerate(COPIES):
            r = apis[n % 2].post("/api/v1/print", json={"form": "annex2", "mode": "blank", "copies": copies})
            assert r.status_code == 200, r.text
            ids.append(r.json()["job"])
        time.sleep(1.5)  # mid-job: the worker is reading the pages
        os.kill(victim, signal.SIGKILL)

        # every job ends; each web process shows every job (the state is in the database)
        states = wait_all(apis, ids, 150)
        if set(states.values()) != {"done"}:
            with session_factory(engine)() as db:
                why = [(j.kind, j.state, j.message) for j in db.scalars(sa.select(Job).where(Job.id.in_(ids)))]
            raise AssertionError((why, procs.tail()))
        assert [apis[1].get(f"/api/v1/jobs/{j}").json()["state"] for j in ids] == ["done"] * len(ids)

        with session_factory(engine)() as db:
            jobs = {j.id: j for j in db.scalars(sa.select(Job).where(Job.id.in_(ids)))}
            stuck = db.execute(sa.text("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo','doing')"))
            assert stuck.scalar() == 0
            # nothing attached twice: one scan file, each of its pages once, the two printed forms
            assert db.scalar(sa.select(sa.func.count()).select_from(ScanFile)) == 1
            pages = db.execute(sa.select(Page.scan_file_id, Page.page_no)).all()
            assert pages and len(pages) == len(set(pages))
            assert db.scalar(sa.select(sa.func.count()).select_from(Document)) == 2
        # exactly once: one ending each; the killed job was taken over once, by the other worker
        assert [jobs[j].finishes for j in ids] == [1] * len(ids)
        assert jobs[parse].attempt == 2 and int(jobs[parse].worker.rsplit(":", 1)[1]) != victim
        assert [jobs[j].attempt for j in ids if j != parse] == [1] * (len(ids) - 1)
        summary = apis[0].get(f"/api/v1/jobs/{parse}").json()["summary"]
        assert summary["recognised"] >= 2 and summary["foreign"] == 1 and summary["failed"] == 0
        # and each print is whole: one page per copy, fetched through either web process
        for k, (j, copies) in enumerate(zip(ids[3:], COPIES)):
            pdf = apis[k % 2].get(f"/api/v1/jobs/{j}/result")
            assert pdf.status_code == 200
            doc = pdfium.PdfDocument(io.BytesIO(pdf.content))
            assert len(doc) == copies
            doc.close()
    finally:
        procs.stop_all()
        engine.dispose()
