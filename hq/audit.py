"""HQ's audit log: every view of a recording, score, decision, export, erasure and sign-in,
in a hash chain that shows any later edit (the same chain as the kiosk's, `kiosk.store.audit`).

Entries name sessions by (kiosk, session id) and people by account name; never a candidate's
name or contact. The newest hash is also pinned in `DATA_DIR/audit.head`, so cutting entries
off the end is caught as well as editing one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from durable.files import write_atomically
from hq.storage import HqStorage, audit, now_text
from kiosk.store.audit import GENESIS, AuditEntry, Verification, entry_digest

ACTIONS = frozenset({
    "user.added", "user.disabled", "user.enabled", "user.signed_in", "user.sign_in_failed",
    "recording.viewed", "transcript.viewed", "session.viewed", "review.submitted",
    "scorecards.exported", "device.enrolled", "device.revoked", "bundle.imported",
    "session.erased", "access.exported", "request.logged", "blind_review.changed",
    "job.row_skipped", "drive.created", "drive.kiosks_changed", "drive.roster_imported",
    "drive.invites_written", "drive.exported", "drive.deleted",
})


class HqAudit:
    """Append to and verify the chain in HQ's database."""

    def __init__(self, storage: HqStorage, head: Path | None = None) -> None:
        self.storage = storage
        self.head = head

    def append(self, conn: Connection, action: str, actor: str,
               details: Mapping[str, object] | None = None) -> None:
        """Add an entry inside the caller's write transaction."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        row = conn.execute(sa.select(audit.c.seq, audit.c.hash)
                           .order_by(audit.c.seq.desc()).limit(1)).first()
        seq, prev = (row.seq + 1, row.hash) if row else (1, GENESIS)
        at = now_text()
        text = json.dumps(dict(details or {}), sort_keys=True, separators=(",", ":"))
        digest = entry_digest(prev, seq, at, actor, action, text)
        conn.execute(audit.insert().values(seq=seq, at=at, actor=actor, action=action,
                                           details=text, prev_hash=prev, hash=digest))

    def pin(self) -> None:
        """Write the newest committed hash to the head file (after each commit)."""
        if self.head is None:
            return
        with self.storage.read() as conn:
            row = conn.execute(sa.select(audit.c.seq, audit.c.hash)
                               .order_by(audit.c.seq.desc()).limit(1)).first()
        if row is not None:
            write_atomically(self.head, f"{row.seq} {row.hash}\n".encode())

    def record(self, action: str, actor: str, details: Mapping[str, object] | None = None
               ) -> None:
        """Add an entry in its own transaction."""
        with self.storage.write() as conn:
            self.append(conn, action, actor, details)
        self.pin()

    def entries(self, limit: int | None = None) -> list[AuditEntry]:
        """Newest first."""
        query = sa.select(audit.c.seq, audit.c.at, audit.c.actor, audit.c.action,
                          audit.c.details).order_by(audit.c.seq.desc())
        if limit:
            query = query.limit(limit)
        with self.storage.read() as conn:
            return [AuditEntry(r.seq, r.at, r.actor, r.action, json.loads(r.details))
                    for r in conn.execute(query)]

    def verify(self) -> Verification:
        """Recompute the chain; name the first entry that does not fit."""
        prev, expected, count = GENESIS, 1, 0
        with self.storage.read() as conn:
            rows = conn.execute(sa.select(audit).order_by(audit.c.seq)).all()
        for row in rows:
            count += 1
            if row.seq != expected:
                return Verification(count, expected, f"entry {expected} is missing")
            if row.prev_hash != prev:
                return Verification(count, row.seq, f"entry {row.seq} does not follow "
                                                    f"entry {row.seq - 1}")
            if entry_digest(prev, row.seq, row.at, row.actor, row.action,
                            row.details) != row.hash:
                return Verification(count, row.seq, f"entry {row.seq} was altered")
            prev, expected = row.hash, row.seq + 1
        if self.head is not None and self.head.exists():
            seq, digest = self.head.read_text(encoding="ascii").split()
            if int(seq) > expected - 1 or (int(seq) == expected - 1 and digest != prev):
                return Verification(count, expected, f"the chain ends at entry {expected - 1} "
                                                     f"but the head file names entry {seq}")
        return Verification(count, None, None)
