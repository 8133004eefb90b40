"""Recording an answer in real time while a transcription runs in another process.

For each size in `--sizes`, a `SyntheticSource` plays `--frames` prepared, varied BGR frames
(a textured scene panning slowly, moving shapes, fresh sensor-like noise in every frame, so
x264 has real work) at `--fps` with 48 kHz sound, in REAL TIME, for `--seconds`. An
`AnswerRecorder` encodes it into two vault files on disk, as the kiosk does: the MP4 into a
vault with segment size `VIDEO_SEGMENT_SIZE`, the 16 kHz AAC copy into one with
`AUDIO_COPY_SEGMENT_SIZE` (each a `VaultWriter` on a real file, fsync at least once a second).
Meanwhile a subprocess (`sys.executable -c ...`) at nice 10, like the kiosk's transcription
worker, loads `Transcriber()` and transcribes `--speech-seconds` of espeak-ng speech over and
over until it is killed at the end of the recording.

Reported per size:

- frames delivered (`TakeStats.frames`) against expected (seconds x fps), dropped frames
  (target: zero), audio gaps, and |drift| between sound and picture at the end
  (target: under one frame, 33 ms at 30 fps);
- the recording process's CPU time (`getrusage(RUSAGE_SELF)` user + sys over the recording)
  as a share of wall time: 100% is one core fully busy; also as a share of all cores;
- the vault's share of that CPU time, two ways. "Replay": after the recording, a fresh
  `VaultWriter` into memory encrypts as many random bytes as both recordings' plaintext, in
  the same write sizes the encoder made, timed with `time.process_time` (best of 3).
  "In situ": the CPU time (`time.thread_time`) the encoder thread spent inside the two vault
  writers' `write`/`flush`/`close` during the recording, which includes the system calls;
  the wall time spent there (fsync waits) is printed too. Target: at most 5%;
- bytes per minute of the video vault file and of the 16 kHz copy's vault file;
- the transcription subprocess's progress while the recording ran: how many transcriptions
  it completed, how long each took, and its CPU time, so it is plain that it ran concurrently.

Usage (from the repository root):

    .venv/bin/python bench/record_bench.py [--seconds 180] [--sizes 1280x720,640x480]
        [--fps 30] [--frames 60] [--speech-seconds 60] [--threads 2] [--no-transcription]
        [--work-dir DIR]

Targets are printed, never enforced. Exit status: 0 after a run, 1 if a recording failed
(it did not end normally or its vault files do not open), 2 if espeak-ng is missing or the
transcription subprocess does not start.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from _machine import cpu_model  # bench/ is on the path when a script runs

from capture.media import Image
from capture.recorder import (
    AUDIO_COPY_SEGMENT_SIZE,
    VIDEO_SEGMENT_SIZE,
    AnswerRecorder,
    TakeStats,
)
from capture.sources import SyntheticSource
from kiosk.transcription.sample_speech import espeak_available
from kiosk.vault import Identity, Recipient, VaultReader, VaultWriter

REPO_ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000
DROPPED_TARGET = 0
DRIFT_TARGET_FRAMES = 1.0
VAULT_SHARE_TARGET = 5.0  # percent of the recording's CPU time
READY_TIMEOUT = 600.0  # seconds for the subprocess to synthesise speech and load the model
REPLAY_REPEAT = 3

# The transcription subprocess: nice 10 as kiosk.transcription.worker, speech made once, then
# a loop. argv: speech seconds, threads. It prints "ready <seconds>" then "done <n> <seconds>"
# lines.
TRANSCRIBE_LOOP = """
import os, sys, time
import numpy as np
os.nice(10)
from kiosk.demo.answers import GENERIC_ANSWER, SAMPLE_ANSWERS
from kiosk.transcription.sample_speech import synthesise
from kiosk.transcription.transcriber import SAMPLE_RATE, Transcriber
wanted = int(float(sys.argv[1]) * SAMPLE_RATE)
texts = [GENERIC_ANSWER, *SAMPLE_ANSWERS.values()]
parts, total = [], 0
while total < wanted:
    part = synthesise(texts[len(parts) % len(texts)])
    parts.append(part)
    total += len(part)
samples = np.concatenate(parts)[:wanted].astype(np.float32)
transcriber = Transcriber(threads=int(sys.argv[2]))
print("ready", round(len(samples) / SAMPLE_RATE, 1), flush=True)
count = 0
while True:
    started = time.monotonic()
    transcript = transcriber.transcribe_samples(samples)
    count += 1
    print("done", count, round(time.monotonic() - started, 3), len(transcript.text.split()),
          flush=True)
