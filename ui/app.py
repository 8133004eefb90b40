"""`kiosk-app` (what `make run` starts): the kiosk window, or the headless demo without a display.

The data directory is found exactly as `kiosk` finds it (--data-dir, else $KIOSK_DATA_DIR,
else the platform's user data directory). Where `kiosk init` has been run, that kiosk opens:
its settings, its interview, and a start-of-day unlock with the staff passphrase (from
--passphrase-file or KIOSK_PASSPHRASE, else asked on screen). Anywhere else the app is a
temporary demo kiosk in a folder of its own, deleted when it closes, so trying the app never
leaves a half-made kiosk behind for `kiosk init` to refuse. The first line printed says which
it is. Without a camera and microphone the kiosk uses clearly labelled sample media.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk import keys
from kiosk.commands.common import PASSPHRASE_ENV, read_passphrase
from kiosk.drives.desk import InvitationDesk, open_desk
from kiosk.drives.held import drive_interview
from kiosk.errors import KioskError
from kiosk.flow import CandidateFlow, FlowTimings
from kiosk.logs import configure_logging
from kiosk.paths import DATA_DIR_ENV, data_dir_path, resolve_data_dir
from kiosk.privacy import retention
from kiosk.settings import SETTINGS_FILE, Settings
from kiosk.store import Store
from kiosk.templates import InterviewTemplate, find_template
from kiosk.uplink.enrollment import load_link
from kiosk.uplink.sender import BackgroundSync
from kiosk.uplink.status import KioskStatus

if TYPE_CHECKING:
    from ui.invitations import InvitationReader

STAFF_ENTRY = "staff entry: Ctrl+Alt+S, or five taps in the top-left corner"


def has_display() -> bool:
    """Whether a window can be shown here."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk-app",
        description="The Interview Kiosk window. It opens the kiosk set up with `kiosk init` in "
                    "the data directory; where none is set up, it runs a temporary demo kiosk "
                    "(deleted when it closes) and prints its staff passphrase. With no display "
                    "it runs the headless demo (`kiosk demo --headless`) instead.")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="the kiosk's data directory (default: $KIOSK_DATA_DIR, else the "
                             "platform's user data directory, as for `kiosk`)")
    parser.add_argument("--template", metavar="ID_OR_PATH",
                        help="the interview to run (default: the interview.template setting)")
    parser.add_argument("--video", metavar="FILE",
                        help="play FILE as the candidate's camera and microphone (sample media)")
    parser.add_argument("--windowed", action="store_true",
                        help="a normal window instead of locked full screen (for trying it out)")
    parser.add_argument("--passphrase-file", metavar="FILE",
                        help=f"read the staff passphrase from FILE (else ${PASSPHRASE_ENV}, else "
                             f"the window asks at start of day); for a demo kiosk, the "
                             f"passphrase to give it")
    return parser


def open_kiosk(data_dir: Path, passphrase: str) -> keys.UnlockedKeys:
    """Unlock the data directory's keys (creating demo keys in an empty directory)."""
    if not keys.is_initialised(data_dir):
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
        return _headless_demo(args)
    try:
        return _run(args)
    except KioskError as exc:
        print(f"kiosk-app: error: {exc}", file=sys.stderr)
        return exc.exit_status


def _headless_demo(args: argparse.Namespace) -> int:
    """No window can open here: the headless demo, always in a temporary folder."""
    from kiosk.commands.main import main as cli_main

    home = data_dir_path(args.data_dir)
    untouched = (f"the kiosk in {home} is not touched" if keys.is_initialised(home)
                 else f"nothing is changed in {home}")
    print(f"There is no display here (DISPLAY is not set), so the kiosk window cannot open. "
          f"Running the headless demo instead, in a temporary folder ({untouched}); "
          f"on a kiosk, start a display first (see docs/deployment.md).", flush=True)
    demo = ["demo", "--headless"]
    for option, value in (("--template", args.template), ("--video", args.video),
                          ("--passphrase-file", args.passphrase_file)):
        demo += [option, value] if value else []
    saved = os.environ.pop(DATA_DIR_ENV, None)  # or the demo would be kept there
    try:
        return cli_main(demo)
    finally:
        if saved is not None:
            os.environ[DATA_DIR_ENV] = saved


@contextlib.contextmanager
def kiosk_data_dir(explicit: str | None) -> Iterator[tuple[Path, Path, bool]]:
    """(data dir to run in, the data directory found, whether this is a demo kiosk).

    A data directory where `kiosk init` ran is used as it is. Otherwise the demo runs in a
    temporary folder, starting from that directory's settings if it has any, and nothing is
    written where the kiosk will later be set up.
    """
    home = data_dir_path(explicit)
    if keys.is_initialised(home):
        yield resolve_data_dir(home), home, False
        return
    with tempfile.TemporaryDirectory(prefix="kiosk-app-demo-") as temporary:
        demo = Path(temporary)
        if (home / SETTINGS_FILE).is_file():
            shutil.copyfile(home / SETTINGS_FILE, demo / SETTINGS_FILE)
        yield demo, home, True


