"""The kiosk app as a whole: time to the welcome screen, memory and smoothness while recording.

Three design targets, measured on whatever machine this runs on:

1. **Start-up to the welcome screen: at most 3 s.** The parent prepares a data directory the
   way `kiosk init` does (`keys.init_keys` with the DEFAULT Argon2id parameters, 64 MiB, and
   an empty store). Then, `--repeat` times, it spawns a fresh `sys.executable -c SCRIPT`
   with `QT_QPA_PLATFORM=offscreen` and measures the wall time from `Popen` to reading the
   child's marker line. The child does what `kiosk-app` (`ui.app._run`) does: the imports
   (including `ui.app`), settings and logging, `keys.unlock` at the real KDF cost, opening the
   `Store` and keeping the template, starting the `WorkerProcess` (which loads the model in
   its own process; nobody waits for it), the camera probe, the `Runtime`, the flow, the
   `QApplication` with the stylesheet and the `KioskWindow` in kiosk mode; then
   `showFullScreen()` and `processEvents()`, and it prints the marker. The child also prints
   system-wide monotonic timestamps of each phase, so the total can be split up.
2. **Resident memory at most 600 MB while recording and transcribing.** The parent fills a
   data directory with `--sessions` completed demo interviews whose two spoken answers are
   about `--answer-seconds` of espeak-ng speech each (synthesised, AAC-encoded into vault
   files at `store.audio_path(...)`, as `tests/kiosk/transcription/test_worker.py` does), so
   the worker has 2 x `--sessions` long transcription jobs queued. A child process then starts
   as the kiosk does (unlock, store, `WorkerProcess`, `Runtime` with sample media,
   `KioskWindow`), waits until the worker has loaded its model and begun transcribing, drives
   the flow on a `FakeClock` to the ANSWER step of the demo's first (video) question, so the
   real `AnswerRecorder` records 1280x720@30 sample media in real time into vault files with
   the live preview on screen, and keeps the Qt event loop running for `--seconds`. Meanwhile
   the parent reads `VmRSS` of the app process and of the worker process from
   `/proc/PID/status` every `--interval` seconds and reports peak and mean of each and of
   their sum (the kiosk is both processes), plus each process's `VmHWM` (high-water mark since
   it started) at the end. Because the two processes map many of the same libraries, the RSS
   sum counts shared pages twice; the sum of `Pss` (`/proc/PID/smaps_rollup`) and of `RssAnon`
   are printed as well, for that view.

   On a machine with 2 cores or fewer the kiosk pauses the worker (SIGSTOP) while an answer
   is recorded. `--worker-mode running` (the worst case) disables that pause in the child so
   transcription really runs alongside the recording; `paused` keeps the kiosk's behaviour
   (the worker is stopped mid-job, its memory stays resident); `both` (default) runs each.
3. **The preview stays smooth: no frame interval above 100 ms on the GUI thread while
   recording and transcribing.** In the same child and the same take (unless
   `--skip-smoothness`), the GUI thread notes `time.perf_counter()` at the start and end of
   every tick of `KioskWindow.timer` (100 ms; `flow.tick()` and the screen's `refresh()`,
   which draws the recorder's newest preview frame into the self-view), whether that refresh
   drew a new preview frame, the same one again or none, each paint event of the self-view
   label, and each run of a separate 33 ms `PreciseTimer` probe (a stalled GUI thread shows
   as a long probe interval). The parent reports per worker mode the count, median, 95th
   percentile (nearest rank) and maximum of the intervals and how many exceed 100, 105 and
   150 ms, plus the GUI thread's CPU time and context switches. Still `QT_QPA_PLATFORM=
   offscreen`: widgets paint into an in-memory backing store; no display server, compositor,
   GPU or vsync is involved.

Usage (from the repository root):

    .venv/bin/python bench/app_bench.py [--repeat 5] [--seconds 20] [--interval 0.25]
        [--sessions 6] [--answer-seconds 60] [--worker-mode both|running|paused]
        [--samples-csv FILE] [--skip-startup] [--skip-memory] [--skip-smoothness]
        [--work-dir DIR]

Targets are printed, never enforced. Exit status: 0 after a run, 2 if espeak-ng is missing
(memory and smoothness parts) or a child process fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import queue
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(REPO_ROOT))

from _machine import cpu_model  # noqa: E402 - bench/ is on the path when a script runs

from kiosk import keys  # noqa: E402
from kiosk.store import Store  # noqa: E402

STARTUP_TARGET_SECONDS = 3.0
MEMORY_TARGET_MB = 600.0
SMOOTH_TARGET_MS = 100.0
SMOOTH_LIMITS_MS = (100.0, 105.0, 150.0)  # 105: a 100 ms CoarseTimer may fire 5% late
MB = 1024 * 1024  # VmRSS is in KiB; figures are reported in MiB ("MB" in the targets)
PASSPHRASE = "bench " + secrets.token_hex(8)  # a throwaway kiosk, like the demo's
PASSPHRASE_ENV = "APP_BENCH_PASSPHRASE"  # noqa: S105 - the name of a variable
MARKER = "WELCOME_SHOWN"
CHILD_TIMEOUT = 300.0

# --- child 1: a real start, up to the painted welcome screen ------------------------------
# argv: data dir. Prints "WELCOME_SHOWN {json}" with system-wide monotonic timestamps.
STARTUP_CHILD = """
import time
marks = {"script": time.monotonic()}
import json, os, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
from capture.devices import list_cameras
from kiosk import keys
from kiosk.flow import CandidateFlow, FlowTimings
from kiosk.logs import configure_logging
from kiosk.settings import Settings
from kiosk.store import Store
from kiosk.templates import find_template
from kiosk.transcription.worker import WorkerProcess
from ui import theme
from ui.app import open_kiosk
from ui.runtime import Runtime
from ui.window import KioskWindow
marks["imports"] = time.monotonic()
data_dir = Path(sys.argv[1])
settings = Settings.load(data_dir)
configure_logging(data_dir)
unlocked = open_kiosk(data_dir, os.environ["APP_BENCH_PASSPHRASE"])
marks["unlock"] = time.monotonic()
template = find_template(str(settings.get("interview.template")))
store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
store.keep_template(template)
marks["store"] = time.monotonic()
worker = WorkerProcess(data_dir, unlocked.identity)
marks["worker"] = time.monotonic()
runtime = Runtime(store, worker=worker, sample_media=not list_cameras())
flow = CandidateFlow(template, archive=store, timings=FlowTimings.from_settings(settings))
app = QApplication.instance() or QApplication(sys.argv[:1])
app.setStyleSheet(theme.stylesheet())
window = KioskWindow(flow, runtime, kiosk_mode=True, staff_check=lambda text: False)
marks["window"] = time.monotonic()
window.showFullScreen()
app.processEvents()
marks["shown"] = time.monotonic()
info = {"marks": marks, "screen": type(window.current).__name__,
        "visible": window.isVisible(), "size": [window.width(), window.height()],
        "step": flow.step.value}
