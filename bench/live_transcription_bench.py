"""Live transcription while recording 720p30: how soon after an answer ends its transcript is ready.

Issue 16 wants a follow-up probe on screen within 2 s of the candidate keeping a take, for
answers up to 2 minutes, on 2 cores, with the recorder dropping no frame. Of those 2 s, the
transcript may take about 1.2 s (`TARGET_SECONDS`); the rest goes to finding evidence.

Answers are real recordings (`--data`, or $KIOSK_SPEECH_DATA, else ../shared/data/speech:
the shared speech clips named by its manifest.csv):
every clip alone, and `--long-answers` answers of about `--long-seconds` each made by
joining the clips (not the derived concatenation) in turn with short pauses between them.

Each answer is played in REAL TIME into a `LiveTranscriber` (0.1 s blocks, each sent at its
time on an absolute schedule) while an `AnswerRecorder` records a `SyntheticSource` at
1280x720, 30 fps (record_bench's prepared frames: a panning texture, moving shapes and fresh
noise, so x264 has real work) into sinks that keep nothing. When the answer has been played,
`finish()` is called with the recorder still running (the worst case for the CPU), and the
time until `result()` returns is measured (`time.perf_counter`). Then the recorder stops and
its `TakeStats` give the dropped frames.

In the same run, for each answer:

- baseline: the time to transcribe the whole answer after it ends
  (`Transcriber.transcribe_samples` on all of it, the recorder stopped), which is what the
  kiosk would wait without live transcription;
- the recorder alone (no transcription at all) for as long as the answer: its dropped
  frames, the figure to compare with;
- the word error rate of the live transcript and of the whole-answer one against the
  manifest's reference (normalised as in transcribe_bench.py), so chunking's cost shows.

`--sweep` first measures the tail alone, which is what `chunk_seconds` and `threads` set:
with the recorder running, a `LiveTranscriber` is given one chunk's worth of speech at
once and finished, at `--sweep-repeat` places in a long answer, for every chunk length in
`--sweep-chunks` and every value of `--threads`. This is the time the last, partial chunk
can take at worst (it is at most one chunk long), without the real-time wait.

    .venv/bin/python bench/live_transcription_bench.py [--data DIR] [--chunk-seconds 8]
        [--threads 2] [--long-answers 3] [--long-seconds 120] [--no-singles] [--sweep]

`--threads` may list several values (`1,2`): each gets its own loaded model and its own
real-time runs. Targets are printed, never enforced. Exit status: 0 after a run, 1 if a
live transcription gave no result, 2 if `--data` has no manifest.csv.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
from _machine import cpu_model  # bench/ is on the path when a script runs
from record_bench import NullSink, make_frames
from transcribe_bench import normalise, wer

from capture.media import Image
from capture.recorder import AnswerRecorder, TakeStats
from capture.sources import SyntheticSource
from kiosk.transcription.live import LiveTranscriber
from kiosk.transcription.transcriber import (
    BUNDLED_MODEL_NAME,
    SAMPLE_RATE,
    Samples,
    Transcriber,
    decode_audio,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "KIOSK_SPEECH_DATA"  # a folder with manifest.csv, when --data is not given
DEFAULT_DATA = Path(os.environ.get(DATA_ENV) or REPO_ROOT.parent / "shared" / "data" / "speech")
MANIFEST = "manifest.csv"
TARGET_SECONDS = 1.2
WIDTH, HEIGHT, FPS = 1280, 720, 30
BLOCK = SAMPLE_RATE // 10
GAPS = (0.6, 0.9, 0.7, 1.0, 0.8)  # seconds between the clips of a joined answer
RESULT_TIMEOUT = 120.0
DERIVED = "derived_"  # a clip made of other clips: not joined again


@dataclass(frozen=True)
class Answer:
    """Audio played as one answer, with its reference text."""

    name: str
    kind: str
    samples: Samples
    reference: str

    @property
    def seconds(self) -> float:
        """Its length."""
        return len(self.samples) / SAMPLE_RATE


@dataclass(frozen=True)
class LiveRun:
    """One answer played in real time into a LiveTranscriber while recording."""

    answer: Answer
    threads: int
    chunk_seconds: float
    tail_seconds: float  # finish() to result()
    audio_left: float  # seconds of the answer not yet transcribed at finish()
    chunks: int
    chunks_before_finish: int
    stats: TakeStats
    live_text: str | None
    whole_seconds: float  # the baseline: the whole answer after it ends
    whole_text: str
    alone: TakeStats  # the recorder with no transcription


def read_answers(data: Path, long_answers: int, long_seconds: float,
                 singles: bool) -> list[Answer]:
    """Every clip alone (if `singles`), and answers of about `long_seconds` joined from them."""
    with (data / MANIFEST).open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    clips = [Answer(row["file"], "single clip", decode_audio(data / row["file"]),
                    (row.get("ref_norm") or "").strip() or row["ref"]) for row in rows]
    answers = list(clips) if singles else []
    parts = [clip for clip in clips if not clip.name.startswith(DERIVED)]
    turn = 0
    for number in range(long_answers):
        pieces: list[Samples] = []
        texts: list[str] = []
        total = 0.0
        while total < long_seconds:
            clip = parts[turn % len(parts)]
            gap = np.zeros(round(GAPS[turn % len(GAPS)] * SAMPLE_RATE), np.float32)
            pieces += [clip.samples, gap]
            texts.append(clip.reference)
            total += clip.seconds + len(gap) / SAMPLE_RATE
            turn += 1
        answers.append(Answer(f"joined answer {number + 1} ({len(texts)} clips)",
                              f"about {long_seconds:.0f} s", np.concatenate(pieces),
                              " ".join(texts)))
    return answers


class Recording:
    """The recorder at 720p30 into sinks that keep nothing, for as long as it is open."""

    def __init__(self, frames: list[Image]) -> None:
        source = SyntheticSource(WIDTH, HEIGHT, FPS, frames=frames, realtime=True)
        self.recorder = AnswerRecorder(source, NullSink(), NullSink())

    def __enter__(self) -> Recording:
        self.recorder.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.recorder.stats is None:
            self.recorder.stop()

    def stop(self) -> TakeStats:
        """Stop and give the take's figures."""
        return self.recorder.stop()


