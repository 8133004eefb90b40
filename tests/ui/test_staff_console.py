"""The staff console as a campus-drive coordinator met it (issue 12, items 5 and 10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from kiosk.paths import assets_dir
from kiosk.scoring.service import score_session
from kiosk.settings import Settings
from kiosk.store.results import save_transcript
from kiosk.templates import HQ_TEMPLATES_DIR
from kiosk.transcription.transcript import Segment, Transcript, Word
from tests.ui.test_journey import PASS, Kiosk
from ui import theme
from ui.fit import misfits
from ui.tour import settle


@pytest.fixture
def themed(qapp):
    """The kiosk's own stylesheet (sizes depend on it), for one test."""
    before = qapp.styleSheet()
    qapp.setStyleSheet(theme.stylesheet())
    yield
    qapp.setStyleSheet(before)


def open_console(kiosk: Kiosk, monkeypatch):
    monkeypatch.setattr("ui.window.QInputDialog.getText", lambda *a, **k: (PASS, True))
    kiosk.window.staff_entry()
    return kiosk.window.console


def test_score_controls_have_visible_labels_and_names(qtbot, tmp_path: Path,
                                                      monkeypatch) -> None:
    console = open_console(Kiosk(qtbot, tmp_path), monkeypatch)
    for name, field in (("Competency", console.competency), ("Score (1 to 5)", console.score),
                        ("Note", console.note), ("Decision", console.decision),
                        ("Answer", console.answer), ("Interview", console.interview)):
        shown = console.field_labels[name]
        assert shown.isVisible() and shown.text() == name and shown.buddy() is field
        assert field.accessibleName() == name


def test_the_interview_list_shows_titles_and_which_is_in_use(qtbot, tmp_path: Path,
                                                            monkeypatch) -> None:
    published = tmp_path / HQ_TEMPLATES_DIR
    published.mkdir()
    text = (assets_dir() / "interviews" / "retail-sales-associate.toml").read_text("utf-8")
    (published / "store-cashier.toml").write_text(
        text.replace('id = "retail-sales-associate"', 'id = "store-cashier"')
        .replace('title = { en = "Retail Sales Associate"', 'title = { en = "Store Cashier"'),
        encoding="utf-8")
    kiosk = Kiosk(qtbot, tmp_path)
    console = open_console(kiosk, monkeypatch)
    items = {console.interview.itemData(i): console.interview.itemText(i)
             for i in range(console.interview.count())}
    assert items["demo"] == "Try the kiosk (in use now)"
    assert items["store-cashier"] == "Store Cashier (from HQ)"
    assert items["retail-sales-associate"] == "Retail Sales Associate"
    assert console.interview.currentData() == "demo"
    console.interview.setCurrentIndex(console.interview.findData("store-cashier"))
    kiosk.click(console.use_interview)
    assert Settings.load(tmp_path).get("interview.template") == "store-cashier"
    assert console.message.text() == ("'Store Cashier' will be used from the next start of "
                                      "the kiosk.")
    assert console.interview.currentText() == "Store Cashier (from HQ, from the next start)"


def test_the_usb_chooser_opens_on_removable_media(qtbot, tmp_path: Path, monkeypatch) -> None:
    stick = tmp_path / "media" / "staff" / "USB STICK"
    stick.mkdir(parents=True)
    monkeypatch.setattr("ui.staff.removable_media_folder", lambda: stick)
    opened: list[str] = []
    monkeypatch.setattr("ui.staff.QFileDialog.getExistingDirectory",
                        lambda parent, caption, folder="": opened.append(folder) or "")
    console = open_console(Kiosk(qtbot, tmp_path / "kiosk"), monkeypatch)
    console.choose_folder()
    assert opened == [str(stick)]


def test_watching_an_answer_never_makes_the_console_taller_than_the_screen(
        qtbot, tmp_path: Path, monkeypatch, themed) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions()
    kiosk.speak(seconds=0.5)
    kiosk.click(kiosk.screen.primary)
    kiosk.click(kiosk.screen.use)
    console = open_console(kiosk, monkeypatch)
    console.table.selectRow(0)
    kiosk.click(console.watch)
    kiosk.click(console.export)  # not enrolled: the message must be in view
    settle(0.3)
    assert console.playback.video.isVisible()
    assert (kiosk.window.width(), kiosk.window.height()) == (1280, 800)
    least = kiosk.window.minimumSizeHint()
    assert least.width() <= 1280 and least.height() <= 800
    assert console.message.isVisible() and "not enrolled" in console.message.text()
    assert misfits(kiosk.window) == []
    kiosk.click(console.lock)


