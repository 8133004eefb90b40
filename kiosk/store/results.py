"""What the kiosk works out from answers: transcripts and score suggestions, stored encrypted.

Text (transcripts, evidence) goes into `_enc` columns under the session's key; numbers
(levels, reviewer scores) stay queryable. Each result also queues its outbox entry in the
same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kiosk.store.database import Store
from kiosk.transcription.transcript import Transcript

TRANSCRIPT_PRIORITY = 1


def _now() -> str:
    return datetime.now(UTC).isoformat()


def save_transcript(store: Store, session_id: str, question_id: str, take: int,
                    transcript: Transcript) -> None:
    """Store (or replace) a take's transcript; call inside a transaction."""
    keys = store.session_keys(session_id)
    where = f"{session_id}/{question_id}/{take}"
    segments = json.dumps(transcript.to_json(), ensure_ascii=False)
    db = store.connection
    db.execute("INSERT OR REPLACE INTO transcripts VALUES (?,?,?,?,?,?,?,?)",
               (session_id, question_id, take, transcript.language,
                int(transcript.needs_review), _now(),
                keys.encrypt(transcript.text, f"transcripts.text:{where}"),
                keys.encrypt(segments, f"transcripts.segments:{where}")))
    if db.execute("SELECT 1 FROM outbox WHERE session_id = ? AND kind = ?",
                  (session_id, f"transcript:{question_id}")).fetchone() is None:
        db.execute("INSERT INTO outbox (session_id, kind, priority, created_at) "
                   "VALUES (?, ?, ?, ?)",
                   (session_id, f"transcript:{question_id}", TRANSCRIPT_PRIORITY, _now()))


def transcripts(store: Store, session_id: str) -> dict[str, Transcript]:
    """The session's transcripts by question, for the chosen takes."""
    keys = store.session_keys(session_id)
    found = {}
    for question_id, take, segments in store.connection.execute(
            "SELECT t.question_id, t.take, t.segments_enc FROM transcripts t JOIN answers a "
            "ON a.session_id = t.session_id AND a.question_id = t.question_id "
            "AND a.chosen_take = t.take WHERE t.session_id = ?", (session_id,)):
        where = f"transcripts.segments:{session_id}/{question_id}/{take}"
        found[question_id] = Transcript.from_json(json.loads(keys.decrypt(segments, where)))
    return found


def save_suggestions(store: Store, session_id: str,
                     suggestions: Mapping[str, tuple[int | None, Any]]) -> None:
    """Store suggested levels with their evidence (JSON), keeping any reviewer score."""
    keys = store.session_keys(session_id)
    db = store.connection
    for competency_id, (level, evidence) in suggestions.items():
        blob = keys.encrypt(json.dumps(evidence, ensure_ascii=False),
                            f"scores.evidence:{session_id}/{competency_id}")
        db.execute("INSERT INTO scores (session_id, competency_id, suggested, evidence_enc, "
                   "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id, competency_id) "
                   "DO UPDATE SET suggested = excluded.suggested, "
                   "evidence_enc = excluded.evidence_enc, updated_at = excluded.updated_at",
                   (session_id, competency_id, level, blob, _now()))


def set_reviewer_score(store: Store, session_id: str, competency_id: str, score: int,
                       actor: str = "staff") -> None:
    """A reviewer's own score, kept beside the suggestion; an override is audited."""
    if not 1 <= score <= 5:
        raise ValueError("reviewer scores run from 1 to 5")
    with store.transaction() as db:
        row = db.execute("SELECT suggested FROM scores WHERE session_id = ? AND "
                         "competency_id = ?", (session_id, competency_id)).fetchone()
        db.execute("INSERT INTO scores (session_id, competency_id, reviewer, updated_at) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT (session_id, competency_id) DO UPDATE SET "
                   "reviewer = excluded.reviewer, updated_at = excluded.updated_at",
                   (session_id, competency_id, score, _now()))
        suggested = row[0] if row else None
        _send_again(db, session_id)
        store.audit.append("score.reviewed", {
            "session_id": session_id, "competency_id": competency_id, "score": score,
            "suggested": suggested,
            "overrides_suggestion": suggested is not None and suggested != score,
        }, actor)


def scores(store: Store, session_id: str) -> dict[str, dict[str, Any]]:
    """Per competency: the suggestion, its evidence and the reviewer's score."""
    keys = store.session_keys(session_id)
    result = {}
    for competency_id, suggested, reviewer, evidence in store.connection.execute(
            "SELECT competency_id, suggested, reviewer, evidence_enc FROM scores "
            "WHERE session_id = ?", (session_id,)):
        result[competency_id] = {
            "suggested": None if suggested is None else int(suggested),
            "reviewer": None if reviewer is None else int(reviewer),
            "evidence": json.loads(keys.decrypt(
                evidence, f"scores.evidence:{session_id}/{competency_id}")) if evidence else None,
        }
    return result


DECISIONS = ("advance", "hold", "reject")


def add_note(store: Store, session_id: str, text: str, actor: str = "staff") -> None:
    """A reviewer's note on a session, encrypted under the session's key (audited, not quoted)."""
    if not text.strip():
        raise ValueError("a note needs some text")
    keys = store.session_keys(session_id)
    with store.transaction() as db:
        cursor = db.execute("INSERT INTO notes (session_id, created_at, text_enc) "
                            "VALUES (?, ?, ?)", (session_id, _now(), b""))
        note_id = cursor.lastrowid
        db.execute("UPDATE notes SET text_enc = ? WHERE id = ?",
                   (keys.encrypt(text.strip(), f"notes.text:{session_id}/{note_id}"), note_id))
        store.audit.append("review.note_added", {"session_id": session_id}, actor)


def notes(store: Store, session_id: str) -> list[tuple[str, str]]:
    """(time, text) of each note on a session, oldest first."""
    keys = store.session_keys(session_id)
    return [(created, keys.decrypt(text, f"notes.text:{session_id}/{note_id}"))
            for note_id, created, text in store.connection.execute(
                "SELECT id, created_at, text_enc FROM notes WHERE session_id = ? ORDER BY id",
                (session_id,))]


def set_decision(store: Store, session_id: str, decision: str, actor: str = "staff") -> None:
    """Advance, hold or reject: a person's decision, separate from every suggestion."""
    if decision not in DECISIONS:
        raise ValueError(f"a decision is one of {', '.join(DECISIONS)}")
    with store.transaction() as db:
        db.execute("INSERT OR REPLACE INTO decisions VALUES (?, ?, ?)",
                   (session_id, decision, _now()))
        _send_again(db, session_id)
        store.audit.append("review.decided", {"session_id": session_id, "decision": decision},
                           actor)


def _send_again(db: sqlite3.Connection, session_id: str) -> None:
    """A session HQ already has changed (a score, a decision): its record goes again, as a
    higher revision (`kiosk.uplink.items`)."""
    db.execute("UPDATE outbox SET sent_at = NULL, rejected_at = NULL WHERE session_id = ? "
               "AND kind = 'session' AND sent_at IS NOT NULL", (session_id,))


def decision(store: Store, session_id: str) -> str | None:
    """The decision on a session, if any."""
    row = store.connection.execute("SELECT decision FROM decisions WHERE session_id = ?",
                                   (session_id,)).fetchone()
    return str(row[0]) if row else None