print("WELCOME_SHOWN " + json.dumps(info), flush=True)
runtime.shut_down()
store.close()
"""

# --- child 2: recording an answer while the worker transcribes ----------------------------
# argv: data dir, seconds, worker mode ("running" or "paused"), ready timeout, smoothness
# ("1" to time the GUI thread during the take, "0" not to).
# Prints "RECORDING {json}" when the take has started, "STOPPING" when the time is up, and
# "RESULT {json}" after the take is closed.
MEMORY_CHILD = """
import json, os, resource, sys, time
from dataclasses import asdict
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from kiosk import keys
from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, Step
from kiosk.store import Store
from kiosk.templates import find_template
from kiosk.transcription.worker import WorkerProcess
from ui import theme
from ui.runtime import Runtime
from ui.window import KioskWindow

data_dir, seconds = Path(sys.argv[1]), float(sys.argv[2])
mode, ready_timeout = sys.argv[3], float(sys.argv[4])
smooth = sys.argv[5] == "1"
events = []
def progress(event):
    events.append({"t": time.monotonic(), **event})
unlocked = keys.unlock(data_dir, os.environ["APP_BENCH_PASSPHRASE"])
store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
template = find_template("demo")
store.keep_template(template)
worker = WorkerProcess(data_dir, unlocked.identity, on_progress=progress)
if mode == "running":
    worker.pause = lambda: None  # keep transcribing during the take (the worst case)
runtime = Runtime(store, worker=worker, sample_media=True)
clock = FakeClock()
flow = CandidateFlow(template, clock=clock, archive=store)
app = QApplication(sys.argv[:1])
app.setStyleSheet(theme.stylesheet())
window = KioskWindow(flow, runtime, kiosk_mode=True)
window.showFullScreen()
app.processEvents()
# Smoothness: time stamps (time.perf_counter, s) taken on the GUI thread while "on" (the
# take): each start and end of the window's 100 ms tick (flow.tick() and the screen's
# refresh(), which draws the newest preview frame), whether that refresh drew a new preview
# frame, the self-view's paint events, and a separate 33 ms PreciseTimer probe that only
# notes when it ran (a stalled GUI thread shows up as a long probe interval).
probe = {"on": False, "starts": [], "ends": [], "drawn": [], "paints": [], "probe": [],
         "rewired": False}
