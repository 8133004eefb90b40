"""The staff console as a campus-drive coordinator met it (issue 12, items 5 and 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.paths import assets_dir
from kiosk.settings import Settings
from kiosk.templates import HQ_TEMPLATES_DIR
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
