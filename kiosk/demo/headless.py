"""The headless demo: a scripted candidate takes a real session on a fake clock.

The candidate's voice is sample media, and the output says so: by default espeak-ng reads
well-written sample answers; with `--answers DIR`, audio files stand in. Everything else is
real: each spoken take is encoded to AAC straight into a vault file, the session is kept in
the encrypted store, the worker process transcribes the chosen takes (paused while a take is
recorded), the answers are scored when the interview and the candidate allow it, and the
scorecard is printed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from capture.check import CheckResult, check_frames, check_microphone
from capture.recorder import AUDIO_COPY_SEGMENT_SIZE, VIDEO_SEGMENT_SIZE, AnswerRecorder
from capture.sources import FileSource, Source, SyntheticSource
from kiosk.clock import FakeClock
from kiosk.demo.answers import sample_answer
from kiosk.flow import CandidateFlow, FlowEvent, FlowTimings, Step
from kiosk.flow import events as ev
from kiosk.probing import Decision, FollowUpDecider
from kiosk.store import Store
from kiosk.store import jobs as job_queue
from kiosk.templates import AnswerMode, InterviewTemplate
from kiosk.transcription.sample_speech import synthesise
from kiosk.transcription.transcriber import SAMPLE_RATE, Samples, decode_audio
from kiosk.transcription.worker import WorkerProcess
from kiosk.vault import create

SAMPLE_MEDIA_NOTICE = (
    "SAMPLE MEDIA: no camera or microphone is used. The candidate is scripted: their voice "
    "is espeak-ng reading sample answers (or the files given with --answers) over a labelled "
    "test picture (or the --video file), recorded through the real recorder."
)
DEMO_CANDIDATE = ("Asha Demo", "asha.demo@example.com")


class Voice:
    """What the scripted candidate says for each question."""

    def __init__(self, files: Sequence[Path] = (), video: Path | None = None) -> None:
        self._files = list(files)
        self._video = video
        self._cache: dict[str, Samples] = {}

    def audio(self, question_id: str, number: int) -> Samples:
        """The spoken answer to question `number` (1-based) as 16 kHz samples."""
        if question_id not in self._cache:
            if self._video is not None:
                self._cache[question_id] = decode_audio(self._video)
            elif self._files:
                self._cache[question_id] = decode_audio(
                    self._files[(number - 1) % len(self._files)])
            else:
                self._cache[question_id] = synthesise(sample_answer(question_id))
        return self._cache[question_id]

    def text(self, question_id: str) -> str:
        """The typed answer to a text question."""
        return sample_answer(question_id)

    def device_check(self) -> list[CheckResult]:
        """The real device check, run on the --video file (the test picture has no face)."""
        if self._video is None:
            return []
        import av

        with av.open(str(self._video)) as container:
            frames = [np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
                      for _, frame in zip(range(25), container.decode(video=0), strict=False)]
        return [*check_frames(frames),
                *check_microphone(decode_audio(self._video), SAMPLE_RATE)]

    def source(self, samples: Samples, mode: AnswerMode) -> Source:
        """What the recorder records for a take: the --video file, or labelled sample media."""
        picture = mode is AnswerMode.VIDEO
        if self._video is not None:
            return FileSource(self._video, realtime=False, video=picture)
        return SyntheticSource(640 if picture else 0, 360, 25.0, audio_rate=SAMPLE_RATE,
                               seconds=len(samples) / SAMPLE_RATE, realtime=False,
                               speech=samples, label="SAMPLE MEDIA - scripted candidate")


@dataclass(frozen=True)
class DemoResult:
    """The demo's session and how quickly its scorecard was ready."""

    session_id: str
    reference: str
    seconds_to_scorecard: float