if smooth:
    from PySide6.QtCore import QEvent, QObject, Qt
    from ui.screens.interview import QuestionScreen
    perf = time.perf_counter
    got, last = [None], [None]
    real_preview = runtime.preview
    def preview_spy():
        result = real_preview()
        got[0] = result[0]
        return result
    runtime.preview = preview_spy  # what refresh() drew: a new frame, the same, or none
    def tick_start():
        got[0] = None
        if probe["on"]:
            probe["starts"].append(perf())
    def tick_end():
        if not probe["on"]:
            return
        probe["ends"].append(perf())
        image = got[0]
        probe["drawn"].append(0 if image is None else 1 if image is last[0] else 2)
        if image is not None:
            last[0] = image
    try:  # time the tick from its start: tick_start, then the window's own slot
        window.timer.timeout.disconnect(window._tick)
        window.timer.timeout.connect(tick_start)
        window.timer.timeout.connect(window._tick)
        probe["rewired"] = True
    except (RuntimeError, TypeError):
        pass
    window.timer.timeout.connect(tick_end)
    class PaintCounter(QObject):
        def eventFilter(self, watched, event):
            if probe["on"] and event.type() == QEvent.Type.Paint:
                probe["paints"].append(perf())
            return False
    painted = PaintCounter()
    window.screens[QuestionScreen].selfview.installEventFilter(painted)
    probe_timer = QTimer()
    probe_timer.setTimerType(Qt.TimerType.PreciseTimer)
    probe_timer.timeout.connect(lambda: probe["on"] and probe["probe"].append(perf()))
    probe_timer.start(33)
deadline = time.monotonic() + ready_timeout
while not any(e["event"] == "started" and e.get("kind") == "transcribe" for e in events):
    if worker.process.poll() is not None or time.monotonic() > deadline:
        print("FAILED the worker did not start transcribing", flush=True)
        runtime.shut_down()
        print(worker.error_output[-2000:], file=sys.stderr)
        sys.exit(2)
    app.processEvents()
    time.sleep(0.05)
flow.choose_language("en")  # on the welcome screen, as a candidate does
flow.start()
if flow.step is Step.LANGUAGE:
    flow.choose_language("en")
flow.identify("Bench Candidate", "bench@example.com")
flow.give_consent(recording=True, retention=True, ai_scoring=True)
flow.set_accommodations()
flow.report_devices(camera=True, microphone=True)
flow.devices_ready()
flow.skip_practice()
flow.begin_question()
flow.ready()
if flow.step is Step.COUNTDOWN:
    clock.advance(flow.time_left() or 0)
    flow.tick()
assert flow.step is Step.ANSWER, flow.step
started = time.monotonic()
print("RECORDING " + json.dumps({"app_pid": os.getpid(), "worker_pid": worker.process.pid,
                                 "mode": flow.mode.value,
                                 "screen": type(window.current).__name__,
                                 "size": [window.width(), window.height()]}), flush=True)
QTimer.singleShot(int(seconds * 1000), lambda: app.exit(0))  # quit() would ask the
# kiosk-mode window to close, which it refuses
usage_before = resource.getrusage(resource.RUSAGE_THREAD)  # the GUI thread
process_before, wall_before = time.process_time(), time.perf_counter()
probe["on"] = smooth
app.exec()
probe["on"] = False
usage_after = resource.getrusage(resource.RUSAGE_THREAD)
process_cpu, wall = time.process_time() - process_before, time.perf_counter() - wall_before
ended = time.monotonic()
smoothness = None
if smooth:
    smoothness = {key: probe[key] for key in ("starts", "ends", "drawn", "paints", "probe",
                                              "rewired")}
    smoothness.update({
        "wall": wall, "process_cpu": process_cpu,
        "gui_cpu": (usage_after.ru_utime + usage_after.ru_stime
                    - usage_before.ru_utime - usage_before.ru_stime),
        "gui_involuntary": usage_after.ru_nivcsw - usage_before.ru_nivcsw,
        "gui_voluntary": usage_after.ru_nvcsw - usage_before.ru_nvcsw,
        "tick_type": window.timer.timerType().name, "tick_ms": window.timer.interval(),
        "platform": app.platformName(), "cpus": os.cpu_count(),
        "worker_paused": bool(getattr(worker, "_paused", False))})
print("STOPPING", flush=True)
flow.finish_answer()
stats = runtime.last_stats
runtime.shut_down()
store.close()
window_events = [{**e, "t": round(e["t"] - started, 2)} for e in events]
print("RESULT " + json.dumps({"seconds": round(ended - started, 2),
                              "stats": asdict(stats) if stats else None,
                              "events": window_events, "smoothness": smoothness}),
      flush=True)