"""


# --- prepared frames ----------------------------------------------------------------------

def make_frames(width: int, height: int, count: int, seed: int = 1) -> list[Image]:
    """`count` varied BGR frames: a panning textured scene, moving shapes, per-frame noise.

    The motion is periodic over `count` frames, so cycling through them has no jump; the
    noise (sigma 5) is fresh in every frame, like a real sensor's, so no two frames match.
    """
    rng = np.random.default_rng(seed)
    pad = 64
    # Texture: blurred noise at two scales over a diagonal colour gradient.
    coarse = cv2.resize(rng.integers(0, 256, ((height + pad) // 16, (width + pad) // 16, 3),
                                     dtype=np.uint8), (width + pad, height + pad),
                        interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(rng.integers(0, 256, (height + pad, width + pad, 3), dtype=np.uint8),
                            (0, 0), 1.5)
    ys, xs = np.mgrid[0:height + pad, 0:width + pad]
    gradient = ((xs / (width + pad) + ys / (height + pad)) * 60).astype(np.float32)
    scene = (0.55 * coarse + 0.25 * fine + gradient[..., None]).clip(0, 255).astype(np.uint8)
    shapes = [(rng.integers(0, 256, 3).tolist(), rng.uniform(0.1, 0.9, 2), rng.uniform(0.05, 0.3),
               int(rng.integers(1, 3))) for _ in range(8)]
    frames: list[Image] = []
    for index in range(count):
        phase = 2 * np.pi * index / count
        dx = int(pad / 2 * (1 + np.sin(phase)))  # slow pan, back and forth
        dy = int(pad / 4 * (1 + np.cos(phase)))
        image = np.ascontiguousarray(scene[dy:dy + height, dx:dx + width])
        for number, (colour, centre, radius, turns) in enumerate(shapes):
            cx = int(width * (centre[0] + radius * np.cos(turns * phase + number)))
            cy = int(height * (centre[1] + radius * np.sin(turns * phase + number)))
            size = max(8, min(width, height) // 12)
            if number % 2:
                cv2.circle(image, (cx, cy), size, colour, -1, cv2.LINE_AA)
            else:
                cv2.rectangle(image, (cx - size, cy - size // 2), (cx + size, cy + size // 2),
                              colour, -1)
        cv2.putText(image, f"frame {index:02d}", (width // 20, height // 10),
                    cv2.FONT_HERSHEY_SIMPLEX, height / 480, (255, 255, 255), 2, cv2.LINE_AA)
        noise = rng.normal(0.0, 5.0, image.shape).astype(np.int16)
        frames.append(np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8))
    return frames


# --- vault writers that account for their own cost ----------------------------------------

class TimedVaultWriter(VaultWriter):
    """A `VaultWriter` that adds up the CPU and wall time spent inside it, and its write sizes.

    `time.thread_time` is the calling thread's CPU time (user + system), so waiting for a
    disk in fsync counts as wall time only.
    """

    def __init__(self, sink: BinaryIO, recipients: Sequence[Recipient], *,
                 segment_size: int, close_sink: bool = False) -> None:
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0
        self.max_wall_seconds = 0.0
        self.write_sizes: list[int] = []
        cpu, wall = time.thread_time(), time.perf_counter()
        super().__init__(sink, recipients, segment_size=segment_size, close_sink=close_sink)
        self._account(cpu, wall)

    def _account(self, cpu: float, wall: float) -> None:
        self.cpu_seconds += time.thread_time() - cpu
        spent = time.perf_counter() - wall
        self.wall_seconds += spent
        self.max_wall_seconds = max(self.max_wall_seconds, spent)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """`VaultWriter.write`, timed."""
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            written = super().write(data)
            self.write_sizes.append(written)
            return written
        finally:
            self._account(cpu, wall)

    def flush(self) -> None:
        """`VaultWriter.flush`, timed."""
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            super().flush()
        finally:
            self._account(cpu, wall)

    def close(self) -> None:
        """`VaultWriter.close`, timed."""
        if self.closed:
            return
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            super().close()
        finally:
            self._account(cpu, wall)


def create_timed(path: Path, recipients: Sequence[Recipient], segment_size: int
                 ) -> TimedVaultWriter:
    """A timed writer on a new owner-only file, opened as `kiosk.vault.create` opens it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    sink = os.fdopen(fd, "wb", buffering=0)
    return TimedVaultWriter(sink, recipients, segment_size=segment_size, close_sink=True)


