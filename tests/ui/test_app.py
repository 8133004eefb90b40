"""Starting the kiosk app: start of day on screen, and no display at all."""

from __future__ import annotations

import os
import tempfile
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


def test_without_a_display_the_headless_demo_runs_in_a_folder_of_its_own(
        monkeypatch, capsys, fresh_data_dir: Path) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    ran: list[tuple[list[str], str | None]] = []
    monkeypatch.setattr("kiosk.commands.main.main",
                        lambda argv: ran.append((argv, os.environ.get("KIOSK_DATA_DIR"))) or 0)
    assert app.main(["--template", "retail-sales-associate"]) == 0
    # Not in $KIOSK_DATA_DIR: demo keys there would make `kiosk init` refuse it later.
    assert ran == [(["demo", "--headless", "--template", "retail-sales-associate"], None)]
    assert os.environ["KIOSK_DATA_DIR"] == str(fresh_data_dir)
    out = capsys.readouterr().out
    assert "no display here" in out and f"nothing is changed in {fresh_data_dir}" in out


def test_without_a_display_a_kiosk_that_is_set_up_is_left_alone(
        monkeypatch, capsys, fresh_data_dir: Path) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    keys.init_keys(fresh_data_dir, PASS, keys.KdfParams(8192, 1, 1))
    ran: list[list[str]] = []
    monkeypatch.setattr("kiosk.commands.main.main", lambda argv: ran.append(argv) or 0)
    assert app.main(["--passphrase-file", "demo-secret"]) == 0
    assert ran == [["demo", "--headless", "--passphrase-file", "demo-secret"]]
    assert f"the kiosk in {fresh_data_dir} is not touched" in capsys.readouterr().out


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    """A user account where nothing is set up: HOME and XDG_DATA_HOME in the test's folder,
    no KIOSK_DATA_DIR, and temporary folders in the test's folder too (to see them go)."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("KIOSK_DATA_DIR", raising=False)
    monkeypatch.delenv("KIOSK_PASSPHRASE", raising=False)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return home


def default_data_dir(home: Path) -> Path:
    return home / ".local" / "share" / "interview-kiosk"


def run_app(argv: list[str]) -> tuple[int, dict[str, object]]:
    """Start `kiosk-app` in this process, note what its window shows, then close it."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.window import KioskWindow

    seen: dict[str, object] = {}
    tries = iter(range(1200))  # a minute of looking, then give up rather than hang

    def look_then_close() -> None:
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, KioskWindow) and w.isVisible()]
        if not windows and next(tries, None) is None:
            QApplication.quit()
        elif not windows:
            QTimer.singleShot(50, look_then_close)
            return
        window = windows[0]
        store = window.runtime.store
        seen.update(template=window.flow.template.id, data_dir=store.data_dir,
                    unlocked=any(e.action == "keys.unlocked" for e in store.audit.entries()))
        window.close()

    QTimer.singleShot(0, look_then_close)
    return app.main(argv), seen


def kiosk(*argv: str) -> None:
    from kiosk.commands.main import main as kiosk_main

    assert kiosk_main(list(argv)) == 0, argv


def test_make_run_after_kiosk_init_opens_that_kiosk_with_its_interview(
        qtbot, home: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text(PASS)
    kiosk("init", "--passphrase-file", str(secret), "--kdf-memory-mib", "8",
          "--kdf-iterations", "1")
    kiosk("settings", "set", "interview.template", "retail-sales-associate")
    capsys.readouterr()
    monkeypatch.setenv("KIOSK_PASSPHRASE", PASS)
    status, seen = run_app(["--windowed"])
    data_dir = default_data_dir(home)
    assert status == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"Interview Kiosk: the kiosk in {data_dir}, interview 'Retail Sales Associate'.")
    assert seen == {"template": "retail-sales-associate", "data_dir": data_dir,
                    "unlocked": True}
    assert keys.is_initialised(data_dir) and (data_dir / "kiosk.db").exists()  # still there
    assert not list((tmp_path / "tmp").iterdir())  # and no demo kiosk anywhere