def play(samples: Samples, feed: Callable[[Samples], None]) -> None:
    """`samples` in 0.1 s blocks, each at its time from now (an absolute schedule)."""
    start = time.perf_counter()
    for index, first in enumerate(range(0, len(samples), BLOCK)):
        feed(samples[first:first + BLOCK])
        delay = start + (index + 1) * BLOCK / SAMPLE_RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def niced_threads() -> int:
    """Threads of this process at nice 10 or more now (the live transcriber's, its model's)."""
    count = 0
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        count += int(fields[16]) >= 10  # field 19 of stat, counted after the name
    return count


def run_live(answer: Answer, transcriber: Transcriber, threads: int, chunk_seconds: float,
             frames: list[Image], niced: list[int], alone: dict[str, TakeStats]) -> LiveRun:
    """One answer: live while recording, then the baseline, then (once per answer) the
    recorder alone."""
    live = LiveTranscriber(transcriber, language="en", chunk_seconds=chunk_seconds)
    with Recording(frames) as recording:
        play(answer.samples, live.feed)
        niced.append(niced_threads())
        left = answer.seconds - live.seconds_done
        started = time.perf_counter()
        live.finish()
        transcript = live.result(RESULT_TIMEOUT)
        tail = time.perf_counter() - started
        stats = recording.stop()
    started = time.perf_counter()
    whole = transcriber.transcribe_samples(answer.samples, language="en")
    whole_seconds = time.perf_counter() - started
    if answer.name not in alone:
        with Recording(frames) as recording:
            time.sleep(answer.seconds)
            alone[answer.name] = recording.stop()
    return LiveRun(answer, threads, chunk_seconds, tail, left, live.chunks_done,
                   live.chunks_before_finish, stats,
                   transcript.text if transcript else None, whole_seconds, whole.text,
                   alone[answer.name])


