"""The kiosk window, walked like a candidate would, asserting on what the screens show."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from capture.sources import SyntheticSource
from kiosk import keys
from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, FlowTimings, Step
from kiosk.store import Store
from kiosk.templates import AnswerMode, find_template
from ui import i18n
from ui.runtime import Runtime
from ui.window import KioskWindow

PASS = "window test passphrase"


class Kiosk:
    """A window over a real store, sample media and a fake clock."""

    def __init__(self, qtbot, data_dir: Path, lose_after: float | None = None, *,
                 template: str = "demo", video: Path | None = None,
                 live_source=None, follow_ups: bool = False) -> None:
        keys.init_keys(data_dir, PASS, keys.KdfParams(8192, 1, 1))
        unlocked = keys.unlock(data_dir, PASS)
        self.store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
        self.clock = FakeClock()
        self.flow = CandidateFlow(find_template(template), clock=self.clock, archive=self.store,
                                  timings=FlowTimings())
        # The follow-up decider loads the speech and evidence models in the background: only
        # the tests about follow-ups want it (without it the flow's wait decides).
        self.runtime = Runtime(self.store, video=video, sample_media=live_source is None,
                               live_source=live_source,
                               **({} if follow_ups else {"decider": lambda flow: None}))
        if lose_after is not None:
            self.runtime.new_source = lambda mode, question_id=None, **_: (  # type: ignore[method-assign]
                SyntheticSource(640, 360, 30.0, lose_after=lose_after))
        self.window = KioskWindow(self.flow, self.runtime, kiosk_mode=False,
                                  staff_check=lambda text: text == PASS)
        qtbot.addWidget(self.window)
        self.window.resize(1280, 800)
        self.window.show()
        self.qtbot = qtbot

    @property
    def screen(self):
        return self.window.current

    def click(self, widget) -> None:
        assert widget.isVisible(), f"{widget.text()!r} is not on screen"
        self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.flow.tick()

    def to_questions(self, typed: bool = False, practice: bool = False) -> None:
        self.click(self.screen.start)
        assert type(self.screen).__name__ == "IdentifyScreen"
        self.qtbot.keyClicks(self.screen.name, "Kavya Menon")
        self.qtbot.keyClicks(self.screen.contact, "kavya@example.com")
        self.click(self.screen.next)
        assert self.flow.step is Step.CONSENT
        self.click(self.screen.more)
        assert self.screen.scroll.isVisible() and "7 days" in self.screen.details.text()
        for box in (self.screen.recording, self.screen.retention, self.screen.ai):
            box.setChecked(True)
        self.click(self.screen.agree)
        assert self.flow.step is Step.ACCOMMODATIONS
        if typed:
            self.screen.typed.setChecked(True)
            self.click(self.screen.apply)
        else:
            self.click(self.screen.none)
        check = self.screen
        if typed:  # no camera or microphone is needed, so none is checked
            assert "type your answers" in check.source_note.text()
            assert not check.preview.isVisible() and check.results.text() == ""
        else:
            assert "SAMPLE MEDIA" in check.source_note.text()

            def previewing() -> bool:
                check.refresh()
                return not check.preview.pixmap().isNull()

            self.qtbot.waitUntil(previewing, timeout=60_000)  # the live preview, face guide
        self.click(self.screen.go)
        assert self.flow.step is Step.READ and self.flow.in_practice
        if practice:
            return
        self.click(self.screen.secondary)  # skip the practice
        assert self.screen.heading.text() == "Question 1 of 3"

    def speak(self, seconds: float = 0.6) -> None:
        """Record for a little while (the sample media runs in real time)."""
        self.click(self.screen.primary)  # show the question
        assert self.flow.step is Step.THINK
        self.click(self.screen.primary)  # I'm ready
        if self.flow.step is Step.COUNTDOWN:
            self.advance(3)
        assert self.flow.step is Step.ANSWER
        time.sleep(seconds)

        def recorded_something() -> bool:  # however late a busy machine runs the source
            image, level = self.runtime.preview()
            return image is not None or level > -120.0

        if seconds:
            self.qtbot.waitUntil(recorded_something, timeout=60_000)


def test_the_whole_journey_with_a_retake_and_a_typed_answer(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path, follow_ups=True)
    kiosk.to_questions()
    kiosk.speak()
    assert kiosk.screen.recording.isVisible() and kiosk.screen.recording.text() == "● Recording"
    kiosk.click(kiosk.screen.primary)  # finish answer
    assert kiosk.flow.step is Step.REVIEW
    assert kiosk.screen.again.text() == "Try again (1 left)"
    i18n.set_language("hi")
    try:
        kiosk.screen.retranslate()  # one try left is singular in Hindi too
        assert kiosk.screen.again.text() == "फिर से कोशिश करें (1 मौका बाकी)"
    finally:
        i18n.set_language("en")
        kiosk.screen.retranslate()
    media = kiosk.runtime.take_media()  # decrypted into memory for playback, never a file
    assert media is not None and media[4:8] == b"ftyp"
    kiosk.click(kiosk.screen.watch)
    assert kiosk.screen.playback.player is not None and kiosk.screen.playback.video.isVisible()
    kiosk.click(kiosk.screen.again)
    kiosk.advance(3)
    time.sleep(0.4)
    kiosk.qtbot.waitUntil(lambda: kiosk.runtime.preview()[0] is not None, timeout=60_000)
    kiosk.click(kiosk.screen.primary)
    assert not kiosk.screen.again.isVisible()  # no retakes left
    kiosk.click(kiosk.screen.use)
    kiosk.speak()  # question 2: audio only
    assert not kiosk.screen.selfview.isVisible()
    kiosk.click(kiosk.screen.primary)
    kiosk.click(kiosk.screen.use)
    # Question 2 has follow-ups: the kiosk looks at the kept answer before going on.
    assert kiosk.flow.step is Step.FOLLOW_UP_CHECK
    assert kiosk.screen.title.text() == "Your answer is saved. One moment…"
    kiosk.qtbot.waitUntil(lambda: kiosk.flow.step is not Step.FOLLOW_UP_CHECK,
                          timeout=120_000)  # the fake clock holds the flow's wait
    # A second of speech is too short to judge: the first follow-up asks for more.
    assert kiosk.flow.step is Step.THINK and kiosk.flow.follow_up is not None
    assert kiosk.flow.follow_up.id == "say-more"
    assert kiosk.screen.heading.text() == "A short follow-up to your answer to question 2"
    assert kiosk.screen.prompt.text() == ("Could you tell us a little more? One specific "
                                          "example is enough.")
    kiosk.click(kiosk.screen.primary)  # I'm ready
    kiosk.advance(3)
    assert kiosk.flow.step is Step.ANSWER and kiosk.flow.answer_key.endswith(".probe")
    time.sleep(0.4)
    kiosk.click(kiosk.screen.primary)  # finish the follow-up's answer
    kiosk.click(kiosk.screen.use)
    kiosk.click(kiosk.screen.primary)  # question 3: typed
    kiosk.click(kiosk.screen.primary)
    assert kiosk.flow.mode is AnswerMode.TEXT and kiosk.screen.typed.isVisible()
    kiosk.qtbot.keyClicks(kiosk.screen.typed, "The countdown was easy to follow.")
    kiosk.click(kiosk.screen.primary)
    assert "countdown was easy" in kiosk.screen.body.text()
    kiosk.click(kiosk.screen.use)
    assert kiosk.flow.step is Step.FINISHED
    reference = kiosk.screen.code.text()
    assert reference == kiosk.flow.reference and kiosk.screen.qr.pixmap() is not None
    stored = kiosk.store.find(reference)
    assert stored is not None and stored.candidate.name == "Kavya Menon"
    assert [a.chosen for a in stored.answers.values()] == [2, 1, 1, 1]
    assert "something-you-learned-recently.probe" in stored.answers
    assert stored.follow_ups["something-you-learned-recently"].probe_id == "say-more"
    assert stored.answers["what-was-easy-what-was-unclear"].chosen_take.text.startswith(
        "The countdown")
    session_id = stored.id
    assert kiosk.store.video_path(session_id, "introduce-yourself", 2).stat().st_size > 1000
    stats = kiosk.store.recording_stats(session_id)
    assert stats[("introduce-yourself", 1)]["frames"] > 0
    kiosk.click(kiosk.screen.done)
    assert kiosk.flow.step is Step.WELCOME and kiosk.flow.reference is None


def test_the_console_plays_answers_back_and_chooses_the_next_interview(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    from kiosk.settings import Settings

    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions()
    kiosk.speak()
    kiosk.click(kiosk.screen.primary)
    kiosk.click(kiosk.screen.use)
    monkeypatch.setattr("ui.window.QInputDialog.getText", lambda *a, **k: (PASS, True))
    kiosk.window.staff_entry()
    console = kiosk.window.console
    console.table.selectRow(0)
    assert "Transcripts (times from the start of each answer):" in console.card.toPlainText()
    assert console.answer.count() == 1  # the one recorded answer
    kiosk.click(console.watch)
    assert console.playback.player is not None and console.playback.video.isVisible()
    console.interview.setCurrentIndex(console.interview.findData("retail-sales-associate"))
    kiosk.click(console.use_interview)
    assert Settings.load(tmp_path).get("interview.template") == "retail-sales-associate"
    kiosk.click(console.lock)
    assert console.playback.player is None  # nothing decrypted is left playing
    actions = [e.action for e in kiosk.store.audit.entries()]
    assert {"review.watched", "settings.changed", "staff.locked"} <= set(actions)


def test_typed_answers_for_everything_under_the_accommodation(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions(typed=True)
    kiosk.click(kiosk.screen.primary)
    kiosk.click(kiosk.screen.primary)
    assert kiosk.screen.typed.isVisible() and not kiosk.screen.recording.isVisible()


def test_a_wipe_drops_the_practice_recording_from_memory(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions(practice=True)
    kiosk.speak(seconds=0.5)
    kiosk.click(kiosk.screen.primary)  # finish the practice answer
    assert kiosk.runtime.take_media()  # kept in memory for "Watch my answer"
    kiosk.flow.abort()
    assert kiosk.runtime._practice_media is None  # gone before the next candidate


def test_an_idle_candidate_is_wiped_from_the_screen(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.click(kiosk.screen.start)
    kiosk.qtbot.keyClicks(kiosk.screen.name, "Someone Else")
    kiosk.advance(60)
    assert kiosk.window.overlay.isVisible()
    assert kiosk.window.overlay.text.text() == "Are you still there?"
    kiosk.advance(20)
    assert kiosk.flow.step is Step.WELCOME and not kiosk.window.overlay.isVisible()
    kiosk.click(kiosk.screen.start)
    assert kiosk.screen.name.text() == ""  # nothing of the last candidate shows


def test_a_camera_lost_mid_answer_costs_no_retake(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path, lose_after=0.3)
    kiosk.to_questions()
    kiosk.speak(seconds=0)
    kiosk.qtbot.waitUntil(lambda: kiosk.flow.step is Step.REVIEW, timeout=60_000)
    assert "does not cost you a try" in kiosk.screen.body.text()
    assert kiosk.screen.again.text() == "Try again (2 left)"
    # HQ hears of it in the next heartbeat: the camera lost, and a code word, no message.
    seen = kiosk.runtime.status.snapshot()
    assert seen.camera.state == "lost" and seen.camera.since is not None
    assert seen.last_error is not None and seen.last_error[1] == "camera.lost"
    assert seen.interview_id == "demo"


def test_the_language_switches_live(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.click(kiosk.window.screens[type(kiosk.screen)].languages[1])
    try:
        assert kiosk.screen.start.text() == i18n.tr("welcome.start") != "Start"
        assert kiosk.screen.title.text() == "कियोस्क आज़माकर देखें"
    finally:
        i18n.set_language("en")


def test_staff_entry_without_a_pin_needs_the_passphrase(qtbot, tmp_path: Path,
                                                        monkeypatch) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    prompts: list[str] = []

    def ask(answers):
        def get_text(parent, title, prompt, *rest, **named):
            prompts.append(prompt)
            return next(answers)
        return get_text

    monkeypatch.setattr("ui.window.QInputDialog.getText", ask(iter([("wrong", True),
                                                                      ("", False)])))
    kiosk.window.staff_entry()  # a wrong passphrase, then Cancel
    assert kiosk.window.stack.currentWidget() is not kiosk.window.console
    assert prompts == ["Staff passphrase:", "That is not the staff passphrase. Try again:"]
    prompts.clear()
    monkeypatch.setattr("ui.window.QInputDialog.getText", ask(iter([("wrong", True),
                                                                      (PASS, True)])))
    kiosk.window.staff_entry()  # a typo is told, not silently dropped, and tried again
    assert prompts == ["Staff passphrase:", "That is not the staff passphrase. Try again:"]
    assert kiosk.window.stack.currentWidget() is kiosk.window.console
    kiosk.click(kiosk.window.console.quit)
    assert not kiosk.window.isVisible()
    actions = [e.action for e in kiosk.store.audit.entries()]
    assert actions[-4:] == ["staff.entry_failed", "staff.entry_failed", "staff.entered",
                            "staff.exited"]


def test_staff_pin_locks_out_and_the_console_reviews_and_erases(qtbot, tmp_path: Path,
                                                                 monkeypatch) -> None:
    from kiosk import staff

    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions()
    reference = kiosk.flow.reference
    staff.set_pin(tmp_path, "482916")
    warnings: list[str] = []
    prompts: list[str] = []
    monkeypatch.setattr("ui.window.QMessageBox.warning", lambda *a: warnings.append(a[2]))
    answers = iter([("000000", True)] * 5 + [("482916", True)])

    def get_text(parent, title, prompt, *rest, **named):
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("ui.window.QInputDialog.getText", get_text)
    kiosk.window.staff_entry()  # five wrong PINs, each told; then the right one, but locked
    assert prompts == ["Staff PIN:"] + ["That is not the staff PIN. Try again:"] * 5
    assert warnings and "locked" in warnings[0]
    assert kiosk.window.stack.currentWidget() is not kiosk.window.console
    staff.set_pin(tmp_path, "482916")  # a new PIN clears the lockout
    monkeypatch.setattr("ui.window.QInputDialog.getText", lambda *a, **k: ("482916", True))
    kiosk.window.staff_entry()
    console = kiosk.window.console
    assert kiosk.window.stack.currentWidget() is console
    assert kiosk.flow.step is Step.WELCOME  # the candidate's session was set aside
    assert "minutes of recording left" in console.health.text()
    assert console.table.rowCount() == 1 and console.table.item(0, 0).text() == reference
    console.table.selectRow(0)
    assert "Scorecard: Try the kiosk" in console.card.toPlainText()
    console.note.setText("Clear speaker; invite to round two.")
    kiosk.click(console.add_note)
    console.decision.setCurrentIndex(0)
    kiosk.click(console.decide)
    card = console.card.toPlainText()
    assert "Decision: advance" in card and "invite to round two" in card
    actions = [e.action for e in kiosk.store.audit.entries()]
    assert {"review.note_added", "review.decided"} <= set(actions)
    raw = (tmp_path / "kiosk.db").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("kiosk.db-wal"))
    assert b"round two" not in raw  # the note is encrypted with the session
    monkeypatch.setattr("ui.staff.QInputDialog.getText", lambda *a, **k: (reference, True))
    console.erase_selected()
    assert console.table.rowCount() == 0 and kiosk.store.find(reference or "") is None
    kiosk.click(console.lock)
    assert type(kiosk.window.current).__name__ == "WelcomeScreen"


def test_an_unexpected_error_gets_a_calm_sentence_and_staff_get_the_detail(
        qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    try:
        raise ValueError("kavya@example.com broke something")
    except ValueError as exc:
        kiosk.window.report_unexpected(ValueError, exc, exc.__traceback__)
    assert "Please ask a member of staff" in kiosk.screen.problem.text()
    assert kiosk.runtime.last_error == "ValueError (details in the kiosk log)"
    error = kiosk.runtime.status.snapshot().last_error
    assert error is not None and error[1] == "ui.unexpected_error"


def test_no_question_starts_when_the_disk_is_nearly_full(qtbot, tmp_path: Path,
                                                         monkeypatch) -> None:
    from collections import namedtuple

    from capture import disk

    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions()
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda _: usage(0, 0, 1000))
    kiosk.click(kiosk.screen.primary)  # show the question
    assert kiosk.flow.step is Step.READ
    assert "running out of space" in kiosk.screen.problem.text()
    assert "disk nearly full" in (kiosk.runtime.last_error or "")
    error = kiosk.runtime.status.snapshot().last_error
    assert error is not None and error[1] == "disk.nearly_full"


@pytest.mark.parametrize("language", ["en", "hi"])
def test_every_key_is_translated(language: str) -> None:
    english = i18n.catalog("en")
    assert set(i18n.catalog(language)) == set(english)
