"""Turning outbox entries into what crosses to HQ: sealed records and recording files.

A record's content (scorecard, candidate details, transcript) is sealed to HQ's key alone,
so it is ciphertext on the wire, on a USB stick and in HQ's database; only a small index of
non-identifying fields (reference code, interview, status, levels) travels in the clear, so
HQ can list and count without opening anything. The session record also carries the
session's keys sealed to HQ, which is how HQ opens the recordings: they go up as the very
vault files the kiosk wrote, never decrypted or re-encrypted on the way.

Every record carries a revision: a counter the kiosk raises each time it builds the record
(for the sync or for a bundle), kept per item in `record_revisions`. The record travels
signed (the request signature, or the bundle's manifest), and HQ never lets a lower
revision replace a higher one, however the two arrive.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kiosk.scoring import scorecard
from kiosk.scoring.service import template_of
from kiosk.session import Session, SessionStatus
from kiosk.store import Store
from kiosk.store import outbox as queue
from kiosk.store.results import transcripts
from kiosk.vault import Recipient, seal_bytes
from sync import protocol
from sync.client import file_sha256


@dataclass(frozen=True)
class RecordingFile:
    """A recording to upload: its file and checked metadata."""

    item_id: str
    session_id: str
    path: Path
    meta: dict[str, Any]


def _seal(doc: dict[str, Any], hq: Recipient) -> bytes:
    return seal_bytes(json.dumps(doc, ensure_ascii=False).encode(), [hq])


@contextlib.contextmanager
def _numbered(store: Store, kind: str, session_id: str,
              part: str = "") -> Iterator[tuple[str, int]]:
    """(item id, its next revision: one above the last one built, 1 for the first), with
    the store's write lock held while the caller reads and seals the record: a change made
    meanwhile (a score, a decision) waits, so a higher revision never holds older content."""
    item = protocol.item_id(session_id, kind, part)
    with store.transaction() as db:
        row = db.execute("INSERT INTO record_revisions (item_id, session_id, revision) "
                         "VALUES (?, ?, 1) ON CONFLICT (item_id) DO UPDATE SET "
                         "revision = revision + 1 RETURNING revision",
                         (item, session_id)).fetchone()
        yield item, int(row[0])


def session_record(store: Store, session: Session, hq: Recipient) -> protocol.Record:
    """The session's scorecard, candidate details and keys, sealed to HQ."""
    with _numbered(store, "session", session.id) as (item, revision):
        session = store.find(session.id) or session  # as it is now, under the lock
        meta, sealed = _session_content(store, session, hq)
    return protocol.Record(item, "session", session.id, meta, sealed, revision)


def _session_content(store: Store, session: Session,
                     hq: Recipient) -> tuple[dict[str, Any], bytes]:
    session_id = session.id
    card = scorecard.build(store, session_id)
    template = template_of(store, session.template_id, session.template_sha256)
    meta = protocol.session_meta({
        "reference": session.reference, "interview_id": session.template_id,
        "template_sha256": session.template_sha256, "language": session.language,
        "status": session.status.value, "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "decision": card["review"]["decision"],
        "needs_review": bool(card["flags"]),
        "questions": len(card["questions"]),
        "answered": sum(1 for q in card["questions"] if q["answered"]),
        "scores": {c["id"]: {"suggested": (c["suggestion"] or {}).get("level"),
                             "reviewer": c["reviewer_score"]} for c in card["competencies"]},
        "retention_days": template.policy.retention_days,
        "rejected_retention_days": template.policy.rejected_retention_days,
        **({"drive": session.drive, "invite": session.invite}
           if session.drive is not None else {}),
    })
    rubric = {c.id: {"name": c.name, "description": c.description,
                     "levels": {str(level): text for level, text in c.levels.items()}}
              for c in template.competencies}
    typed = {qid: answer.chosen_take.text for qid, answer in session.answers.items()
             if answer.chosen_take.text is not None}
    sealed = _seal({
        "scorecard": card,
        "candidate": {"name": session.candidate.name, "contact": session.candidate.contact},
        "accommodations": asdict(session.accommodations),
        "typed_answers": typed,
        "rubric": rubric,
        "session_keys": store.session_keys(session_id).seal([hq]).hex(),
    }, hq)
    return meta, sealed


def transcript_record(store: Store, session_id: str, question_id: str,
                      hq: Recipient) -> protocol.Record | None:
    """A question's transcript (words, times, confidences), sealed to HQ; None if gone."""
    with _numbered(store, "transcript", session_id, question_id) as (item, revision):
        transcript = transcripts(store, session_id).get(question_id)
        if transcript is None:
            return None
        sealed = _seal({"question_id": question_id, "transcript": transcript.to_json()}, hq)
    meta = protocol.transcript_meta({"question_id": question_id,
                                     "needs_review": transcript.needs_review})
    return protocol.Record(item, "transcript", session_id, meta, sealed, revision)


def self_id_record(store: Store, session_id: str, hq: Recipient) -> protocol.Record | None:
    """The candidate's voluntary self-identification, sealed to HQ; None if withdrawn."""
    from kiosk.privacy import self_id

    with _numbered(store, "selfid", session_id) as (item, revision):
        answers = self_id.load(store, session_id)
        if answers is None:
            return None
        sealed = _seal({"answers": answers}, hq)
    return protocol.Record(item, "selfid", session_id, {}, sealed, revision)


def recording_kinds(store: Store, session: Session) -> list[str]:
    """Outbox kinds for a completed session's chosen takes' files, when its interview lets
    recordings leave the kiosk."""
    template = template_of(store, session.template_id, session.template_sha256)
    if not template.policy.recordings_leave_kiosk or \
            session.status is not SessionStatus.COMPLETED:
        return []
    session_id = session.id
    kinds = []
    for question_id, answer in session.answers.items():
        for media, path in (("video", store.video_path(session_id, question_id, answer.chosen)),
                            ("audio", store.audio_path(session_id, question_id, answer.chosen))):
            if path.exists():
                kinds.append(f"{queue.RECORDING}:{question_id}:{answer.chosen}:{media}")
    return kinds


def recording_file(store: Store, entry: queue.Entry) -> RecordingFile | None:
    """The file an outbox recording entry stands for; None if it no longer exists."""
    question_id, take_text, media = entry.parts
    take = int(take_text)
    path = (store.video_path if media == "video" else store.audio_path)(
        entry.session_id, question_id, take)
    if not path.exists():
        return None
    size, sha256 = file_sha256(path)
    meta = protocol.recording_meta({"question_id": question_id, "take": take, "media": media,
                                    "size": size, "sha256": sha256})
    return RecordingFile(protocol.item_id(entry.session_id, "recording",
                                          f"{question_id}/{take}/{media}"),
                         entry.session_id, path, meta)