def sweep(answer: Answer, transcribers: dict[int, Transcriber], chunks: list[float],
          repeat: int, frames: list[Image]) -> None:
    """The tail alone: one chunk's worth given at once and finished, while recording."""
    print("| threads | chunk s | finish to result p50 s | p95 s | max s | "
          "dropped frames |")
    print("|--------:|--------:|-----------------------:|------:|------:|---------------:|")
    for threads, transcriber in transcribers.items():
        for chunk in chunks:
            size = round((chunk - 0.1) * SAMPLE_RATE)  # under the mark: one piece
            starts = np.linspace(0, len(answer.samples) - size, repeat).astype(int)
            times = []
            with Recording(frames) as recording:
                for first in starts:
                    live = LiveTranscriber(transcriber, language="en", chunk_seconds=chunk)
                    live.feed(answer.samples[first:first + size])
                    started = time.perf_counter()
                    live.finish()
                    live.result(RESULT_TIMEOUT)
                    times.append(time.perf_counter() - started)
                stats = recording.stop()
            p50, p95 = np.percentile(times, [50, 95])
            print(f"| {threads} | {chunk:g} | {p50:.2f} | {p95:.2f} | {max(times):.2f} | "
                  f"{stats.dropped_frames} of {stats.frames + stats.dropped_frames} |",
                  flush=True)


def report(runs: list[LiveRun], niced: list[int]) -> None:
    """Per threads value and answer length: the tail, the baseline, frames, accuracy."""
    print("| threads | chunk s | answers | n | s each | finish to result p50 / p95 / max s | "
          "baseline: whole after end p50 / p95 s | audio left at finish p50 / max s | "
          "chunks (before finish) | dropped frames live / alone | WER live / whole |")
    print("|---:|---:|---|---:|---|---|---|---|---|---|---|")
    groups: dict[tuple[int, float, str], list[LiveRun]] = {}
    for run in runs:
        kind = run.answer.kind if run.answer.seconds < 30 or run.answer.kind != "single clip" \
            else "single clip, long"
        groups.setdefault((run.threads, run.chunk_seconds, kind), []).append(run)
    for (threads, chunk, kind), group in groups.items():
        tails = [r.tail_seconds for r in group]
        wholes = [r.whole_seconds for r in group]
        lefts = [r.audio_left for r in group]
        seconds = [r.answer.seconds for r in group]
        references = [r.answer.reference for r in group]
        live_wer = wer(references, [r.live_text or "" for r in group])
        whole_wer = wer(references, [r.whole_text for r in group])
        dropped = sum(r.stats.dropped_frames for r in group)
        frames = sum(r.stats.frames + r.stats.dropped_frames for r in group)
        alone = sum(r.alone.dropped_frames for r in group)
        alone_frames = sum(r.alone.frames + r.alone.dropped_frames for r in group)
        print(f"| {threads} | {chunk:g} | {kind} | {len(group)} | "
              f"{min(seconds):.0f}-{max(seconds):.0f} | "
              f"{np.percentile(tails, 50):.2f} / {np.percentile(tails, 95):.2f} / "
              f"{max(tails):.2f} | {np.percentile(wholes, 50):.2f} / "
              f"{np.percentile(wholes, 95):.2f} | {np.percentile(lefts, 50):.1f} / "
              f"{max(lefts):.1f} | {sum(r.chunks for r in group)} "
              f"({sum(r.chunks_before_finish for r in group)}) | {dropped} of {frames} / "
              f"{alone} of {alone_frames} | {live_wer:.1%} / {whole_wer:.1%} |")
    print()
    failed = [r.answer.name for r in runs if r.live_text is None]
    if failed:
        print(f"NO live result for: {', '.join(failed)}")
    long_runs = [r for r in runs if r.answer.kind.startswith("about")]
    for threads, chunk in sorted({(r.threads, r.chunk_seconds) for r in long_runs}):
        tails = [r.tail_seconds for r in long_runs
                 if (r.threads, r.chunk_seconds) == (threads, chunk)]
        p95 = float(np.percentile(tails, 95))
        print(f"target (threads {threads}, chunk {chunk:g} s): result within "
              f"{TARGET_SECONDS} s of finish for 2-minute answers, p95 {p95:.2f} s: "
              f"{'met' if p95 <= TARGET_SECONDS else 'NOT met'}")
    print(f"threads of this process at nice >= 10 when each answer ended: "
          f"{min(niced, default=0)}-{max(niced, default=0)}")
    differing = [r for r in runs if r.live_text is not None
                 and normalise(r.live_text) != normalise(r.whole_text)]
    print(f"answers whose live and whole transcripts differ (normalised): {len(differing)} "
          f"of {len(runs)}; WER live vs whole over all: "
          f"{wer([r.whole_text for r in runs], [r.live_text or '' for r in runs]):.1%}")