def spoken(text: str, start: float, seconds_per_word: float = 0.3) -> Transcript:
    """A transcript of `text` said from `start` seconds on (the recording here is sample media)."""
    words = tuple(Word(start + i * seconds_per_word, start + (i + 1) * seconds_per_word, w, 0.95)
                  for i, w in enumerate(text.split()))
    return Transcript(text=text, language="en", duration=words[-1].end + 0.5,
                      segments=(Segment(start, words[-1].end, text, words, -0.2, 0.05),),
                      model="test")


def test_selecting_evidence_plays_its_answer_and_says_where_it_was_said(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions()
    kiosk.speak(seconds=4.0)
    kiosk.click(kiosk.screen.primary)
    kiosk.click(kiosk.screen.use)
    session = kiosk.store.find(kiosk.flow.reference)
    assert session is not None
    sentence = "For example, I organised our college fest with twelve people."
    with kiosk.store.transaction():
        save_transcript(kiosk.store, session.id, "introduce-yourself", 1,
                        spoken(f"Hello everyone. {sentence}", start=0.4))
        score_session(kiosk.store, session.id, force=True)
    console = open_console(kiosk, monkeypatch)
    console.table.selectRow(0)
    assert console.evidence.count() >= 1
    item = console.evidence.item(0)
    lines = item.text().splitlines()
    assert lines[0] == "Q1 at 0:01 · Communication: Gives a concrete example"
    # By meaning where the model is installed (as `make` installs it), else by the phrase.
    assert "For example" in lines[1] and re.fullmatch(
        r'found by (meaning \(score (0\.\d\d|1\.00)\)|the phrase "for example")', lines[2])
    start = item.data(Qt.ItemDataRole.UserRole)[2]
    assert start == pytest.approx(1.0)  # "For" is the third word, 0.3 s each from 0.4 s
    before = len([e for e in kiosk.store.audit.entries() if e.action == "review.watched"])
    console.evidence.setCurrentItem(item)
    console.play_evidence(item)
    assert console.playback.player is not None and console.playback.video.isVisible()
    assert console.message.text() == "Playing from the start; the evidence is at 0:01."
    after = [e for e in kiosk.store.audit.entries() if e.action == "review.watched"]
    assert len(after) == before + 1  # media views are audited as before


def test_evidence_in_a_typed_answer_says_there_is_nothing_to_play(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    console = open_console(kiosk, monkeypatch)
    console.list_evidence({
        "questions": [{"id": "q", "number": 1, "mode": "text", "take": 1}],
        "competencies": [{"name": "Communication", "suggestion": {"evidence": [
            {"question_id": "q", "start": 2.0, "end": 3.0, "text": "We talked it through.",
             "indicator": "Listens", "phrase": "", "score": 0.62, "method": "meaning"}]}}]})
    item = console.evidence.item(0)
    assert item.text().splitlines()[2] == "found by meaning (score 0.62)"
    console.play_evidence(item)
    assert console.playback.player is None
    assert console.message.text() == "That answer was typed: there is no recording to play."


def test_evidence_in_a_follow_up_names_it_and_plays_the_follow_ups_answer(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    console = open_console(kiosk, monkeypatch)
    card = {
        "questions": [{"id": "q", "number": 1, "mode": "video", "take": 2, "follow_up": {
            "outcome": "asked", "probe_id": "next", "answered": True, "mode": "audio",
            "take": 1}}],
        "competencies": [{"name": "Self-reflection", "suggestion": {"evidence": [
            {"question_id": "q.probe", "start": 2.0, "end": 3.0, "text": "Next I will ask.",
             "indicator": "Suggests a next step", "phrase": "", "score": 0.7,
             "method": "meaning"},
            {"question_id": "q", "start": 5.0, "end": 6.0, "text": "I learned it.",
             "indicator": "Says what they learned", "phrase": "", "score": 0.6,
             "method": "meaning"}]}}]}
    console.list_evidence(card)
    first, second = console.evidence.item(0), console.evidence.item(1)
    assert first.text().splitlines()[0] == "Q1 at 0:05 · Self-reflection: Says what they learned"
    assert second.text().splitlines()[0] == ("Q1 follow-up at 0:02 · Self-reflection: "
                                             "Suggests a next step")
    assert second.data(Qt.ItemDataRole.UserRole) == ("q.probe", 1, 2.0)
