"""Shared helpers of the service tests: an application on a temporary home, its users, logins."""

from __future__ import annotations

import re
import time
from pathlib import Path

from fanpin_forms.service import accounts
from fanpin_forms.service.accounts import Role
from fanpin_forms.service.models import session_factory
from fanpin_forms.service.settings import Settings

PASSWORD = "correct-horse-9"
TOWNSHIP, VILLAGE_A, VILLAGE_B = "荣家湾镇", "杨林村", "新建村"

#: name -> (role, township, village)
USERS = {
    "admin": (Role.COUNTY_ADMIN, None, None),
    "reviewer": (Role.TOWNSHIP_REVIEWER, TOWNSHIP, None),
    "clerk_a": (Role.VILLAGE_CLERK, TOWNSHIP, VILLAGE_A),
    "clerk_b": (Role.VILLAGE_CLERK, TOWNSHIP, VILLAGE_B),
    "viewer": (Role.READ_ONLY, TOWNSHIP, VILLAGE_A),
}


def make_settings(home: Path, **changes) -> Settings:
    """Settings on ``home`` with the ledger database inside it (a module-scoped fixture runs
    outside any test's private FANPIN_FORMS_HOME, so nothing may fall back to the default)."""
    changes.setdefault("db_url", str(home / "ledger.sqlite3"))
    return Settings(home=home, **changes)


def add_users(web) -> None:
    with session_factory(web.state.engine)() as db:
        for name, (role, township, village) in USERS.items():
            accounts.add_user(db, name, PASSWORD, role, township, village)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


def login(client, name: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token},
                       follow_redirects=False)


def wait_job(get_state, seconds: float = 180):
    """Poll until the job has ended (a bound, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while True:
        state = get_state()
        if state in ("done", "failed") or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def actor_of(web, name: str):
    """The signed-in user ``name`` as the service's code sees them."""
    from sqlalchemy import select

    with session_factory(web.state.engine)() as db:
        return accounts.Actor.of(db.scalar(select(accounts.User).where(accounts.User.name == name)))


def routes_of(web) -> list[tuple[str, set[str]]]:
    """Every (path, methods) the application answers, through included routers too."""

    def walk(routes, prefix=""):
        for r in routes:
            if hasattr(r, "original_router"):  # FastAPI ≥ 0.16x keeps included routers as one entry
                yield from walk(r.original_router.routes, prefix + (getattr(r.include_context, "prefix", "") or ""))
            elif hasattr(r, "routes") and not getattr(r, "methods", None) and hasattr(r, "path") \
                    and not r.path.startswith("/static"):
                yield from walk(r.routes, prefix + r.path)
            elif getattr(r, "methods", None):
                yield prefix + r.path, set(r.methods)

    return list(walk(web.routes))