def test_without_a_passphrase_given_the_kiosk_asks_for_it_on_screen(
        qtbot, home: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text(PASS)
    kiosk("init", "--passphrase-file", str(secret), "--kdf-memory-mib", "8",
          "--kdf-iterations", "1")
    asked: list[str] = []
    monkeypatch.setattr("PySide6.QtWidgets.QInputDialog.getText",
                        lambda parent, title, message, mode: asked.append(message) or (PASS, True))
    status, seen = run_app(["--windowed"])
    assert status == 0 and seen["data_dir"] == default_data_dir(home) and seen["unlocked"]
    assert len(asked) == 1 and asked[0].startswith("Start of day")


def test_the_kiosk_opens_with_the_passphrase_from_a_file_too(
        qtbot, home: Path, tmp_path: Path, capsys) -> None:
    data_dir = tmp_path / "the-kiosk"
    secret = tmp_path / "passphrase"
    secret.write_text(PASS)
    kiosk("--data-dir", str(data_dir), "init", "--passphrase-file", str(secret),
          "--kdf-memory-mib", "8", "--kdf-iterations", "1")
    capsys.readouterr()
    status, seen = run_app(["--windowed", "--data-dir", str(data_dir),
                            "--passphrase-file", str(secret)])
    assert status == 0 and seen["data_dir"] == data_dir and seen["template"] == "demo"
    assert capsys.readouterr().out.startswith(f"Interview Kiosk: the kiosk in {data_dir},")


@pytest.mark.parametrize("where", ["default", "environment", "option"])
def test_where_no_kiosk_is_set_up_a_demo_runs_and_leaves_nothing_behind(
        qtbot, home: Path, tmp_path: Path, monkeypatch, capsys, where: str) -> None:
    data_dir = default_data_dir(home) if where == "default" else tmp_path / "not-yet"
    argv = ["--windowed"]
    if where == "environment":
        monkeypatch.setenv("KIOSK_DATA_DIR", str(data_dir))
    if where == "option":
        argv += ["--data-dir", str(data_dir)]
    # Chosen before `kiosk init`: the demo shows it, and leaves the file as it was.
    kiosk("--data-dir", str(data_dir), "settings", "set", "interview.template",
          "retail-sales-associate")
    before = sorted(p.name for p in data_dir.rglob("*"))
    capsys.readouterr()
    status, seen = run_app(argv)
    out = capsys.readouterr().out
    init = f"kiosk --data-dir {data_dir} init" if where == "option" else "kiosk init"
    assert status == 0
    assert out.startswith(f"Demo kiosk (nothing is set up in {data_dir}; run `{init}` to set "
                          f"this kiosk up), interview 'Retail Sales Associate'.")
    assert "Staff passphrase for this demo: 'demo " in out
    assert seen["template"] == "retail-sales-associate" and seen["unlocked"] is True
    assert seen["data_dir"] != data_dir
    assert sorted(p.name for p in data_dir.rglob("*")) == before  # not half a kiosk
    assert not list((tmp_path / "tmp").iterdir())  # the demo is gone
    secret = tmp_path / "passphrase"
    secret.write_text(PASS)
    kiosk("--data-dir", str(data_dir), "init", "--passphrase-file", str(secret),
          "--kdf-memory-mib", "8", "--kdf-iterations", "1")  # and the real one can be made


def test_a_wrong_passphrase_from_the_environment_is_one_line(
        qtbot, home: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    data_dir = tmp_path / "the-kiosk"
    keys.init_keys(data_dir, PASS, keys.KdfParams(8192, 1, 1))
    monkeypatch.setenv("KIOSK_PASSPHRASE", "not the passphrase at all")
    monkeypatch.setattr(keys.time, "sleep", lambda _: None)
    assert app.main(["--windowed", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kiosk-app: error: ") and err.count("\n") == 1


def test_the_start_of_day_erases_what_is_past_its_retention(tmp_path: Path) -> None:
    from kiosk import keys
    from kiosk.demo.scripted_candidate import take_demo_interview
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
