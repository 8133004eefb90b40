"""Follow-up probes: the time from "Use this answer" to the follow-up on screen.

Issue 16's target: the probe is on screen within 2 s of the candidate keeping the take, for
answers up to 2 minutes, on 2 cores, while the recorder keeps 720p30 with no dropped frame.

Real recordings (`--data`, as in live_transcription_bench.py: every clip alone, and answers
of about `--long-seconds` joined from them) are played in REAL TIME as the candidate's
answer to the demo's question 2 (it has both kinds of probe: too few words, and an indicator
found by meaning), into the kiosk's own `FollowUpDecider` (`kiosk/probing/decider.py`: the
bundled speech model heard chunk by chunk, the evidence model, the rule), while an
`AnswerRecorder` records 1280x720 at 30 fps into sinks that keep nothing. The worst case is
measured: the candidate taps "Finish answer" (which stops the recorder, as on the kiosk) and
keeps the take at once (no time spent on the review screen, where the transcript would
otherwise finish). Dropped frames are the recorder's while the answer was heard live. The
time runs from the keep (`decide`) until the flow, given the decision, shows the
follow-up's step (`CandidateFlow.follow_up_decided`, which the window renders in the same
event-loop turn).

Named baseline, in the same run: deciding after transcribing the whole answer once it ends
(what the kiosk would do without live transcription): `Transcriber.transcribe_samples` on
the whole answer, then the same rule.

    .venv/bin/python bench/probe_bench.py [--data DIR] [--long-answers 3]
        [--long-seconds 120] [--no-singles]

Targets are printed, never enforced. Exit status: 0 after a run, 1 if a decision never
came, 2 if `--data` has no manifest.csv.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
from _machine import cpu_model  # bench/ is on the path when a script runs
from live_transcription_bench import DEFAULT_DATA, MANIFEST, Answer, Recording, play, read_answers
from record_bench import make_frames

from capture.recorder import TakeStats
from kiosk.clock import FakeClock
from kiosk.demo.scripted_candidate import to_first_question
from kiosk.flow import CandidateFlow, Step
from kiosk.probing import Decision, FollowUpDecider
from kiosk.scoring.probes import decide
from kiosk.templates import find_template
from kiosk.transcription.transcriber import Transcriber

TARGET_SECONDS = 2.0
QUESTION = "something-you-learned-recently"
WIDTH, HEIGHT, FPS = 1280, 720, 30
TIMEOUT = 120.0


@dataclass(frozen=True)
class Run:
    """One answer, kept at once, and what the kiosk decided."""

    answer: Answer
    seconds: float  # keep -> the follow-up's step
    decision: Decision
    stats: TakeStats
    baseline: float  # whole-answer transcription after the end, then the rule


def flow_at_the_check() -> CandidateFlow:
    """A demo flow whose second answer was just kept (the decision is awaited)."""
    clock = FakeClock()
    flow = CandidateFlow(find_template("demo"), clock=clock)
    to_first_question(flow, name="Bench Candidate", contact="bench@example.com")
    for _ in range(2):
        flow.begin_question()
        flow.ready()
        clock.advance(flow.time_left() or 0)  # the 3-2-1
        flow.tick()
        if flow.step is Step.ANSWER:
            flow.finish_answer()
        flow.submit()
    assert flow.step is Step.FOLLOW_UP_CHECK, flow.step
    return flow


def run_one(answer: Answer, number: int, decider: FollowUpDecider, transcriber: Transcriber,
            frames: list) -> Run:  # type: ignore[type-arg]
    """Play `answer` while recording, keep it at once, time the decision to the screen."""
    flow = flow_at_the_check()
    arrived = threading.Event()
    shown: list[float] = []
    decided: list[Decision] = []

    def done(decision: Decision) -> None:  # on the decider's thread; the GUI thread would
        decided.append(decision)           # get it through the Bridge at its next turn
        flow.follow_up_decided(QUESTION, decision.outcome, decision.probe_id)
        shown.append(time.perf_counter())
        arrived.set()

    with Recording(frames) as recording:
        feed = decider.hear(QUESTION, number, "en")
        assert feed is not None
        play(answer.samples, feed)
        stats = recording.stop()         # "Finish answer" stops the recorder, as the kiosk
        decider.ended(QUESTION, number)  # does, and the last chunk is left to transcribe
    kept = time.perf_counter()           # ... "Use this answer" at once: the worst case
    decider.decide(QUESTION, number, "en", None, TIMEOUT, done)
    arrived.wait(TIMEOUT)
    if not decided:
        raise RuntimeError(f"no decision for {answer.name}")
    started = time.perf_counter()
    whole = transcriber.transcribe_samples(answer.samples, language="en")
    template = find_template("demo")
    decide(template.question(QUESTION), whole, template.competencies, decider._model)
    baseline = time.perf_counter() - started
    decider.forget()
    return Run(answer, shown[0] - kept, decided[0], stats, baseline)


def report(runs: list[Run]) -> None:
    """Per answer length: keep-to-screen p50/p95/max, the baseline, dropped frames."""
    print("| answers | n | s each | keep to follow-up on screen p50 / p95 / max s | "
          "baseline: transcribe whole then decide p50 / p95 s | asked | dropped frames |")
    print("|---|---:|---|---|---|---:|---|")
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.answer.kind, []).append(run)
    for kind, group in groups.items():
        times = [r.seconds for r in group]
        base = [r.baseline for r in group]
        seconds = [r.answer.seconds for r in group]
        asked = sum(r.decision.probe_id is not None for r in group)
        dropped = sum(r.stats.dropped_frames for r in group)
        frames = sum(r.stats.frames + r.stats.dropped_frames for r in group)
        print(f"| {kind} | {len(group)} | {min(seconds):.0f}-{max(seconds):.0f} | "
              f"{np.percentile(times, 50):.2f} / {np.percentile(times, 95):.2f} / "
              f"{max(times):.2f} | {np.percentile(base, 50):.2f} / "
              f"{np.percentile(base, 95):.2f} | {asked} | {dropped} of {frames} |")
    times = [r.seconds for r in runs]
    p95 = float(np.percentile(times, 95))
    print(f"\ntarget: follow-up on screen within {TARGET_SECONDS:g} s of the keep, answers up "
          f"to 2 minutes: p95 {p95:.2f} s over {len(runs)} answers: "
          f"{'met' if p95 <= TARGET_SECONDS else 'NOT met'}; dropped frames "
          f"{sum(r.stats.dropped_frames for r in runs)}")


def main(argv: list[str] | None = None) -> int:
    """Run and print; see the module docstring for exit codes."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=type(DEFAULT_DATA), default=DEFAULT_DATA)
    parser.add_argument("--long-answers", type=int, default=3)
    parser.add_argument("--long-seconds", type=float, default=120.0)
    parser.add_argument("--no-singles", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data / MANIFEST).is_file():
        print(f"probe_bench: {args.data / MANIFEST} not found; give --data DIR",
              file=sys.stderr)
        return 2
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{os.cpu_count()} CPUs ({cpu_model()}), load average {load} at start, Python "
          f"{platform.python_version()}; recorder {WIDTH}x{HEIGHT} {FPS} fps; the kiosk's "
          f"FollowUpDecider on the demo's question 2")
    answers = read_answers(args.data, args.long_answers, args.long_seconds,
                           not args.no_singles)
    decider = FollowUpDecider(find_template("demo"))
    decider.wait_ready(300)
    transcriber = Transcriber()  # the baseline's, as the worker loads it (two threads)
    frames = make_frames(WIDTH, HEIGHT, 60)
    runs = []
    for number, answer in enumerate(answers, start=1):
        run = run_one(answer, number, decider, transcriber, frames)
        print(f"  {answer.name} ({answer.seconds:.0f} s): {run.seconds:.2f} s, "
              f"{run.decision.outcome.value} {run.decision.probe_id or ''}, dropped "
              f"{run.stats.dropped_frames}; baseline {run.baseline:.2f} s", flush=True)
        runs.append(run)
    print()
    report(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