class _Script:
    """The candidate's actions and the kiosk's reactions, narrated with fake-clock times."""

    def __init__(self, flow: CandidateFlow, clock: FakeClock, store: Store, voice: Voice,
                 worker: WorkerProcess | None, out: Callable[[str], None],
                 decider: FollowUpDecider | None = None) -> None:
        self.flow, self.clock, self.store, self.voice = flow, clock, store, voice
        self.worker, self.out = worker, out
        self.decider = decider
        self.start = clock.monotonic()
        self.pending: Samples | None = None
        self.needed: ev.FollowUpNeeded | None = None
        flow.subscribe(self.on_event)

    def stamp(self) -> str:
        seconds = int(self.clock.monotonic() - self.start)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def say(self, text: str) -> None:
        self.out(f"  {self.stamp()}  candidate  {text}")

    def kiosk(self, text: str) -> None:
        self.out(f"  {self.stamp()}  kiosk      {text}")

    def wait(self, seconds: float, why: str = "") -> None:
        if why:
            self.say(f"(waits {seconds:.0f} s: {why})")
        self.clock.advance(seconds)
        self.flow.tick()

    def on_event(self, event: FlowEvent) -> None:
        flow = self.flow
        if isinstance(event, ev.StepChanged):
            detail = ""
            if event.step in (Step.READ, Step.THINK):
                detail = (" (practice question)" if flow.in_practice
                          else f" (question {flow.question_number} of {flow.question_count})")
            self.kiosk(f"step -> {event.step.value}{detail}")
        elif isinstance(event, ev.RecordingStarted):
            what = "typing" if event.mode is AnswerMode.TEXT else f"{event.mode.value} recording"
            self.kiosk(f"{what} starts: take {event.take}, {event.seconds:.0f} s allowed")
            if self.worker and event.mode is not AnswerMode.TEXT:
                self.worker.pause()
        elif isinstance(event, ev.RecordingStopped):
            self.kiosk(f"take {event.take} ends "
                       f"({'time ran out' if event.ended_by == 'time' else event.ended_by})")
            self.store_take(event)
            if self.worker:
                self.worker.resume()
        elif isinstance(event, ev.SessionStarted):
            self.kiosk(f"session started, reference code {event.reference}")
        elif isinstance(event, ev.AnswerSubmitted):
            self.kiosk(f"answer to '{event.question_id}' submitted (take {event.take}); "
                       f"transcription queued")
        elif isinstance(event, ev.FollowUpNeeded):
            self.needed = event
        elif isinstance(event, ev.FollowUpDecided):
            self.kiosk(f"follow-up for '{event.question_id}': {event.outcome.value}"
                       + (f" (probe '{event.probe_id}')" if event.probe_id else ""))
        elif isinstance(event, ev.IdleWarning):
            self.kiosk(f"'Are you still there?' (wipes in {event.seconds_left:.0f} s)")
        elif isinstance(event, ev.SessionFinished):
            self.kiosk(f"interview complete; reference code {event.reference} shown")
        elif isinstance(event, ev.SessionWiped):
            self.kiosk(f"memory wiped ({event.reason}); ready for the next candidate")

    def store_take(self, event: ev.RecordingStopped) -> None:
        """The recording: the sample media goes through the real recorder into vault files."""
        samples, self.pending = self.pending, None
        if event.practice or event.question_id is None or samples is None \
                or event.ended_by == "abort":
            return  # practice takes are never stored
        session = self.flow.session()
        assert session is not None
        store, question_id = self.store, event.question_id
        recipients = store.media_recipients(session.id)
        video = create(store.video_path(session.id, question_id, event.take), recipients,
                       segment_size=VIDEO_SEGMENT_SIZE)
        audio = create(store.audio_path(session.id, question_id, event.take), recipients,
                       segment_size=AUDIO_COPY_SEGMENT_SIZE)
        hear = self.decider.hear(question_id, event.take, self.flow.language) \
            if self.decider is not None else None
        with video, audio:
            recorder = AnswerRecorder(self.voice.source(samples, self.flow.mode), video, audio,
                                      on_speech=hear)
            recorder.start()
            stats = recorder.wait()
        if self.decider is not None:
            self.decider.ended(question_id, event.take)
        assert stats is not None
        store.save_recording_stats(session.id, question_id, event.take, asdict(stats))
        self.kiosk(f"stored encrypted: {stats.frames} frames, {stats.audio_seconds:.1f} s of "
                   f"sound, drift {stats.drift * 1000:+.0f} ms")

    def answer(self, think_for: float, *, finish_early: bool = True) -> None:
        flow = self.flow
        self.wait(think_for, "reads the question and thinks")
        if flow.step is Step.THINK:
            self.say("taps I'm ready")
            flow.ready()
        if flow.step is Step.COUNTDOWN:
            self.wait(flow.time_left() or 0, "3-2-1")
        self.speak(finish_early)

    def speak(self, finish_early: bool = True) -> None:
        flow = self.flow
        assert flow.question is not None
        question_id = flow.answer_key or "practice"
        if flow.mode is AnswerMode.TEXT:
            self.wait(30, "types an answer")
            flow.update_text(self.voice.text(question_id))
        else:
            samples = self.voice.audio(question_id, flow.question_number)
            allowed = flow.time_left() or 0
            self.pending = samples[:int(allowed * SAMPLE_RATE)]
            spoken = len(self.pending) / SAMPLE_RATE
            if not finish_early:
                self.wait(allowed, "answers until the time runs out")
                return
            self.wait(spoken, "answers")
        self.say("taps Finish answer")
        flow.finish_answer()

    def follow_up(self) -> None:
        """After an answer is kept: the kiosk's follow-up decision, and the probe if asked."""
        flow, needed, decider = self.flow, self.needed, self.decider
        if flow.step is not Step.FOLLOW_UP_CHECK or needed is None:
            return
        self.needed = None
        wait = flow.timings.follow_up_wait_seconds
        if decider is not None and needed.mode is not AnswerMode.TEXT:
            decider.settle(needed.question_id, needed.take, timeout=60)  # the review's time
        session = flow.session()
        text = session.answers[needed.question_id].chosen_take.text if session else None
        decided: list[Decision] = []
        arrived = threading.Event()

        def done(decision: Decision) -> None:
            decided.append(decision)
            arrived.set()
        if decider is not None:
            decider.decide(needed.question_id, needed.take, flow.language, text, wait, done)
        if arrived.wait(wait + 0.5) and decided:
            decision = decided[0]
            self.kiosk(f"looked at the kept answer for its follow-up in {decision.seconds:.2f} "
                       f"s (real time; the flow waits at most {wait:.0f} s)")
            flow.follow_up_decided(decision.question_id, decision.outcome, decision.probe_id)
        else:
            self.wait(flow.time_left() or 0, "the follow-up decision was not ready in time")
        probe = flow.follow_up
        if probe is not None:
            self.kiosk(f"a short follow-up to the answer just given: "
                       f"\"{probe.prompt.get(flow.language)}\"")
            self.answer(think_for=4)
            self.say("taps Use this answer")
            flow.submit()


