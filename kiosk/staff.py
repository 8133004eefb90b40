"""The staff PIN that opens the staff console on the kiosk, with lockout.

The PIN is a quick gate for people standing at the kiosk; the staff passphrase (which
unlocks the keys) stays the strong secret. The PIN is stored only as an Argon2id hash; five
wrong PINs in a row lock staff entry for five minutes, and the count survives restarts.
"""

from __future__ import annotations

import hmac
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from kiosk.errors import KioskError

PIN_FILE = "keys/staff-pin.json"
MIN_PIN_DIGITS = 6
MAX_FAILURES = 5
LOCKOUT_SECONDS = 300.0


class StaffPinError(KioskError):
    """The PIN is unusable, wrong, or staff entry is locked for a while."""


class StaffLockedError(StaffPinError):
    """Too many wrong PINs: staff entry is locked for `seconds_left`."""

    def __init__(self, seconds_left: float) -> None:
        self.seconds_left = seconds_left
        super().__init__(f"too many wrong PINs: staff entry is locked for "
                         f"{int(seconds_left + 0.99)} more seconds")


def _hash(pin: str, salt: bytes) -> bytes:
    return Argon2id(salt=salt, length=32, iterations=2, lanes=1,
                    memory_cost=16 * 1024).derive(pin.encode())


def _path(data_dir: Path) -> Path:
    return data_dir / PIN_FILE


def has_pin(data_dir: Path) -> bool:
    """Whether a staff PIN has been set."""
    return _path(data_dir).exists()


def set_pin(data_dir: Path, pin: str) -> None:
    """Set (or change) the staff PIN: at least six digits."""
    if not pin.isdigit() or len(pin) < MIN_PIN_DIGITS:
        raise StaffPinError(f"the staff PIN must be at least {MIN_PIN_DIGITS} digits")
    if len(set(pin)) < 3:
        raise StaffPinError("that PIN is too easy to guess")
    salt = os.urandom(16)
    path = _path(data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps({"salt": salt.hex(), "hash": _hash(pin, salt).hex(),
                                "failures": 0, "locked_until": 0.0}), encoding="utf-8")
    path.chmod(0o600)


def check_pin(data_dir: Path, pin: str, clock: Callable[[], float] = time.time) -> bool:
    """True for the right PIN; counts wrong ones and locks out after MAX_FAILURES."""
    path = _path(data_dir)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StaffPinError("no staff PIN is set: run `kiosk staff-pin`") from None
    now = clock()
    if record["locked_until"] > now:
        raise StaffLockedError(record["locked_until"] - now)
    right = hmac.compare_digest(_hash(pin, bytes.fromhex(record["salt"])),
                                bytes.fromhex(record["hash"]))
    record["failures"] = 0 if right else record["failures"] + 1
    if record["failures"] >= MAX_FAILURES:
        record["failures"], record["locked_until"] = 0, now + LOCKOUT_SECONDS
    path.write_text(json.dumps(record), encoding="utf-8")
    return right
