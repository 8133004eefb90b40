"""The local database's schema, as named migrations applied once and recorded.

Columns that identify or describe a candidate end in ``_enc`` and hold AES-256-GCM
ciphertext under the session's own key (see `kiosk.store.cipher`); everything else (ids,
times, statuses, numeric scores) stays queryable. Add a migration to change the schema;
never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

Migration = tuple[str, Callable[[sqlite3.Connection], None]]


def _run(db: sqlite3.Connection, script: str) -> None:
    """Run `;`-separated statements inside the caller's transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _initial(db: sqlite3.Connection) -> None:
    _run(db, """
        CREATE TABLE session_keys (
            session_id TEXT PRIMARY KEY,
            sealed BLOB NOT NULL            -- vault blob: column key + session identity
        );
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            reference TEXT NOT NULL UNIQUE,
            template_id TEXT NOT NULL,
            template_sha256 TEXT NOT NULL,
            language TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            updated_at TEXT,
            ended_at TEXT,
            interruption TEXT,
            stopped_at_step TEXT,
            breaks_taken INTEGER NOT NULL DEFAULT 0,
            name_enc BLOB NOT NULL,
            contact_enc BLOB NOT NULL,
            accommodations_enc BLOB NOT NULL
        );
        CREATE INDEX sessions_status ON sessions(status, started_at);
        CREATE TABLE consents (
            session_id TEXT NOT NULL REFERENCES sessions(id),
            item TEXT NOT NULL,             -- recording, retention, ai_scoring
            given INTEGER NOT NULL,
            notice_version TEXT NOT NULL,
            given_at TEXT NOT NULL,
            PRIMARY KEY (session_id, item)
        );
        CREATE TABLE answers (
            session_id TEXT NOT NULL REFERENCES sessions(id),
            question_id TEXT NOT NULL,
            chosen_take INTEGER NOT NULL,
            submitted_at TEXT NOT NULL,
            PRIMARY KEY (session_id, question_id)
        );
        CREATE TABLE takes (
            session_id TEXT NOT NULL REFERENCES sessions(id),
            question_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            mode TEXT NOT NULL,
            started_at TEXT NOT NULL,
            seconds REAL NOT NULL,
            ended_by TEXT NOT NULL,
            text_enc BLOB,                  -- typed answers
            media_path TEXT,                -- vault file of the recording, if any
            PRIMARY KEY (session_id, question_id, number)
        );
        CREATE TABLE transcripts (
            session_id TEXT NOT NULL REFERENCES sessions(id),
            question_id TEXT NOT NULL,
            take INTEGER NOT NULL,
            language TEXT,
            needs_review INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            text_enc BLOB NOT NULL,
            segments_enc BLOB NOT NULL,     -- words with times and confidences
            PRIMARY KEY (session_id, question_id, take)
        );
        CREATE TABLE scores (
            session_id TEXT NOT NULL REFERENCES sessions(id),
            competency_id TEXT NOT NULL,
            suggested REAL,
            reviewer REAL,
            evidence_enc BLOB,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (session_id, competency_id)
        );
        CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id),
            created_at TEXT NOT NULL,
            text_enc BLOB NOT NULL
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL,
            kind TEXT NOT NULL,             -- scorecard, transcript, recording
            priority INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            sent_at TEXT
        );
        CREATE INDEX outbox_pending ON outbox(sent_at, priority, id);
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            session_id TEXT NOT NULL,
            question_id TEXT,
            state TEXT NOT NULL,            -- queued, running, done, failed
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            error TEXT,
            UNIQUE (kind, session_id, question_id)
        );
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            details TEXT NOT NULL,          -- JSON, never candidate data
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
    """)


def _templates(db: sqlite3.Connection) -> None:
    """Keep the exact template each session was taken with, so it is scored against it."""
    _run(db, """
        CREATE TABLE templates (
            sha256 TEXT PRIMARY KEY,
            id TEXT NOT NULL,
            toml BLOB NOT NULL,
            kept_at TEXT NOT NULL
        )
    """)