def run_demo(template: InterviewTemplate, store: Store, *, voice: Voice,
             worker: WorkerProcess | None, out: Callable[[str], None] = print,
             language: str | None = None, timings: FlowTimings | None = None) -> DemoResult:
    """Drive one scripted candidate through `template`, storing the session in `store`."""
    clock = FakeClock()
    if worker is not None:  # a write that finds the worker paused mid-transaction wakes it
        store.on_locked = worker.resume
    store.keep_template(template)
    flow = CandidateFlow(template, clock=clock, archive=store, timings=timings)
    decider = FollowUpDecider(template)
    decider.prepare()
    script = _Script(flow, clock, store, voice, worker, out, decider)
    language = language or template.default_language

    out(f"Interview Kiosk: headless demo of '{template.id}' "
        f"({len(template.questions)} questions; languages {', '.join(template.languages)})")
    out(SAMPLE_MEDIA_NOTICE)
    out("")
    script.say(f"chooses language '{language}' and taps Start")
    flow.choose_language(language)
    flow.start()
    if flow.step is Step.LANGUAGE:
        flow.choose_language(language)
    script.wait(flow.timings.idle_seconds, "steps away from the kiosk")
    script.say("touches the screen")
    flow.touch()
    script.say("enters a name and an email address")
    flow.identify(*DEMO_CANDIDATE)
    ai = True if template.policy.ai_scoring else None
    script.say("agrees to recording and to keeping the data"
               + (" and to AI-assisted scoring" if ai else ""))
    flow.give_consent(recording=True, retention=True, ai_scoring=ai)
    script.say("asks for no adjustments")
    flow.set_accommodations()
    script.say("device check: sample media stands in for the camera and microphone")
    for result in voice.device_check():
        script.kiosk(f"check {result.name}: {'ok' if result.ok else 'NOT OK'}: "
                     f"{result.message}" + (f" Fix: {result.fix}" if result.fix else ""))
    flow.report_devices(camera=True, microphone=True)  # sample media: nothing to fix
    if decider.needed:
        script.kiosk("loads the speech and evidence models for follow-up questions")
        decider.wait_ready(120)
    flow.devices_ready()

    script.say("tries the practice question (never stored)")
    flow.begin_question()
    script.answer(think_for=5)
    flow.submit()
    for index in range(len(template.questions)):
        if index == 1:
            script.say("takes a break")
            flow.take_break()
            script.wait(30)
            script.say("comes back")
            flow.end_break()
        flow.begin_question()
        if index == 0 and flow.mode is not AnswerMode.TEXT:
            script.say("lets the think time run out")
            script.answer(think_for=flow.time_left() or 0)
            if flow.takes_left:
                script.say("tries again, then keeps the first take")
                flow.retake()
                script.wait(flow.time_left() or 0, "3-2-1")
                script.speak()
                flow.choose_take(1)
        else:
            script.answer(think_for=8)
        script.say("taps Use this answer")
        flow.submit()
        script.follow_up()
    decider.forget()
    submitted = time.monotonic()
    session = flow.session()
    assert session is not None
    script.say("reads the reference code and leaves")
    script.wait(flow.timings.finished_seconds)
    _wait_for_worker(store, worker, out)
    return DemoResult(session.id, session.reference, time.monotonic() - submitted)


def _wait_for_worker(store: Store, worker: WorkerProcess | None,
                     out: Callable[[str], None]) -> None:
    """Until every transcription job is done (the worker scores the session at the end)."""
    if worker is None:
        return
    out("")
    out("  waiting for the worker to transcribe and score the answers ...")
    while True:
        counts = job_queue.counts(store)
        if not counts.get("queued") and not counts.get("running"):
            return
        if worker.process.poll() is not None:
            raise RuntimeError(f"the transcription worker stopped: {worker.error_output}")
        time.sleep(0.1)
