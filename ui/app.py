"""`kiosk-app` (what `make run` starts): the kiosk window, or the headless demo without a display.

Start of day: the data directory's keys are unlocked with the staff passphrase (from the
terminal, --passphrase-file or KIOSK_PASSPHRASE). A data directory without keys (a first
try on a new machine) becomes a temporary demo kiosk, whose passphrase is printed. Without a
camera and microphone the kiosk uses clearly labelled sample media.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from pathlib import Path

from kiosk import keys, retention
from kiosk.commands.common import PASSPHRASE_ENV, read_passphrase
from kiosk.errors import KioskError
from kiosk.flow import CandidateFlow, FlowTimings
from kiosk.hq_link import load_link
from kiosk.logs import configure_logging
from kiosk.paths import DATA_DIR_ENV, resolve_data_dir
from kiosk.settings import Settings
from kiosk.store import Store
from kiosk.syncing import BackgroundSync
from kiosk.templates import InterviewTemplate, find_template


def has_display() -> bool:
    """Whether a window can be shown here."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-app", description="The Interview Kiosk window.")
    parser.add_argument("--data-dir", help="data directory (default: as for `kiosk`)")
    parser.add_argument("--template", help="interview id or file (default: the setting)")
    parser.add_argument("--video", help="a video to use as sample media instead of a camera")
    parser.add_argument("--windowed", action="store_true",
                        help="a normal window instead of locked full screen (for trying it out)")
    parser.add_argument("--passphrase-file", help="read the staff passphrase from FILE")
    return parser


def open_kiosk(data_dir: Path, passphrase: str) -> keys.UnlockedKeys:
    """Unlock the data directory's keys (creating demo keys in an empty directory)."""
    if not (data_dir / keys.KEYS_DIR / keys.KEY_FILE).exists():
        keys.init_keys(data_dir, passphrase)
        Store(data_dir, keys.recipients(data_dir)).close()
    return keys.unlock(data_dir, passphrase)


def start_of_day(data_dir: Path) -> keys.UnlockedKeys | None:
    """Ask staff for the passphrase on screen (a kiosk has no terminal); None if they cancel."""
    from PySide6.QtWidgets import QInputDialog, QLineEdit

    message = "Start of day: the staff passphrase unlocks this kiosk."
    while True:
        text, ok = QInputDialog.getText(None, "Interview Kiosk", message,
                                        QLineEdit.EchoMode.Password)
        if not ok:
            return None
        try:
            return keys.unlock(data_dir, text)  # waits longer after each wrong one
        except keys.WrongPassphraseError as exc:
            message = f"That did not unlock the kiosk ({exc}). Try again:"


def open_day(data_dir: Path, unlocked: keys.UnlockedKeys, template: InterviewTemplate) -> Store:
    """The store for today: the interview kept, the unlock audited, and sessions past their
    retention erased (an unenrolled kiosk has no sync worker to do it after each pass)."""
    store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
    store.keep_template(template)
    with store.transaction():
        store.audit.append("keys.unlocked", {"key_id": unlocked.identity.key_id.hex()})
    retention.run(store)
    return store


def main(argv: list[str] | None = None) -> int:
    """Start the kiosk window (or the headless demo when there is no display)."""
    args = _parser().parse_args(argv)
    if not has_display():
        print("There is no display here (DISPLAY is not set), so the kiosk window cannot "
              "open. Running the headless demo instead; on a kiosk, start a display first "
              "(see docs/deployment.md).", flush=True)
        from kiosk.cli import main as cli_main

        return cli_main(["demo", "--headless"])
    try:
        return _run(args)
    except KioskError as exc:
        print(f"kiosk-app: error: {exc}", file=sys.stderr)
        return exc.exit_status


def _run(args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication

    from capture.devices import list_cameras
    from kiosk.worker import WorkerProcess
    from ui import theme
    from ui.runtime import Runtime
    from ui.window import KioskWindow

    explicit = args.data_dir or os.environ.get(DATA_DIR_ENV)
    temporary = None if explicit else tempfile.TemporaryDirectory(prefix="kiosk-app-demo-")
    data_dir = resolve_data_dir(explicit or (temporary.name if temporary else None))
    settings = Settings.load(data_dir)
    configure_logging(data_dir)
    if temporary is not None or not (data_dir / keys.KEYS_DIR / keys.KEY_FILE).exists():
        passphrase = "demo " + secrets.token_hex(6)
        if args.passphrase_file or os.environ.get(PASSPHRASE_ENV):
            passphrase = read_passphrase(args.passphrase_file, PASSPHRASE_ENV, "Passphrase")
        print(f"Demo kiosk in {data_dir}. Staff passphrase for this demo: {passphrase!r} "
              f"(staff entry: Ctrl+Alt+S, or five taps in the top-left corner).", flush=True)
    else:
        passphrase = ""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if passphrase:
        unlocked = open_kiosk(data_dir, passphrase)
    elif args.passphrase_file or os.environ.get(PASSPHRASE_ENV):
        unlocked = open_kiosk(data_dir, read_passphrase(args.passphrase_file, PASSPHRASE_ENV,
                                                        "Staff passphrase"))
    else:
        found = start_of_day(data_dir)
        if found is None:
            return 1
        unlocked = found
    template_ref = args.template or str(settings.get("interview.template"))
    template = find_template(template_ref, data_dir)
    store = open_day(data_dir, unlocked, template)
    worker = WorkerProcess(data_dir, unlocked.identity)
    sample_media = not list_cameras()
    sync = None
    if load_link(data_dir) is not None:  # enrolled: send to HQ whenever it can be reached
        sync = BackgroundSync(data_dir, unlocked)
        sync.start()
    runtime = Runtime(store, worker=worker, video=Path(args.video) if args.video else None,
                      sample_media=sample_media, sync=sync, unlocked=unlocked)
    flow = CandidateFlow(template, archive=store, timings=FlowTimings.from_settings(settings))

    def staff_check(text: str) -> bool:
        try:
            keys.unlock(data_dir, text)
        except keys.WrongPassphraseError:
            return False
        return True

    app.setStyleSheet(theme.stylesheet(bool(settings.get("ui.high_contrast")),
                                       float(settings.get("ui.text_scale"))))
    window = KioskWindow(flow, runtime, kiosk_mode=not args.windowed, staff_check=staff_check)
    if args.windowed:
        window.resize(1280, 800)
        window.show()
    else:
        window.showFullScreen()
    sys.excepthook = window.report_unexpected  # no traceback ever reaches a candidate
    status = app.exec()
    store.close()
    if temporary is not None:
        temporary.cleanup()
    return status


if __name__ == "__main__":
    sys.exit(main())
