"""Opening a candidate's session record, and finding it again to resume it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from kiosk.errors import InvalidInput, ResumeError
from kiosk.reference import normalize_reference
from kiosk.session import (
    CandidateDetails,
    Consents,
    Session,
    SessionArchive,
    SessionStatus,
)
from kiosk.templates import InterviewTemplate


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
