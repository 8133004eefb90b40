"""Candidates' rights at HQ: look up by reference code, export everything held (access),
erase everywhere (HQ at once, kiosks by a signed erasure order), retention, deadlines.

Erasure deletes the session's sealed records (which hold HQ's only copy of the session's
keys, so any stray copy of a recording is unreadable from then on), its recordings, reviews
and upload state. The audit log records that a session was erased and why, by kiosk and
session id, never who it was. An erasure order for the kiosk travels in the signed
configuration the kiosk fetches; the kiosk erases and confirms.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hq import review, sealed
from hq.audit import HqAudit
from hq.blobs import BlobStore
from hq.storage import (
    HqStorage,
    devices,
    erasure_orders,
    items,
    now_text,
    request_erasures,
    requests,
    reviews,
    sessions,
    uploads,
)
from kiosk.reference import normalize_reference
from kiosk.vault import Identity, open_bytes
from sync import fields, protocol
from sync.fields import FOLLOW_UP_SUFFIX

REQUEST_DEADLINE = timedelta(days=30)
_log = logging.getLogger("hq.privacy")


def skip_row(audit: HqAudit | None, job: str, device_id: str, session_id: str, reason: str,
             **more: str) -> None:
    """A background job met a row it cannot handle: log it, audit it, and go on. `reason`
    names what is wrong (a field, an error class), never a value from the row."""
    details = {"job": job, "device_id": device_id[:64], "session_id": session_id[:64],
               "reason": reason[:300], **more}
    _log.warning(json.dumps({"event": "hq.row_skipped", **details}))
    if audit is None:
        return
    try:
        audit.record("job.row_skipped", job, details)
    except Exception:  # the audit's database may be what failed; log, go on
        _log.exception(json.dumps({"event": "hq.audit_failed", "job": job}))


def find(storage: HqStorage, reference: str) -> list[tuple[str, str]]:
    """(device id, session id) of the sessions with this reference code."""
    code = normalize_reference(reference)
    if code is None:
        return []
    with storage.read() as conn:
        return [(r.device_id, r.session_id) for r in conn.execute(
            sa.select(sessions.c.device_id, sessions.c.session_id)
            .where(sessions.c.reference == code))]


def erase_session(storage: HqStorage, blobs: BlobStore, audit: HqAudit, device_id: str,
                  session_id: str, actor: str, reason: str) -> int:
    """Erase a session at HQ now and order its kiosk to erase it; return the items erased."""
    where_items = (items.c.device_id == device_id) & (items.c.session_id == session_id)
    order_id = secrets.token_hex(16)
    with storage.write() as conn:
        reference = conn.execute(sa.select(sessions.c.reference).where(
            (sessions.c.device_id == device_id) & (sessions.c.session_id == session_id))
            .with_for_update()).scalar()
        blob_keys = [r.blob for r in conn.execute(sa.select(items.c.blob).where(
            where_items, items.c.blob.is_not(None)))]
        count = conn.execute(items.delete().where(where_items)).rowcount
        conn.execute(sessions.delete().where((sessions.c.device_id == device_id)
                                             & (sessions.c.session_id == session_id)))
        conn.execute(reviews.delete().where((reviews.c.device_id == device_id)
                                            & (reviews.c.session_id == session_id)))
        conn.execute(uploads.delete().where((uploads.c.device_id == device_id)
                                            & (uploads.c.session_id == session_id)))
        conn.execute(erasure_orders.insert().values(
            order_id=order_id, device_id=device_id, session_id=session_id,
            reason=reason, issued_at=now_text()))
        if reference is not None:
            _answer_erasure_requests(conn, reference, order_id, actor)
        audit.append(conn, "session.erased", actor, {
            "device_id": device_id, "session_id": session_id, "items": count,
            "reason": reason})
        still_used = {r.blob for r in conn.execute(sa.select(items.c.blob).where(
            items.c.blob.in_(blob_keys)))} if blob_keys else set()
    audit.pin()
    for key in set(blob_keys) - still_used:
        blobs.delete(key)
    return int(count)


def _answer_erasure_requests(conn: Any, reference: str, order_id: str, actor: str) -> None:
    """Erasing a session answers every open erasure request for its reference code; the
    request keeps the order, so its page shows when each kiosk confirmed."""
    open_ids = [r.id for r in conn.execute(sa.select(requests.c.id).where(
        requests.c.kind == "erasure", requests.c.reference == reference,
        requests.c.completed_at.is_(None)))]
    for request_id in open_ids:
        conn.execute(request_erasures.insert().values(request_id=request_id,
                                                      order_id=order_id))
    if open_ids:
        conn.execute(requests.update().where(requests.c.id.in_(open_ids)).values(
            completed_at=now_text(), handled_by=actor))


def pending_orders(storage: HqStorage, device_id: str) -> list[dict[str, str]]:
    """Erasure orders the kiosk has not confirmed yet."""
    with storage.read() as conn:
        return [{"order_id": r.order_id, "session_id": r.session_id}
                for r in conn.execute(sa.select(erasure_orders).where(
                    erasure_orders.c.device_id == device_id,
                    erasure_orders.c.confirmed_at.is_(None))
                    .order_by(erasure_orders.c.issued_at))]


def confirm_order(storage: HqStorage, device_id: str, order_id: str) -> bool:
    """The kiosk says it erased; False if there is no such order of that kiosk."""
    with storage.write() as conn:
        return bool(conn.execute(erasure_orders.update().where(
            erasure_orders.c.order_id == order_id, erasure_orders.c.device_id == device_id)
            .values(confirmed_at=now_text())).rowcount == 1)


# --- the access right -----------------------------------------------------------------------

def access_archive(storage: HqStorage, blobs: BlobStore, hq: Identity, device_id: str,
                   session_id: str) -> bytes:
    """Everything HQ holds about one session, readable, as a zip made in memory."""
    opened = review.open_session(storage, hq, device_id, session_id)  # checked as it opens
    card = opened.card
    typed = _typed_answers(storage, hq, device_id, session_id)
    with storage.read() as conn:
        rows = conn.execute(sa.select(reviews).where(
            reviews.c.device_id == device_id, reviews.c.session_id == session_id)).all()
    held_reviews = [{"scores": json.loads(r.scores), "decision": r.decision,
                     "submitted_at": r.submitted_at,
                     "note": open_bytes(r.note, [hq]).decode() if r.note else ""}
                    for r in rows]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(card))
        archive.writestr("you.json", _json({
            "name": opened.candidate.get("name"), "contact": opened.candidate.get("contact"),
            "reference": card["candidate"]["reference"],
            "language": card["candidate"]["language"], "consents": card["consents"],
            "accommodations": card["accommodations"], "session": card["session"],
            "interview": card["interview"], "retention_days": card.get("retention_days")}))
        archive.writestr("scorecard.json", _json(card))
        archive.writestr("reviews.json", _json(held_reviews))
        for question_id, transcript in opened.transcripts.items():
            archive.writestr(_answer_name(question_id, "transcript.txt"), transcript["text"])
            archive.writestr(_answer_name(question_id, "transcript.json"), _json(transcript))
        for question in card["questions"]:
            answers = [(question["id"], question)]
            if "follow_up" in question:  # its answer is the candidate's as much as any
                answers.append((question["id"] + FOLLOW_UP_SUFFIX, question["follow_up"]))
            for key, answer in answers:
                text = typed.get(key, answer.get("typed_excerpt"))
                if text is not None:
                    archive.writestr(_answer_name(key, "typed.txt"), text)
        for question_id, media in opened.recordings.items():
            for kind in media:
                with review.recording(blobs, opened, question_id, kind) as reader:
                    suffix = "mp4" if kind == "video" else "aac"
                    archive.writestr(_answer_name(question_id, f"{kind}.{suffix}"),
                                     reader.read_range(0, reader.size))
    return out.getvalue()


def _answer_name(question_id: str, suffix: str) -> str:
    """A zip entry name from an answer key (a question id, or one and `.probe` for its
    follow-up) the parsers checked, checked once more here: a kiosk chooses question ids,
    and an entry name must never climb out of `answers/`."""
    if not protocol.ANSWER_KEY.fullmatch(question_id) or suffix not in _SUFFIXES:
        raise review.ReviewError("a question id of this session has a form HQ refuses")
    return f"answers/{question_id}-{suffix}"


_SUFFIXES = ("transcript.txt", "transcript.json", "typed.txt", "video.mp4", "audio.aac")


def _typed_answers(storage: HqStorage, hq: Identity, device_id: str,
                   session_id: str) -> dict[str, str]:
    """The candidate's typed answers in full (the scorecard holds only excerpts)."""
    with storage.read() as conn:
        blob = conn.execute(sa.select(items.c.sealed).where(
            items.c.device_id == device_id, items.c.session_id == session_id,
            items.c.kind == "session")).scalar()
    try:
        typed: dict[str, str] = sealed.session(blob, hq)["typed_answers"]
    except sealed.SealedRecordError as exc:
        raise review.ReviewError(str(exc)) from None
    return typed


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _readme(card: dict[str, Any]) -> str:
    return (f"Everything we hold about interview {card['candidate']['reference']}\n\n"
            "you.json        your details, consents, accommodations and the interview\n"
            "scorecard.json  the scorecard: transcript excerpts, suggested scores with the\n"
            "                evidence behind them, and flags for a person to check\n"
            "reviews.json    the scores, notes and decisions of the people who reviewed you\n"
            "answers/        your recordings, their transcripts, and your typed answers\n"
            "                (a follow-up's answer is named for its question and .probe)\n\n"
            "Suggested scores are made by matching your words against the job's rubric; a\n"
            "person makes every decision.\n")


