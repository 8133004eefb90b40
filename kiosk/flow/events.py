"""What the flow announces. Screens and the recorder subscribe; none of them decide the flow.

Events are delivered after the flow's state has changed, in the order they happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.flow.steps import Step
from kiosk.session import FollowUpOutcome
from kiosk.templates import AnswerMode


@dataclass(frozen=True)
class StepChanged:
    """The flow moved from `previous` to `step`."""

    step: Step
    previous: Step


@dataclass(frozen=True)
class SessionStarted:
    """The candidate consented; the session now exists with this reference code."""

    reference: str


@dataclass(frozen=True)
class SessionResumed:
    """An interrupted session was resumed; `answered` questions are already done."""

    reference: str
    answered: int


@dataclass(frozen=True)
class RecordingStarted:
    """Start capturing a take (for text answers: start accepting typing)."""

    question_id: str | None  # None for the practice question
    take: int
    mode: AnswerMode
    seconds: float
    practice: bool


@dataclass(frozen=True)
class RecordingStopped:
    """Stop capturing; `ended_by` is "candidate", "time" or "abort" (the take is dropped)."""

    question_id: str | None
    take: int
    ended_by: str
    practice: bool


@dataclass(frozen=True)
class AnswerSubmitted:
    """A question's answer was submitted with take number `take`."""

    question_id: str
    take: int


@dataclass(frozen=True)
class FollowUpNeeded:
    """A kept answer of a question with probes: decide now whether to ask one
    (`CandidateFlow.follow_up_decided`), within the flow's wait, or it goes on without."""

    question_id: str
    take: int
    mode: AnswerMode


@dataclass(frozen=True)
class FollowUpDecided:
    """What was decided about a question's follow-up (no content: which probe, and why)."""

    question_id: str
    outcome: FollowUpOutcome
    probe_id: str | None


@dataclass(frozen=True)
class IdleWarning:
    """Nobody has touched the kiosk for a while; wipe in `seconds_left` unless touched."""

    seconds_left: float


@dataclass(frozen=True)
class IdleCleared:
    """The candidate touched the screen during the idle warning."""


@dataclass(frozen=True)
class SessionInterrupted:
    """The session stopped before the end; it can be resumed with its reference code."""

    reference: str
    reason: str


@dataclass(frozen=True)
class SessionFinished:
    """Every answer is in."""

    reference: str


@dataclass(frozen=True)
class SessionWiped:
    """Everything about the candidate was dropped from memory; the kiosk is at welcome."""

    reason: str


FlowEvent = (
    StepChanged | SessionStarted | SessionResumed | RecordingStarted | RecordingStopped
    | AnswerSubmitted | FollowUpNeeded | FollowUpDecided | IdleWarning | IdleCleared
    | SessionInterrupted | SessionFinished | SessionWiped
)


Listener = Callable[[FlowEvent], None]


class Announcer:
    """Queues events while the flow changes state, then delivers them in order."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._queue: list[FlowEvent] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every event from now on; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def queue(self, event: FlowEvent) -> None:
        """Hold `event` until the change that caused it is complete."""
        self._queue.append(event)

    def deliver(self) -> None:
        """Hand every queued event to every listener."""
        queued, self._queue = self._queue, []
        for event in queued:
            for listener in list(self._listeners):
                listener(event)
