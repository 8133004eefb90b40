"""The candidate flow: a plain-Python state machine with an injected clock."""

from kiosk.flow.events import (
    AnswerSubmitted,
    FlowEvent,
    FollowUpDecided,
    FollowUpNeeded,
    IdleCleared,
    IdleWarning,
    RecordingStarted,
    RecordingStopped,
    SessionFinished,
    SessionInterrupted,
    SessionResumed,
    SessionStarted,
    SessionWiped,
    StepChanged,
)
from kiosk.flow.machine import CandidateFlow
from kiosk.flow.plan import estimated_minutes
from kiosk.flow.steps import WAITING_STEPS, FlowTimings, Step

__all__ = [
    "WAITING_STEPS",
    "AnswerSubmitted",
    "CandidateFlow",
    "FlowEvent",
    "FlowTimings",
    "FollowUpDecided",
    "FollowUpNeeded",
    "IdleCleared",
    "IdleWarning",
    "RecordingStarted",
    "RecordingStopped",
    "SessionFinished",
    "SessionInterrupted",
    "SessionResumed",
    "SessionStarted",
    "SessionWiped",
    "Step",
    "StepChanged",
    "estimated_minutes",
]
