"""A candidate's session: who they are, what they agreed to, what they answered.

The flow builds a `Session` once the candidate has consented and hands it to a
`SessionArchive` at every point worth keeping (consent, each finished take, each submitted
answer, the end or an interruption). A take is kept from the moment it ends, before the
candidate has decided to use it: `Session.recorded` holds those not yet submitted, so a
kiosk that dies on the review screen loses nothing. The encrypted local store implements
`SessionArchive`; `MemoryArchive` keeps sessions in this process only, for the headless demo
and tests.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from kiosk.errors import InvalidInput
from kiosk.templates import AnswerMode


class SessionStatus(enum.StrEnum):
    """Where a session stands."""

    IN_PROGRESS = "in_progress"
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"


@dataclass(frozen=True)
class CandidateDetails:
    """The minimum we ask of a candidate: a name and one way to reach them."""

    name: str
    contact: str


@dataclass(frozen=True)
class Consents:
    """What the candidate agreed to, each asked separately, and when."""

    recording: bool
    retention: bool
    ai_scoring: bool
    given_at: datetime
    notice_version: str = ""  # which notice text the candidate was shown


EXTRA_TIME_CHOICES = (1.0, 1.25, 1.5, 2.0)
BREAK_MULTIPLIER_CHOICES = (1.0, 1.5, 2.0, 3.0)
MAX_EXTRA_RETAKES = 3


@dataclass(frozen=True)
class Accommodations:
    """Adjustments a candidate asked for; recorded with the session."""

    extra_time: float = 1.0
    extra_retakes: int = 0
    text_answers: bool = False
    break_multiplier: float = 1.0

    def __post_init__(self) -> None:
        if self.extra_time not in EXTRA_TIME_CHOICES:
            raise InvalidInput("extra_time", f"must be one of {EXTRA_TIME_CHOICES}")
        if type(self.extra_retakes) is not int or not 0 <= self.extra_retakes <= MAX_EXTRA_RETAKES:
            raise InvalidInput("extra_retakes", f"must be 0 to {MAX_EXTRA_RETAKES}")
        if self.break_multiplier not in BREAK_MULTIPLIER_CHOICES:
            raise InvalidInput("break_multiplier", f"must be one of {BREAK_MULTIPLIER_CHOICES}")

    def names(self) -> list[str]:
        """Which adjustments are in effect, as short names for logs and summaries."""
        names = []
        if self.extra_time != 1.0:
            names.append(f"extra_time x{self.extra_time:g}")
        if self.extra_retakes:
            names.append(f"extra_retakes +{self.extra_retakes}")
        if self.text_answers:
            names.append("text_answers")
        if self.break_multiplier != 1.0:
            names.append(f"longer_breaks x{self.break_multiplier:g}")
        return names


@dataclass(frozen=True)
class Take:
    """One attempt at answering a question."""

    number: int
    mode: AnswerMode
    started_at: datetime
    seconds: float
    ended_by: str  # "candidate" or "time"
    text: str | None = None


@dataclass
class Answer:
    """A submitted answer: every take the candidate made and the one they chose."""

    question_id: str
    takes: list[Take]
    chosen: int
    submitted_at: datetime

    @property
    def chosen_take(self) -> Take:
        """The take the candidate submitted."""
        return self.takes[self.chosen - 1]


# A follow-up's answer is kept as an answer of its own under its question's id and this
# suffix: a character no template id may hold, so it can never meet a question's id.
FOLLOW_UP_SUFFIX = ".probe"


def follow_up_key(question_id: str) -> str:
    """Where the answer to `question_id`'s follow-up is kept in `Session.answers`."""
    return f"{question_id}{FOLLOW_UP_SUFFIX}"


def asked_question(answer_key: str) -> str:
    """The question an answer key belongs to (itself, or the question of a follow-up)."""
    return answer_key.removesuffix(FOLLOW_UP_SUFFIX)


class FollowUpOutcome(enum.StrEnum):
    """What the kiosk decided about a question's follow-up probes once its answer was kept."""

    ASKED = "asked"
    NOT_NEEDED = "not_needed"      # the answer showed what every probe is tied to
    NEEDS_REVIEW = "needs_review"  # unclear speech never costs a candidate anything
    NO_CONSENT = "no_consent"      # the candidate declined AI-assisted processing
    NO_TIME = "no_time"            # the interview would run past its time
    LIMIT = "limit"                # the interview's maximum of follow-ups was reached
    NOT_READY = "not_ready"        # not decided in time: the interview went on without it


@dataclass(frozen=True)
class FollowUp:
    """The decision about one question's follow-up (no content: which probe, and why)."""

    question_id: str
    outcome: FollowUpOutcome
    probe_id: str | None = None
    decided_at: datetime | None = None


@dataclass
class Session:
    """Everything kept about one candidate's interview."""

    id: str
    reference: str
    template_id: str
    template_sha256: str
    language: str
    candidate: CandidateDetails
    consents: Consents
    started_at: datetime
    accommodations: Accommodations = field(default_factory=Accommodations)
    answers: dict[str, Answer] = field(default_factory=dict)
    # Finished takes of questions not yet submitted (the review screen's), by question id.
    recorded: dict[str, list[Take]] = field(default_factory=dict)
    status: SessionStatus = SessionStatus.IN_PROGRESS
    updated_at: datetime | None = None
    ended_at: datetime | None = None
    interruption: str | None = None
    stopped_at_step: str | None = None
    breaks_taken: int = 0
    follow_ups: dict[str, FollowUp] = field(default_factory=dict)  # by question id
    # At a campus drive: its id, and the invite the session was started with (None for a
    # walk-in). Sent to HQ in the clear index, so HQ can count the drive's funnel.
    drive: str | None = None
    invite: str | None = None


@dataclass(frozen=True)
class Invited:
    """A candidate whose invitation the kiosk checked: the drive and invite, the details
    the drive's roster holds for them (to confirm or correct; None where the roster has not
    reached this kiosk), and the reference of their unfinished session, if any, to resume."""

    drive: str
    invite: str
    name: str | None = None
    contact: str | None = None
    resume: str | None = None


class SessionArchive(Protocol):
    """Where the flow keeps sessions between screens, interruptions and restarts."""

    def save(self, session: Session) -> None:
        """Store the session's current state durably."""
        ...

    def save_take(self, session: Session, question_id: str, take: Take) -> None:
        """Store one finished take of `session` durably (already in `session.recorded`)."""
        ...

    def find(self, reference: str) -> Session | None:
        """The session with this (normalised) reference code, or None."""
        ...


class MemoryArchive:
    """Sessions kept in this process only: for a flow given no store (as in many tests)."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def save(self, session: Session) -> None:
        """Keep a private copy, so later changes to `session` do not leak in."""
        self._sessions[session.reference] = copy.deepcopy(session)

    def save_take(self, session: Session, question_id: str, take: Take) -> None:
        """Keep the session with its new take."""
        self.save(session)

    def find(self, reference: str) -> Session | None:
        """A private copy of the stored session, or None."""
        found = self._sessions.get(reference)
        return copy.deepcopy(found) if found else None

    def all(self) -> list[Session]:
        """Copies of every stored session."""
        return [copy.deepcopy(s) for s in self._sessions.values()]