"""


# --- helpers ------------------------------------------------------------------------------

def child_env() -> dict[str, str]:
    """The environment of a child: offscreen Qt, the passphrase, the project importable."""
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env[PASSPHRASE_ENV] = PASSPHRASE
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                      env.get("PYTHONPATH")]))
    return env


def spawn(script: str, args: Sequence[str]) -> subprocess.Popen[str]:
    """`sys.executable -c script args...`, reading its output as text lines.

    The child leads a process group of its own, so that it and its worker can be ended
    together if it fails.
    """
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO_ROOT,
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def end_group(process: subprocess.Popen[str]) -> None:
    """Kill whatever is left of the child's own process group (a worker it left behind)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def line_reader(stream: IO[str]) -> queue.Queue[tuple[float, str | None]]:
    """A queue of (arrival time, line) from `stream`; (time, None) at its end."""
    lines: queue.Queue[tuple[float, str | None]] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put((time.monotonic(), line.rstrip("\n")))
        lines.put((time.monotonic(), None))

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for(lines: queue.Queue[tuple[float, str | None]], prefix: str,
             timeout: float) -> tuple[float, str]:
    """The first line starting with `prefix` and when it arrived; RuntimeError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            arrived, line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError(f"no {prefix!r} line within {timeout:.0f} s") from None
        if line is None:
            raise RuntimeError(f"the child ended before printing {prefix!r}")
        if line.startswith("FAILED"):
            raise RuntimeError(line)
        if line.startswith(prefix):
            return arrived, line[len(prefix):].strip()


def finish(process: subprocess.Popen[str], timeout: float = 60.0) -> str:
    """Wait for a child; its standard error (for diagnosis)."""
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        end_group(process)
        _, err = process.communicate()
    end_group(process)
    return err or ""


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile of `pid` in KiB (empty if it is gone)."""
    found: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return found
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            found[name] = int(value.split()[0])
    return found


def proc_pss(pid: int) -> int:
    """Proportional set size of `pid` in KiB (shared pages split among their users); 0 if gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def proc_state(pid: int) -> str:
    """The one-letter scheduler state of `pid` (R, S, T, ...), '?' if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def init_data_dir(path: Path) -> None:
    """A kiosk data directory as `kiosk init` leaves it: real-cost keys, an empty store."""
    path.mkdir(parents=True, exist_ok=True)
    keys.init_keys(path, PASSPHRASE)  # DEFAULT KdfParams: Argon2id, 64 MiB, 3 passes
    Store(path, keys.recipients(path)).close()


def machine_line() -> str:
    """nproc, CPU model, memory, Python."""
    model = cpu_model()
    memory = ""
    try:
        total = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total / MB:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{os.cpu_count()} CPUs ({model}){memory}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


# --- 1. start-up --------------------------------------------------------------------------

PHASES = (("interpreter", "script"), ("imports", "imports"), ("unlock", "unlock"),
          ("store", "store"), ("worker spawn", "worker"), ("window", "window"),
          ("show+paint", "shown"))


@dataclass
class StartRun:
    """One start: total wall time and its phases (seconds)."""

    total: float
    phases: dict[str, float]
    info: dict[str, Any]


def startup_run(data_dir: Path) -> StartRun:
    """Spawn a fresh kiosk start; time Popen to the welcome-screen marker."""
    began = time.monotonic()
    process = spawn(STARTUP_CHILD, [str(data_dir)])
    assert process.stdout is not None
    lines = line_reader(process.stdout)
    try:
        arrived, payload = wait_for(lines, MARKER, CHILD_TIMEOUT)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{finish(process, timeout=5)[-3000:]}") from None
    err = finish(process)
    if process.returncode != 0:
        raise RuntimeError(f"the start-up child failed ({process.returncode}):\n{err[-3000:]}")
    info = json.loads(payload)
    marks: dict[str, float] = info["marks"]
    phases, previous = {}, began
    for name, key in PHASES:
        phases[name] = marks[key] - previous
        previous = marks[key]
    phases["marker read"] = arrived - previous
    return StartRun(arrived - began, phases, info)


def run_startup(work: Path, repeat: int) -> list[StartRun]:
    """`repeat` starts over one prepared data directory."""
    data_dir = work / "startup-data"
    began = time.perf_counter()
    init_data_dir(data_dir)
    print(f"data directory ready ({time.perf_counter() - began:.1f} s, default Argon2id); "
          f"{repeat} starts", flush=True)
    runs = []
    for number in range(1, repeat + 1):
        run = startup_run(data_dir)
        runs.append(run)
        print(f"  start {number}: {run.total:.3f} s to the welcome screen "
              f"({run.info['screen']}, {run.info['size'][0]}x{run.info['size'][1]}, "
              f"visible={run.info['visible']})", flush=True)
    return runs


def print_startup(runs: list[StartRun]) -> None:
    """Min/median/max of the total and of each phase."""
    print(f"\nStart-up to the welcome screen (target: <= {STARTUP_TARGET_SECONDS:.0f} s), "
          f"{len(runs)} runs, seconds")
    print(f"  {'':<16}{'min':>8}{'median':>8}{'max':>8}   per run")
    names = [name for name, _ in PHASES] + ["marker read"]
    rows = [("TOTAL", [r.total for r in runs])] + [(n, [r.phases[n] for r in runs])
                                                   for n in names]
    for name, values in rows:
        each = " ".join(f"{v:.3f}" for v in values)
        print(f"  {name:<16}{min(values):8.3f}{statistics.median(values):8.3f}"
              f"{max(values):8.3f}   {each}")
    worst = max(r.total for r in runs)
    median = statistics.median(r.total for r in runs)
    verdict = "met" if worst <= STARTUP_TARGET_SECONDS else (
        "met by the median only" if median <= STARTUP_TARGET_SECONDS else "NOT met")
    print(f"  target <= {STARTUP_TARGET_SECONDS:.0f} s: {verdict} (median {median:.2f} s, "
          f"worst {worst:.2f} s)")


