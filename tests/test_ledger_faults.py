"""Faults in the middle of a ledger write: a real Ctrl-C (SIGINT) and ``kill -9`` sent to a
running import and a running attach of scans, a read-only ledger and a full disk during an
attach and an evidence add. Each leaves the ledger exactly as before.

(Corrupt, foreign and damaged files, a read-only ledger and a full disk during an import,
an interrupt raised inside an import and ``kill -9`` of an import are in test_ledger_db.)

A child process is stopped only once it is inside its write transaction: SQLite's
``BEGIN IMMEDIATE`` from another connection is refused while a writer holds the lock."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import write_xlsx
from .test_ledger_db import households
from fanpin_forms.ledger.db import Ledger, LedgerError
from fanpin_forms.ledger.importer import import_file

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("households", "cases", "field_values", "documents", "scan_files", "pages", "review_items", "evidence",
          "operations", "audit")

#: the read-back results of one returned form for each of the households T-00001 … (the child's and a test's)
INPUTS = """
from pathlib import Path
from fanpin_forms.readback.results import ReadRecord, SignerReading, StageReading


def inputs(n, scan):
    recs, pages = [], []
    for i in range(1, n + 1):
        st = StageReading(signers=[SignerReading("入户核实人员", ["签字"], True, False, False, 0.9)],
                          date="2022-06-03", codes={})
        recs.append(ReadRecord(form="annex2", form_version="2022.1", case_id=f"T-{i:05d}", serial=None, row=None,
                               identified_by="qr", fields={}, stages={"home_visit": st},
                               source={"file": str(scan), "pages": [i]}, needs_review=[]))
        pages.append({"file": str(scan), "page": i, "status": "recognised", "form": "annex2",
                      "ident": f"C:T-{i:05d}", "why": ""})
    return recs, pages
"""

ATTACH_CHILD = INPUTS + """
import sys
from fanpin_forms.app import App
from fanpin_forms.ledger.attach import attach_scans
from fanpin_forms.ledger.db import Ledger

db, n, scan = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
recs, pages = inputs(n, scan)
app = App()
ledger = Ledger.open(db)
print("start", flush=True)
done = attach_scans(app.ledger_setup(), ledger, recs, pages, [scan])
print("done", done.facts, flush=True)
"""


def snapshot(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def writing(path: Path, conn: sqlite3.Connection | None = None) -> bool:
    """Whether another connection holds the ledger's write lock now (asked on ``conn``, a
    connection kept open across probes: a fresh one racing the writer's WAL can be told
    "malformed" for a moment)."""
    own = conn is None
    conn = conn or sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        if own:
            conn.close()


def stop_when_writing(proc: subprocess.Popen, path: Path, sig: int) -> None:
    deadline = time.monotonic() + 300
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        while proc.poll() is None and not writing(path, probe) and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, sig)
    finally:
        probe.close()


@pytest.fixture
def ledger_file(app, tmp_path) -> Path:
    """A SQLite ledger with 1500 households, and its state."""
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger.open(str(path))
    import_file(app.ledger_setup(), ledger, write_xlsx(tmp_path / "h.xlsx", households(1500)))
    ledger.close()
    return path


def child_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def test_ctrl_c_mid_import_says_so_and_changes_nothing(ledger_file, tmp_path):
    before = snapshot(ledger_file)
    data = write_xlsx(tmp_path / "big.xlsx", households(5000, start=2000))
    proc = subprocess.Popen([sys.executable, "-m", "fanpin_forms", "--db", str(ledger_file), "ledger", "import",
                             str(data)], env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop_when_writing(proc, ledger_file, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the import finished before it could be interrupted")
    assert proc.returncode == 130 and "已中断" in err and "Traceback" not in err, err
    assert snapshot(ledger_file) == before
    assert not writing(ledger_file)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_stop_mid_attach_changes_nothing(ledger_file, tmp_path, sig):
    before = snapshot(ledger_file)
    scan = tmp_path / "回收.pdf"
    scan.write_bytes(b"%PDF-1.4 a batch of returned pages")
    proc = subprocess.Popen([sys.executable, "-c", ATTACH_CHILD, str(ledger_file), "1500", str(scan)],
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop_when_writing(proc, ledger_file, sig)
    out, err = proc.communicate(timeout=120)
    if "done" in out:
        pytest.skip("the attach finished before it could be stopped")
    assert "start" in out and proc.returncode != 0
    assert snapshot(ledger_file) == before
    ledger = Ledger.open(str(ledger_file))  # opens and reads as before
    with ledger.read() as s:
        assert s.execute(sa.text("SELECT count(*) FROM households")).scalar_one() == 1500
    ledger.close()


def _attach_one(app, url: str, tmp_path: Path):
    from fanpin_forms.ledger.attach import attach_scans
    from .test_ledger_attach import pages_of, record, scan_file

    path = scan_file(tmp_path, "s.pdf", b"%PDF-1.4 returned")
    rec = record(path, case="T-00001")
    ledger = Ledger.open(url)
    try:
        return attach_scans(app.ledger_setup(), ledger, [rec], pages_of(path, "C:T-00001"), [path])
    finally:
        ledger.close()


def test_read_only_ledger_refuses_attach_and_evidence(app, ledger_file, tmp_path):
    from fanpin_forms.ledger.evidence import add_evidence
    from .test_ledger_evidence import pdf

    before = snapshot(ledger_file)
    url = f"sqlite:///file:{ledger_file}?mode=ro&uri=true"
    with pytest.raises(LedgerError, match="只读"):
        _attach_one(app, url, tmp_path)
    ledger = Ledger.open(url)
    with pytest.raises(LedgerError, match="只读"):
        add_evidence(app.ledger_setup(), ledger, "T-00001", [pdf(tmp_path / "a.pdf")], "说明")
    ledger.close()
    assert snapshot(ledger_file) == before
    store = Path(ledger_file).parent / "ledger-files"
    assert not [p for p in store.rglob("*") if p.is_file()], "a refused write left copies in the file store"


def test_files_dir_of_a_sqlite_uri_is_beside_the_file(ledger_file):
    """A URI filename (``file:/…?mode=ro``) keeps its store beside the ledger file, not in a
    folder called ``file:`` under the working directory."""
    from fanpin_forms.ledger.attach import files_dir

    for url in (f"sqlite:///{ledger_file}", f"sqlite:///file:{ledger_file}?mode=ro&uri=true"):
        ledger = Ledger.open(url)
        try:
            assert files_dir(ledger) == Path(ledger_file).parent / "ledger-files"
        finally:
            ledger.close()


def test_disk_full_during_attach_changes_nothing(app, ledger_file, tmp_path):
    """A real SQLITE_FULL: the file may not grow by more than a page."""
    from fanpin_forms.ledger.attach import attach_scans

    before = snapshot(ledger_file)
    pages = sqlite3.connect(ledger_file).execute("PRAGMA page_count").fetchone()[0]
    ledger = Ledger.open(str(ledger_file))
    sa.event.listen(ledger.engine, "connect", lambda c, _r: c.execute(f"PRAGMA max_page_count = {pages + 1}"))
    ledger.engine.dispose()
    scan = tmp_path / "s.pdf"
    scan.write_bytes(b"%PDF-1.4 many pages")
    ns: dict = {}
    exec(INPUTS, ns)  # noqa: S102 - the same inputs the child processes build
    recs, pages_read = ns["inputs"](1500, scan)
    with pytest.raises(LedgerError, match="磁盘已满"):
        attach_scans(app.ledger_setup(), ledger, recs, pages_read, [scan])
    ledger.close()
    assert snapshot(ledger_file) == before
