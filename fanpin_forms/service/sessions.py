"""Server-side sessions, CSRF tokens and login throttling, all kept in the database.

The cookie holds only a random id; the database keeps its SHA-256, the user and the
session's CSRF token (a synchronizer token, sent back in a hidden field of every form
and compared on every POST). The login page gets an anonymous session so that its
form carries a token too; signing in replaces that session with a new one (no
session fixation). Throttling counts failed logins per name and per client address
over a sliding window, in the database, so every web process sees the same count.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..errors import Code
from .accounts import ServiceError, digest
from .models import LoginAttempt, User, WebSession, now
from .settings import Settings

COOKIE = "fanpin_session"
CSRF_FIELD = "csrf_token"


@dataclass
class Current:
    """The session of one request: its row and its user (None when anonymous)."""

    row: WebSession
    user: User | None


def new_session(db: Session, settings: Settings, user: User | None) -> str:
    """Start a session; return the cookie value."""
    cookie = secrets.token_urlsafe(32)
    db.add(WebSession(id_hash=digest(cookie), user_id=user.id if user else None, csrf=secrets.token_urlsafe(32),
                      expires=now() + dt.timedelta(hours=settings.session_hours)))
    db.commit()
    return cookie


def load_session(db: Session, cookie: str | None) -> Current | None:
    if not cookie:
        return None
    row = db.get(WebSession, digest(cookie))
    if row is None:
        return None
    if row.expires <= now():
        db.delete(row)
        db.commit()
        return None
    user = db.get(User, row.user_id) if row.user_id is not None else None
    if row.user_id is not None and (user is None or not user.active):
        return None
    return Current(row, user)


def end_session(db: Session, cookie: str | None) -> None:
    if cookie:
        db.execute(delete(WebSession).where(WebSession.id_hash == digest(cookie)))
        db.commit()


def sweep_sessions(db: Session) -> None:
    db.execute(delete(WebSession).where(WebSession.expires <= now()))
    db.commit()


def csrf_ok(current: Current | None, sent: str | None) -> bool:
    return bool(current and sent and hmac.compare_digest(current.row.csrf, sent))


# --- login throttling ---------------------------------------------------------------------------


def check_throttle(db: Session, settings: Settings, name: str, client: str) -> None:
    """Refuse (SVC_LOGIN_THROTTLED) when this name or this address failed too often lately."""
    since = now() - dt.timedelta(minutes=settings.throttle_minutes)
    failed = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.ok.is_(False),
                                                                  LoginAttempt.at > since)
    by_name = db.scalar(failed.where(LoginAttempt.name == name)) or 0
    by_client = db.scalar(failed.where(LoginAttempt.client == client)) or 0
    if by_name >= settings.throttle_per_user or by_client >= settings.throttle_per_client:
        raise ServiceError.of(Code.SVC_LOGIN_THROTTLED, minutes=settings.throttle_minutes)


def record_attempt(db: Session, settings: Settings, name: str, client: str, ok: bool) -> None:
    """Note one login; a success clears that name's failures. Old rows are dropped."""
    if ok:
        db.execute(delete(LoginAttempt).where(LoginAttempt.name == name))
    db.add(LoginAttempt(name=name[:64], client=client[:64], ok=ok))
    horizon = now() - dt.timedelta(minutes=settings.throttle_minutes * 4)
    db.execute(delete(LoginAttempt).where(LoginAttempt.at < horizon))
    db.commit()