# --- 2. memory ----------------------------------------------------------------------------

def long_text(question_id: str, seconds: float) -> str:
    """About `seconds` of speech at espeak-ng's 150 words per minute."""
    from kiosk.demo.answers import GENERIC_ANSWER, sample_answer

    parts = [sample_answer(question_id), GENERIC_ANSWER]
    words: list[str] = []
    turn = 0
    while len(words) < seconds * 150 / 60:
        words += parts[turn % len(parts)].split()
        turn += 1
    return " ".join(words)


def prepare_sessions(data_dir: Path, sessions: int, answer_seconds: float) -> dict[str, float]:
    """`sessions` completed demo interviews with long spoken answers; seconds of each answer."""
    from capture.audio_file import encode_aac
    from kiosk.demo.scripted_candidate import take_demo_interview
    from kiosk.flow import CandidateFlow, FlowEvent, RecordingStopped
    from kiosk.transcription.sample_speech import synthesise
    from kiosk.transcription.transcriber import SAMPLE_RATE
    from kiosk.vault import create

    init_data_dir(data_dir)
    store = Store(data_dir, keys.recipients(data_dir))
    speech = {}
    durations: dict[str, float] = {}
    for question_id in ("introduce-yourself", "something-you-learned-recently"):
        speech[question_id] = synthesise(long_text(question_id, answer_seconds))
        durations[question_id] = len(speech[question_id]) / SAMPLE_RATE
    def record(flow: CandidateFlow, event: FlowEvent) -> None:
        if isinstance(event, RecordingStopped) and event.question_id in speech:
            session = flow.session()
            assert session is not None
            path = store.audio_path(session.id, event.question_id, event.take)
            with create(path, store.media_recipients(session.id)) as writer:
                encode_aac(speech[event.question_id], SAMPLE_RATE, writer)

    for number in range(sessions):
        take_demo_interview(store, on_event=record, name=f"Bench Candidate {number + 1}",
                            contact=f"bench{number + 1}@example.com")
    store.close()
    return durations


@dataclass
class MemoryRun:
    """RSS samples (KiB) of the app and its worker during one take, and what happened."""

    mode: str
    app: list[int] = field(default_factory=list)
    worker: list[int] = field(default_factory=list)
    total: list[int] = field(default_factory=list)
    worker_states: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    anon_total: list[int] = field(default_factory=list)
    pss_total: list[int] = field(default_factory=list)
    hwm: dict[str, int] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    sampled_seconds: float = 0.0


def memory_run(data_dir: Path, mode: str, seconds: float, interval: float, *,
               memory: bool = True, smoothness: bool = True) -> MemoryRun:
    """One child: record for `seconds` while the worker transcribes; sample both RSS.

    With `memory` False the parent only waits (no /proc reads); with `smoothness` the child
    also times its GUI thread (`MemoryRun.result["smoothness"]`).
    """
    process = spawn(MEMORY_CHILD, [str(data_dir), str(seconds), mode, str(CHILD_TIMEOUT),
                                   "1" if smoothness else "0"])
    assert process.stdout is not None
    lines = line_reader(process.stdout)
    try:
        _, payload = wait_for(lines, "RECORDING", CHILD_TIMEOUT)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{finish(process, timeout=5)[-3000:]}") from None
    info = json.loads(payload)
    app_pid, worker_pid = int(info["app_pid"]), int(info["worker_pid"])
    run = MemoryRun(mode, info=info)
    began = time.monotonic()
    stopping = False
    next_sample = began
    if not memory:
        interval = seconds + 5  # no samples: just wait for the end of the take
    while not stopping and time.monotonic() - began < seconds + 5:
        app, worker = (proc_status(app_pid), proc_status(worker_pid)) if memory else ({}, {})
        if "VmRSS" in app and "VmRSS" in worker:
            run.app.append(app["VmRSS"])
            run.worker.append(worker["VmRSS"])
            run.total.append(app["VmRSS"] + worker["VmRSS"])
            run.worker_states.append(proc_state(worker_pid))
            run.times.append(time.monotonic() - began)
            run.anon_total.append(app.get("RssAnon", 0) + worker.get("RssAnon", 0))
            run.pss_total.append(proc_pss(app_pid) + proc_pss(worker_pid))
            run.hwm = {"app": app.get("VmHWM", 0), "worker": worker.get("VmHWM", 0)}
        next_sample += interval
        while True:  # until the next sample is due, watch for the end of the take
            try:
                _, line = lines.get(timeout=max(0.0, next_sample - time.monotonic()))
            except queue.Empty:
                break
            if line is None or line.startswith("STOPPING"):
                stopping = True
                break
    run.sampled_seconds = time.monotonic() - began
    try:
        _, payload = wait_for(lines, "RESULT", CHILD_TIMEOUT)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{finish(process, timeout=5)[-3000:]}") from None
    run.result = json.loads(payload)
    err = finish(process)
    if process.returncode != 0:
        raise RuntimeError(f"the memory child failed ({process.returncode}):\n{err[-3000:]}")
    return run


