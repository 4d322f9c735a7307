"""The service's own tables: accounts, sessions, login attempts, API tokens, jobs, uploads.

They live in the ledger's database and on the ledger's declarative ``Base``; the ledger's
migration chain creates them (``0003_service_tables``), so opening the ledger with
:func:`open_database` migrates them with everything else — never ``create_all``.
Secrets are never stored as given: passwords as argon2 hashes, session ids and API
tokens as SHA-256 digests (a copy of the database opens no session).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, create_engine, event, false
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from ..ledger.db import Ledger
from ..ledger.models import Base


def now() -> dt.datetime:
    """UTC, without tzinfo (SQLite keeps none, so comparisons stay naive on both databases)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class User(Base):
    __tablename__ = "svc_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    township: Mapped[str | None] = mapped_column(String(64), nullable=True)
    village: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class WebSession(Base):
    __tablename__ = "svc_session"

    #: SHA-256 of the random id the cookie holds
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: None: an anonymous session (the login page's CSRF token)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("svc_user.id", ondelete="CASCADE"), nullable=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    expires: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class LoginAttempt(Base):
    __tablename__ = "svc_login_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now, index=True)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Base):
    __tablename__ = "svc_api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("svc_user.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    revoked: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_used: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Upload(Base):
    """A household sheet a user uploaded, kept for printing pre-filled forms from it."""

    __tablename__ = "svc_upload"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("svc_user.id", ondelete="CASCADE"), index=True)
    township: Mapped[str | None] = mapped_column(String(64), nullable=True)
    village: Mapped[str | None] = mapped_column(String(64), nullable=True)
    form_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class Job(Base):
    __tablename__ = "svc_job"

    #: random, unguessable; also what URLs carry
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSON)
    user_id: Mapped[int] = mapped_column(ForeignKey("svc_user.id", ondelete="CASCADE"), index=True)
    township: Mapped[str | None] = mapped_column(String(64), nullable=True)
    village: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: queued, running, done, failed, cancelled
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[str] = mapped_column(String(128), default="")
    #: Chinese, already scrubbed: what the user sees when the job failed
    message: Mapped[str] = mapped_column(String(2000), default="")
    result_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    result_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=now, index=True)
    started: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: claims so far (migration 0004): the running attempt's number fences its writes
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: endings recorded: 1 for every ended job, whatever crashed or was delivered twice
    finishes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: last sign of life of the running attempt; a stale one means its worker died
    heartbeat: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    #: host:pid of the process running it
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file gets its folder (mode 0700), WAL and a busy timeout."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        with engine.connect():
            pass
        if path.exists():
            os.chmod(path, 0o600)
        return engine
    return create_engine(url, pool_pre_ping=True)


def open_database(url: str) -> Engine:
    """The service's engine on the ledger at ``url``, migrated to the newest schema first.

    The ledger keeps its own engine (it begins every write with ``BEGIN IMMEDIATE``); the
    service's short reads and writes (sessions, job progress) use this one, on the same file
    or server, so a long import never holds up a page that only reads."""
    Ledger.open(url).close()
    return make_engine(url)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
