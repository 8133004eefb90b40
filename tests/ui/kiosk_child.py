"""The real kiosk window in a process of its own, driven through one scenario, for the tests
that must watch a process die (an abort, a SIGKILL) rather than a test fail.

    python tests/ui/kiosk_child.py review-then-close DATA_DIR
    python tests/ui/kiosk_child.py die-on-review DATA_DIR video|audio|text
    python tests/ui/kiosk_child.py resume DATA_DIR REFERENCE

The window, runtime, store and vault are the real ones (sample media instead of a camera,
Qt's offscreen platform); clicks and typing are Qt test events on the real widgets. The
flow runs on a fake clock that the script moves, so no scenario waits for a countdown.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from kiosk import keys
from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, FlowTimings, Step
from kiosk.store import Store
from kiosk.templates import AnswerMode, find_template
from ui import qt_binding
from ui.runtime import Runtime
from ui.window import KioskWindow

PASS = "kiosk child passphrase"
Wait = Callable[[], bool] | None


class Kiosk:
    """The window over a real store, and a script's hands on it."""

    def __init__(self, data_dir: Path) -> None:
        unlocked = keys.unlock(data_dir, PASS)
        self.store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
        self.clock = FakeClock()
        self.flow = CandidateFlow(find_template("demo"), clock=self.clock, archive=self.store,
                                  timings=FlowTimings())
        # No follow-up decider: these scenarios are about crashes, and the flow's own wait
        # (moved on by `keep`) decides the demo's follow-up as "not ready".
        self.runtime = Runtime(self.store, unlocked=unlocked, decider=lambda flow: None)
        self.window = KioskWindow(self.flow, self.runtime, kiosk_mode=False,
                                  staff_check=lambda text: text == PASS)
        self.window.resize(1280, 800)
        self.window.show()

    @property
    def screen(self) -> QWidget:
        return self.window.stack.currentWidget()

    def click(self, widget: QWidget) -> None:
        assert widget.isVisible(), f"{type(widget).__name__} is not on screen"
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.flow.tick()

    def keep(self) -> None:
        """'Use this answer', and past a follow-up's wait."""
        self.click(self.screen.use)
        if self.flow.step is Step.FOLLOW_UP_CHECK:
            self.advance(self.flow.time_left() or 0)

    def to_questions(self, typed: bool) -> Iterator[Wait]:
        self.click(self.screen.start)
        if self.flow.step is Step.LANGUAGE:
            self.flow.choose_language("en")
        QTest.keyClicks(self.screen.name, "Asha Verghese")
        QTest.keyClicks(self.screen.contact, "asha@example.com")
        self.click(self.screen.next)
        for box in (self.screen.recording, self.screen.retention, self.screen.ai):
            box.setChecked(True)
        self.click(self.screen.agree)
        if typed:
            self.screen.typed.setChecked(True)
            self.click(self.screen.apply)
        else:
            self.click(self.screen.none)
        yield lambda: self.flow.step is Step.DEVICE_CHECK
        self.click(self.screen.go)
        self.click(self.screen.secondary)  # skip the practice question
        yield lambda: self.flow.step is Step.READ and not self.flow.in_practice

    def answer(self, text: str = "", seconds: float = 0.6) -> Iterator[Wait]:
        """Answer the current question and stop on its review screen."""
        self.click(self.screen.primary)  # show the question
        self.click(self.screen.primary)  # I'm ready
        if self.flow.step is Step.COUNTDOWN:
            self.advance(3)
        assert self.flow.step is Step.ANSWER
        if self.flow.mode is AnswerMode.TEXT:
            QTest.keyClicks(self.screen.typed, text)
        else:
            until = time.monotonic() + seconds
            yield lambda: time.monotonic() >= until  # the sample media runs in real time
        self.click(self.screen.primary)  # finish / hand in
        yield lambda: self.flow.step is Step.REVIEW

    def run(self, script: Iterator[Wait]) -> int:
        """Run `script` inside the event loop, then tear down as kiosk-app does."""
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        waiting: list[Wait] = [None]

        def step() -> None:
            if waiting[0] is not None and not waiting[0]():
                return
            try:
                waiting[0] = next(script)
            except StopIteration:
                timer.stop()

        timer = QTimer()
        timer.timeout.connect(step)
        timer.start(10)
        sys.excepthook = self.window.report_unexpected  # as kiosk-app does
        status = app.exec()
        self.store.close()
        return status