class NullSink:
    """Takes bytes and keeps none: the replay measures encryption, not memory copies."""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Accept everything."""
        return len(memoryview(data))

    def flush(self) -> None:
        """Nothing to flush."""


def replay_cpu(write_sizes: list[int], recipients: Sequence[Recipient], segment_size: int,
               repeat: int = REPLAY_REPEAT) -> float:
    """Best process CPU seconds for a `VaultWriter` to encrypt random bytes in these sizes."""
    payload = memoryview(os.urandom(max(write_sizes, default=0) or 1))
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        writer = VaultWriter(NullSink(), recipients, segment_size=segment_size)  # type: ignore[arg-type]
        for size in write_sizes:
            writer.write(payload[:size])
        writer.close()
        best = min(best, time.process_time() - start)
    return best


# --- the transcription subprocess ---------------------------------------------------------

@dataclass
class TranscriptionLoop:
    """The subprocess transcribing over and over, and what it has reported."""

    process: subprocess.Popen[str]
    speech_seconds: float = 0.0
    done: list[tuple[float, float]] = field(default_factory=list)  # (finished at, seconds)
    ready: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, speech_seconds: float, threads: int) -> TranscriptionLoop:
        """Start the subprocess and a thread reading its progress lines."""
        process = subprocess.Popen([sys.executable, "-c", TRANSCRIBE_LOOP, str(speech_seconds),
                                    str(threads)], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        loop = cls(process)
        threading.Thread(target=loop._read, daemon=True, name="transcription-progress").start()
        threading.Thread(target=loop._read_errors, daemon=True,
                         name="transcription-errors").start()
        return loop

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            words = line.split()
            if words[:1] == ["ready"]:
                self.speech_seconds = float(words[1])
                self.ready.set()
            elif words[:1] == ["done"]:
                self.done.append((time.monotonic(), float(words[2])))

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errors.append(line.rstrip())

    def cpu_seconds(self) -> float:
        """The subprocess's CPU time so far (user + system, all its threads)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def nice(self) -> int | None:
        """The subprocess's nice value as the kernel sees it."""
        try:
            return os.getpriority(os.PRIO_PROCESS, self.process.pid)
        except OSError:
            return None

    def kill(self) -> None:
        """End the subprocess (ours, by its pid)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- one run ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunResult:
    """Everything measured for one size."""

    width: int
    height: int
    fps: float
    seconds: float
    stats: TakeStats
    wall: float
    cpu: float
    video_bytes: int
    audio_bytes: int
    video_plain: int
    audio_plain: int
    replay_cpu: float
    situ_cpu: float
    situ_wall: float
    situ_max_wall: float
    transcriptions: int
    transcription_seconds: list[float]
    transcriber_cpu: float
    transcriber_nice: int | None
    speech_seconds: float
    vaults_open: bool

    @property
    def expected_frames(self) -> int:
        """Frames a perfect recording would hold."""
        return round(self.seconds * self.fps)

    @property
    def vault_share(self) -> float:
        """Replayed vault CPU as a percentage of the recording's CPU time."""
        return 100 * self.replay_cpu / self.cpu if self.cpu else float("nan")

    @property
    def situ_share(self) -> float:
        """In-situ vault CPU as a percentage of the recording's CPU time."""
        return 100 * self.situ_cpu / self.cpu if self.cpu else float("nan")


