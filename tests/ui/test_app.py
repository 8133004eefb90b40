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
