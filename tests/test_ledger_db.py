"""The ledger database: where it lives, migrations, refusals, faults, two writers, audit rows."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from .conftest import household, make_id, write_xlsx
from fanpin_forms.cli import cli
from fanpin_forms.ledger.audit import AuditIsAppendOnly
from fanpin_forms.ledger.db import Ledger, LedgerError, alembic_config, head_revision
from fanpin_forms.ledger.models import Audit

ROOT = Path(__file__).resolve().parent.parent


def households(n: int, start: int = 1) -> list[dict]:
    return [household(**{"户编号": f"T-{i:05d}", "身份证号码": make_id(seq=f"{i % 1000:03d}", birth=f"19{50 + i // 1000:02d}0101"),
                         "户主姓名": f"户主{i}"}) for i in range(start, start + n)]


def count(url: str, table: str) -> int:
    ledger = Ledger.open(url)
    try:
        with ledger.read() as s:
            return s.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        ledger.close()


def test_default_file_is_in_home_and_private(runner, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("FANPIN_FORMS_HOME", str(home))
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    path = home / "ledger.sqlite3"
    assert "新建" in result.output and str(path) in result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = runner.invoke(cli, ["db", "upgrade"])
    assert "已是最新版本" in again.output


def test_db_option_before_or_after_and_env(runner, tmp_path, monkeypatch):
    data = write_xlsx(tmp_path / "h.xlsx", households(2))
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    assert runner.invoke(cli, ["--db", str(a), "ledger", "import", str(data)]).exit_code == 0
    assert runner.invoke(cli, ["ledger", "import", str(data), "--db", str(b)]).exit_code == 0
    monkeypatch.setenv("FANPIN_FORMS_DATABASE_URL", str(c))
    assert runner.invoke(cli, ["ledger", "import", str(data)]).exit_code == 0
    for path in (a, b, c):
        assert count(str(path), "households") == 2


def test_old_database_is_migrated_not_recreated(ledger_url):
    ledger = Ledger.open(ledger_url, upgrade=False)
    with ledger.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    with ledger.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO operations (kind, actor, at, detail) VALUES ('import', 'x', :at, 'old')"),
                     {"at": "2022-01-01 00:00:00+00:00"})
        conn.execute(sa.text("INSERT INTO audit (operation_id, at, actor, entity, field, source) "
                             "VALUES (1, :at, 'x', 'cases', '', 'import')"), {"at": "2022-01-01 00:00:00+00:00"})
        conn.execute(sa.text("UPDATE audit SET actor = 'y'"))  # revision 0001 had no guard yet
    ledger.close()
    ledger = Ledger.open(ledger_url)
    assert ledger.revision() == head_revision() != "0001"
    with ledger.read() as s:
        assert s.execute(sa.text("SELECT detail FROM operations")).scalar_one() == "old"
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with ledger.engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit SET actor = 'z'"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with ledger.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit"))
    ledger.close()


def test_orm_refuses_to_change_audit_rows(ledger_url, app, tmp_path):
    from fanpin_forms.ledger.importer import import_file

    ledger = Ledger.open(ledger_url)
    import_file(app.ledger_setup(), ledger, write_xlsx(tmp_path / "h.xlsx", households(1)))
    with pytest.raises(AuditIsAppendOnly):
        with ledger.write() as s:
            row = s.scalars(sa.select(Audit)).first()
            row.new = "forged"
            s.flush()
    with pytest.raises(AuditIsAppendOnly):
        with ledger.write() as s:
            s.delete(s.scalars(sa.select(Audit)).first())
            s.flush()
    ledger.close()


def test_newer_database_is_refused(runner, ledger_url, tmp_path):
    Ledger.open(ledger_url).close()
    engine = sa.create_engine(ledger_url if "://" in ledger_url else f"sqlite:///{ledger_url}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    data = write_xlsx(tmp_path / "h.xlsx", households(1))
    result = runner.invoke(cli, ["ledger", "import", str(data), "--db", ledger_url])
    assert result.exit_code == 1
    assert "更新版本的 fanpin" in result.output and "9999" in result.output and "Traceback" not in result.output
    assert count_raw(ledger_url, "households") == 0


def count_raw(url: str, table: str) -> int:
    engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
    with engine.connect() as conn:
        n = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


def test_corrupt_file_is_refused_and_left_alone(runner, tmp_path):
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"PK\x03\x04 this is a zip, not a ledger" * 10)
    before = path.read_bytes()
    result = runner.invoke(cli, ["db", "upgrade", "--db", str(path)])
    assert result.exit_code == 1 and "已损坏或不是数据库文件" in result.output
    assert "Traceback" not in result.output and path.read_bytes() == before


def test_damaged_sqlite_file_is_refused(runner, tmp_path):
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(str(path)).close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the first page after the header
    path.write_bytes(bytes(data))
    result = runner.invoke(cli, ["ledger", "export", "-o", str(tmp_path / "x.xlsx"), "--db", str(path)])
    assert result.exit_code == 1 and "台账数据库" in result.output and "Traceback" not in result.output


def test_foreign_database_is_refused(runner, tmp_path):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    result = runner.invoke(cli, ["db", "upgrade", "--db", str(path)])
    assert result.exit_code == 1 and "不是本工具的台账数据库" in result.output and "customers" in result.output
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"customers"}


def test_read_only_database(runner, tmp_path):
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(str(path)).close()
    data = write_xlsx(tmp_path / "h.xlsx", households(1))
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    result = runner.invoke(cli, ["ledger", "import", str(data), "--db", url])
    assert result.exit_code == 1 and "只读" in result.output and "Traceback" not in result.output
    assert count(str(path), "households") == 0


def test_disk_full_during_import_leaves_ledger_unchanged(app, tmp_path):
    """A real SQLITE_FULL: the file may not grow beyond a few pages."""
    from fanpin_forms.ledger.importer import import_file

    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger.open(str(path))
    import_file(app.ledger_setup(), ledger, write_xlsx(tmp_path / "a.xlsx", households(3)))
    ledger.engine.dispose()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    sa.event.listen(ledger.engine, "connect", lambda c, _r: c.execute(f"PRAGMA max_page_count = {pages + 2}"))
    with pytest.raises(LedgerError, match="磁盘已满"):
        import_file(app.ledger_setup(), ledger, write_xlsx(tmp_path / "b.xlsx", households(3000, start=10)))
    ledger.close()
    assert count(str(path), "households") == 3


def _import_proc(db: str, data: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "fanpin_forms", "--db", db, "ledger", "import", str(data)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_writers_lose_no_update(ledger_url, tmp_path):
    Ledger.open(ledger_url).close()
    a = write_xlsx(tmp_path / "a.xlsx", households(400, start=1))
    b = write_xlsx(tmp_path / "b.xlsx", households(400, start=401))
    procs = [_import_proc(ledger_url, a), _import_proc(ledger_url, b)]
    outs = [p.communicate() for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "新增 400 户" in out
    assert count(ledger_url, "households") == 800
    assert count(ledger_url, "operations") == 2


def test_interrupt_mid_import_leaves_ledger_unchanged(app, ledger_url, tmp_path, monkeypatch):
    from fanpin_forms.ledger import importer, sheet

    ledger = Ledger.open(ledger_url)
    importer.import_file(app.ledger_setup(), ledger, write_xlsx(tmp_path / "a.xlsx", households(2)))
    monkeypatch.setattr(sheet, "CHUNK_ROWS", 50)
    real = importer._Importer.write
    calls = []

    def write_then_stop(self, records, present):
        calls.append(len(records))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, records, present)

    monkeypatch.setattr(importer._Importer, "write", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        importer.import_file(app.ledger_setup(), ledger, write_xlsx(tmp_path / "b.xlsx", households(300, start=10)))
    ledger.close()
    assert len(calls) == 3
    assert count(ledger_url, "households") == 2
    assert count(ledger_url, "operations") == 1


def test_kill_9_mid_import_leaves_ledger_unchanged(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(str(path)).close()
    data = write_xlsx(tmp_path / "big.xlsx", households(6000))
    proc = _import_proc(str(path), data)
    wal = Path(str(path) + "-wal")
    while proc.poll() is None and not (wal.exists() and wal.stat().st_size > 200_000):
        time.sleep(0.01)  # wait until the import is writing
    proc.kill()
    proc.wait()
    if proc.returncode == 0:
        pytest.skip("the import finished before it could be killed")
    assert count(str(path), "households") == 0
