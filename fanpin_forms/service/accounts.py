"""Local accounts: roles, areas, argon2 password hashes, per-user API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Code, FanpinError
from .models import ApiToken, User, now
from .scope import Area

PASSWORD_MIN = 8
_HASHER = PasswordHasher()
#: verified against when the name is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class ServiceError(FanpinError):
    """A refused request of the web service (login, permission, upload, job)."""


class Role(str, Enum):
    COUNTY_ADMIN = "county-admin"
    TOWNSHIP_REVIEWER = "township-reviewer"
    VILLAGE_CLERK = "village-clerk"
    READ_ONLY = "read-only"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {Role.COUNTY_ADMIN: "县级管理员", Role.TOWNSHIP_REVIEWER: "乡镇审核员",
               Role.VILLAGE_CLERK: "村级填报员", Role.READ_ONLY: "只读"}

#: what each role may do; areas limit *where*
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.COUNTY_ADMIN: frozenset({"view", "upload", "print", "review", "approve", "accounts", "policy"}),
    Role.TOWNSHIP_REVIEWER: frozenset({"view", "upload", "print", "review", "approve"}),
    Role.VILLAGE_CLERK: frozenset({"view", "upload", "print", "scan"}),
    Role.READ_ONLY: frozenset({"view"}),
}


def parse_role(text: str) -> Role:
    """A role from its English name or its Chinese label."""
    for role in Role:
        if text in (role.value, role.label):
            return role
    known = "、".join(f"{r.value}（{r.label}）" for r in Role)
    raise ServiceError.of(Code.SVC_BAD_ROLE, role=text, known=known)


@dataclass(frozen=True)
class Actor:
    """The signed-in user as every handler sees it: who, which role, which area."""

    id: int
    name: str
    role: Role
    area: Area

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.name, Role(user.role), Area.of_user(user))


def area_for(role: Role, township: str | None, village: str | None) -> tuple[str | None, str | None]:
    """The (township, village) a new account of ``role`` gets; refuses a role without its area."""
    township = (township or "").strip() or None
    village = (village or "").strip() or None
    if role == Role.COUNTY_ADMIN:
        return None, None
    if role == Role.TOWNSHIP_REVIEWER:
        if not township:
            raise ServiceError.of(Code.SVC_ROLE_AREA, role=role.label, needs="乡镇（--township）")
        return township, None
    if role == Role.VILLAGE_CLERK and not (township and village):
        raise ServiceError.of(Code.SVC_ROLE_AREA, role=role.label, needs="乡镇和村（--township、--village）")
    if village and not township:
        raise ServiceError.of(Code.SVC_ROLE_AREA, role=role.label, needs="村所在的乡镇（--township）")
    return township, village


def add_user(db: Session, name: str, password: str, role: Role, township: str | None = None,
             village: str | None = None) -> User:
    name = name.strip()
    if len(password) < PASSWORD_MIN:
        raise ServiceError.of(Code.SVC_PASSWORD_SHORT, min=PASSWORD_MIN)
    township, village = area_for(role, township, village)
    if db.scalar(select(User).where(User.name == name)) is not None:
        raise ServiceError.of(Code.SVC_USER_EXISTS, name=name)
    user = User(name=name, password_hash=_HASHER.hash(password), role=role.value, township=township,
                village=village)
    db.add(user)
    db.commit()
    return user


def list_users(db: Session, area: Area) -> list[User]:
    return list(db.scalars(select(User).where(area.where(User)).order_by(User.name)))


def authenticate(db: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, or None (same work either way)."""
    user = db.scalar(select(User).where(User.name == name.strip()))
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
        db.commit()
    return user


# --- API tokens -----------------------------------------------------------------------------

TOKEN_PREFIX = "fpf_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(db: Session, user_id: int, label: str) -> tuple[ApiToken, str]:
    """A new token for ``user_id``: the row and the secret (shown once, stored only as a digest)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, label=(label.strip() or "接口令牌")[:64], token_hash=digest(secret))
    db.add(token)
    db.commit()
    return token, secret


def revoke_token(db: Session, user_id: int, token_id: int) -> bool:
    """Revoke one of ``user_id``'s own tokens; False when it is not theirs (or not there)."""
    token = db.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        return False
    if token.revoked is None:
        token.revoked = now()
        db.commit()
    return True


def tokens_of(db: Session, user_id: int) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def user_for_token(db: Session, secret: str) -> User | None:
    """The active user of an unrevoked token, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked is not None:
        return None
    user = db.get(User, token.user_id)
    if user is None or not user.active:
        return None
    token.last_used = now()
    db.commit()
    return user
