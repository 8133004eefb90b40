"""The audit log: every staff action, appended to a hash chain that shows any later edit.

Entry n stores ``hash_n = SHA-256(hash_(n-1) || canonical JSON of the entry)``; the first
entry chains from 64 zeros. `verify` recomputes the chain and names the first entry that
does not fit. The newest hash is also kept in a file beside the database, so cutting
entries off the end is caught too. Details never hold candidate data: sessions are named by
their internal id only.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from durable.files import write_atomically

GENESIS = "0" * 64

# Every action the kiosk audits; docs/audit.md lists the same names (a test checks).
ACTIONS = frozenset({
    "keys.initialised", "keys.unlocked", "keys.unlock_failed", "keys.passphrase_changed",
    "settings.changed", "session.erased", "vault.opened", "vault.sealed", "vault.recovered",
    "score.reviewed", "review.note_added", "review.decided", "review.watched",
    "staff.pin_set", "staff.entered", "staff.entry_failed", "staff.locked", "staff.exited",
    "hq.enrolled", "sessions.exported", "job.row_skipped", "follow_up.decided",
    "invite.override_granted", "invite.override_used", "invite.refused",
})


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    seq: int
    at: str
    actor: str
    action: str
    details: Mapping[str, object]


@dataclass(frozen=True)
class Verification:
    """The result of checking the chain."""

    entries: int
    first_broken: int | None
    reason: str | None

    @property
    def intact(self) -> bool:
        """Whether every link holds."""
        return self.first_broken is None


def entry_digest(prev: str, seq: int, at: str, actor: str, action: str, details: str) -> str:
    body = json.dumps([seq, at, actor, action, details], separators=(",", ":"))
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


class AuditLog:
    """The audit table of one database, plus the head file that pins its newest hash."""

    def __init__(self, db: sqlite3.Connection, head_path: Path) -> None:
        self._db = db
        self._head = head_path

    def append(self, action: str, details: Mapping[str, object] | None = None,
               actor: str = "staff") -> AuditEntry:
        """Add an entry (inside the caller's transaction, if one is open)."""
        details = dict(details or {})
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        text = json.dumps(details, sort_keys=True, separators=(",", ":"))
        digest = entry_digest(prev, seq, at, actor, action, text)
        self._db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (seq, at, actor, action, text, prev, digest))
        return AuditEntry(seq, at, actor, action, details)

    def pin_head(self) -> None:
        """Record the newest committed hash in the head file (call after each commit)."""
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        if row:
            write_atomically(self._head, f"{row[0]} {row[1]}\n".encode())

    def entries(self) -> list[AuditEntry]:
        """Every entry, oldest first."""
        return [AuditEntry(seq, at, actor, action, json.loads(details))
                for seq, at, actor, action, details in self._db.execute(
                    "SELECT seq, at, actor, action, details FROM audit ORDER BY seq")]

    def verify(self) -> Verification:
        """Recompute the chain; report the first entry that does not fit."""
        prev, expected_seq, count = GENESIS, 1, 0
        for seq, at, actor, action, details, stored_prev, digest in self._db.execute(
                "SELECT seq, at, actor, action, details, prev_hash, hash FROM audit ORDER BY seq"):
            count += 1
            if seq != expected_seq:
                return Verification(count, expected_seq, f"entry {expected_seq} is missing")
            if stored_prev != prev:
                return Verification(count, seq, f"entry {seq} does not follow entry {seq - 1}")
            if entry_digest(prev, seq, at, actor, action, details) != digest:
                return Verification(count, seq, f"entry {seq} was altered")
            prev, expected_seq = digest, seq + 1
        head = self._read_head()
        if head is not None and head != (expected_seq - 1, prev):
            return Verification(count, expected_seq, f"entries after {expected_seq - 1} were "
                                                     f"removed (the head file names entry "
                                                     f"{head[0]})")
        return Verification(count, None, None)

    def _read_head(self) -> tuple[int, str] | None:
        try:
            seq, digest = self._head.read_text(encoding="ascii").split()
            return int(seq), digest
        except (OSError, ValueError):
            return None