def _invitations(store: Store, data_dir: Path, unlocked: keys.UnlockedKeys,
                 template: InterviewTemplate, video: str | None,
                 sample_media: bool) -> InvitationReader | None:
    """The invitation desk and scanner of the drive this kiosk serves with `template`, or
    None where it serves none (walk-ins only, as before drives)."""
    from capture.sources import FileSource, Source
    from ui.invitations import InvitationReader

    link = load_link(data_dir)
    if link is None:
        return None

    def reopen() -> InvitationDesk | None:
        assert link is not None
        return open_desk(store, data_dir, [unlocked.identity], link.verify_key, template.id)

    desk = reopen()
    if desk is None:
        return None
    camera: Callable[[], Source] | None = None
    if video:
        camera = lambda: FileSource(video, loop=True, video=True)  # noqa: E731
    elif not sample_media:
        def camera() -> Source:
            from capture.devices import CameraSource, DeviceSource

            return DeviceSource(CameraSource(), None)
    print(f"Campus drive '{desk.drive.name}': invitations are scanned"
          + ("" if camera else " (no camera here: typed codes only)")
          + ("; walk-ins welcome." if desk.walk_ins else "; no walk-ins."), flush=True)
    return InvitationReader(desk, camera, reopen)


def _init_hint(explicit: str | None, home: Path) -> str:
    return f"kiosk --data-dir {home} init" if explicit else "kiosk init"


def _run(args: argparse.Namespace) -> int:
    with kiosk_data_dir(args.data_dir) as (data_dir, home, demo):
        settings = Settings.load(data_dir)
        configure_logging(data_dir)
        template = find_template(args.template
                                 or drive_interview(data_dir, datetime.now(UTC).date())
                                 or str(settings.get("interview.template")), data_dir)
        interview = f"interview '{template.title.get(template.default_language)}'"
        if not demo:
            print(f"Interview Kiosk: the kiosk in {home}, {interview}.", flush=True)
            return _open_window(args, data_dir, settings, template, None)
        passphrase = "demo " + secrets.token_hex(6)
        if args.passphrase_file or os.environ.get(PASSPHRASE_ENV):
            passphrase = read_passphrase(args.passphrase_file, PASSPHRASE_ENV, "Passphrase")
        print(f"Demo kiosk (nothing is set up in {home}; run `{_init_hint(args.data_dir, home)}` "
              f"to set this kiosk up), {interview}. It is deleted when it closes.\n"
              f"Staff passphrase for this demo: {passphrase!r} ({STAFF_ENTRY}).", flush=True)
        return _open_window(args, data_dir, settings, template, passphrase)


def _open_window(args: argparse.Namespace, data_dir: Path, settings: Settings,
                 template: InterviewTemplate, demo_passphrase: str | None) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from capture.devices import list_cameras
    from kiosk.transcription.worker import WorkerProcess
    from ui import theme
    from ui.runtime import Runtime
    from ui.window import KioskWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    if demo_passphrase is not None:
        unlocked = open_kiosk(data_dir, demo_passphrase)
    elif args.passphrase_file or os.environ.get(PASSPHRASE_ENV):
        unlocked = keys.unlock(data_dir, read_passphrase(args.passphrase_file, PASSPHRASE_ENV,
                                                         "Staff passphrase"))
    else:
        found = start_of_day(data_dir)
        if found is None:
            return 1
        unlocked = found
    store = open_day(data_dir, unlocked, template)
    worker = WorkerProcess(data_dir, unlocked.identity)
    sample_media = not list_cameras()
    invitations = _invitations(store, data_dir, unlocked, template, args.video, sample_media)
    drive = invitations.desk.drive if invitations is not None else None
    # The window updates it; each sync pass reports it to HQ, the first one included.
    health = KioskStatus()
    health.interview(template.id)
    health.drive(drive.id if drive else None)
    if sample_media:
        health.device("camera", "absent")
    if invitations is not None:
        invitations.status = health
    sync = None
    if load_link(data_dir) is not None:  # enrolled: send to HQ whenever it can be reached
        sync = BackgroundSync(data_dir, unlocked, status=health)
        sync.start()
    runtime = Runtime(store, worker=worker, video=Path(args.video) if args.video else None,
                      sample_media=sample_media, sync=sync, unlocked=unlocked,
                      invitations=invitations, status=health)
    flow = CandidateFlow(template, archive=store, timings=FlowTimings.from_settings(settings),
                         drive=drive.id if drive else None,
                         walk_ins=drive.walk_ins if drive else True)

    def staff_check(text: str) -> bool:
        try:
            keys.unlock(data_dir, text)
        except keys.WrongPassphraseError:
            return False
        return True

    app.setStyleSheet(theme.stylesheet(bool(settings.get("ui.high_contrast")),
                                       float(settings.get("ui.text_scale"))))
    # A service stopping (SIGTERM) ends the day as closing does: takes finished, the worker
    # stopped, a demo's folder deleted. Set before the window shows, so a stop that comes at
    # once is not lost; the quit is queued, so it holds even before the event loop runs. The
    # timer lets Python see the signal in Qt's loop. exit(), not quit(): Qt 6's quit() asks
    # the windows first, and the kiosk's window refuses to close without staff, so a service
    # stop of a full-screen kiosk was ignored.
    previous = signal.signal(signal.SIGTERM,
                             lambda *_: QTimer.singleShot(0, lambda: app.exit(0)))
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    window = KioskWindow(flow, runtime, kiosk_mode=not args.windowed, staff_check=staff_check)
    if args.windowed:
        window.resize(1280, 800)
        window.show()
    else:
        window.showFullScreen()
    hook, sys.excepthook = sys.excepthook, window.report_unexpected  # no traceback for anyone
    try:
        status = app.exec()
    finally:
        wake.stop()
        signal.signal(signal.SIGTERM, previous)
        sys.excepthook = hook
        if window.isVisible():  # quit by the signal, not closed: shut down as a close does
            window.hide()
            runtime.shut_down()
        store.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