def review_then_close(kiosk: Kiosk) -> Iterator[Wait]:
    """The two sequences that aborted: a typed answer's review screen painting its ring for a
    long time, then the staff console playing an answer back and "Close the kiosk"."""
    yield from kiosk.to_questions(typed=False)
    yield from kiosk.answer()
    kiosk.keep()
    yield from kiosk.answer()
    kiosk.keep()
    yield from kiosk.answer(text="The countdown was clear.")
    ring = kiosk.screen.ring
    # Paint until a binding that drops a reference to None per call would have dropped
    # twice as many as None had (the real count, without any reserve the guard added).
    have = sys.getrefcount(None) % qt_binding.RESERVE
    before = sys.getrefcount(None)
    for _ in range(20):
        kiosk.window._tick()
        ring.repaint()
    per_frame = max(0.0, (before - sys.getrefcount(None)) / 20)
    frames = int(2 * have / per_frame) if per_frame >= 1 else 2000
    print(f"painting {frames} frames ({per_frame:.0f} dropped references each "
          f"on this binding; None had {have})", flush=True)
    for done in range(frames):
        kiosk.window._tick()
        ring.repaint()
        if done % 500 == 0:
            yield None  # let the event loop breathe
    kiosk.click(kiosk.screen.use)
    assert kiosk.flow.step is Step.FINISHED
    import ui.window

    ui.window.QInputDialog.getText = lambda *a, **k: (PASS, True)  # type: ignore[method-assign]
    kiosk.window.staff_entry()
    console = kiosk.window.console
    console.table.selectRow(0)
    kiosk.click(console.watch)
    played = time.monotonic() + 1.0
    yield lambda: time.monotonic() >= played
    kiosk.click(console.quit)  # "Close the kiosk"


def die_on_review(kiosk: Kiosk, mode: str) -> Iterator[Wait]:
    """Stop on the review screen of a `mode` answer and say so; the test kills us there."""
    yield from kiosk.to_questions(typed=mode == "text")
    if mode == "audio":
        yield from kiosk.answer()
        kiosk.keep()
    yield from kiosk.answer(text="Stock rotation first, then the shelf labels.")
    print(json.dumps({"reference": kiosk.flow.reference, "step": kiosk.flow.step.value,
                      "question": kiosk.flow.question_number}), flush=True)
    while True:
        yield None


def resume(kiosk: Kiosk, reference: str) -> Iterator[Wait]:
    """Resume by reference code from the welcome screen, and report where it landed."""
    import ui.window

    ui.window.QInputDialog.getText = (  # type: ignore[method-assign]
        lambda *a, **k: (reference.lower(), True))
    kiosk.click(kiosk.screen.resume)  # "I have a reference code"
    yield lambda: kiosk.flow.step is Step.DEVICE_CHECK
    kiosk.click(kiosk.screen.go)
    review = kiosk.flow.step is Step.REVIEW
    media = kiosk.runtime.take_media() if review else None
    takes = kiosk.flow.takes
    print(json.dumps({"step": kiosk.flow.step.value, "question": kiosk.flow.question_number,
                      "takes": [t.number for t in takes],
                      "text": takes[-1].text if takes else None,
                      "media_bytes": len(media) if media else 0,
                      "watch": kiosk.screen.watch.isVisible() if review else None}),
          flush=True)
    kiosk.window.close()


def play_and_stop(cycles: int) -> int:
    """Play a take back and stop it, `cycles` times, at random moments (no store needed)."""
    import faulthandler
    import io
    import random

    from capture.recorder import AnswerRecorder
    from capture.sources import SyntheticSource
    from ui.playback import MemoryPlayer

    app = QApplication(sys.argv[:1])
    memory = io.BytesIO()
    recorder = AnswerRecorder(SyntheticSource(640, 360, 30.0, label="SAMPLE"), memory)
    recorder.start()
    time.sleep(1.2)
    recorder.stop()
    window = QWidget()
    player = MemoryPlayer()
    player.video.setParent(window)
    window.resize(640, 480)
    window.show()
    rng = random.Random(12)  # noqa: S311 - replayable moments, not a secret
    done = [0]

    def play() -> None:
        faulthandler.dump_traceback_later(30, exit=True)  # a freeze ends the process
        player.play(memory.getvalue())
        QTimer.singleShot(int(rng.uniform(0, 600)), stop)

    def stop() -> None:
        player.stop()  # what "Use this answer" does to a take being watched
        done[0] += 1
        if done[0] == cycles:
            app.quit()
        else:
            QTimer.singleShot(10, play)

    QTimer.singleShot(100, play)
    app.exec()
    faulthandler.cancel_dump_traceback_later()
    print(f"stopped {done[0]} times", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "play-and-stop":
        return play_and_stop(int(argv[1]))
    scenario, data_dir = argv[0], Path(argv[1])
    QApplication(sys.argv[:1])
    kiosk = Kiosk(data_dir)
    scripts = {"review-then-close": lambda: review_then_close(kiosk),
               "die-on-review": lambda: die_on_review(kiosk, argv[2]),
               "resume": lambda: resume(kiosk, argv[2])}
    return kiosk.run(scripts[scenario]())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
