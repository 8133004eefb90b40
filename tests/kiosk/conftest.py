"""Shared helpers for the domain tests: a small template and a flow on a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from kiosk.clock import FakeClock
from kiosk.demo.scripted_candidate import take_demo_interview
from kiosk.flow import CandidateFlow, FlowEvent, FlowTimings, Step
from kiosk.session import Accommodations, MemoryArchive
from kiosk.templates import InterviewTemplate, parse_template

SMALL_TEMPLATE = """\
format = 1
id = "small-test"
role = "Tester"
languages = ["en", "hi"]
title = {{ en = "Small", hi = "छोटा" }}
intro = {{ en = "Intro", hi = "परिचय" }}

[policy]
retention_days = 30
ai_scoring = {ai}

[practice]
prompt = {{ en = "Warm up", hi = "शुरुआत" }}
think_seconds = 10
answer_seconds = 20

[[questions]]
id = "q-one"
type = "{mode}"
prompt = {{ en = "First?", hi = "पहला?" }}
think_seconds = 30
answer_seconds = 60
retakes = {retakes}
competencies = ["talk"]
{probes}

[[questions]]
id = "q-two"
prompt = {{ en = "Second?", hi = "दूसरा?" }}
think_seconds = 20
answer_seconds = 90
retakes = 0
competencies = ["talk"]

[[questions]]
id = "q-three"
type = "text"
prompt = {{ en = "Third?", hi = "तीसरा?" }}
think_seconds = 15
answer_seconds = 300
competencies = ["talk"]

[[rubric.competencies]]
id = "talk"
name = "Talking"
description = "Says things."
weight = 1
levels.1 = "Silent."
levels.3 = "Talks."
levels.5 = "Talks well."

[[rubric.competencies.indicators]]
label = "Greets"
phrases = ["hello"]
{follow_ups}
"""

# q-one's follow-ups: too short first, then the indicator (template order decides).
PROBES = """
[[questions.probes]]
id = "say-more"
fewer_words_than = 4
prompt = {{ en = "Could you say a little more?", hi = "थोड़ा और बताइए?" }}
answer_seconds = 30

[[questions.probes]]
id = "greeting"
competency = "talk"
indicator = "Greets"
prompt = {{ en = "How would you greet a visitor?", hi = "आप किसी मेहमान का स्वागत कैसे करेंगे?" }}
think_seconds = 5
answer_seconds = 40
retakes = 1
"""

DRIVE = "d-0123456789"  # the campus drive of a harness made with `drive=DRIVE`

__all__ = ["DRIVE", "TIMINGS", "Harness", "probe_template", "small_template", "take_demo_interview"]

TIMINGS = FlowTimings(idle_seconds=60, idle_warning_seconds=20, countdown_seconds=3,
                      review_seconds=120, break_seconds=120, finished_seconds=30,
                      resume_window_hours=24)


def small_template(*, ai: bool = False, mode: str = "video", retakes: int = 1,
                   probes: bool = False, follow_ups: str = "") -> InterviewTemplate:
    """The three-question test template, with a few knobs (`probes`: q-one has two;
    `follow_ups`: the body of a [follow_ups] table)."""
    text = SMALL_TEMPLATE.format(
        ai=str(ai or probes).lower(), mode=mode, retakes=retakes,
        probes=PROBES.format() if probes else "",
        follow_ups=f"\n[follow_ups]\n{follow_ups}\n" if follow_ups else "")
    return parse_template(text.encode(), "small.toml")


def probe_template(follow_ups: str = "", mode: str = "video") -> InterviewTemplate:
    """The small template with follow-up probes on its first question."""
    return small_template(probes=True, follow_ups=follow_ups, mode=mode)


@dataclass
class Harness:
    """A flow on a fake clock, its archive, and every event it emitted."""

    flow: CandidateFlow
    clock: FakeClock
    archive: MemoryArchive
    events: list[FlowEvent] = field(default_factory=list)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.flow.tick()

    def of_type(self, kind: type) -> list[FlowEvent]:
        return [e for e in self.events if isinstance(e, kind)]

    def to(self, step: Step, *, practice: bool = False,
           accommodations: Accommodations | None = None) -> None:
        """Drive from welcome to `step` (the first question, or practice) the shortest way."""
        flow = self.flow
        if step is Step.WELCOME:
            return
        if step is Step.INVITATION:
            flow.scan_invitation()
            return
        flow.start()
        if flow.step is Step.LANGUAGE and step is not Step.LANGUAGE:
            flow.choose_language("en")
        if step in (Step.LANGUAGE, Step.IDENTIFY):
            return
        flow.identify("Test Candidate", "test@example.com")
        if step is Step.CONSENT:
            return
        if step is Step.DECLINED:
            flow.decline_consent()
            return
        flow.give_consent(recording=True, retention=True,
                          ai_scoring=True if flow.template.policy.ai_scoring else None)
        if step is Step.ACCOMMODATIONS:
            return
        flow.set_accommodations(accommodations)
        if step is Step.DEVICE_CHECK:
            return
        flow.report_devices(camera=True, microphone=True)
        flow.devices_ready()
        if not practice:
            flow.skip_practice()
        if step is Step.READ:
            return
        if step is Step.BREAK:
            self.answer_current()
            flow.take_break()
            return
        flow.begin_question()
        if step is Step.THINK:
            return
        flow.ready()
        if step is Step.COUNTDOWN:
            return
        if flow.step is Step.COUNTDOWN:
            self.advance(flow.time_left() or 0)
        if step is Step.ANSWER:
            return
        flow.finish_answer()
        if step is Step.REVIEW:
            return
        if step is Step.FOLLOW_UP_CHECK:
            flow.submit()
            assert flow.step is step, "only a template with probes reaches this step"
            return
        if step is Step.FINISHED:
            flow.submit()
            while flow.step is not Step.FINISHED:
                self.answer_current()
            return
        raise AssertionError(f"no path to {step}")

    def answer_current(self) -> None:
        """Answer the current question from READ and submit it."""
        flow = self.flow
        flow.begin_question()
        flow.ready()
        if flow.step is Step.COUNTDOWN:
            self.advance(flow.time_left() or 0)
        self.advance(5)
        flow.finish_answer()
        flow.submit()


@pytest.fixture
def make_harness() -> Callable[..., Harness]:
    """Build a harness around a template (the small one by default)."""
    def build(template: InterviewTemplate | None = None, timings: FlowTimings = TIMINGS,
              archive: MemoryArchive | None = None, clock: FakeClock | None = None,
              drive: str | None = None, walk_ins: bool = True) -> Harness:
        clock = clock or FakeClock()
        archive = archive if archive is not None else MemoryArchive()
        flow = CandidateFlow(template or small_template(), clock=clock, archive=archive,
                             timings=timings, drive=drive, walk_ins=walk_ins)
        harness = Harness(flow, clock, archive)
        flow.subscribe(harness.events.append)
        return harness
    return build


@pytest.fixture
def harness(make_harness: Callable[..., Harness], request: pytest.FixtureRequest) -> Harness:
    """A harness around the small template; a test about the follow-up step (its `step`
    parameter) gets the template with probes, the only one that reaches it."""
    callspec = getattr(request.node, "callspec", None)
    step = callspec.params.get("step") if callspec is not None else None
    if step is Step.INVITATION:  # only a kiosk at a campus drive reaches it
        return make_harness(drive=DRIVE)
    return make_harness(probe_template() if step is Step.FOLLOW_UP_CHECK else None)
