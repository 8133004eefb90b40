"""Starting the kiosk app: start of day on screen, and no display at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import keys
from ui import app

PASS = "start of day passphrase"


@pytest.fixture
def kiosk_dir(tmp_path: Path) -> Path:
    keys.init_keys(tmp_path, PASS, keys.KdfParams(8192, 1, 1))
    return tmp_path


def test_start_of_day_asks_on_screen_until_the_passphrase_is_right(
        qtbot, kiosk_dir: Path, monkeypatch) -> None:
    asked: list[str] = []
    answers = iter([("not it at all", True), (PASS, True)])

    def dialog(parent, title, message, mode):
        asked.append(message)
        return next(answers)

    monkeypatch.setattr("PySide6.QtWidgets.QInputDialog.getText", dialog)
    monkeypatch.setattr(keys.time, "sleep", lambda _: None)
    unlocked = app.start_of_day(kiosk_dir)
    assert unlocked is not None
    assert unlocked.identity.key_id == keys.load_public(kiosk_dir).recipient.key_id
    assert asked[0].startswith("Start of day") and "did not unlock" in asked[1]


def test_start_of_day_can_be_cancelled(qtbot, kiosk_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr("PySide6.QtWidgets.QInputDialog.getText", lambda *a: ("", False))
    assert app.start_of_day(kiosk_dir) is None


def test_without_a_display_the_headless_demo_runs(monkeypatch, capsys) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    ran: list[list[str]] = []
    monkeypatch.setattr("kiosk.cli.main", lambda argv: ran.append(argv) or 0)
    assert app.main([]) == 0
    assert ran == [["demo", "--headless"]]
    assert "no display here" in capsys.readouterr().out


def test_the_start_of_day_erases_what_is_past_its_retention(tmp_path: Path) -> None:
    from kiosk import keys
    from kiosk.scripted import take_demo_interview
    from kiosk.store import Store
    from kiosk.templates import find_template
    from ui.app import open_day

    keys.init_keys(tmp_path, "retention day passphrase", keys.KdfParams(8192, 1, 1))
    unlocked = keys.unlock(tmp_path, "retention day passphrase")
    store = Store(tmp_path, keys.recipients(tmp_path), [unlocked.identity])
    store.keep_template(find_template("demo"))
    old = take_demo_interview(store)  # on the fake clock's day, long past the demo's 7 days
    store.close()
    today = open_day(tmp_path, unlocked, find_template("demo"))
    assert today.find(old.id) is None
    assert any(e.action == "session.erased" and e.actor == "retention"
               for e in today.audit.entries())
    today.close()