# --- requests and their deadlines ---------------------------------------------------------

@dataclass(frozen=True)
class ErasureProgress:
    """One kiosk's part of an erasure: HQ erased and ordered it; the kiosk confirms."""

    kiosk: str
    erased_at: str
    confirmed_at: str | None


@dataclass(frozen=True)
class Request:
    """A candidate's request, when it is due, and (for erasures) how far it got."""

    id: int
    kind: str
    reference: str
    received_at: str
    due_at: str
    completed_at: str | None
    erasures: tuple[ErasureProgress, ...] = ()

    @property
    def overdue(self) -> bool:
        """Open past its deadline."""
        return self.completed_at is None and datetime.fromisoformat(self.due_at) < datetime.now(
            UTC)

    @property
    def waiting_for_kiosks(self) -> bool:
        """Erased at HQ, and a kiosk has not confirmed its erasure yet."""
        return any(e.confirmed_at is None for e in self.erasures)


def open_request(storage: HqStorage, kind: str, reference: str,
                 received: datetime | None = None) -> int:
    """Log a request on the day the candidate made it; the deadline runs from then."""
    if kind not in ("access", "erasure"):
        raise ValueError("a request is for access or erasure")
    code = normalize_reference(reference)
    if code is None:
        raise ValueError("a reference code has 8 letters and digits, like ABCD-2345")
    received = received or datetime.now(UTC)
    with storage.write() as conn:
        result = conn.execute(requests.insert().values(
            kind=kind, reference=code, received_at=received.isoformat(),
            due_at=(received + REQUEST_DEADLINE).isoformat()))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def complete_request(storage: HqStorage, request_id: int, actor: str) -> bool:
    """Mark a request answered; False if there is no such request."""
    with storage.write() as conn:
        found = conn.execute(sa.select(requests.c.completed_at).where(
            requests.c.id == request_id)).first()
        if found is None:
            return False
        if found.completed_at is None:
            conn.execute(requests.update().where(requests.c.id == request_id).values(
                completed_at=now_text(), handled_by=actor))
    return True


