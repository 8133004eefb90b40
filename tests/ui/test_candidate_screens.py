"""What a first-time candidate hit on the screens (issue 12, items 6, 7, 9 and 10)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from capture.sources import SyntheticSource
from kiosk.flow import Step
from kiosk.templates import AnswerMode
from tests.capture.test_sources import make_clip
from tests.ui.test_journey import Kiosk
from ui import i18n

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves the screens in English, whatever it switched to."""
    yield
    i18n.set_language("en")


def stored_sessions(kiosk: Kiosk) -> int:
    return kiosk.store.connection.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]


def to_consent(kiosk: Kiosk, language: str = "en") -> None:
    if language != "en":
        kiosk.click(kiosk.screen.languages[kiosk.flow.template.languages.index(language)])
    kiosk.click(kiosk.screen.start)
    kiosk.qtbot.keyClicks(kiosk.screen.name, "Kavya Menon")
    kiosk.qtbot.keyClicks(kiosk.screen.contact, "kavya@example.com")
    kiosk.click(kiosk.screen.next)
    assert kiosk.flow.step is Step.CONSENT


# --- 6. consent: ask first, in plain words, with a way back ---------------------------------

def test_continue_without_agreeing_asks_first_and_goes_back(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    to_consent(kiosk)
    consent = kiosk.screen
    kiosk.click(consent.agree)  # nothing ticked
    assert kiosk.flow.step is Step.CONSENT and stored_sessions(kiosk) == 0
    assert consent.confirm.isVisible() and not consent.agree.isVisible()
    assert consent.need.text() == ("You have not agreed to being recorded or to us keeping "
                                   "your answers for 7 days, so the interview cannot go on.")
    assert consent.go_back.text() == "Go back" and consent.end.text() == "End"
    kiosk.click(consent.go_back)
    assert not consent.confirm.isVisible() and consent.agree.isVisible()
    consent.recording.setChecked(True)
    kiosk.click(consent.agree)  # one box ticked: the other is named
    assert consent.need.text() == ("You have not agreed to us keeping your answers for 7 "
                                   "days, so the interview cannot go on.")
    kiosk.click(consent.go_back)
    consent.retention.setChecked(True)
    consent.ai.setChecked(False)  # saying no to AI is allowed: no question asked
    kiosk.click(consent.agree)
    assert kiosk.flow.step is Step.ACCOMMODATIONS
    session = kiosk.flow.session()
    assert session is not None and session.consents.ai_scoring is False


def test_end_after_the_question_declines_and_keeps_nothing(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    to_consent(kiosk, "hi")
    consent = kiosk.screen
    consent.retention.setChecked(True)
    kiosk.click(consent.agree)
    assert consent.need.text() == i18n.tr("consent.need_recording")
    assert "रिकॉर्डिंग" in consent.need.text()
    kiosk.click(consent.end)
    assert kiosk.flow.step is Step.DECLINED and stored_sessions(kiosk) == 0


def test_the_question_is_asked_afresh_for_the_next_candidate(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    to_consent(kiosk)
    kiosk.click(kiosk.screen.agree)
    kiosk.flow.abort()
    to_consent(kiosk)
    assert not kiosk.screen.confirm.isVisible() and kiosk.screen.agree.isVisible()


def test_a_long_consent_sentence_wraps_and_a_tap_on_it_ticks_the_box(qtbot,
                                                                     tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.window.resize(949, 586)  # where a bare X server left the window
    to_consent(kiosk)
    ai = kiosk.screen.ai
    lines = ai.label.height() / ai.label.fontMetrics().lineSpacing()
    assert lines >= 2 and ai.label.height() >= ai.label.heightForWidth(ai.label.width())
    right = ai.label.mapTo(kiosk.window, ai.label.rect().topRight()).x()
    assert right < kiosk.window.width()  # wrapped inside the window, not cut at its edge
    qtbot.mouseClick(ai.label, Qt.MouseButton.LeftButton)
    assert ai.isChecked() and ai.box.accessibleName() == ai.text()


# --- 7. the reference code as soon as the session exists --------------------------------------

def shows_reference(card, reference: str) -> bool:
    return (card.isVisible() and card.code.text() == reference
            and not card.qr.pixmap().isNull()
            and "continue if you are interrupted" in card.keep.text())


def test_the_reference_code_shows_after_consent_and_on_the_break(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions()
    reference = kiosk.flow.reference
    assert reference is not None
    kiosk.flow.abort()  # look again at the adjustments screen of a fresh candidate
    to_consent(kiosk)
    for box in (kiosk.screen.recording, kiosk.screen.retention, kiosk.screen.ai):
        box.setChecked(True)
    kiosk.click(kiosk.screen.agree)
    assert kiosk.flow.step is Step.ACCOMMODATIONS
    assert shows_reference(kiosk.screen.reference, kiosk.flow.reference or "")
    kiosk.click(kiosk.screen.none)
    kiosk.flow.report_devices(camera=True, microphone=True)
    kiosk.click(kiosk.screen.go)
    kiosk.click(kiosk.screen.secondary)  # skip the practice
    kiosk.speak(seconds=0.2)
    kiosk.click(kiosk.screen.primary)
    kiosk.click(kiosk.screen.use)
    kiosk.click(kiosk.screen.secondary)  # take a break
    assert kiosk.flow.step is Step.BREAK
    assert shows_reference(kiosk.screen.reference, kiosk.flow.reference or "")


def test_the_reference_card_speaks_hindi(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    to_consent(kiosk, "hi")
    for box in (kiosk.screen.recording, kiosk.screen.retention, kiosk.screen.ai):
        box.setChecked(True)
    kiosk.click(kiosk.screen.agree)
    card = kiosk.screen.reference
    assert card.keep.text() == i18n.tr("reference.keep") and "कोड" in card.keep.text()
    assert card.code.text() == kiosk.flow.reference


# --- 9. the template's intro and its own length ------------------------------------------------

def test_the_welcome_shows_the_intro_and_the_interviews_own_length(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    welcome = kiosk.screen
    assert welcome.intro.text() == kiosk.flow.template.intro.get("en")
    assert welcome.length.text() == "It takes about 9 minutes."  # not "about 15"
    kiosk.click(welcome.languages[1])
    assert welcome.intro.text() == kiosk.flow.template.intro.get("hi")
    assert welcome.length.text() == "इसमें लगभग 9 मिनट लगते हैं।"


def test_a_longer_interview_says_so(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path, template="campus-graduate-software-engineer")
    assert kiosk.screen.length.text() == "It takes about 25 minutes."


# --- 10. smaller things a user hit ------------------------------------------------------------

def test_an_audio_answer_is_listened_to_not_watched(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions()
    kiosk.speak(seconds=0.3)
    kiosk.click(kiosk.screen.primary)
    assert kiosk.screen.watch.text() == "Watch my answer"  # question 1 is on video
    kiosk.click(kiosk.screen.use)
    kiosk.speak(seconds=0.3)  # question 2: voice only
    kiosk.click(kiosk.screen.primary)
    assert kiosk.screen.watch.text() == "Listen to my answer"
    assert kiosk.screen.watch.accessibleName() == "Listen to my answer"


def test_countdown_rings_say_what_they_count_and_how_long_is_left(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions()
    kiosk.click(kiosk.screen.primary)  # show the question: think time runs
    ring = kiosk.screen.ring
    kiosk.screen.refresh()
    assert ring.accessibleName() == "Time to think"
    assert ring.accessibleDescription() == "15 seconds left"
    kiosk.advance(5)
    kiosk.screen.refresh()
    assert ring.accessibleDescription() == "10 seconds left"
    kiosk.click(kiosk.screen.primary)  # I'm ready
    kiosk.advance(3)
    kiosk.screen.refresh()
    assert ring.accessibleName() == "Time to answer"
    assert ring.accessibleDescription() == "45 seconds left"
    i18n.set_language("hi")
    kiosk.screen.refresh()
    assert ring.accessibleName() == "जवाब देने का समय"
    assert ring.accessibleDescription() == "45 सेकंड बाकी"


def test_adjustment_choices_say_what_they_mean(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    to_consent(kiosk)
    for box in (kiosk.screen.recording, kiosk.screen.retention, kiosk.screen.ai):
        box.setChecked(True)
    kiosk.click(kiosk.screen.agree)
    screen = kiosk.screen
    names = [screen.extra_time.itemText(i) for i in range(screen.extra_time.count())]
    assert names == ["Normal time", "25% more time", "50% more time", "Twice the time"]
    breaks = [screen.breaks.itemText(i) for i in range(screen.breaks.count())]
    assert breaks == ["Normal breaks", "Breaks 50% longer", "Breaks twice as long",
                      "Breaks three times as long"]
    assert not any("×" in name for name in names + breaks)  # noqa: RUF001 - the sign that was shown
    i18n.set_language("hi")
    assert screen.extra_time.itemText(3) == "दोगुना समय"
    i18n.set_language("en")
    screen.extra_time.setCurrentIndex(2)
    kiosk.click(screen.apply)
    assert kiosk.flow.accommodations.extra_time == 1.5


def test_a_candidate_who_types_is_not_told_the_camera_cannot_see_them(qtbot,
                                                                      tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "no-face.mp4")  # a moving test pattern: no face in it
    kiosk = Kiosk(qtbot, tmp_path / "kiosk", video=clip)
    kiosk.to_questions(typed=True)  # asserts the check says no camera is needed
    assert kiosk.flow.step is Step.READ


def to_device_check(kiosk: Kiosk, language: str = "en") -> str:
    """Consent, no adjustments, then the check's verdict once the live preview is judged."""
    to_consent(kiosk)
    i18n.set_language(language)
    for box in (kiosk.screen.recording, kiosk.screen.retention, kiosk.screen.ai):
        box.setChecked(True)
    kiosk.click(kiosk.screen.agree)
    kiosk.click(kiosk.screen.none)
    results = kiosk.screen.results
    checking = i18n.tr("check.checking")
    kiosk.qtbot.waitUntil(lambda: results.text() != checking, timeout=60_000)
    return results.text()


def test_live_devices_are_judged_on_what_their_preview_shows(qtbot, tmp_path: Path) -> None:
    """A real camera and microphone are judged on the frames and levels their preview
    delivered (the check used to judge no frames at all: "no picture" on every real kiosk)."""
    def live(mode):  # the same interface as the kiosk's camera and microphone
        return SyntheticSource(1280 if mode is AnswerMode.VIDEO else 0, 720, 30.0)

    verdict = to_device_check(Kiosk(qtbot, tmp_path / "kiosk", live_source=live))
    assert "✓ The camera is working." in verdict
    assert "✓ The microphone is working." in verdict
    assert "We cannot see your face" in verdict  # a test pattern has none


def test_the_device_check_speaks_the_candidates_language(qtbot, tmp_path: Path) -> None:
    def live(mode):
        return SyntheticSource(1280 if mode is AnswerMode.VIDEO else 0, 720, 30.0)

    try:
        verdict = to_device_check(Kiosk(qtbot, tmp_path / "kiosk", live_source=live), "hi")
    finally:
        i18n.set_language("en")
    assert "✓ कैमरा काम कर रहा है।" in verdict
    assert "✗ हमें आपका चेहरा नहीं दिख रहा है। स्क्रीन की ओर मुँह करके बैठें" in verdict
    assert "camera" not in verdict.lower()


def test_every_sentence_of_the_device_check_reads_in_every_kiosk_language() -> None:
    tree = ast.parse((ROOT / "capture" / "check.py").read_text(encoding="utf-8"))
    said = set()
    for node in ast.walk(tree):  # what a check says is passed to CheckResult, or named first
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("CheckResult", "move"):
            said |= {a.value for a in node.args if isinstance(a, ast.Constant)
                     and isinstance(a.value, str) and a.value.endswith(".")}
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and any(getattr(n, "id", "").endswith("_FIX") or getattr(n, "id", "") == "nothing"
                        for n in node.targets):
            said.add(node.value.value)
    assert len(said) > 30  # the walk still finds the sentences
    for language in ("en", "hi"):
        missing = sorted(s for s in said if f"check_says.{s}" not in i18n.catalog(language))
        assert not missing, f"{language}.toml [check_says] lacks {missing}"


def test_a_dark_lens_and_a_dead_microphone_are_named(qtbot, tmp_path: Path) -> None:
    def covered(mode):
        black = np.zeros((720, 1280, 3), np.uint8)
        return SyntheticSource(1280 if mode is AnswerMode.VIDEO else 0, 720, 30.0,
                               frames=[black], speech=np.zeros(48_000 * 60, np.float32))

    kiosk = Kiosk(qtbot, tmp_path / "kiosk", live_source=covered)
    verdict = to_device_check(kiosk)
    assert "✗ We cannot hear anything from the microphone." in verdict
    assert "✗" in verdict.split("\n")[0] and "camera" in verdict.split("\n")[0].lower()
    assert kiosk.flow.step is Step.DEVICE_CHECK


def test_a_candidate_on_camera_is_still_told(qtbot, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "no-face.mp4")
    kiosk = Kiosk(qtbot, tmp_path / "kiosk", video=clip)
    to_consent(kiosk)
    for box in (kiosk.screen.recording, kiosk.screen.retention, kiosk.screen.ai):
        box.setChecked(True)
    kiosk.click(kiosk.screen.agree)
    kiosk.click(kiosk.screen.none)
    assert "We cannot see your face" in kiosk.screen.results.text()
    assert kiosk.screen.preview.isVisible()
