"""Kiosks HQ knows: one-time enrollment codes, enrolled devices, revocation, seen nonces.

An enrollment code is shown once and stored only as its SHA-256, so a copy of the database
cannot enroll a kiosk. Looking a code up by its hash compares digests, not the code itself,
so timing says nothing about how close a guess was.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ed25519

from hq.storage import HqStorage, devices, enroll_codes, nonces, now_text
from kiosk.reference import ALPHABET
from sync.protocol import EnrollRequest
from sync.signing import MAX_SKEW_SECONDS, ReplayedRequestError

CODE_GROUPS = 4
CODE_TTL = timedelta(hours=24)


class EnrollmentError(Exception):
    """The enrollment code is unknown, used or expired."""


@dataclass(frozen=True)
class Device:
    """An enrolled kiosk."""

    id: str
    name: str
    enrolled_at: str
    revoked_at: str | None
    last_seen_at: str | None


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def new_enroll_code(storage: HqStorage, ttl: timedelta = CODE_TTL) -> tuple[str, datetime]:
    """A fresh one-time code (80 random bits) and when it expires."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(4 * CODE_GROUPS))
    code = "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))
    expires = datetime.now(UTC) + ttl
    with storage.write() as conn:
        conn.execute(enroll_codes.insert().values(
            code_hash=_hash(code), created_at=now_text(), expires_at=expires.isoformat()))
    return code, expires


def enroll(storage: HqStorage, request: EnrollRequest) -> str:
    """Spend the code and register the kiosk's key; return its new device id."""
    device_id = "k-" + secrets.token_hex(8)
    with storage.write() as conn:
        row = conn.execute(sa.select(enroll_codes.c.expires_at, enroll_codes.c.used_by)
                           .where(enroll_codes.c.code_hash == _hash(request.code))).first()
        if row is None or row.used_by is not None:
            raise EnrollmentError("that enrollment code is unknown or was already used")
        if datetime.fromisoformat(row.expires_at) < datetime.now(UTC):
            raise EnrollmentError("that enrollment code has expired; ask HQ for a new one")
        conn.execute(enroll_codes.update().where(
            enroll_codes.c.code_hash == _hash(request.code)).values(used_by=device_id))
        conn.execute(devices.insert().values(
            id=device_id, name=request.name, public_key=request.public_key,
            enrolled_at=now_text()))
    return device_id


def lookup(storage: HqStorage, device_id: str) -> tuple[ed25519.Ed25519PublicKey, bool] | None:
    """A device's key and whether it was revoked; None if HQ never enrolled it."""
    with storage.read() as conn:
        row = conn.execute(sa.select(devices.c.public_key, devices.c.revoked_at).where(
            devices.c.id == device_id)).first()
    if row is None:
        return None
    return (ed25519.Ed25519PublicKey.from_public_bytes(row.public_key),
            row.revoked_at is not None)


def public_key(storage: HqStorage, device_id: str) -> ed25519.Ed25519PublicKey | None:
    """The key of an enrolled, unrevoked device; None for unknown or revoked ones."""
    found = lookup(storage, device_id)
    return None if found is None or found[1] else found[0]


def list_devices(storage: HqStorage) -> list[Device]:
    """Every device ever enrolled, oldest first."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(devices.c.id, devices.c.name, devices.c.enrolled_at,
                                      devices.c.revoked_at, devices.c.last_seen_at)
                            .order_by(devices.c.enrolled_at)).all()
    return [Device(*row) for row in rows]


def revoke(storage: HqStorage, device_id: str) -> bool:
    """Refuse the device from now on; False if no such device (or already revoked)."""
    with storage.write() as conn:
        result = conn.execute(devices.update().where(
            devices.c.id == device_id, devices.c.revoked_at.is_(None)).values(
            revoked_at=now_text()))
    return result.rowcount == 1


class DatabaseNonces:
    """Seen nonces in the database: replays are refused across restarts and workers."""

    def __init__(self, storage: HqStorage) -> None:
        self._storage = storage
        self._pruned = 0.0

    def check_and_add(self, nonce: str, now: float) -> None:
        """Refuse a nonce seen before; remember this one."""
        try:
            with self._storage.write() as conn:
                if now - self._pruned > MAX_SKEW_SECONDS:
                    conn.execute(nonces.delete().where(
                        nonces.c.created < int(now) - 2 * MAX_SKEW_SECONDS))
                    self._pruned = now
                conn.execute(nonces.insert().values(nonce=nonce, created=int(now)))
        except sa.exc.IntegrityError:
            raise ReplayedRequestError("this request was already received "
                                       "(its nonce repeats)") from None


def touch(storage: HqStorage, device_id: str) -> None:
    """Remember when a device was last heard from (for the devices list)."""
    with storage.write() as conn:
        conn.execute(devices.update().where(devices.c.id == device_id).values(
            last_seen_at=now_text()))
