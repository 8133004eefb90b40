"""Walk the candidate journey and save a PNG of every screen, in English and Hindi.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--sizes 1280x800,1920x1080]

Runs on Qt's offscreen platform unless a display is set (e.g. under xvfb-run). The kiosk is a
throwaway demo with sample media and a fake clock, so every screen is reached in seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from kiosk import keys
from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, Step
from kiosk.store import Store
from kiosk.templates import find_template
from ui import i18n, theme
from ui.runtime import Runtime
from ui.window import KioskWindow


def walk(app: QApplication, out: Path, language: str, size: tuple[int, int]) -> list[Path]:
    """One journey; a screenshot at every step worth seeing."""
    data_dir = Path(tempfile.mkdtemp(prefix="kiosk-shots-"))
    keys.init_keys(data_dir, "screenshot passphrase", keys.KdfParams(8192, 1, 1))
    unlocked = keys.unlock(data_dir, "screenshot passphrase")
    store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
    clock = FakeClock()
    flow = CandidateFlow(find_template("demo"), clock=clock, archive=store)
    window = KioskWindow(flow, Runtime(store), kiosk_mode=False)
    window.resize(*size)
    window.show()
    saved: list[Path] = []

    def shot(name: str) -> None:
        for _ in range(3):
            app.processEvents()
            time.sleep(0.05)
        if window.stack.currentWidget() is not window.console:
            window.current.refresh()
        path = out / f"{language}-{size[0]}x{size[1]}-{len(saved) + 1:02d}-{name}.png"
        window.grab().save(str(path))
        saved.append(path)

    def tick(seconds: float) -> None:
        clock.advance(seconds)
        flow.tick()

    flow.choose_language(language)
    i18n.set_language(language)
    shot("welcome")
    flow.start()  # the identify screen confirms the language chosen on the welcome screen
    shot("identify")
    flow.identify("Kavya Menon", "kavya@example.com")
    window.current.scroll.show()
    shot("consent")
    flow.give_consent(recording=True, retention=True, ai_scoring=True)
    shot("adjustments")
    flow.set_accommodations()
    shot("device-check")
    flow.report_devices(camera=True, microphone=True)
    flow.devices_ready()
    flow.skip_practice()
    shot("question-card")
    flow.begin_question()
    tick(4)
    shot("thinking")
    flow.ready()
    shot("countdown")
    tick(3)
    time.sleep(0.5)
    shot("recording")
    flow.finish_answer()
    shot("review")
    flow.submit()
    flow.take_break()
    shot("break")
    flow.end_break()
    for _ in range(2):
        flow.begin_question()
        flow.ready()
        if flow.step is Step.COUNTDOWN:
            tick(3)
        if flow.mode.value == "text":
            window.current.typed.setPlainText("The countdown was easy to follow.")
            shot("typed-answer")
        flow.finish_answer()
        flow.submit()
    shot("finished")
    flow.reset()
    tick(0)
    flow.start()
    tick(61)
    shot("idle-warning")
    flow.touch()
    flow.abort()
    window.console.refresh()
    window.stack.setCurrentWidget(window.console)
    window.console.table.selectRow(0)
    shot("staff-console")
    window.close()
    store.close()
    i18n.set_language("en")
    return saved


def main(argv: list[str] | None = None) -> int:
    """Save every screen for each language and size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--sizes", default="1280x800,1920x1080")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setStyleSheet(theme.stylesheet())
    total = 0
    for size_text in args.sizes.split(","):
        width, height = (int(n) for n in size_text.split("x"))
        for language in ("en", "hi"):
            total += len(walk(app, out, language, (width, height)))
    print(f"saved {total} screenshots to {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