def machine_line(threads: list[int], chunks: list[float]) -> str:
    """One line naming the machine and the software measured."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (f"{os.cpu_count()} CPUs ({cpu_model()}), load average {load} at start, Python "
            f"{platform.python_version()}, faster-whisper {version('faster-whisper')}, "
            f"ctranslate2 {version('ctranslate2')}, PyAV {version('av')}, model "
            f"{BUNDLED_MODEL_NAME}; recorder {WIDTH}x{HEIGHT} {FPS} fps; live: chunk "
            f"{','.join(f'{c:g}' for c in chunks)} s, threads {','.join(map(str, threads))}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"folder with {MANIFEST} and its clips (default: ${DATA_ENV}, else "
                             f"{DEFAULT_DATA})")
    parser.add_argument("--chunk-seconds", default="8",
                        help="LiveTranscriber's chunk_seconds; several, comma-separated, "
                             "are compared")
    parser.add_argument("--threads", default="2",
                        help="the Transcriber's threads; several, comma-separated, are compared")
    parser.add_argument("--long-answers", type=int, default=3)
    parser.add_argument("--long-seconds", type=float, default=120.0)
    parser.add_argument("--no-singles", action="store_true", help="only the joined answers")
    parser.add_argument("--sweep", action="store_true",
                        help="first, the tail alone for each chunk length and threads value")
    parser.add_argument("--sweep-only", action="store_true", help="the sweep and nothing else")
    parser.add_argument("--sweep-chunks", default="4,6,8,10,12")
    parser.add_argument("--sweep-repeat", type=int, default=6)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run and print; see the module docstring for exit codes."""
    args = parse_args(argv)
    if not (args.data / MANIFEST).is_file():
        print(f"live_transcription_bench: {args.data / MANIFEST} not found; give --data DIR, "
              f"a folder with {MANIFEST} and its clips", file=sys.stderr)
        return 2
    threads = [int(value) for value in args.threads.split(",")]
    chunks = [float(value) for value in args.chunk_seconds.split(",")]
    print(machine_line(threads, chunks), flush=True)
    started = time.perf_counter()
    answers = read_answers(args.data, args.long_answers, args.long_seconds,
                           not args.no_singles)
    if not answers:
        print("live_transcription_bench: no answers to play (--no-singles and "
              "--long-answers 0)", file=sys.stderr)
        return 2
    frames = make_frames(WIDTH, HEIGHT, 60)
    transcribers = {count: Transcriber(threads=count) for count in threads}
    for transcriber in transcribers.values():  # warm-up, untimed
        transcriber.transcribe_samples(answers[0].samples[:SAMPLE_RATE * 5], language="en")
    if args.sweep or args.sweep_only:
        print("\n## The tail alone: one chunk's worth, finished at once, while recording\n")
        sweep(max(answers, key=lambda a: a.seconds), transcribers,
              [float(v) for v in args.sweep_chunks.split(",")], args.sweep_repeat, frames)
        if args.sweep_only:
            return 0
    print("\n## Real-time answers\n", flush=True)
    runs: list[LiveRun] = []
    niced: list[int] = []
    alone: dict[str, TakeStats] = {}
    for (count, transcriber), chunk in itertools.product(transcribers.items(), chunks):
        for answer in answers:
            run = run_live(answer, transcriber, count, chunk, frames, niced, alone)
            runs.append(run)
            print(f"  threads {count}, chunk {chunk:g}, {answer.name} ({answer.seconds:.1f} s): "
                  f"finish to result {run.tail_seconds:.2f} s, "
                  f"whole after end {run.whole_seconds:.2f} s, "
                  f"dropped {run.stats.dropped_frames} / alone {run.alone.dropped_frames}",
                  file=sys.stderr, flush=True)
    print()
    report(runs, niced)
    print(f"\n(the run took {time.perf_counter() - started:.0f} s; load average at the end "
          f"{', '.join(f'{value:.2f}' for value in os.getloadavg())})")
    return 1 if any(run.live_text is None for run in runs) else 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
