"""The job queue in the local store: transcription work that survives restarts.

A job is (kind, session, question); enqueueing the same one twice changes nothing. A worker
claims one job at a time (queued -> running), and finishes it in the same transaction that
stores its result, so a job is either done with its result or not done at all. Jobs left
`running` by a worker that died are queued again when the next worker starts.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

TRANSCRIBE = "transcribe"
SCORE = "score"
MAX_ATTEMPTS = 3


class Store(Protocol):
    """What the queue needs of the store: its connection and its write transactions.

    `kiosk.store.database.Store` is one; it queues jobs from inside its own transactions, so
    the queue names the shape it needs rather than importing the store back (a layers
    contract in pyproject.toml keeps this module below the database).
    """

    @property
    def connection(self) -> sqlite3.Connection: ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


@dataclass(frozen=True)
class Job:
    """One unit of background work."""

    id: int
    kind: str
    session_id: str
    question_id: str
    attempts: int


def _now() -> str:
    return datetime.now(UTC).isoformat()


def enqueue(store: Store, kind: str, session_id: str, question_id: str = "") -> None:
    """Queue a job unless it already exists (in the caller's transaction, if any)."""
    store.connection.execute(
        "INSERT OR IGNORE INTO jobs (kind, session_id, question_id, state, created_at, "
        "updated_at) VALUES (?, ?, ?, 'queued', ?, ?)",
        (kind, session_id, question_id, _now(), _now()))


def requeue_abandoned(store: Store) -> int:
    """Queue again every job a dead worker left running; returns how many."""
    with store.transaction() as db:
        return db.execute("UPDATE jobs SET state = 'queued', updated_at = ? "
                          "WHERE state = 'running'", (_now(),)).rowcount


def claim(store: Store) -> Job | None:
    """Take the oldest queued job, marking it running."""
    with store.transaction() as db:
        row = db.execute("SELECT id, kind, session_id, question_id, attempts FROM jobs "
                         "WHERE state = 'queued' ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        db.execute("UPDATE jobs SET state = 'running', attempts = attempts + 1, "
                   "updated_at = ? WHERE id = ?", (_now(), row[0]))
        return Job(row[0], row[1], row[2], row[3], row[4] + 1)


def mark_done(store: Store, job: Job) -> None:
    """The job's result is stored (call inside the transaction that stored it)."""
    store.connection.execute("UPDATE jobs SET state = 'done', error = NULL, updated_at = ? "
                             "WHERE id = ?", (_now(), job.id))


def mark_failed(store: Store, job: Job, reason: str) -> str:
    """Queue the job again, or give up after MAX_ATTEMPTS; returns the new state."""
    state = "failed" if job.attempts >= MAX_ATTEMPTS else "queued"
    with store.transaction() as db:
        db.execute("UPDATE jobs SET state = ?, error = ?, updated_at = ? WHERE id = ?",
                   (state, reason, _now(), job.id))
    return state


def counts(store: Store) -> dict[str, int]:
    """Jobs by state, e.g. {"queued": 2, "running": 1, "done": 10}."""
    return dict(store.connection.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"))


def waiting(store: Store, kind: str) -> int:
    """Jobs of `kind` still to be done (queued or running)."""
    found: int = store.connection.execute(
        "SELECT COUNT(*) FROM jobs WHERE kind = ? AND state IN ('queued', 'running')",
        (kind,)).fetchone()[0]
    return found
