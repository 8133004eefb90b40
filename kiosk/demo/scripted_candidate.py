"""A candidate scripted end to end through the bundled demo interview, without narration.

Tests and benchmarks use it to fill a store with realistic sessions; `on_event` lets them
attach recordings as the takes happen. (The narrated, timed version is `kiosk.demo.headless`.)
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, FlowEvent, Step
from kiosk.session import Session, SessionArchive
from kiosk.templates import InterviewTemplate, find_template

TYPED_ANSWER = "It was easy to follow, for example the countdown."


def take_demo_interview(archive: SessionArchive, *, ai: bool = True, typed: str = "",
                        on_event: Callable[[CandidateFlow, FlowEvent], None] | None = None,
                        name: str = "Ravi Kumar",
                        contact: str = "candidate@example.com",
                        template: InterviewTemplate | None = None,
                        language: str = "en") -> Session:
    """Take the demo interview, or another with its shape (8 s per answer on a fake clock),
    in `language`; returns the stored session."""
    clock = FakeClock()
    flow = CandidateFlow(template or find_template("demo"), clock=clock, archive=archive)
    return answer_everything(flow, clock, ai=ai, typed=typed, on_event=on_event, name=name,
                             contact=contact, language=language)


def to_first_question(flow: CandidateFlow, *, ai: bool = True, name: str = "Ravi Kumar",
                      contact: str = "candidate@example.com", language: str = "en") -> None:
    """Take `flow` from its welcome to the first real question's card: details, consent
    (to AI-assisted processing as `ai` says), no adjustments, devices fine, no practice. A
    flow already past its welcome (an invited candidate, at a drive) goes on from there."""
    if flow.step is Step.WELCOME:
        flow.start()
    if flow.step is Step.LANGUAGE:  # a window over the flow may have chosen it already
        flow.choose_language(language)
    flow.identify(name, contact)
    flow.give_consent(recording=True, retention=True, ai_scoring=ai)
    flow.set_accommodations()
    flow.report_devices(camera=True, microphone=True)
    flow.devices_ready()
    flow.skip_practice()


def answer_everything(flow: CandidateFlow, clock: FakeClock, *, ai: bool = True,
                      typed: str = "",
                      on_event: Callable[[CandidateFlow, FlowEvent], None] | None = None,
                      name: str = "Ravi Kumar",
                      contact: str = "candidate@example.com",
                      language: str = "en") -> Session:
    """Take `flow` (on `clock`) from its start to the finished screen."""
    if on_event is not None:
        handler = on_event
        flow.subscribe(lambda event: handler(flow, event))
    to_first_question(flow, ai=ai, name=name, contact=contact, language=language)
    while flow.step is not Step.FINISHED:
        flow.begin_question()
        flow.ready()
        if flow.step is Step.COUNTDOWN:
            clock.advance(flow.time_left() or 0)
            flow.tick()
        clock.advance(8)
        flow.tick()
        if flow.mode.value == "text":
            flow.update_text(typed or TYPED_ANSWER)
        flow.finish_answer()
        flow.submit()
        if flow.step is Step.FOLLOW_UP_CHECK:
            # Nothing here listens for the answers: the wait runs out, as on a kiosk whose
            # decision comes too late, and the flow goes on (recording "not_ready").
            clock.advance(flow.time_left() or 0)
            flow.tick()
    session = flow.session()
    assert session is not None
    return session