def rusage_cpu() -> float:
    """This process's user + system CPU seconds, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def vault_opens(path: Path, identity: Identity, plaintext_bytes: int) -> bool:
    """Whether the vault file decrypts completely to the expected number of bytes."""
    buffer = bytearray(1 << 20)
    total = 0
    try:
        with path.open("rb") as sealed, VaultReader(sealed, [identity]) as reader:
            while count := reader.readinto(buffer):
                total += count
    except Exception as exc:  # any failure to read back is reported, not raised
        print(f"  {path.name} does not open: {type(exc).__name__}: {exc}", file=sys.stderr)
        return False
    return total == plaintext_bytes


def record_once(args: argparse.Namespace, width: int, height: int, workdir: Path
                ) -> RunResult | None:
    """Record one answer at `width`x`height` while the transcription subprocess runs."""
    print(f"\n== {width}x{height} @ {args.fps:g} fps, {args.seconds:g} s, real time ==",
          flush=True)
    start = time.perf_counter()
    frames = make_frames(width, height, args.frames)
    print(f"prepared {len(frames)} frames in {time.perf_counter() - start:.1f} s", flush=True)
    identity = Identity.generate()
    recipients = [identity.recipient]
    loop: TranscriptionLoop | None = None
    if not args.no_transcription:
        loop = TranscriptionLoop.start(args.speech_seconds, args.threads)
        if not loop.ready.wait(READY_TIMEOUT) or loop.process.poll() is not None:
            loop.kill()
            print("record_bench: the transcription subprocess did not start:\n"
                  + "\n".join(loop.errors[-20:]), file=sys.stderr)
            return None
        print(f"transcription subprocess {loop.process.pid} ready (nice {loop.nice()}, "
              f"{loop.speech_seconds:g} s of espeak-ng speech, {args.threads} threads)",
              flush=True)
    video_path, audio_path = workdir / f"video-{width}x{height}.vault", \
        workdir / f"audio16k-{width}x{height}.vault"
    video = create_timed(video_path, recipients, VIDEO_SEGMENT_SIZE)
    audio = create_timed(audio_path, recipients, AUDIO_COPY_SEGMENT_SIZE)
    source = SyntheticSource(width, height, args.fps, seconds=args.seconds, realtime=True,
                             frames=frames)
    recorder = AnswerRecorder(source, video, audio)
    try:
        done_before = len(loop.done) if loop else 0
        transcriber_cpu0 = loop.cpu_seconds() if loop else 0.0
        cpu0, wall0 = rusage_cpu(), time.perf_counter()
        recorder.start()
        stats = recorder.wait(args.seconds + 120)
        if stats is None:
            print("record_bench: the recorder did not finish in time; stopping it",
                  file=sys.stderr)
            stats = recorder.stop()
        wall, cpu = time.perf_counter() - wall0, rusage_cpu() - cpu0
        transcriber_cpu = (loop.cpu_seconds() - transcriber_cpu0) if loop else 0.0
        finished = [seconds for at, seconds in loop.done[done_before:]] if loop else []
        nice = loop.nice() if loop else None
        speech_seconds = loop.speech_seconds if loop else 0.0
    finally:
        if loop is not None:
            loop.kill()
        video.close()
        audio.close()
    situ_cpu = video.cpu_seconds + audio.cpu_seconds
    situ_wall = video.wall_seconds + audio.wall_seconds
    situ_max = max(video.max_wall_seconds, audio.max_wall_seconds)
    replay = (replay_cpu(video.write_sizes, recipients, VIDEO_SEGMENT_SIZE)
              + replay_cpu(audio.write_sizes, recipients, AUDIO_COPY_SEGMENT_SIZE))
    opens = (vault_opens(video_path, identity, video.plaintext_bytes)
             and vault_opens(audio_path, identity, audio.plaintext_bytes))
    return RunResult(width, height, args.fps, args.seconds, stats, wall, cpu,
                     video_path.stat().st_size, audio_path.stat().st_size,
                     video.plaintext_bytes, audio.plaintext_bytes, replay, situ_cpu, situ_wall,
                     situ_max, len(finished), finished, transcriber_cpu, nice, speech_seconds,
                     opens)


# --- reporting ----------------------------------------------------------------------------

def machine_line() -> str:
    """One line naming the machine and the software measured."""
    return (f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, "
            f"PyAV {version('av')}, opencv {cv2.__version__}, numpy {np.__version__}, "
            f"cryptography {version('cryptography')}, faster-whisper "
            f"{version('faster-whisper')}, ctranslate2 {version('ctranslate2')}")


def report(result: RunResult, cores: int) -> None:
    """Print one run's figures and how they stand against the targets."""
    stats = result.stats
    minutes = result.seconds / 60
    frame_ms = 1000 / result.fps
    drift_ms = abs(stats.drift) * 1000
    rows: list[tuple[str, str, str]] = [
        ("frames expected / delivered", f"{result.expected_frames} / {stats.frames}", ""),
        ("dropped frames", str(stats.dropped_frames), f"target {DROPPED_TARGET}: "
         f"{'met' if stats.dropped_frames <= DROPPED_TARGET else 'MISSED'}"),
        ("|drift| at the end", f"{drift_ms:.1f} ms",
         f"target < {frame_ms:.0f} ms: "
         f"{'met' if drift_ms < DRIFT_TARGET_FRAMES * frame_ms else 'MISSED'}"),
        ("audio gaps", f"{stats.audio_gaps} ({stats.gap_seconds * 1000:.0f} ms filled)", ""),
        ("video / audio seconds", f"{stats.video_seconds:.3f} / {stats.audio_seconds:.3f}",
         f"ended by {stats.ended_by}" + (f": {stats.error}" if stats.error else "")),
        ("recording wall time", f"{result.wall:.1f} s",
         f"{(result.wall - result.seconds) * 1000:+.0f} ms against the source's length"),
        ("recording CPU", f"{result.cpu:.1f} s = {100 * result.cpu / result.wall:.0f}% of one "
         f"core", f"{100 * result.cpu / result.wall / cores:.0f}% of {cores} cores"),
        ("vault CPU, replay", f"{result.replay_cpu:.3f} s = {result.vault_share:.2f}% of the "
         f"recording's", f"target <= {VAULT_SHARE_TARGET:g}%: "
         f"{'met' if result.vault_share <= VAULT_SHARE_TARGET else 'MISSED'}"),
        ("vault CPU, in situ", f"{result.situ_cpu:.3f} s = {result.situ_share:.2f}% of the "
         f"recording's", f"wall {result.situ_wall:.2f} s in the writers, longest call "
         f"{result.situ_max_wall * 1000:.0f} ms"),
        ("video vault file", f"{result.video_bytes / MB / minutes:.2f} MB/min",
         f"{result.video_bytes} bytes ({result.video_bytes * 8 / result.seconds / 1e6:.2f} "
         f"Mbit/s)"),
        ("16 kHz copy vault file", f"{result.audio_bytes / MB / minutes:.3f} MB/min",
         f"{result.audio_bytes} bytes"),
        ("vault files open", "yes" if result.vaults_open else "NO", ""),
    ]
    if result.speech_seconds:
        each = result.transcription_seconds
        rows.append(("transcriptions meanwhile",
                     f"{result.transcriptions} x {result.speech_seconds:g} s of speech",
                     (f"{min(each):.1f}-{max(each):.1f} s each, " if each else "")
                     + f"subprocess CPU {result.transcriber_cpu:.0f} s = "
                     f"{100 * result.transcriber_cpu / result.wall:.0f}% of one core, "
                     f"nice {result.transcriber_nice}"))
    else:
        rows.append(("transcriptions meanwhile", "none (--no-transcription)", ""))
    width = max(len(name) for name, _, _ in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value}" + (f"   ({note})" if note else ""))


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' as (1280, 720)."""
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0,
                        help="length of each recording in seconds (default: 180)")
    parser.add_argument("--sizes", default="1280x720,640x480",
                        help="comma-separated WIDTHxHEIGHT list (default: 1280x720,640x480)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate (default: 30)")
    parser.add_argument("--frames", type=int, default=60,
                        help="prepared frames the source cycles through (default: 60)")
    parser.add_argument("--speech-seconds", type=float, default=60.0,
                        help="seconds of espeak-ng speech per transcription (default: 60)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads of the transcription model (default: 2, as the worker)")
    parser.add_argument("--no-transcription", action="store_true",
                        help="record without the transcription subprocess (a baseline)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the vault files go (default: the system temp dir)")
    args = parser.parse_args(argv)
    try:
        args.size_list = [parse_size(size) for size in args.sizes.split(",") if size.strip()]
    except ValueError:
        parser.error(f"--sizes: expected WIDTHxHEIGHT[,WIDTHxHEIGHT...], got {args.sizes!r}")
    if not args.size_list or min(min(size) for size in args.size_list) < 16:
        parser.error("--sizes: at least one size, each side at least 16 pixels")
    if args.seconds <= 0 or args.fps <= 0 or args.frames < 1 or args.speech_seconds <= 0:
        parser.error("--seconds, --fps, --frames and --speech-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every size and print the results; see the module docstring for exit codes."""
    args = parse_args(argv)
    if not args.no_transcription and not espeak_available():
        print("record_bench: espeak-ng is not installed (Debian: apt-get install espeak-ng)",
              file=sys.stderr)
        return 2
    cores = os.cpu_count() or 1
    print(machine_line())
    print(f"segments: video {VIDEO_SEGMENT_SIZE} bytes, 16 kHz copy {AUDIO_COPY_SEGMENT_SIZE} "
          f"bytes; MB = 10^6 bytes", flush=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="record-bench-", dir=args.work_dir) as workdir:
        for width, height in args.size_list:
            result = record_once(args, width, height, Path(workdir))
            if result is None:
                return 2
            report(result, cores)
            failed = failed or result.stats.ended_by != "stop" or not result.vaults_open
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
