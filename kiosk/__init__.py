"""Interview Kiosk's domain: templates, the candidate flow, settings and (soon) the vault.

Nothing here imports Qt; the window in `ui/` is a thin view over `kiosk.flow`.
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
