"""One kiosk process of the window soak: the real window, driven by scripted candidates.

Run by `bench/window_soak.py`, never by hand. The window, runtime, store, vault, recorder
(sample media: a synthetic source, or `--video FILE` through the file source) and, unless
`--no-worker`, the transcription worker process are the real ones. The flow runs on a fake
clock that the script moves, so idle wipes and timeouts happen at once. Every fact the
soak needs goes to standard output as one JSON object a line, flushed at once, so what a
process did before it died is still known: each take that ended, each answer kept, each
candidate's resident memory.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from bench.soak_candidates import Candidate, Wait
from bench.soak_hands import Hands, QtHands, XHands
from kiosk import keys
from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, FlowEvent, FlowTimings, RecordingStopped
from kiosk.flow import events as ev
from kiosk.store import Store
from kiosk.templates import find_template
from ui.runtime import Runtime
from ui.window import KioskWindow

STEP_MS = 15
STUCK_SECONDS = 60.0  # a wait longer than this is reported as stuck (never by a slow machine
# alone: every wait is for something the window itself must do)


def say(**fields: object) -> None:
    """One fact for the soak, on its own line."""
    print(json.dumps(fields), flush=True)


def resident_kib() -> int:
    """This process's resident memory (VmRSS), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class SoakKiosk:
    """The kiosk app's parts, put together as `kiosk-app` does, with a fake clock."""

    def __init__(self, data_dir: Path, passphrase: str, hands: Hands, *, worker: bool,
                 video: Path | None, size: tuple[int, int]) -> None:
        from kiosk.transcription.worker import WorkerProcess

        unlocked = keys.unlock(data_dir, passphrase)
        self.passphrase = passphrase
        self.store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
        self.clock = FakeClock()
        self.timings = FlowTimings()
        self.flow = CandidateFlow(find_template("demo"), clock=self.clock, archive=self.store,
                                  timings=self.timings)
        self.runtime = Runtime(self.store, unlocked=unlocked, video=video,
                               worker=WorkerProcess(data_dir, unlocked.identity) if worker
                               else None)
        self.window = KioskWindow(self.flow, self.runtime, kiosk_mode=False,
                                  staff_check=lambda text: text == passphrase)
        self.window.setGeometry(0, 0, *size)
        self.window.show()
        self.window.activateWindow()
        self.hands = hands
        self.flow.subscribe(self._on_event)

    def _on_event(self, event: FlowEvent) -> None:
        reference = self.flow.reference
        if isinstance(event, RecordingStopped) and not event.practice \
                and event.ended_by != "abort" and reference:
            take = self.flow.takes[-1]
            say(kind="take", reference=reference, question=event.question_id,
                take=event.take, mode=take.mode.value, text=take.text)
        elif isinstance(event, ev.AnswerSubmitted) and reference:
            say(kind="kept", reference=reference, question=event.question_id, take=event.take)

    def advance(self, seconds: float) -> None:
        """Move the flow's clock (idle time, a timer running out) and let it see that."""
        self.clock.advance(seconds)
        self.flow.tick()


def snapshot(kiosk: SoakKiosk) -> str:
    """What the window looks like, for a stuck report."""
    window, flow = kiosk.window, kiosk.flow
    active = QApplication.activeModalWidget() or QApplication.activeWindow()
    return (f"step {flow.step.value}, screen {type(window.current).__name__}, window "
            f"visible {window.isVisible()} state {window.windowState()}, overlay visible "
            f"{window.overlay.isVisible()} hidden {window.overlay.isHidden()}, idle warning "
            f"{flow.idle_warning}, active {type(active).__name__}")


def drive(app: QApplication, script: Iterator[Wait], kiosk: SoakKiosk) -> None:
    """Run `script` in the event loop: each item it yields is waited for before the next."""
    state: dict[str, object] = {"wait": None, "since": time.monotonic(), "busy": False}

    def step() -> None:
        if state["busy"]:
            return
        wait = state["wait"]
        if isinstance(wait, tuple):
            check, what = wait
            if not check():
                if time.monotonic() - float(state["since"]) > STUCK_SECONDS:  # type: ignore[arg-type]
                    say(kind="stuck", waiting_for=f"{what} [{snapshot(kiosk)}]")
                    app.exit(3)
                return
        state["busy"] = True
        try:
            state["wait"], state["since"] = next(script), time.monotonic()
        except StopIteration:
            timer.stop()
        except Exception as exc:  # the script's own failure: say so and end, never hang
            where = traceback.extract_tb(exc.__traceback__)[-1]
            say(kind="stuck", waiting_for=f"script error: {type(exc).__name__}: {exc} "
                                          f"({Path(where.filename).name}:{where.lineno})")
            app.exit(4)
        finally:
            state["busy"] = False

    timer = QTimer()
    timer.timeout.connect(step)
    timer.start(STEP_MS)
    status = app.exec()
    timer.stop()
    if status:
        raise SystemExit(status)


def script(kiosk: SoakKiosk, seed: int, first: int, count: int,
           staff_every: float) -> Iterator[Wait]:
    """`count` candidates from number `first`, with staff in the console now and then."""
    for number in range(first, first + count):
        rng = random.Random(seed * 1_000_003 + number)  # noqa: S311 - a replayable script
        started = time.monotonic()
        candidate = Candidate(kiosk, rng, number)
        yield from candidate.take_part()
        say(kind="candidate", number=number, rss_kib=resident_kib(),
            python_blocks=sys.getallocatedblocks(),  # Python's own objects, vs native memory
            seconds=round(time.monotonic() - started, 2), **candidate.summary())
        if rng.random() < staff_every:
            yield from candidate.staff_visit(export=rng.random() < 0.5)
    yield from close_the_kiosk(kiosk)


def close_the_kiosk(kiosk: SoakKiosk) -> Iterator[Wait]:
    """Staff enter and "Close the kiosk", as at the end of a day."""
    from bench.soak_candidates import open_console

    yield from open_console(kiosk)
    kiosk.hands.click(kiosk.window.console.quit)
    yield (lambda: not kiosk.window.isVisible(), "the window to close")


def main(argv: list[str] | None = None) -> int:
    """`soak_kiosk.py DATA_DIR --seed N --first K --count M [--x DISPLAY] ...`"""
    parser = argparse.ArgumentParser(prog="soak_kiosk")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--x", help="drive with xdotool on this X display")
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--video", type=Path)
    parser.add_argument("--staff-every", type=float, default=0.1)
    args = parser.parse_args(argv)
    passphrase = os.environ["SOAK_PASSPHRASE"]
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the soak asks when we hang
    app = QApplication(sys.argv[:1])
    hands: Hands = XHands(args.x) if args.x else QtHands()
    kiosk = SoakKiosk(args.data_dir, passphrase, hands, worker=not args.no_worker,
                      video=args.video, size=(1280, 800))
    say(kind="started", hands=hands.name, platform=app.platformName(), rss_kib=resident_kib())
    drive(app, script(kiosk, args.seed, args.first, args.count, args.staff_every), kiosk)
    kiosk.store.close()
    say(kind="closed")
    return 0




if __name__ == "__main__":
    sys.exit(main())
