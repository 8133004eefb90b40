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
import statistics
from dataclasses import dataclass
from typing import Any, BinaryIO

import sqlalchemy as sa

from hq import sealed
from hq.accounts import User
from hq.blobs import BlobStore
from hq.storage import HqStorage, devices, items, now_text, reviews, sessions, users
from kiosk.store.cipher import SessionKeys
from kiosk.vault import Identity, VaultError, VaultReader, open_bytes, seal_bytes
from sync import protocol

_log = logging.getLogger("hq.review")

DECISIONS = ("advance", "hold", "reject")


class ReviewError(Exception):
    """A review cannot be shown or stored as asked."""


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
    """Decrypt a session's records (raises ReviewError if HQ has none)."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(items.c.kind, items.c.meta, items.c.sealed,
                                      items.c.blob).where(
            items.c.device_id == device_id, items.c.session_id == session_id)).all()
        kiosk = conn.execute(sa.select(devices.c.name).where(
            devices.c.id == device_id)).scalar() or device_id
    session = next((r for r in rows if r.kind == "session"), None)
    if session is None:
        raise ReviewError("HQ has no scorecard for that session (yet)")
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
        raise ReviewError("HQ has no scorecard for that session (yet)")
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
        raise ReviewError("there is no recording of that answer at HQ")
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


def submit_review(storage: HqStorage, user: User, device_id: str, session_id: str,
                  scores: dict[str, int], note: str, decision: str | None,
                  hq_recipient: Any) -> None:
    """Store (or replace) this reviewer's scores, note and decision."""
    if not user.can("review"):
        raise ReviewError("your role may look but not score")
    if any(not 1 <= level <= 5 for level in scores.values()):
        raise ReviewError("levels run from 1 to 5")
    if decision is not None and decision not in DECISIONS:
        raise ReviewError("the decision is advance, hold or reject")
    sealed_note = seal_bytes(note.encode(), [hq_recipient]) if note.strip() else None
    values = {"scores": json.dumps(scores, sort_keys=True), "note": sealed_note,
              "decision": decision, "submitted_at": now_text()}
    where = ((reviews.c.device_id == device_id) & (reviews.c.session_id == session_id)
             & (reviews.c.user_id == user.id))
    with storage.write() as conn:
        if conn.execute(sa.select(reviews.c.user_id).where(where)).first() is None:
            conn.execute(reviews.insert().values(device_id=device_id, session_id=session_id,
                                                 user_id=user.id, **values))
        else:
            conn.execute(reviews.update().where(where).values(**values))


def session_reviews(storage: HqStorage, hq: Identity, viewer: User, device_id: str,
                    session_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the viewer's own review, the others' — empty until the viewer has submitted)."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(reviews, users.c.name).join(
            users, users.c.id == reviews.c.user_id).where(
            reviews.c.device_id == device_id, reviews.c.session_id == session_id)).all()

    def shown(row: Any) -> dict[str, Any]:
        return {"reviewer": row.name, "scores": json.loads(row.scores),
                "decision": row.decision, "submitted_at": row.submitted_at,
                "note": open_bytes(row.note, [hq]).decode() if row.note else ""}

    own = next((shown(r) for r in rows if r.user_id == viewer.id), None)
    others = [shown(r) for r in rows if r.user_id != viewer.id] if own else []
    return own, others


SORTS = {
    "date": sessions.c.started_at.desc(),
    "kiosk": devices.c.name,
    "needs_review": sessions.c.needs_review.desc(),
}


def candidate_rows(storage: HqStorage, interview_id: str | None, sort: str = "date",
                   needs_review: bool | None = None, kiosk: str | None = None
                   ) -> list[dict[str, Any]]:
    """The interview's (or, for None, every) session with suggested and reviewer means,
    filtered and sorted."""
    query = (sa.select(*sessions.c, devices.c.name.label("kiosk"))
             .join(devices, devices.c.id == sessions.c.device_id))
    if interview_id is not None:
        query = query.where(sessions.c.interview_id == interview_id)
    if needs_review is not None:
        query = query.where(sessions.c.needs_review == needs_review)
    if kiosk:
        query = query.where(devices.c.name == kiosk)
    query = query.order_by(SORTS.get(sort, SORTS["date"]))
    with storage.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        given = conn.execute(sa.select(reviews.c.device_id, reviews.c.session_id,
                                       reviews.c.scores, reviews.c.decision)).all()
    by_session: dict[tuple[str, str], list[Any]] = {}
    for review in given:
        by_session.setdefault((review.device_id, review.session_id), []).append(review)
    for row in rows:
        row["scores"] = json.loads(row["scores"])
        suggested = [v["suggested"] for v in row["scores"].values()
                     if v["suggested"] is not None]
        row["suggested_mean"] = round(statistics.mean(suggested), 2) if suggested else None
        mine = by_session.get((row["device_id"], row["session_id"]), [])
        levels = [level for r in mine for level in json.loads(r.scores).values()]
        row["reviewer_mean"] = round(statistics.mean(levels), 2) if levels else None
        row["reviews"] = len(mine)
        decisions = [r.decision for r in mine if r.decision]
        row["decision"] = decisions[-1] if decisions else row["decision"]
    if sort in ("reviewer_score", "suggested_score"):
        key = "reviewer_mean" if sort == "reviewer_score" else "suggested_mean"
        rows.sort(key=lambda r: (r[key] is None, -(r[key] or 0)))
    return rows


def kiosk_names(storage: HqStorage, interview_id: str) -> list[str]:
    """The kiosks that sent sessions of this interview (for the filter)."""
    with storage.read() as conn:
        return sorted(conn.execute(sa.select(devices.c.name).distinct().join(
            sessions, sessions.c.device_id == devices.c.id).where(
            sessions.c.interview_id == interview_id)).scalars())


def funnel(storage: HqStorage) -> list[dict[str, Any]]:
    """Per interview: started, completed, abandoned (and where), reviewed, advanced."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(sessions.c.interview_id, sessions.c.status,
                                      sessions.c.answered, sessions.c.questions,
                                      sessions.c.device_id, sessions.c.session_id)).all()
        reviewed = conn.execute(sa.select(reviews.c.device_id, reviews.c.session_id,
                                          reviews.c.decision)).all()
    decided = {(r.device_id, r.session_id): r.decision for r in reviewed}
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = result.setdefault(row.interview_id, {
            "interview_id": row.interview_id, "started": 0, "completed": 0, "abandoned": 0,
            "abandoned_at": {}, "reviewed": 0, "advanced": 0})
        entry["started"] += 1
        if row.status == "completed":
            entry["completed"] += 1
        else:
            entry["abandoned"] += 1
            at = f"question {row.answered + 1}"
            entry["abandoned_at"][at] = entry["abandoned_at"].get(at, 0) + 1
        key = (row.device_id, row.session_id)
        if key in decided:
            entry["reviewed"] += 1
            entry["advanced"] += decided[key] == "advance"
    return sorted(result.values(), key=lambda e: e["interview_id"])
