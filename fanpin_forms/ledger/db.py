"""Where the ledger lives and how it is opened: URL, engine, migrations, errors.

The URL comes from ``--db PATH_OR_URL``, else ``$FANPIN_FORMS_DATABASE_URL``, else the
file ``ledger.sqlite3`` in the data folder of :func:`fanpin_forms.util.secret.data_dir`
(``$FANPIN_FORMS_HOME`` when set). A SQLite file is created readable by its owner only
(0600) and runs in WAL mode with a busy timeout; a ``postgresql+psycopg://`` URL runs
the same code.

Every write is one transaction (:meth:`Ledger.write`): on SQLite it starts with
``BEGIN IMMEDIATE`` (two writers queue, neither loses an update), on PostgreSQL it takes
one advisory lock. Opening a ledger runs the Alembic migrations shipped in
``migrations/`` (an old database is upgraded in place); a database from a newer
version, a corrupt file or another program's database is refused with a Chinese
message, and nothing is written to it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import Code, FanpinError, Location, os_error_text
from ..util.secret import data_dir

URL_ENV = "FANPIN_FORMS_DATABASE_URL"
FILE_NAME = "ledger.sqlite3"
#: seconds a writer waits for another writer before giving up (SQLite busy timeout)
BUSY_TIMEOUT_S = 60
#: PostgreSQL advisory lock key every ledger write takes (ASCII "fanpin")
PG_WRITE_LOCK = 0x66616E70696E
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class LedgerError(FanpinError):
    """The ledger database could not be opened, read or written."""


def resolve_url(db: str | None = None) -> str:
    """The database URL: ``db`` (a path or a URL), else the environment, else the default file."""
    raw = db or os.environ.get(URL_ENV) or str(data_dir() / FILE_NAME)
    if "://" not in raw:
        return "sqlite:///" + str(Path(raw).expanduser().resolve())
    try:
        make_url(raw)
    except ArgumentError:
        raise LedgerError.of(Code.LEDGER_BAD_URL, url=_shown_url(raw)) from None
    return raw


def _shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def shown(url: str) -> str:
    """How a ledger is named in a message: a SQLite file by its path, a server without password."""
    try:
        u = make_url(url)
    except ArgumentError:
        return url
    if u.get_backend_name() == "sqlite":
        return u.database or "（内存）"
    return u.render_as_string(hide_password=True)


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:" or u.query.get("uri"):
        return None  # a server, memory, or a sqlite URI (file:…?mode=ro) that SQLite opens itself
    return Path(u.database)


def _create_private(path: Path, url: str) -> None:
    """Create an empty SQLite file readable by its owner only (its -wal/-shm files inherit the mode)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        return
    except OSError as exc:
        raise LedgerError.of(Code.LEDGER_UNAVAILABLE, db=shown(url), why=os_error_text(exc)) from None


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
            cur.execute("PRAGMA foreign_keys = ON")
            try:
                cur.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError:
                pass  # a read-only file keeps its journal mode; writes fail with a clear message later
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            write = conn.get_execution_options().get("fanpin_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head() or ""


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def db_error(exc: BaseException, url: str) -> LedgerError:
    """A driver error as the clerk's message (disk full, read-only, corrupt, busy …)."""
    orig = getattr(exc, "orig", exc)
    text = str(orig).lower()
    name = shown(url)
    if isinstance(orig, OSError):
        if orig.errno in (errno.ENOSPC, errno.EDQUOT):
            return LedgerError.of(Code.LEDGER_DISK_FULL, db=name)
        if orig.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return LedgerError.of(Code.LEDGER_READ_ONLY, db=name, why=os_error_text(orig))
        return LedgerError.of(Code.LEDGER_WRITE_FAILED, db=name, why=os_error_text(orig))
    if "database or disk is full" in text or "no space left" in text or "disk full" in text:
        return LedgerError.of(Code.LEDGER_DISK_FULL, db=name)
    if "readonly" in text or "read-only" in text or "read only" in text:
        return LedgerError.of(Code.LEDGER_READ_ONLY, db=name, why="没有写入权限")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return LedgerError.of(Code.LEDGER_CORRUPT, db=name, why="文件头或数据页无法识别")
    if "locked" in text or "busy" in text:
        return LedgerError.of(Code.LEDGER_BUSY, db=name)
    if "unable to open" in text or "could not connect" in text or "connection" in text:
        return LedgerError.of(Code.LEDGER_UNAVAILABLE, db=name, why="无法连接或打开")
    return LedgerError.of(Code.LEDGER_WRITE_FAILED, db=name, why=type(orig).__name__)


class Ledger:
    """An open ledger: an engine on a database at the current schema revision."""

    def __init__(self, url: str, engine: Engine):
        self.url = url
        self.engine = engine
        self.name = shown(url)
        self.dialect = engine.dialect.name

    @classmethod
    def open(cls, db: str | None = None, *, upgrade: bool = True) -> Ledger:
        """Open (creating and migrating on first use) the ledger at ``db``."""
        url = resolve_url(db)
        path = _sqlite_path(url)
        if path is not None:
            if path.is_dir():
                raise LedgerError.of(Code.LEDGER_UNAVAILABLE, db=str(path), why=os_error_text(OSError(errno.EISDIR, "")))
            if not path.exists():
                _create_private(path, url)
        try:
            engine = make_engine(url)
        except (ArgumentError, ImportError, SQLAlchemyError):
            raise LedgerError.of(Code.LEDGER_BAD_URL, url=_shown_url(url)) from None
        ledger = cls(url, engine)
        try:
            if path is not None:
                ledger._check_sqlite_header(path)
            if upgrade:
                ledger.upgrade()
        except LedgerError:
            engine.dispose()
            raise
        except (DBAPIError, sqlite3.Error, OSError) as exc:
            engine.dispose()
            raise db_error(exc, url) from None
        return ledger

    def _check_sqlite_header(self, path: Path) -> None:
        try:
            with path.open("rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise LedgerError.of(Code.LEDGER_UNAVAILABLE, db=self.name, why=os_error_text(exc)) from None
        if head and head != b"SQLite format 3\x00":
            raise LedgerError.of(Code.LEDGER_CORRUPT, db=self.name, why="文件头不是 SQLite 数据库")

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            return current_revision(conn)

    def upgrade(self) -> tuple[str | None, str]:
        """Migrate to the newest schema; returns (revision before, revision after).

        A database at a revision this program does not know (made by a newer
        version) and a database holding another program's tables are refused."""
        head = head_revision()
        with self.engine.connect() as conn:  # a read first: opening a current ledger takes no write lock
            current = current_revision(conn)
            conn.rollback()
        if current == head:
            return current, head
        with self.engine.connect().execution_options(fanpin_write=True) as conn:
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")
                before = current_revision(conn)
                if before == head:
                    return before, head
                script = ScriptDirectory.from_config(alembic_config(conn))
                if before is not None:
                    try:
                        known = script.get_revision(before) is not None
                    except Exception:  # alembic raises several kinds for an unknown id
                        known = False
                    if not known:
                        raise LedgerError.of(Code.LEDGER_TOO_NEW, db=self.name, revision=before, head=head)
                else:
                    tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
                    if tables:
                        raise LedgerError.of(Code.LEDGER_FOREIGN, db=self.name, tables="、".join(sorted(tables)[:5]))
                command.upgrade(alembic_config(conn), "head")
                return before, head

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: everything in the block is committed together or not at all."""
        try:
            with self.engine.connect().execution_options(fanpin_write=True) as conn:
                with Session(bind=conn, expire_on_commit=False, autoflush=False) as session:
                    with conn.begin():
                        if self.dialect == "postgresql":
                            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")
                        yield session
                        session.flush()
        except (DBAPIError, sqlite3.Error) as exc:
            raise db_error(exc, self.url) from None
        except OSError as exc:
            raise db_error(exc, self.url) from None

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as session:
                yield session
        except (DBAPIError, sqlite3.Error) as exc:
            raise db_error(exc, self.url) from None

    def close(self) -> None:
        self.engine.dispose()


def existing_ledger(db: str | None = None) -> Ledger | None:
    """The ledger at ``db`` (or the environment's, or the default file) if there is one: a server
    URL always, a SQLite file only when it exists (nothing is created). None otherwise."""
    url = resolve_url(db)
    path = _sqlite_path(url)
    if path is not None and not path.is_file():
        return None
    if path is None and make_url(url).get_backend_name() == "sqlite":
        return None  # memory or a sqlite URI: nothing to look up
    return Ledger.open(url)


__all__ = ["FILE_NAME", "existing_ledger", "Ledger", "LedgerError", "URL_ENV", "resolve_url", "shown", "head_revision",
           "Location"]