def list_requests(storage: HqStorage) -> list[Request]:
    """Open requests first (oldest deadline first), then answered ones; an erasure
    request with each kiosk's progress."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(requests.c.id, requests.c.kind, requests.c.reference,
                                      requests.c.received_at, requests.c.due_at,
                                      requests.c.completed_at)).all()
        progress = conn.execute(
            sa.select(request_erasures.c.request_id, devices.c.name,
                      erasure_orders.c.device_id, erasure_orders.c.issued_at,
                      erasure_orders.c.confirmed_at)
            .join(erasure_orders, erasure_orders.c.order_id == request_erasures.c.order_id)
            .outerjoin(devices, devices.c.id == erasure_orders.c.device_id)
            .order_by(erasure_orders.c.issued_at)).all()
    by_request: dict[int, list[ErasureProgress]] = {}
    for row in progress:
        by_request.setdefault(row.request_id, []).append(ErasureProgress(
            row.name or row.device_id, row.issued_at, row.confirmed_at))
    found = [Request(*row, erasures=tuple(by_request.get(row.id, ()))) for row in rows]
    return sorted(found, key=lambda r: (r.completed_at is not None, r.due_at))


# --- retention at HQ ------------------------------------------------------------------------

@dataclass(frozen=True)
class RetentionRun:
    """What one retention run did: sessions erased, and rows skipped (logged, audited)."""

    erased: int
    skipped: int


def retention_run(storage: HqStorage, blobs: BlobStore, audit: HqAudit,
                  now: datetime | None = None) -> RetentionRun:
    """Erase every session past its retention (rejected ones sooner), one at a time: a
    session that cannot be judged or erased is logged, audited and skipped, and the run
    goes on with the others."""
    now = now or datetime.now(UTC)
    with storage.read() as conn:
        rows = conn.execute(sa.select(sessions.c.device_id, sessions.c.session_id,
                                      sessions.c.started_at, sessions.c.ended_at,
                                      sessions.c.received_at, sessions.c.decision,
                                      sessions.c.retention_days,
                                      sessions.c.rejected_retention_days)).all()
        decided = {(r.device_id, r.session_id): r.decision for r in conn.execute(
            sa.select(reviews.c.device_id, reviews.c.session_id, reviews.c.decision)
            .order_by(reviews.c.submitted_at)) if r.decision}
    erased = skipped = 0
    for row in rows:
        try:
            due = _due(row, decided.get((row.device_id, row.session_id)), now)
        except (ValueError, TypeError, OverflowError) as exc:
            skip_row(audit, "retention", row.device_id, row.session_id,
                     _reason(exc, "its times or retention cannot be read"))
            skipped += 1
            continue
        if not due:
            continue
        try:
            erase_session(storage, blobs, audit, row.device_id, row.session_id,
                          "retention", "retention")
        except Exception as exc:  # one session's fault must not keep the rest
            skip_row(audit, "retention", row.device_id, row.session_id,
                     f"erasing failed ({type(exc).__name__})")
            skipped += 1
            continue
        erased += 1
    return RetentionRun(erased, skipped)


def _due(row: Any, reviewed: str | None, now: datetime) -> bool:
    """Whether a session is past its retention. Days count from the end the kiosk gives (or
    the start), but never from later than HQ received it: a kiosk cannot date its sessions
    into the future to keep them."""
    if row.retention_days is None:
        return False
    days = fields.integer(row.retention_days, "retention_days", 1, 3650)
    decision = reviewed or row.decision  # HQ's reviewers' latest decision, else the kiosk's
    if decision == "reject" and row.rejected_retention_days is not None:
        days = min(days, fields.integer(row.rejected_retention_days,
                                        "rejected_retention_days", 1, 3650))
    since = fields.parse_time(row.ended_at or row.started_at, "the session's time")
    received = fields.parse_time(row.received_at, "received_at")
    return min(since, received) + timedelta(days=days) <= now


def _reason(exc: BaseException, fallback: str) -> str:
    """Our parsers' messages name a field, never its value; anything else only its class."""
    if isinstance(exc, fields.ProtocolError):
        return str(exc)
    return f"{fallback} ({type(exc).__name__})"