def _recordings(db: sqlite3.Connection) -> None:
    """What each recorded take turned out to be: frames, drops, gaps, drift, how it ended."""
    _run(db, """
        CREATE TABLE recordings (
            session_id TEXT NOT NULL,
            question_id TEXT NOT NULL,
            take INTEGER NOT NULL,
            recorded_at TEXT NOT NULL,
            stats TEXT NOT NULL,            -- JSON: counts and times, never candidate data
            PRIMARY KEY (session_id, question_id, take)
        )
    """)


def _decisions(db: sqlite3.Connection) -> None:
    """A reviewer's decision on a session, kept apart from any suggestion."""
    _run(db, """
        CREATE TABLE decisions (
            session_id TEXT PRIMARY KEY,
            decision TEXT NOT NULL CHECK (decision IN ('advance', 'hold', 'reject')),
            decided_at TEXT NOT NULL
        )
    """)


def _outbox_state(db: sqlite3.Connection) -> None:
    """Why an outbox entry last failed, and whether HQ refused it for good."""
    _run(db, """
        ALTER TABLE outbox ADD COLUMN last_error TEXT;
        ALTER TABLE outbox ADD COLUMN rejected_at TEXT
    """)


def _self_ids(db: sqlite3.Connection) -> None:
    """Voluntary self-identification, kept apart from scorecards (for fairness checks)."""
    _run(db, """
        CREATE TABLE self_ids (
            session_id TEXT PRIMARY KEY,
            answers_enc BLOB NOT NULL,
            saved_at TEXT NOT NULL
        )
    """)


def _record_revisions(db: sqlite3.Connection) -> None:
    """Each record's revision: raised every time the record is built to go to HQ, so HQ
    can tell a newer version from an older one whichever way (sync, bundle) each came."""
    _run(db, """
        CREATE TABLE record_revisions (
            item_id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            revision INTEGER NOT NULL
        );
        CREATE INDEX record_revisions_session ON record_revisions(session_id)
    """)


def _follow_ups(db: sqlite3.Connection) -> None:
    """What was decided about each question's follow-up probe: which probe and why, never
    what was said (the follow-up's answer is an answer row of its own)."""
    _run(db, """
        CREATE TABLE follow_ups (
            session_id TEXT NOT NULL,
            question_id TEXT NOT NULL,
            outcome TEXT NOT NULL,
            probe_id TEXT,
            decided_at TEXT,
            PRIMARY KEY (session_id, question_id)
        )
    """)


def _drive_sessions(db: sqlite3.Connection) -> None:
    """Sessions started at a campus drive (with the invite, if any), and staff's audited
    permissions to use a completed invite once more."""
    _run(db, """
        CREATE TABLE drive_sessions (
            session_id TEXT PRIMARY KEY,
            drive TEXT NOT NULL,
            invite TEXT
        );
        CREATE INDEX drive_sessions_invite ON drive_sessions(invite);
        CREATE TABLE invite_overrides (
            invite TEXT PRIMARY KEY,
            granted_at TEXT NOT NULL,
            used_at TEXT                    -- when the invite was let in with it
        )
    """)


MIGRATIONS: tuple[Migration, ...] = (
    ("0001_initial", _initial),
    ("0002_templates", _templates),
    ("0003_recordings", _recordings),
    ("0004_decisions", _decisions),
    ("0005_outbox_state", _outbox_state),
    ("0006_self_ids", _self_ids),
    ("0007_record_revisions", _record_revisions),
    ("0008_follow_ups", _follow_ups),
    ("0009_drive_sessions", _drive_sessions),
)


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply each migration not yet recorded, in its own transaction; return their names.

    The connection must be in autocommit mode (isolation_level=None).
    """
    db.execute("CREATE TABLE IF NOT EXISTS migrations "
               "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM migrations")}
    known = {name for name, _ in MIGRATIONS}
    unknown = done - known
    if unknown:
        raise RuntimeError(f"the database has migrations this kiosk does not know "
                           f"({', '.join(sorted(unknown))}): it was written by a newer kiosk")
    applied = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            step(db)
            db.execute("INSERT INTO migrations VALUES (?, ?)",
                       (name, datetime.now(UTC).isoformat()))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(name)
    return applied
