"""Who is acting, the operation a change belongs to, and the ORM guard that keeps audit
rows append-only (the database's own triggers, installed by migration 0002, refuse an
UPDATE or DELETE issued past the ORM too)."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import getpass
import os
from collections.abc import Iterator

from sqlalchemy import event
from sqlalchemy.orm import Session

from .models import Audit, Operation

ACTOR_ENV = "FANPIN_FORMS_USER"
#: the person a web request or job acts for (set by :func:`acting_as`; one per thread/task)
_ACTING: contextvars.ContextVar[str | None] = contextvars.ContextVar("fanpin_forms_actor", default=None)


@contextlib.contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Within the block, ledger changes are recorded as made by ``name`` (a service user)."""
    token = _ACTING.set(name[:100])
    try:
        yield
    finally:
        _ACTING.reset(token)


def actor_name() -> str:
    """The person acting: the service user of :func:`acting_as`, else ``$FANPIN_FORMS_USER``,
    else the login name."""
    name = _ACTING.get() or os.environ.get(ACTOR_ENV)
    if name:
        return name[:100]
    try:
        return getpass.getuser()[:100]
    except (KeyError, OSError):
        return "unknown"


def new_operation(session: Session, kind: str, actor: str, detail: str = "") -> Operation:
    op = Operation(kind=kind, actor=actor, at=dt.datetime.now(dt.timezone.utc), detail=detail)
    session.add(op)
    session.flush()
    return op


class AuditIsAppendOnly(RuntimeError):
    """A programming error: code tried to change or delete an audit row."""


@event.listens_for(Session, "before_flush")
def _guard(session: Session, _context, _instances) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, Audit) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditIsAppendOnly("audit rows are append-only")
