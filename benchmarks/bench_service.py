"""Benchmark of the web service on its embedded defaults against the CLI doing the same work.

Run: ``.venv/bin/python benchmarks/bench_service.py [--clerks 10] [--households 100] [--pages 20] [--quick]``
(the full run takes a long while on 2 cores; ``--quick`` is 3 clerks × 30 households × 5 pages).

Setup: ``fanpin serve`` in a child process on a loopback port, on embedded defaults (SQLite
ledger, the in-process job runner with its default 2 job threads). Each clerk is a village
clerk of their own village (an account and an API token), with a household sheet of N
invented households of that village (``fanpin_forms.testing.households``).

Each clerk's scans: the annex 2 forms of their first P households, printed, signed and
scanned by ``tests/scansim.py`` (150 dpi, before any timing).

1. Service: all clerks at once (one thread each), each job polled until it is done: upload the
   sheet (``POST /api/v1/validate``), import it into the ledger (``POST /api/v1/import``),
   print annex 2 for the village from the ledger (``POST /api/v1/print`` mode ``ledger``: one
   merged PDF, every form recorded) and download it, upload the scans (``POST /api/v1/scans``)
   and read them back into the ledger (``POST /api/v1/parse``). Meanwhile a signed-in
   browser-like client loads the home page (``GET /``, which lists jobs from the database) as
   fast as it gets answers: the page-load latencies while jobs run give p50 / p95.
2. Baseline, same run: the CLI doing the same work one clerk after another, each command in a
   fresh process as a clerk would run it, on its own SQLite ledger: ``fanpin ledger import``,
   ``fanpin fill annex2 --ledger --merge …`` (default workers = every core),
   ``fanpin parse <scans> --ledger``.

Printed: the machine and load average, both wall times, jobs per minute of each, the service's
overhead over the CLI (``service / cli - 1``; target < 10 %) and the page-load p50 / p95
(target p95 < 300 ms). The last lines are ``service_overhead=<x>`` and ``page_p95_ms=<x>``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from fanpin_forms.service import accounts
from fanpin_forms.service.accounts import Role
from fanpin_forms.service.models import open_database, session_factory
from fanpin_forms.testing.households import TOWNS, households, write_xlsx

# both bundled counties are installed: the benchmarks measure Yueyang's forms (children inherit it)
os.environ.setdefault("FANPIN_FORMS_COUNTY", "yueyang")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FANPIN = str(Path(sys.executable).with_name("fanpin"))
FORM, YEAR = "annex2", 2022
PASSWORD = "bench-password-1"


def villages(n: int) -> list[tuple[str, str]]:
    pairs = [(town, village) for town, names in TOWNS.items() for village in names]
    return [pairs[i % len(pairs)] for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def make_sheets(work: Path, clerks: int, n: int, pages: int) -> list[tuple[str, str, Path, Path]]:
    """(township, village, household sheet, scans PDF) of each clerk."""
    from fanpin_forms.app import App
    from tests.scansim import simulate

    app = App()
    out = []
    for i, (town, village) in enumerate(villages(clerks)):
        rows = households(n, seed=i, prefix=f"B{i}")
        for r in rows:
            r["乡镇（街道）"], r["村（社区）"] = town, village
        sheet = write_xlsx(work / f"clerk{i}.xlsx", rows)
        records = app.load_and_check(app.form(FORM), sheet).records[:pages]
        scans = work / f"clerk{i}-scans.pdf"
        simulate(app, scans, forms=[(FORM, records)], seed=i, dpi=150, foreign=0, duplicate=0, year=YEAR)
        out.append((town, village, sheet, scans))
    return out


def run_cli(work: Path, sheets, env) -> float:
    started = time.monotonic()
    for i, (_, _, sheet, scans) in enumerate(sheets):
        out = work / f"cli{i}"
        db = ["--db", f"sqlite:///{work / f'cli{i}.sqlite3'}"]
        quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run([FANPIN, "ledger", "import", str(sheet), *db], check=True, **quiet)
        subprocess.run([FANPIN, "fill", FORM, "--data", str(sheet), "-o", str(out), "--merge", str(out / "all.pdf"),
                        "--year", str(YEAR), "--ledger", *db], check=True, **quiet)
        subprocess.run([FANPIN, "parse", str(scans), "-o", str(out / "readings.jsonl"), "--ledger", *db], **quiet)
    return time.monotonic() - started


def run_service(work: Path, sheets, env) -> tuple[float, list[float], int]:
    db_url = f"sqlite:///{work / 'ledger.sqlite3'}"
    engine = open_database(db_url)
    tokens = []
    with session_factory(engine)() as db:
        for i, (town, village, _, _) in enumerate(sheets):
            user = accounts.add_user(db, f"clerk{i}", PASSWORD, Role.VILLAGE_CLERK, town, village)
            tokens.append(accounts.create_token(db, user.id, "bench")[1])
        accounts.add_user(db, "viewer", PASSWORD, Role.COUNTY_ADMIN)
    engine.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([FANPIN, "serve", "--port", str(port), "--db", db_url], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("fanpin serve did not start")
            time.sleep(0.2)

        browser = httpx.Client(base_url=base, timeout=30)
        page = browser.get("/login").text
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        browser.post("/login", data={"name": "viewer", "password": PASSWORD, "csrf_token": csrf})
        latencies: list[float] = []
        stop = threading.Event()

        def load_pages() -> None:
            while not stop.is_set():
                t = time.perf_counter()
                r = browser.get("/")
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200, r.status_code
                time.sleep(0.05)

        failures: list[str] = []

        def clerk(i: int) -> None:
            api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=120)
            _, _, sheet, scans = sheets[i]

            def job(path: str, body: dict) -> dict | None:
                job_id = api.post(path, json=body).json()["job"]
                while True:
                    state = api.get(f"/api/v1/jobs/{job_id}").json()
                    if state["state"] in ("done", "failed", "cancelled"):
                        break
                    time.sleep(0.5)
                if state["state"] != "done":
                    failures.append(f"clerk{i} {path}: {state['message']}")
                    return None
                return state

            with open(sheet, "rb") as fh:
                up = api.post("/api/v1/validate", data={"form": "ledger"}, files={"file": (sheet.name, fh)}).json()
            if not up.get("ok") or not job("/api/v1/import", {"upload": up["upload"]}):
                failures.append(f"clerk{i}: import {up.get('errors', '')}")
                return
            printed = job("/api/v1/print", {"form": FORM, "mode": "ledger", "year": YEAR})
            if printed is None:
                return
            api.get(printed["download"])
            with open(scans, "rb") as fh:
                stored = api.post("/api/v1/scans", files=[("file", (scans.name, fh, "application/pdf"))]).json()
            job("/api/v1/parse", {"uploads": [u["upload"] for u in stored["uploads"]]})

        pager = threading.Thread(target=load_pages, daemon=True)
        pager.start()
        started = time.monotonic()
        threads = [threading.Thread(target=clerk, args=(i,)) for i in range(len(sheets))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - started
        stop.set()
        pager.join(timeout=30)
        if failures:
            raise SystemExit("service jobs failed: " + "; ".join(failures))
        return wall, latencies, 3 * len(sheets)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clerks", type=int, default=10)
    parser.add_argument("--households", type=int, default=100)
    parser.add_argument("--pages", type=int, default=20, help="scanned pages each clerk uploads")
    parser.add_argument("--quick", action="store_true", help="3 clerks × 30 households × 5 pages")
    args = parser.parse_args()
    if args.quick:
        args.clerks, args.households, args.pages = 3, 30, 5
    with tempfile.TemporaryDirectory(prefix="fanpin-bench-service-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "FANPIN_FORMS_HOME": str(work / "home")}
        os.environ["FANPIN_FORMS_HOME"] = env["FANPIN_FORMS_HOME"]
        sheets = make_sheets(work, args.clerks, args.households, args.pages)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"work: {args.clerks} clerks, each: import {args.households} households, print {FORM} for all of them "
              f"(one merged PDF), read back {args.pages} scanned pages; jobs = import + print + parse per clerk")
        service_wall, latencies, jobs = run_service(work, sheets, env)
        cli_wall = run_cli(work, sheets, env)
        overhead = service_wall / cli_wall - 1
        p50, p95 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.95) * 1000
        print(f"service (all clerks at once): {service_wall:.1f} s, {60 * jobs / service_wall:.1f} jobs/min")
        print(f"CLI (one after another):      {cli_wall:.1f} s, {60 * jobs / cli_wall:.1f} jobs/min")
        print(f"page loads while jobs ran: {len(latencies)}, p50 {p50:.0f} ms, p95 {p95:.0f} ms "
              f"(max {max(latencies) * 1000:.0f} ms, mean {statistics.mean(latencies) * 1000:.0f} ms)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        print(f"service_overhead={overhead:.3f}")
        print(f"page_p95_ms={p95:.0f}")


if __name__ == "__main__":
    main()
