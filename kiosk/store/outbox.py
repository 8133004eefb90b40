"""The outbox: what is waiting to go to HQ, in the order it should go.

Entries are written in the same transaction as the data they stand for (a completed session,
a transcript), so nothing finished can be forgotten by a crash. They are drained in priority
order — sessions (scorecards) first, then transcripts, then recordings — and marked sent
only after HQ confirmed it stored them. A session waits while its scoring job is still to
run, so HQ gets the scorecard, not half of one. Demo sessions never leave the kiosk (the demo
promises so). An entry HQ refused for good is set aside, not retried forever, and shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from kiosk.store import jobs
from kiosk.store.database import Store
from kiosk.templates.bundled import DEMO_TEMPLATE_ID

SESSION, TRANSCRIPT, RECORDING, SELF_ID = "session", "transcript", "recording", "selfid"
PRIORITY = {SESSION: 0, TRANSCRIPT: 1, SELF_ID: 1, RECORDING: 2}


@dataclass(frozen=True)
class Entry:
    """One thing waiting to go to HQ."""

    id: int
    session_id: str
    kind: str        # "session", "transcript:<question>", "recording:<question>:<take>:<media>"
    attempts: int

    @property
    def family(self) -> str:
        """session, transcript or recording."""
        return self.kind.split(":", 1)[0]

    @property
    def parts(self) -> list[str]:
        """What follows the family in the kind."""
        return self.kind.split(":")[1:]


def _now() -> str:
    return datetime.now(UTC).isoformat()


# Both fragments take their constants as parameters: (demo template id) and (score job kind).
_WAITING = """
    FROM outbox o JOIN sessions s ON s.id = o.session_id
    WHERE o.sent_at IS NULL AND o.rejected_at IS NULL AND s.template_id != ?
"""
_SCORING = """
    EXISTS (SELECT 1 FROM jobs j WHERE j.session_id = o.session_id AND j.kind = ?
            AND j.state IN ('queued', 'running'))
"""


def pending(store: Store, limit: int = 1000) -> list[Entry]:
    """Entries ready to send, in order: priority, then age."""
    rows = store.connection.execute(
        "SELECT o.id, o.session_id, o.kind, o.attempts" + _WAITING
        + "AND NOT (o.kind = 'session' AND" + _SCORING + ") ORDER BY o.priority, o.id LIMIT ?",
        (DEMO_TEMPLATE_ID, jobs.SCORE, limit))
    return [Entry(*row) for row in rows]


def mark_sent(store: Store, entry: Entry, then_queue: Iterable[str] = ()) -> None:
    """HQ has it; queue what may follow (a session's recordings) in the same transaction."""
    with store.transaction() as db:
        db.execute("UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL "
                   "WHERE id = ?", (_now(), entry.id))
        for kind in then_queue:
            if db.execute("SELECT 1 FROM outbox WHERE session_id = ? AND kind = ?",
                          (entry.session_id, kind)).fetchone() is None:
                db.execute("INSERT INTO outbox (session_id, kind, priority, created_at) "
                           "VALUES (?, ?, ?, ?)", (entry.session_id, kind,
                                                   PRIORITY[kind.split(":")[0]], _now()))


def mark_failed(store: Store, entry: Entry, error: str) -> None:
    """It did not go this time; `error` is a short code, never candidate data."""
    with store.transaction() as db:
        db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                   (error[:200], entry.id))


def mark_rejected(store: Store, entry: Entry, error: str) -> None:
    """HQ refused it for good: set it aside (it stays on the kiosk, shown in sync status)."""
    with store.transaction() as db:
        db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                   "rejected_at = ? WHERE id = ?", (error[:200], _now(), entry.id))


def fully_sent(store: Store, session_id: str) -> bool:
    """Whether nothing of this session waits to go to HQ (or was refused by it): only then
    may retention delete it. A session that never had anything to send has nothing waiting."""
    row = store.connection.execute(
        "SELECT COUNT(*) FROM outbox WHERE session_id = ? AND sent_at IS NULL",
        (session_id,)).fetchone()
    return bool(row[0] == 0)


@dataclass(frozen=True)
class Status:
    """What `kiosk sync status` shows."""

    waiting: dict[str, int]
    waiting_for_scoring: int
    sent: int
    rejected: list[tuple[str, str, str]]   # (family, session id, error)
    demo_kept: int
    last_error: str | None


def status(store: Store) -> Status:
    """Counts of what waits, what went, what HQ refused."""
    db = store.connection
    waiting: dict[str, int] = {}
    for kind, count in db.execute(
            "SELECT substr(o.kind, 1, instr(o.kind || ':', ':') - 1), COUNT(*)" + _WAITING
            + "GROUP BY 1", (DEMO_TEMPLATE_ID,)):
        waiting[kind] = count
    scoring = db.execute("SELECT COUNT(*)" + _WAITING + "AND o.kind = 'session' AND"
                         + _SCORING, (DEMO_TEMPLATE_ID, jobs.SCORE)).fetchone()[0]
    sent = db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL").fetchone()[0]
    rejected = [(kind.split(":")[0], sid, error or "") for kind, sid, error in db.execute(
        "SELECT kind, session_id, last_error FROM outbox WHERE rejected_at IS NOT NULL")]
    demo = db.execute("SELECT COUNT(*) FROM outbox o JOIN sessions s ON s.id = o.session_id "
                      "WHERE s.template_id = ?", (DEMO_TEMPLATE_ID,)).fetchone()[0]
    last = db.execute("SELECT last_error FROM outbox WHERE sent_at IS NULL AND last_error IS "
                      "NOT NULL AND rejected_at IS NULL ORDER BY id DESC LIMIT 1").fetchone()
    return Status(waiting, scoring, sent, rejected, demo, last[0] if last else None)