def run_memory(work: Path, modes: list[str], seconds: float, interval: float, sessions: int,
               answer_seconds: float, *, memory: bool = True,
               smoothness: bool = True) -> tuple[list[MemoryRun], dict[str, float]]:
    """Prepare the queued work once, then one child per worker mode on a copy of it."""
    prepared = work / "memory-data"
    began = time.perf_counter()
    durations = prepare_sessions(prepared, sessions, answer_seconds)
    print(f"\n{sessions} completed demo sessions prepared "
          f"({time.perf_counter() - began:.1f} s): answers of "
          + ", ".join(f"{d:.1f} s" for d in durations.values())
          + f" -> {2 * sessions} transcription jobs queued", flush=True)
    runs = []
    for mode in modes:
        data_dir = work / f"memory-{mode}"
        shutil.copytree(prepared, data_dir)
        print(f"  worker {mode}: recording {seconds:.0f} s ...", flush=True)
        runs.append(memory_run(data_dir, mode, seconds, interval, memory=memory,
                               smoothness=smoothness))
    return runs, durations


def mib(kib: float) -> float:
    """KiB to MiB."""
    return kib * 1024 / MB


def print_memory(runs: list[MemoryRun], seconds: float) -> None:
    """Peak and mean RSS per process and summed, with what the worker and recorder did."""
    print(f"\nResident memory while recording 1280x720@30 sample media and transcribing "
          f"(target: <= {MEMORY_TARGET_MB:.0f} MB for app + worker), MiB (1 MiB = 1.048576 MB)")
    print(f"  {'worker mode':<12}{'process':<9}{'peak':>8}{'mean':>8}{'VmHWM':>8}  samples")
    for run in runs:
        hwm_sum = run.hwm.get("app", 0) + run.hwm.get("worker", 0)
        for name, values, hwm in (("app", run.app, run.hwm.get("app")),
                                  ("worker", run.worker, run.hwm.get("worker")),
                                  ("sum", run.total, hwm_sum)):
            if not values:
                continue
            high = f"{mib(hwm):8.1f}" if hwm else f"{'':>8}"
            print(f"  {run.mode:<12}{name:<9}{mib(max(values)):8.1f}"
                  f"{mib(statistics.fmean(values)):8.1f}{high}  {len(values)}")
    print("  (peak and mean: of the samples taken during the take; the sum is per sample. "
          "VmHWM: each process's high-water mark since it started, read at the last sample; "
          "its sum is an upper bound, as the two peaks need not coincide.)")
    for run in runs:
        if run.pss_total and run.anon_total:
            print(f"  {run.mode:<12}shared pages counted once: PSS sum peak "
                  f"{mib(max(run.pss_total)):.1f}, mean {mib(statistics.fmean(run.pss_total)):.1f}"
                  f"; anonymous (RssAnon) sum peak {mib(max(run.anon_total)):.1f}, mean "
                  f"{mib(statistics.fmean(run.anon_total)):.1f}")
    for run in runs:
        stats = run.result.get("stats") or {}
        events = run.result.get("events", [])
        length = float(run.result.get("seconds", seconds))
        states = {s: run.worker_states.count(s) for s in sorted(set(run.worker_states))}
        transcribed = [e for e in _with_kinds(events)
                       if e["event"] == "done" and e.get("kind") == "transcribe"
                       and 0 <= e["t"] <= length]
        busy = _busy_seconds(events, length)
        print(f"\n  [{run.mode}] take: {stats.get('frames')} frames, "
              f"{stats.get('dropped_frames')} dropped, {stats.get('video_seconds', 0):.1f} s "
              f"video, |drift| {abs(stats.get('drift', 0)) * 1000:.0f} ms, ended by "
              f"{stats.get('ended_by')}; screen {run.info.get('screen')} "
              f"{run.info.get('size')}, answer mode {run.info.get('mode')}")
        print(f"  [{run.mode}] worker main-thread states sampled: {states} (T = stopped); "
              f"jobs finished during the take: {len(transcribed)} transcriptions "
              f"({', '.join(str(e.get('seconds')) + ' s' for e in transcribed)}); a "
              f"transcription job was in hand (started, not done) for {busy:.1f} of "
              f"{length:.1f} s")
        peak = max(run.total) if run.total else 0
        peak_mb = peak * 1024 / 1e6
        if peak_mb <= MEMORY_TARGET_MB:
            verdict = "met"
        elif mib(peak) <= MEMORY_TARGET_MB:
            verdict = "met only if MB means MiB"
        else:
            verdict = "NOT met"
        print(f"  [{run.mode}] target <= {MEMORY_TARGET_MB:.0f} MB: {verdict} "
              f"(peak sum {mib(peak):.1f} MiB = {peak_mb:.1f} MB; sum of VmHWM "
              f"{mib(hwm_sum_of(run)):.1f} MiB = {hwm_sum_of(run) * 1024 / 1e6:.1f} MB)")


