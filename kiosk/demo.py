"""The headless demo: a scripted candidate takes an interview on a fake clock.

It shows what the flow decides at every step without a screen, camera or microphone. Until
capture and transcription exist, answers are placeholders, and the output says so.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, FlowEvent, FlowTimings, Step
from kiosk.flow import events as ev
from kiosk.session import MemoryArchive, Session
from kiosk.templates import AnswerMode, InterviewTemplate

PLACEHOLDER_NOTICE = (
    "PLACEHOLDER ANSWERS: nothing is recorded or transcribed yet. Camera, microphone and "
    "transcription are not built; the takes below are timings only, with no audio or video."
)

DEMO_CANDIDATE = ("Asha Demo", "asha.demo@example.com")


class _Narrator:
    """Prints the candidate's actions and the flow's events with fake-clock times."""

    def __init__(self, flow: CandidateFlow, clock: FakeClock, out: Callable[[str], None]) -> None:
        self.flow = flow
        self.clock = clock
        self.start = clock.monotonic()
        self.out = out
        flow.subscribe(self.on_event)

    def stamp(self) -> str:
        seconds = int(self.clock.monotonic() - self.start)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def say(self, text: str) -> None:
        self.out(f"  {self.stamp()}  candidate  {text}")

    def on_event(self, event: FlowEvent) -> None:
        text = _describe(event, self.flow)
        if text:
            self.out(f"  {self.stamp()}  kiosk      {text}")

    def wait(self, seconds: float, why: str = "") -> None:
        if why:
            self.say(f"(waits {seconds:g} s{': ' + why if why else ''})")
        self.clock.advance(seconds)
        self.flow.tick()


def _describe(event: FlowEvent, flow: CandidateFlow) -> str:
    if isinstance(event, ev.StepChanged):
        detail = ""
        if event.step in (Step.READ, Step.THINK):
            detail = (" (practice question)" if flow.in_practice
                      else f" (question {flow.question_number} of {flow.question_count})")
        return f"step -> {event.step.value}{detail}"
    if isinstance(event, ev.RecordingStarted):
        what = "typing" if event.mode is AnswerMode.TEXT else f"{event.mode.value} recording"
        return f"{what} starts: take {event.take}, {event.seconds:g} s allowed"
    if isinstance(event, ev.RecordingStopped):
        why = "time ran out" if event.ended_by == "time" else event.ended_by
        return f"take {event.take} ends ({why})"
    if isinstance(event, ev.SessionStarted):
        return f"session started, reference code {event.reference}"
    if isinstance(event, ev.AnswerSubmitted):
        return f"answer to '{event.question_id}' submitted (take {event.take})"
    if isinstance(event, ev.IdleWarning):
        return f"'Are you still there?' (wipes in {event.seconds_left:g} s)"
    if isinstance(event, ev.IdleCleared):
        return "idle warning cleared"
    if isinstance(event, ev.SessionFinished):
        return f"interview complete; reference code {event.reference} shown as text and QR"
    if isinstance(event, ev.SessionWiped):
        return f"memory wiped ({event.reason}); ready for the next candidate"
    if isinstance(event, ev.SessionInterrupted):
        return f"session interrupted ({event.reason})"
    return ""


def run_demo(template: InterviewTemplate, out: Callable[[str], None] = print,
             language: str | None = None, timings: FlowTimings | None = None) -> Session:
    """Drive one scripted candidate through `template`; returns the stored session."""
    clock = FakeClock()
    archive = MemoryArchive()
    flow = CandidateFlow(template, clock=clock, archive=archive, timings=timings)
    n = _Narrator(flow, clock, out)
    language = language or template.default_language

    out(f"Interview Kiosk: headless demo of '{template.id}' "
        f"({len(template.questions)} questions; languages {', '.join(template.languages)})")
    out("A scripted candidate takes the interview on a fake clock.")
    out(PLACEHOLDER_NOTICE)
    out("")
    n.say(f"chooses language '{language}' and taps Start")
    flow.choose_language(language)
    flow.start()
    if flow.step is Step.LANGUAGE:
        flow.choose_language(language)
    n.wait(flow.timings.idle_seconds, "steps away from the kiosk")
    n.say("touches the screen")
    flow.touch()
    n.say("enters a name and an email address")
    flow.identify(*DEMO_CANDIDATE)
    ai = True if template.policy.ai_scoring else None
    n.say("agrees to recording and to keeping the data"
          + (" and to AI-assisted scoring" if ai else ""))
    flow.give_consent(recording=True, retention=True, ai_scoring=ai)
    n.say("asks for no adjustments")
    flow.set_accommodations()
    n.say("device check: camera and microphone simulated as working (capture is not built)")
    flow.report_devices(camera=True, microphone=True)
    flow.devices_ready()

    n.say("tries the practice question")
    _answer(flow, n, think_for=5, speak_for=10)
    flow.submit()

    for index in range(len(template.questions)):
        if index == 1:
            n.say("takes a break")
            flow.take_break()
            n.wait(30)
            n.say("comes back")
            flow.end_break()
        if index == 0:
            n.say("shows the question and lets the think time run out")
            flow.begin_question()
            n.wait(flow.time_left() or 0)
            _through_countdown(flow, n)
            n.wait(flow.time_left() or 0, "answers until the time runs out")
            if flow.takes_left:
                n.say("tries again, then picks the first take")
                flow.retake()
                _through_countdown(flow, n)
                n.wait(10)
                flow.finish_answer()
                flow.choose_take(1)
        else:
            _answer(flow, n, think_for=8, speak_for=20)
        flow.submit()

    session = flow.session()
    assert session is not None
    n.say("reads the reference code and leaves")
    n.wait(flow.timings.finished_seconds)
    out("")
    _summarise(session, template, out)
    return session


def _through_countdown(flow: CandidateFlow, n: _Narrator) -> None:
    if flow.step is Step.COUNTDOWN:
        n.wait(flow.time_left() or 0, "3-2-1")


def _answer(flow: CandidateFlow, n: _Narrator, *, think_for: float, speak_for: float) -> None:
    flow.begin_question()
    n.wait(think_for, "reads and thinks")
    n.say("taps I'm ready")
    flow.ready()
    _through_countdown(flow, n)
    if flow.mode is AnswerMode.TEXT:
        n.wait(speak_for, "types an answer")
        flow.update_text("Typed demo answer.")
    else:
        n.wait(speak_for, "answers")
    n.say("taps Finish answer, then Use this answer")
    flow.finish_answer()


def _summarise(session: Session, template: InterviewTemplate, out: Callable[[str], None]) -> None:
    out("Session summary")
    out(f"  reference code   {session.reference}")
    out(f"  status           {session.status.value}")
    out(f"  language         {session.language}")
    consents = session.consents
    out(f"  consents         recording={consents.recording} retention={consents.retention} "
        f"ai_scoring={consents.ai_scoring}")
    out(f"  adjustments      {', '.join(session.accommodations.names()) or 'none'}")
    out(f"  breaks taken     {session.breaks_taken}")
    out(f"  retention        {template.policy.retention_days} days")
    for number, question in enumerate(template.questions, start=1):
        answer = session.answers.get(question.id)
        if answer is None:
            out(f"  Q{number} {question.id}: not answered")
            continue
        take = answer.chosen_take
        out(f"  Q{number} {question.id}: {take.mode.value}, take {answer.chosen} of "
            f"{len(answer.takes)}, {take.seconds:g} s, ended by {take.ended_by}"
            + (f", text {take.text!r}" if take.text is not None else ", placeholder (no media)"))
    out(PLACEHOLDER_NOTICE)
