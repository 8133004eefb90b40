"""What recruiters review at HQ: sessions opened with HQ's key, recordings, reviewer scores.

Records arrive sealed to HQ's key; they are opened in memory, per request, and never
written back in the clear. A recording is the kiosk's vault file, opened with the session's
keys (which came sealed to HQ inside the session record), so a player can seek in it
without a decrypted copy on disk. Several reviewers can score one candidate; each sees the
others' scores only after submitting their own, so no one anchors on a colleague.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, BinaryIO

import sqlalchemy as sa

from hq import sealed
from hq.accounts import User
from hq.blobs import BlobStore
from hq.storage import (
    HqStorage,
    devices,
    erasure_orders,
    items,
    now_text,
    reviews,
    sessions,
    users,
)
from kiosk.store.cipher import SessionKeys
from kiosk.vault import Identity, VaultError, VaultReader, open_bytes, seal_bytes
from sync import protocol

_log = logging.getLogger("hq.review")

DECISIONS = ("advance", "hold", "reject")


class ReviewError(Exception):
    """A review cannot be shown or stored as asked (the role may not)."""


class NoSuchSessionError(ReviewError):
    """HQ holds no such session, or no such recording of it."""


class SessionErasedError(ReviewError):
    """The session was erased: nothing of it is shown or taken any more."""


class InvalidReviewError(ReviewError):
    """The review as sent cannot be stored (empty, a level out of range, ...)."""


@dataclass(frozen=True)
class OpenedSession:
    """One session, decrypted for a page."""

    device_id: str
    session_id: str
    kiosk: str
    card: dict[str, Any]
    candidate: dict[str, str]
    rubric: dict[str, Any]
    transcripts: dict[str, dict[str, Any]]      # question id -> transcript JSON
    recordings: dict[str, dict[str, str]]       # question id -> media -> blob key
    keys: SessionKeys


def open_session(storage: HqStorage, hq: Identity, device_id: str,
                 session_id: str) -> OpenedSession:
    """Decrypt a session's records (NoSuchSessionError or SessionErasedError if HQ has
    none)."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(items.c.kind, items.c.meta, items.c.sealed,
                                      items.c.blob).where(
            items.c.device_id == device_id, items.c.session_id == session_id)).all()
        kiosk = conn.execute(sa.select(devices.c.name).where(
            devices.c.id == device_id)).scalar() or device_id
        session = next((r for r in rows if r.kind == "session"), None)
        if session is None:
            raise missing_session(conn, device_id, session_id)
    try:  # every sealed record is checked as it opens (hq.sealed, sync.records)
        content = sealed.session(session.sealed, hq)
        keys = sealed.session_keys(content["session_keys"], hq)
    except sealed.SealedRecordError as exc:
        raise ReviewError(str(exc)) from None
    return OpenedSession(device_id, session_id, str(kiosk), content["scorecard"],
                         content["candidate"], content["rubric"], _transcripts(rows, hq),
                         _recordings(rows), keys)


def _index(row: Any, kind: str) -> dict[str, Any] | None:
    """A stored item's clear index, checked again (rows may predate today's parsers)."""
    try:
        return protocol.META_PARSERS[kind](json.loads(row.meta))
    except (ValueError, RecursionError):
        return None


def _transcripts(rows: Any, hq: Identity) -> dict[str, dict[str, Any]]:
    """question id -> transcript; a malformed one is logged and left out, not the page."""
    found = {}
    for row in rows:
        meta = _index(row, "transcript") if row.kind == "transcript" else None
        if meta is None:
            continue
        try:
            found[meta["question_id"]] = sealed.transcript(row.sealed, hq, meta["question_id"])
        except sealed.SealedRecordError as exc:
            _log.warning(json.dumps({"event": "hq.malformed_transcript", "reason": str(exc)}))
    return found


def _recordings(rows: Any) -> dict[str, dict[str, str]]:
    """question id -> media -> blob key, from a session's item rows."""
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        meta = _index(row, "recording") if row.kind == "recording" else None
        if meta is not None and row.blob:
            found.setdefault(meta["question_id"], {})[meta["media"]] = row.blob
    return found