def _with_kinds(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The worker's events, each `done`/`failed` given the kind of the job it ends."""
    kinds: dict[Any, str] = {}
    marked = []
    for event in events:
        if event["event"] == "started":
            kinds[event.get("job")] = event.get("kind", "")
        marked.append({**event, "kind": event.get("kind") or kinds.get(event.get("job"), "")})
    return marked


def write_samples(path: Path, runs: list[MemoryRun]) -> None:
    """Every sample as CSV: mode, seconds since the take began, RSS in KiB, worker state."""
    rows = ["mode,t,app_kib,worker_kib,sum_kib,pss_sum_kib,anon_sum_kib,worker_state"]
    for run in runs:
        for t, app, worker, pss, anon, state in zip(run.times, run.app, run.worker,
                                                    run.pss_total, run.anon_total,
                                                    run.worker_states, strict=True):
            rows.append(f"{run.mode},{t:.2f},{app},{worker},{app + worker},{pss},{anon},"
                        f"{state}")
    path.write_text("\n".join(rows) + "\n")
    print(f"\nsamples written to {path}")


def hwm_sum_of(run: MemoryRun) -> int:
    """The two processes' high-water marks added up (KiB)."""
    return run.hwm.get("app", 0) + run.hwm.get("worker", 0)


def _busy_seconds(events: list[dict[str, Any]], length: float) -> float:
    """How long within [0, length] the worker had a transcription job started and not done."""
    busy, started = 0.0, None
    for event in events:
        t = min(max(float(event["t"]), 0.0), length)
        if event["event"] == "started" and event.get("kind") == "transcribe":
            started = t
        elif event["event"] in ("done", "failed") and started is not None:
            busy += t - started
            started = None
    if started is not None:
        busy += length - started
    return busy


# --- 3. smoothness -----------------------------------------------------------------------

def intervals_ms(times: Sequence[float]) -> list[float]:
    """Milliseconds between consecutive time stamps (seconds)."""
    return [(later - earlier) * 1000 for earlier, later in pairwise(times)]


def nearest_rank(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in 0..1) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * fraction) - 1))]


def smoothness_series(smooth: dict[str, Any]) -> list[tuple[str, int, list[float]]]:
    """(name, events, intervals or durations in ms) for each timed series of one take."""
    starts, ends = smooth["starts"], smooth["ends"]
    ticks = starts if smooth.get("rewired") else ends
    new_frames = [t for t, drawn in zip(ends, smooth["drawn"], strict=False) if drawn == 2]
    series = [("tick interval (100 ms timer)", len(ticks), intervals_ms(ticks))]
    if smooth.get("rewired"):
        series.append(("tick duration (tick + refresh)", len(ends),
                       [(end - start) * 1000 for start, end in zip(starts, ends,
                                                                   strict=False)]))
    series += [("new self-view frame interval", len(new_frames), intervals_ms(new_frames)),
               ("self-view paint interval", len(smooth["paints"]),
                intervals_ms(smooth["paints"])),
               ("probe interval (33 ms timer)", len(smooth["probe"]),
                intervals_ms(smooth["probe"]))]
    return series


