"""Opening a candidate's session record, and finding it again to resume it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from kiosk.errors import InvalidInput, ResumeError
from kiosk.flow.attempt import Attempt
from kiosk.logs import get_logger, log_event
from kiosk.reference import normalize_reference
from kiosk.session import (
    CandidateDetails,
    Consents,
    Session,
    SessionArchive,
    SessionStatus,
    Take,
)
from kiosk.templates import InterviewTemplate

_log = get_logger("flow")


def open_session(archive: SessionArchive, template: InterviewTemplate, language: str,
                 candidate: CandidateDetails, ai_scoring: bool, now: datetime,
                 make_reference: Callable[[], str], notice_version: str) -> Session:
    """A new session for a candidate who consented, with a reference code not yet used."""
    for _ in range(10):
        reference = make_reference()
        if archive.find(reference) is None:
            break
    else:
        raise RuntimeError("could not draw an unused reference code")
    return Session(
        id=uuid.uuid4().hex, reference=reference, template_id=template.id,
        template_sha256=template.sha256, language=language, candidate=candidate,
        consents=Consents(recording=True, retention=True, ai_scoring=ai_scoring, given_at=now,
                          notice_version=notice_version),
        started_at=now, updated_at=now,
    )


def recorded_attempt(session: Session, template: InterviewTemplate, index: int) -> Attempt:
    """Question `index`'s takes that ended but were never submitted (the kiosk died on their
    review screen): the candidate comes back to review them, and numbering goes on after."""
    questions = template.questions
    recorded = session.recorded.get(questions[index].id, []) if index < len(questions) else []
    return Attempt(takes=list(recorded), chosen=recorded[-1].number if recorded else None)


class UnsavedTakes:
    """Takes that ended and wait to be stored, in order.

    The flow stores them after announcing its events, because on `RecordingStopped` the
    recorder finishes the take's vault files (final segment, fsync): a take's row is
    committed only once its recording is complete on disk. From then on the take survives
    a crash even if the candidate never reached "Use this answer"; keeping it is a later
    fact. A take that cannot be stored yet stays here and is tried again at the next tick.
    """

    def __init__(self, archive: SessionArchive) -> None:
        self._archive = archive
        self._waiting: list[tuple[Session, str, Take]] = []

    def __eq__(self, other: object) -> bool:
        """The same takes waiting (which archive they go to is the flow's)."""
        return isinstance(other, UnsavedTakes) and self._waiting == other._waiting

    __hash__ = None  # type: ignore[assignment]

    def add(self, session: Session, question_id: str, take: Take) -> None:
        """`take` of `session` ended."""
        self._waiting.append((session, question_id, take))

    def store(self) -> None:
        """Store every waiting take, oldest first, until one fails."""
        while self._waiting:
            session, question_id, take = self._waiting[0]
            try:
                self._archive.save_take(session, question_id, take)
            except Exception as exc:  # kept, and tried again at the next tick
                log_event(_log, "flow.take_not_stored", logging.WARNING,
                          session_id=session.id, question_id=question_id, take=take.number,
                          error_type=type(exc).__name__)
                return
            self._waiting.pop(0)


def find_resumable(archive: SessionArchive, code: str, template_id: str, now: datetime,
                   window_hours: float) -> Session:
    """The session for `code` if it can be resumed now; otherwise a clear FlowError."""
    reference = normalize_reference(code)
    if reference is None:
        raise InvalidInput("reference", "a reference code has 8 letters and digits, "
                                        "like ABCD-2345")
    session = archive.find(reference)
    if session is None:
        raise ResumeError("no interview was found with that code")
    if session.status is SessionStatus.COMPLETED:
        raise ResumeError("that interview is already complete")
    if session.template_id != template_id:
        raise ResumeError("that code belongs to a different interview: ask a member of staff")
    last = session.updated_at or session.started_at
    if now - last > timedelta(hours=window_hours):
        raise ResumeError("that code has expired: ask a member of staff")
    return session
