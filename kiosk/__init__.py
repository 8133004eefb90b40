"""The kiosk side of Interview Kiosk: a subpackage per capability, small shared modules at the top.

    flow/ templates/            the domain: the candidate-flow state machine, interview templates
    store/ vault/               the encrypted local store and the encrypted file format
    transcription/ scoring/     speech to text, evidence, suggestions and the scorecard
    uplink/ privacy/            the link to HQ; retention, compliance, self-identification
    demo/ commands/             the scripted demo; the `kiosk` command line

Nothing here imports Qt; the window in `ui/` is a thin view over `kiosk.flow`.
docs/architecture.md is the map.
"""

from kiosk.clock import Clock, FakeClock, SystemClock
from kiosk.errors import (
    ConfigError,
    FlowError,
    IllegalTransition,
    InvalidInput,
    KioskError,
    Problem,
    ResumeError,
    SettingsError,
    TemplateError,
)
from kiosk.flow import CandidateFlow, FlowTimings, Step
from kiosk.session import Accommodations, MemoryArchive, Session, SessionArchive, SessionStatus
from kiosk.settings import Settings
from kiosk.templates import InterviewTemplate, find_template, load_template

__all__ = [
    "Accommodations",
    "CandidateFlow",
    "Clock",
    "ConfigError",
    "FakeClock",
    "FlowError",
    "FlowTimings",
    "IllegalTransition",
    "InterviewTemplate",
    "InvalidInput",
    "KioskError",
    "MemoryArchive",
    "Problem",
    "ResumeError",
    "Session",
    "SessionArchive",
    "SessionStatus",
    "Settings",
    "SettingsError",
    "Step",
    "SystemClock",
    "TemplateError",
    "find_template",
    "load_template",
]
