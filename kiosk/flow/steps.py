"""The steps of the candidate flow and the timings that drive them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.settings import Settings


class Step(enum.StrEnum):
    """Where the candidate is. The practice question uses the question steps too."""

    WELCOME = "welcome"
    INVITATION = "invitation"  # at a campus drive: scan the invitation or type its code
    LANGUAGE = "language"
    IDENTIFY = "identify"
    CONSENT = "consent"
    ACCOMMODATIONS = "accommodations"
    DEVICE_CHECK = "device_check"
    READ = "read"            # "Question k of n" card; the prompt is not shown yet
    THINK = "think"          # prompt shown, think countdown running
    COUNTDOWN = "countdown"  # 3-2-1 before recording
    ANSWER = "answer"        # recording (or typing) with the answer countdown
    REVIEW = "review"        # play back, retake or submit
    FOLLOW_UP_CHECK = "follow_up_check"  # a kept answer: is a follow-up asked? (seconds)
    BREAK = "break"
    FINISHED = "finished"
    DECLINED = "declined"    # the candidate declined a required consent


# Steps that wait for the candidate with no timer of their own: idle time counts here.
WAITING_STEPS = frozenset({
    Step.INVITATION, Step.LANGUAGE, Step.IDENTIFY, Step.CONSENT, Step.ACCOMMODATIONS,
    Step.DEVICE_CHECK, Step.READ,
})


@dataclass(frozen=True)
class FlowTimings:
    """Kiosk-wide timings of the flow (question times come from the template)."""

    idle_seconds: float = 60
    idle_warning_seconds: float = 20
    countdown_seconds: float = 3
    review_seconds: float = 120
    break_seconds: float = 120
    finished_seconds: float = 30
    resume_window_hours: float = 24
    follow_up_wait_seconds: float = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> FlowTimings:
        """The timings configured in `settings`."""
        def number(key: str) -> float:
            value = settings.get(f"flow.{key}")
            assert isinstance(value, int | float)
            return float(value)

        return cls(**{name: number(name) for name in cls.__dataclass_fields__})
