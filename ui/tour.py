"""A tour of every screen of the kiosk window: for the screenshots and the fit check.

`tour()` drives a window over the demo interview (sample media, a fake clock) through every
screen a candidate or a member of staff can see, and yields a name at each stop. Run as a
program, it takes the tour in each language and checks every stop with `ui.fit.misfits`,
saving a picture of each with `--save DIR`:

    python -m ui.tour --full-screen --save docs/screenshots     # on an X display
    python -m ui.tour --size 1280x800                           # offscreen

`--full-screen` shows the real kiosk window as `kiosk-app` does and checks that it covers the
whole screen; `bare_x_server()` gives it an X server with no window manager, as an `xinit`
kiosk session has. `scripts/screenshots.py` and `tests/ui/test_fit.py` use both.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QApplication

from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, Step
from kiosk.session import Accommodations, FollowUpOutcome
from ui import i18n, theme
from ui.fit import misfits
from ui.screens.entry import ConsentScreen
from ui.screens.interview import QuestionScreen
from ui.window import KioskWindow

LANGUAGES = ("en", "hi")
PROFILE_STOPS = frozenset({"consent", "finished"})  # what a compliance profile changes
ANSWER_SECONDS = 7.0  # the first answer's recording, in real time


def settle(seconds: float = 0.05) -> None:
    """Let Qt lay out and paint (and sample media deliver a frame or two)."""
    app = QApplication.instance()
    assert app is not None
    deadline = time.monotonic() + seconds
    while True:
        app.processEvents()
        if time.monotonic() >= deadline:
            return
        time.sleep(0.02)


def tour(window: KioskWindow, clock: FakeClock, language: str,
         evidence: bool = False) -> Iterator[str]:
    """Every screen, in `language`, one stop at a time (the window must be showing). With
    `evidence` (the screenshots), the first answer records for 7 s and the finished session
    is transcribed and scored, so the console shows evidence; the fit check needs neither."""
    flow = window.flow

    def tick(seconds: float) -> None:
        clock.advance(seconds)
        flow.tick()

    def show(refresh: Callable[[], None] | None = None) -> None:
        settle()
        if window.stack.currentWidget() is not window.console:
            window.current.refresh()
        if refresh is not None:
            refresh()
        settle()

    def start() -> None:
        flow.choose_language(language)  # as the welcome screen's language buttons do
        i18n.set_language(language)
        flow.start()  # the identify screen confirms the language chosen on welcome

    flow.choose_language(language)
    i18n.set_language(language)
    show()
    yield "welcome"
    start()
    show()
    yield "identify"
    flow.identify("Kavya Menon", "kavya@example.com")
    consent = window.current
    assert isinstance(consent, ConsentScreen)
    consent.more.click()  # the full notice, open
    show()
    yield "consent"
    consent.more.click()
    consent.agree.click()  # Continue with no box ticked: asked, not ended
    show()
    yield "consent-confirm"
    consent.go_back.click()
    flow.give_consent(recording=True, retention=True, ai_scoring=True)
    show()
    yield "adjustments"
    flow.set_accommodations()
    show()
    yield "device-check"
    flow.report_devices(camera=True, microphone=True)
    flow.devices_ready()
    flow.skip_practice()
    show()
    yield "question-card"
    flow.begin_question()
    tick(4)
    show()
    yield "thinking"
    flow.ready()
    show()
    yield "countdown"
    tick(3)
    tick(12)  # twelve seconds into the answer (the fake clock), so the screens say so
    # The self-view shows the sample picture; the sample voice records for 7 s (real time),
    # long enough to give an example, which the staff console then shows as evidence.
    show(lambda: settle(ANSWER_SECONDS if evidence else 0.6))
    yield "recording"
    flow.finish_answer()
    show()
    yield "review"
    flow.submit()
    flow.take_break()
    show()
    yield "break"
    flow.end_break()
    flow.begin_question()
    flow.ready()
    tick(3)
    tick(9)
    show(lambda: settle(0.4))
    yield "recording-audio"
    flow.finish_answer()
    show()
    yield "review-audio"
    flow.submit()
    if flow.step is Step.FOLLOW_UP_CHECK:  # the demo asks question 2's follow-up
        show()
        yield "follow-up-wait"
        asked = flow.template.questions[flow.question_number - 1]
        flow.follow_up_decided(asked.id, FollowUpOutcome.ASKED, asked.probes[-1].id)
        tick(2)
        show()
        yield "follow-up"
        flow.ready()
        tick(3)
        tick(5)
        show(lambda: settle(0.4))
        flow.finish_answer()
        flow.submit()
    flow.begin_question()
    flow.ready()
    question = window.current
    assert isinstance(question, QuestionScreen)
    question.typed.setPlainText("The countdown was easy to follow.")
    show()
    yield "typed-answer"
    flow.finish_answer()
    show()
    yield "review-typed"
    flow.submit()
    show()
    yield "finished"
    flow.reset()
    start()
    tick(61)
    show()
    yield "idle-warning"
    flow.touch()
    flow.identify("Ravi Kumar", "ravi@example.com")
    flow.decline_consent()
    show()
    yield "declined"
    flow.reset()
    start()
    flow.identify("Meena Iyer", "meena@example.com")
    flow.give_consent(recording=True, retention=True, ai_scoring=False)
    flow.set_accommodations(Accommodations(text_answers=True))
    show()
    yield "device-check-typed"
    flow.abort()
    yield from _staff_console(window, evidence)
    i18n.set_language("en")


def questions_tour(window: KioskWindow, clock: FakeClock, language: str) -> Iterator[str]:
    """Any interview's own screens, in `language`: its notice, and each question while
    thinking, answering and in review, then the finished screen (the window must be
    showing; the demo's other screens are in `tour`)."""
    flow = window.flow
    flow.choose_language(language)
    i18n.set_language(language)
    flow.start()
    flow.identify("Kavya Menon", "kavya@example.com")
    settle()
    yield "consent"
    ai = True if flow.template.policy.ai_scoring else None
    flow.give_consent(recording=True, retention=True, ai_scoring=ai)
    flow.set_accommodations()
    flow.report_devices(camera=True, microphone=True)
    flow.devices_ready()
    flow.skip_practice()
    while flow.question_number <= flow.question_count and flow.step is Step.READ:
        number = flow.question_number
        flow.begin_question()
        settle()
        window.current.refresh()
        yield f"question-{number}-thinking"
        flow.ready()
        clock.advance(flow.timings.countdown_seconds)
        flow.tick()
        settle(0.2)
        window.current.refresh()
        yield f"question-{number}-answer"
        flow.finish_answer()
        settle()
        yield f"question-{number}-review"
        flow.submit()
    settle()
    yield "finished"
    flow.reset()
    i18n.set_language("en")


def _transcribe_and_score(window: KioskWindow) -> None:
    """What the worker does for a finished session, here in the tour's process: the recorded
    answers transcribed by the bundled model and scored, so the console shows evidence."""
    from kiosk.scoring.service import score_session
    from kiosk.store.results import save_transcript, transcripts
    from kiosk.transcription.transcriber import Transcriber
    from kiosk.vault import VaultReader

    store = window.console.store
    transcriber: Transcriber | None = None
    for (session_id,) in store.connection.execute(
            "SELECT id FROM sessions WHERE status = 'completed'").fetchall():
        session = store.find(session_id)
        if session is None or transcripts(store, session_id):
            continue
        transcriber = transcriber or Transcriber()
        identity = store.session_keys(session_id).identity
        with store.transaction():
            for question_id, answer in session.answers.items():
                path = store.audio_path(session_id, question_id, answer.chosen)
                if not path.exists():
                    continue
                with path.open("rb") as source, VaultReader(source, [identity]) as reader:
                    heard = transcriber.transcribe(reader, language=session.language)
                save_transcript(store, session_id, question_id, answer.chosen, heard)
            score_session(store, session_id, force=True)


def _staff_console(window: KioskWindow, evidence: bool) -> Iterator[str]:
    """The console with a session chosen, its evidence listed, its first answer playing from
    the first piece of evidence, and a message showing."""
    console = window.console
    if evidence:
        _transcribe_and_score(window)
    console.refresh()
    window.stack.setCurrentWidget(console)
    for row in range(console.table.rowCount()):
        status = console.table.item(row, 1)
        if status is not None and status.text() == "completed":
            console.table.selectRow(row)
            break
    first = console.evidence.item(0)
    if first is not None:
        console.evidence.setCurrentItem(first)
        console.play_evidence(first)
    else:
        console.watch.click()
    console.export.click()  # not enrolled: a long message, which must stay in view
    settle(0.5)
    yield "staff-console"
    _played_out(console.playback.player)
    console.stop_playback()


def _played_out(player: QMediaPlayer | None, seconds: float = 5.0) -> None:
    """Wait (a while at most) for a short take to play to its end: stopping the FFmpeg
    backend just as it reaches the end was seen to hang in QMediaPlayer.stop()."""
    deadline = time.monotonic() + seconds
    while player is not None and time.monotonic() < deadline and \
            player.mediaStatus() != QMediaPlayer.MediaStatus.EndOfMedia:
        settle(0.05)


def demo_window(store_dir: str, *, kiosk_mode: bool = False, compliance: str | None = None,
                interview: str = "demo") -> tuple[KioskWindow, FakeClock, Callable[[], None]]:
    """A window over a throwaway kiosk in `store_dir` running `interview` (under a
    compliance profile if one is named: its notice and self-identification show); returns
    it, its clock and a function that closes both."""
    from kiosk import keys
    from kiosk.store import Store
    from kiosk.templates import find_template, parse_template
    from ui.runtime import Runtime

    data_dir = Path(store_dir)
    keys.init_keys(data_dir, "tour passphrase", keys.KdfParams(8192, 1, 1))
    unlocked = keys.unlock(data_dir, "tour passphrase")
    store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
    clock = FakeClock()
    template = find_template(interview)
    if compliance:
        text = template.text.replace("recordings_leave_kiosk = false", "recordings_leave_kiosk"
                                     f' = false\ncompliance = "{compliance}"', 1)
        template = parse_template(text.encode(), f"demo-{compliance}.toml")
    flow = CandidateFlow(template, clock=clock, archive=store)
    # The tour decides follow-ups itself, so every tour shows the same screens.
    window = KioskWindow(flow, Runtime(store, decider=lambda flow: None), kiosk_mode=kiosk_mode)

    def close() -> None:
        window._allow_close = True  # staff would close it; the tour is staff here
        window.close()
        store.close()

    return window, clock, close




def take(language: str, *, size: tuple[int, int], full_screen: bool,
         save: Path | None = None, report: Callable[[str], None] = print,
         compliance: str | None = None) -> int:
    """One tour in `language`; returns how many problems it found (each is reported).

    Under a compliance profile only the screens it changes (the notice, the finished screen
    with self-identification) are saved, their names ending in the profile's.
    """
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    problems = 0
    before = app.styleSheet()
    app.setStyleSheet(theme.stylesheet())  # the kiosk's own look: sizes depend on it
    with tempfile.TemporaryDirectory(prefix="kiosk-tour-") as data_dir:
        window, clock, close = demo_window(data_dir, kiosk_mode=full_screen,
                                           compliance=compliance)
        if full_screen:
            window.showFullScreen()
        else:
            window.resize(*size)
            window.show()
        settle(0.3)
        screen = window.screen().geometry()
        if full_screen and window.geometry() != screen:
            problems += 1
            report(f"{language}: the window is {window.width()}×{window.height()} at "
                   f"({window.x()}, {window.y()}), not the whole {screen.width()}×"
                   f"{screen.height()} screen")
        shown = (screen.width(), screen.height()) if full_screen else size
        try:
            for number, stop in enumerate(tour(window, clock, language, save is not None),
                                          start=1):
                found = misfits(window)
                if (window.width(), window.height()) != shown:  # a screen pushed it out
                    found.insert(0, f"the window grew to {window.width()}×{window.height()}")
                problems += len(found)
                name = f"{stop}-{compliance}" if compliance else stop
                for problem in found:
                    report(f"{language} {shown[0]}×{shown[1]} {name}: {problem}")
                if save is not None and (not compliance or stop in PROFILE_STOPS):
                    picture = window.screen().grabWindow(0) if full_screen else window.grab()
                    picture.save(str(save / f"{language}-{shown[0]}x{shown[1]}-"
                                             f"{number:02d}-{name}.png"))
        finally:
            close()
            app.setStyleSheet(before)
    return problems


@contextlib.contextmanager
def bare_x_server(width: int, height: int) -> Iterator[str]:
    """An X server (Xvfb) of that size with no window manager; yields its DISPLAY."""
    binary = shutil.which("Xvfb")
    if binary is None:
        raise FileNotFoundError("Xvfb is not installed (Debian: apt-get install xvfb)")
    read, write = os.pipe()
    # -displayfd: Xvfb picks a free display number itself and writes it back.
    server = subprocess.Popen(  # noqa: S603 - a fixed program and arguments
        [binary, "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
         "-nolisten", "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 30)
        number = os.read(read, 32).decode().strip() if ready else ""
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        os.close(read)
        server.terminate()
        server.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """Take the tour in each language; exit 1 if anything does not fit."""
    parser = argparse.ArgumentParser(prog="python -m ui.tour", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x800", help="window size when not full screen")
    parser.add_argument("--full-screen", action="store_true",
                        help="the real full-screen kiosk window (needs an X display)")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--save", metavar="DIR", help="save a PNG of every stop in DIR")
    parser.add_argument("--compliance", default="none,dpdp",
                        help="the demo plain (none) and under these compliance profiles")
    args = parser.parse_args(argv)
    if not args.full_screen and not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    width, height = (int(n) for n in args.size.split("x"))
    save = Path(args.save) if args.save else None
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
    problems = sum(take(language, size=(width, height), full_screen=args.full_screen,
                        save=save, compliance=None if profile == "none" else profile)
                   for profile in args.compliance.split(",")
                   for language in args.languages.split(","))
    print(f"{problems} problems" if problems else "every screen fits", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