def open_recording(storage: HqStorage, blobs: BlobStore, hq: Identity, device_id: str,
                   session_id: str, question_id: str, media: str) -> VaultReader:
    """A seekable reader of one recording, opening no more than its session's keys: a
    player asks for many byte ranges, and each need not decrypt transcripts too."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(items.c.kind, items.c.meta, items.c.sealed,
                                      items.c.blob).where(
            items.c.device_id == device_id, items.c.session_id == session_id,
            items.c.kind.in_(("session", "recording")))).all()
        session = next((r for r in rows if r.kind == "session"), None)
        if session is None:
            raise missing_session(conn, device_id, session_id)
    key = _recordings(rows).get(question_id, {}).get(media)
    try:
        keys = sealed.recording_keys(session.sealed, hq)
    except sealed.SealedRecordError as exc:
        raise ReviewError(str(exc)) from None
    return _reader(blobs, key, keys.identity)


class BlobReader(VaultReader):
    """A vault reader that also closes the blob file it reads."""

    def __init__(self, source: BinaryIO, identities: list[Identity]) -> None:
        self._blob = source
        super().__init__(source, identities)

    def close(self) -> None:
        """Close the reader and its file."""
        try:
            super().close()
        finally:
            self._blob.close()


def recording(blobs: BlobStore, opened: OpenedSession, question_id: str,
              media: str = "video") -> VaultReader:
    """A seekable reader of the decrypted recording (the caller closes it)."""
    return _reader(blobs, opened.recordings.get(question_id, {}).get(media),
                   opened.keys.identity)


def _reader(blobs: BlobStore, key: str | None, identity: Identity) -> VaultReader:
    if key is None:
        raise NoSuchSessionError("there is no recording of that answer at HQ")
    source = blobs.open(key)
    try:
        return BlobReader(source, [identity])
    except VaultError as exc:  # what the kiosk uploaded is not a vault file it can open
        source.close()
        raise ReviewError(f"the recording from the kiosk does not open "
                          f"({type(exc).__name__})") from None
    except BaseException:
        source.close()
        raise



# --- reviewers' scores, notes and decisions ---------------------------------------------------

def sees_others(viewer: User, reviewed: bool) -> bool:
    """Whether `viewer` may see other people's scores, means, notes and decisions for a
    candidate: after submitting their own review of that candidate; admins always.

    "Others" are the other HQ reviewers and the kiosk's on-site staff alike. A viewer
    cannot submit, so a viewer sees suggested scores only.
    """
    return viewer.role == "admin" or reviewed


def submit_review(storage: HqStorage, user: User, device_id: str, session_id: str,
                  scores: dict[str, int], note: str, decision: str | None,
                  hq_recipient: Any) -> None:
    """Store (or replace) this reviewer's scores, note and decision.

    A review holds at least one competency's level or a decision: an empty one would count
    as a review and show the reviewer everyone else's. Levels are for the session's own
    competencies. An erased session takes no review (SessionErasedError), and the check
    holds against an erasure running at the same moment: the session's row is locked.
    """
    if not user.can("review"):
        raise ReviewError("your role may look but not score")
    if not scores and decision is None:
        raise InvalidReviewError("choose a level for at least one competency, or a "
                                 "decision: an empty review is not a review")
    if any(not 1 <= level <= 5 for level in scores.values()):
        raise InvalidReviewError("levels run from 1 to 5")
    if decision is not None and decision not in DECISIONS:
        raise InvalidReviewError("the decision is advance, hold or reject")
    sealed_note = seal_bytes(note.encode(), [hq_recipient]) if note.strip() else None
    values = {"scores": json.dumps(scores, sort_keys=True), "note": sealed_note,
              "decision": decision, "submitted_at": now_text()}
    where = ((reviews.c.device_id == device_id) & (reviews.c.session_id == session_id)
             & (reviews.c.user_id == user.id))
    with storage.write() as conn:
        held = conn.execute(sa.select(sessions.c.scores).where(
            sessions.c.device_id == device_id, sessions.c.session_id == session_id)
            .with_for_update()).first()
        if held is None:
            raise missing_session(conn, device_id, session_id)
        unknown = sorted(set(scores) - set(json.loads(held.scores)))
        if unknown:
            raise InvalidReviewError(f"this interview has no competency "
                                     f"{', '.join(repr(c[:40]) for c in unknown[:3])}")
        if conn.execute(sa.select(reviews.c.user_id).where(where)).first() is None:
            conn.execute(reviews.insert().values(device_id=device_id, session_id=session_id,
                                                 user_id=user.id, **values))
        else:
            conn.execute(reviews.update().where(where).values(**values))


def missing_session(conn: Any, device_id: str, session_id: str) -> ReviewError:
    """Why HQ holds no such session: it was erased (and when), or it never arrived."""
    erased = conn.execute(sa.select(sa.func.min(erasure_orders.c.issued_at)).where(
        erasure_orders.c.device_id == device_id,
        erasure_orders.c.session_id == session_id)).scalar()
    if erased is not None:
        return SessionErasedError(f"this candidate's data was erased at HQ on "
                                  f"{str(erased)[:10]}: it can no longer be viewed or "
                                  f"reviewed")
    return NoSuchSessionError("HQ has no such session (it may not have arrived yet)")


def session_reviews(storage: HqStorage, hq: Identity, viewer: User, device_id: str,
                    session_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the viewer's own review, the others': empty until `sees_others`)."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(reviews, users.c.name).join(
            users, users.c.id == reviews.c.user_id).where(
            reviews.c.device_id == device_id, reviews.c.session_id == session_id)
            .order_by(reviews.c.submitted_at)).all()

    def shown(row: Any) -> dict[str, Any]:
        return {"reviewer": row.name, "scores": json.loads(row.scores),
                "decision": row.decision, "submitted_at": row.submitted_at,
                "note": open_bytes(row.note, [hq]).decode() if row.note else ""}

    own = next((shown(r) for r in rows if r.user_id == viewer.id), None)
    visible = sees_others(viewer, own is not None)
    others = [shown(r) for r in rows if r.user_id != viewer.id] if visible else []
    return own, others
