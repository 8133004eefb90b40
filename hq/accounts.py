"""Dashboard accounts: users with roles, Argon2id password hashes, signed-in sessions.

Roles: an **admin** manages accounts and sees the audit log; a **recruiter** reviews, scores,
decides and exports; a **viewer** only looks. A password hash is PHC-style text
(`$argon2id$v=19$m=…,t=…,p=…$salt$hash`); checking one compares in constant time. A web
session is a random token in a cookie; the database keeps only the token's SHA-256 and the
session's CSRF token, and sessions expire after a fixed time whatever the activity.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from hq.storage import HqStorage, now_text, users, web_sessions

ROLES = ("admin", "recruiter", "viewer")
NAME = re.compile(r"^[A-Za-z0-9._@-]{2,80}$")
MIN_PASSWORD = 12
SESSION_TTL = timedelta(hours=8)
_MEMORY_KIB, _ITERATIONS, _LANES = 19 * 1024, 2, 1   # OWASP's Argon2id minimum


class AccountError(Exception):
    """An account cannot be created or changed as asked."""


@dataclass(frozen=True)
class User:
    """A signed-in person."""

    id: int
    name: str
    role: str

    def can(self, action: str) -> bool:
        """Whether this role may: view, review, export, admin."""
        allowed = {"viewer": {"view"}, "recruiter": {"view", "review", "export"},
                   "admin": {"view", "review", "export", "admin"}}
        return action in allowed[self.role]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, memory_kib: int = _MEMORY_KIB,
                  iterations: int = _ITERATIONS) -> str:
    """A PHC-format Argon2id hash of `password` with a fresh salt."""
    salt = secrets.token_bytes(16)
    digest = Argon2id(salt=salt, length=32, iterations=iterations, lanes=_LANES,
                      memory_cost=memory_kib).derive(password.encode())
    return (f"$argon2id$v=19$m={memory_kib},t={iterations},p={_LANES}"
            f"${_b64(salt)}${_b64(digest)}")


def check_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (constant-time comparison)."""
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$([^$]+)", stored)
    if match is None:
        return False
    memory, iterations, lanes = (int(match[i]) for i in (1, 2, 3))
    digest = Argon2id(salt=_unb64(match[4]), length=32, iterations=iterations, lanes=lanes,
                      memory_cost=memory).derive(password.encode())
    return hmac.compare_digest(digest, _unb64(match[5]))


@functools.cache
def _dummy() -> str:
    """A hash to check against when the name is unknown, so timing does not tell."""
    return hash_password(secrets.token_hex(16))


def add_user(storage: HqStorage, name: str, role: str, password: str) -> User:
    """Create an account."""
    if not NAME.fullmatch(name):
        raise AccountError("a user name is 2 to 80 letters, digits or . _ @ -")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"use a password of at least {MIN_PASSWORD} characters")
    try:
        with storage.write() as conn:
            result = conn.execute(users.insert().values(
                name=name, role=role, password_hash=hash_password(password),
                created_at=now_text()))
    except sa.exc.IntegrityError:
        raise AccountError(f"there is already a user called {name}") from None
    assert result.inserted_primary_key is not None
    return User(int(result.inserted_primary_key[0]), name, role)


def list_users(storage: HqStorage) -> list[dict[str, object]]:
    """Every account (without hashes)."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(users.c.id, users.c.name, users.c.role,
                                      users.c.created_at, users.c.disabled_at)
                            .order_by(users.c.name)).mappings().all()
    return [dict(row) for row in rows]


def set_disabled(storage: HqStorage, user_id: int, disabled: bool) -> None:
    """Disable (and sign out) or re-enable an account."""
    with storage.write() as conn:
        conn.execute(users.update().where(users.c.id == user_id).values(
            disabled_at=now_text() if disabled else None))
        if disabled:
            conn.execute(web_sessions.delete().where(web_sessions.c.user_id == user_id))


def authenticate(storage: HqStorage, name: str, password: str) -> User | None:
    """The user if the name and password match an enabled account, else None. A name no
    account could have is not looked up (it may hold what a database refuses), but takes
    as long as any other."""
    if not NAME.fullmatch(name):
        check_password(password, _dummy())
        return None
    with storage.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.name == name)).first()
    if row is None or row.disabled_at is not None:
        check_password(password, _dummy())
        return None
    return User(row.id, row.name, row.role) if check_password(password,
                                                               row.password_hash) else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(storage: HqStorage, user: User,
                  ttl: timedelta = SESSION_TTL) -> tuple[str, str]:
    """A new signed-in session: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with storage.write() as conn:
        conn.execute(web_sessions.insert().values(
            token_hash=_token_hash(token), user_id=user.id, csrf=csrf, created_at=now_text(),
            expires_at=(datetime.now(UTC) + ttl).isoformat()))
    return token, csrf


def session_user(storage: HqStorage, token: str) -> tuple[User, str] | None:
    """The user and CSRF token of a live session; None if unknown or expired."""
    with storage.read() as conn:
        row = conn.execute(
            sa.select(users.c.id, users.c.name, users.c.role, users.c.disabled_at,
                      web_sessions.c.csrf, web_sessions.c.expires_at)
            .join(users, users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.token_hash == _token_hash(token))).first()
    if row is None or row.disabled_at is not None:
        return None
    if datetime.fromisoformat(row.expires_at) <= datetime.now(UTC):
        end_session(storage, token)
        return None
    return User(row.id, row.name, row.role), row.csrf


def end_session(storage: HqStorage, token: str) -> None:
    """Sign out."""
    with storage.write() as conn:
        conn.execute(web_sessions.delete().where(
            web_sessions.c.token_hash == _token_hash(token)))