def print_smoothness(runs: list[MemoryRun]) -> None:
    """Interval statistics of the GUI thread's ticks, the self-view and the probe per mode."""
    print(f"\nGUI-thread smoothness while recording and transcribing (target: no frame "
          f"interval above {SMOOTH_TARGET_MS:.0f} ms), milliseconds")
    print(f"  {'worker':<9}{'series':<32}{'events':>7}{'median':>8}{'p95':>8}{'max':>8}"
          + "".join(f"{'>' + format(limit, '.0f'):>6}" for limit in SMOOTH_LIMITS_MS))
    for run in runs:
        smooth = run.result.get("smoothness")
        if not smooth:
            continue
        for name, events, values in smoothness_series(smooth):
            if not values:
                print(f"  {run.mode:<9}{name:<32}{events:>7}  (no intervals)")
                continue
            over = "".join(f"{sum(v > limit for v in values):>6}" for limit in SMOOTH_LIMITS_MS)
            print(f"  {run.mode:<9}{name:<32}{events:>7}{statistics.median(values):8.1f}"
                  f"{nearest_rank(values, 0.95):8.1f}{max(values):8.1f}{over}")
    print("  (events: time stamps in the take; the columns after max count intervals longer "
          "than that many ms. p95: nearest rank. Durations, not intervals, for the tick "
          "duration row.)")
    for run in runs:
        smooth = run.result.get("smoothness")
        if not smooth:
            continue
        drawn = smooth["drawn"]
        wall = smooth["wall"] or 1.0
        ticks = intervals_ms(smooth["starts"] if smooth.get("rewired") else smooth["ends"])
        late = sum(v > SMOOTH_TARGET_MS for v in ticks)
        print(f"\n  [{run.mode}] platform {smooth['platform']!r}, {smooth['cpus']} CPUs, "
              f"worker paused during the take: {smooth['worker_paused']}; window timer "
              f"{smooth['tick_ms']} ms {smooth['tick_type']}; {wall:.1f} s timed")
        print(f"  [{run.mode}] refreshes: {drawn.count(2)} drew a new preview frame, "
              f"{drawn.count(1)} the same frame again, {drawn.count(0)} none; "
              f"{len(smooth['paints'])} self-view paint events")
        print(f"  [{run.mode}] CPU: GUI thread {smooth['gui_cpu']:.2f} s "
              f"({100 * smooth['gui_cpu'] / wall:.0f}% of one core), app process "
              f"{smooth['process_cpu']:.2f} s ({100 * smooth['process_cpu'] / wall:.0f}%); "
              f"GUI thread context switches: {smooth['gui_voluntary']} voluntary, "
              f"{smooth['gui_involuntary']} involuntary")
        slack = sum(v > SMOOTH_LIMITS_MS[1] for v in ticks)
        long = sum(v > SMOOTH_LIMITS_MS[2] for v in ticks)
        print(f"  [{run.mode}] target no tick interval > {SMOOTH_TARGET_MS:.0f} ms: "
              + ("met" if ticks and not late else "NOT met, read strictly" if ticks
                 else "no data")
              + f" ({late} of {len(ticks)} over, max {max(ticks, default=0):.1f} ms); "
              f"{slack} over {SMOOTH_LIMITS_MS[1]:.0f} ms (past the 100 ms CoarseTimer's 5% "
              f"slack), {long} over {SMOOTH_LIMITS_MS[2]:.0f} ms")


# --- main ---------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Measure start-up and memory; print the tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="starts to time (default 5)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="length of the recorded take while sampling memory (default 20)")
    parser.add_argument("--interval", type=float, default=0.25,
                        help="seconds between memory samples (default 0.25)")
    parser.add_argument("--sessions", type=int, default=6,
                        help="completed sessions queued for the worker (2 long jobs each)")
    parser.add_argument("--answer-seconds", type=float, default=60.0,
                        help="approximate length of each spoken answer (default 60)")
    parser.add_argument("--worker-mode", choices=("both", "running", "paused"),
                        default="both", help="worker during the take (see the docstring)")
    parser.add_argument("--samples-csv", help="also write every memory sample to this file")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-smoothness", action="store_true",
                        help="do not time the GUI thread during the take")
    parser.add_argument("--work-dir", help="keep the data directories here (default: a "
                                           "temporary directory, removed afterwards)")
    args = parser.parse_args(argv)

    print(f"machine: {machine_line()}")
    print(f"targets: start-up to the welcome screen <= {STARTUP_TARGET_SECONDS:.0f} s; "
          f"resident memory (app + worker) <= {MEMORY_TARGET_MB:.0f} MB while recording "
          f"and transcribing; no GUI-thread frame interval above {SMOOTH_TARGET_MS:.0f} ms "
          f"meanwhile. Printed, never enforced.", flush=True)
    temporary = None
    if args.work_dir:
        work = Path(args.work_dir)
        work.mkdir(parents=True, exist_ok=True)
    else:
        temporary = tempfile.TemporaryDirectory(prefix="app-bench-")
        work = Path(temporary.name)
    try:
        if not args.skip_startup:
            print_startup(run_startup(work, args.repeat))
        if not (args.skip_memory and args.skip_smoothness):
            from kiosk.transcription.sample_speech import espeak_available

            if not espeak_available():
                print("espeak-ng is not installed: the memory and smoothness parts need it",
                      file=sys.stderr)
                return 2
            modes = ["running", "paused"] if args.worker_mode == "both" else [args.worker_mode]
            runs, _ = run_memory(work, modes, args.seconds, args.interval, args.sessions,
                                 args.answer_seconds, memory=not args.skip_memory,
                                 smoothness=not args.skip_smoothness)
            if not args.skip_memory:
                print_memory(runs, args.seconds)
                if args.samples_csv:
                    write_samples(Path(args.samples_csv), runs)
            if not args.skip_smoothness:
                print_smoothness(runs)
    except RuntimeError as exc:
        print(f"app_bench: {exc}", file=sys.stderr)
        return 2
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
