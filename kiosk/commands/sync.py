"""`kiosk enroll`, `kiosk sync [--once]`, `kiosk sync status` and `kiosk export`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from kiosk.commands.common import Parser, add_passphrase_options, open_data_dir
from kiosk.commands.records import audit_if_initialised, open_store, unlock_keys
from kiosk.drives.held import drive_for, drive_interview, load_drives
from kiosk.errors import InvalidInput, KioskError
from kiosk.settings import Settings
from kiosk.store import outbox
from kiosk.templates import find_template
from kiosk.uplink import enrollment, sender
from kiosk.uplink.status import KioskStatus


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `enroll`, `sync` and `export`."""
    enroll = commands.add_parser("enroll", help="enroll this kiosk with HQ (one-time code)")
    enroll.add_argument("url", help="HQ's address, e.g. https://hq.example.org")
    enroll.add_argument("code", help="the one-time code from `kiosk-hq enroll-code`")
    enroll.add_argument("--name", help="this kiosk's name at HQ (default: the host name)")
    add_passphrase_options(enroll)
    enroll.set_defaults(handler=enroll_command)

    sync = commands.add_parser("sync", help="send what waits to HQ (until stopped, or --once)")
    sync.add_argument("--once", action="store_true", help="one pass, then exit")
    sync.add_argument("--interval", type=float, default=60.0, metavar="SECONDS",
                      help="between passes when all went well (default 60)")
    add_passphrase_options(sync)
    sync.set_defaults(handler=sync_command)
    sub = sync.add_subparsers(dest="sync_command", metavar="COMMAND", parser_class=Parser)
    sub.add_parser("status", help="what waits, what went, what HQ refused"
                   ).set_defaults(handler=status_command)

    export = commands.add_parser("export", help="write a bundle for HQ to removable media")
    export.add_argument("--to", required=True, metavar="DIR", help="where to write it")
    export.add_argument("--since", metavar="DATE",
                        help="only sessions that ended on or after DATE (YYYY-MM-DD)")
    add_passphrase_options(export)
    export.set_defaults(handler=export_command)


def enroll_command(args: argparse.Namespace) -> int:
    """Spend the code; HQ's key is added for every new file."""
    data_dir, _ = open_data_dir(args)
    unlocked = unlock_keys(data_dir, args.passphrase_file)
    link = enrollment.enroll(data_dir, args.url, args.code, unlocked, args.name)
    audit_if_initialised(data_dir, "hq.enrolled", device_id=link.device_id)
    print(f"enrolled with {link.url} as {link.device_id}; new recordings and sessions are "
          f"sealed to HQ too. Run `kiosk sync` to send what waits.")
    return 0


def _print_pass(result: sender.PassResult) -> None:
    sent = ", ".join(f"{n} {kind}s" for kind, n in sorted(result.sent.items())) or "nothing"
    line = f"sent {sent}"
    if result.templates:
        line += f"; installed templates from HQ: {', '.join(result.templates)}"
    if result.rejected:
        line += f"; HQ refused {result.rejected} (see `kiosk sync status`)"
    print(line, flush=True)
    if result.stopped_by:
        print(f"stopped: {result.stopped_by}" + (" (will retry)" if result.transient else ""),
              file=sys.stderr, flush=True)


def _status(data_dir: Path) -> KioskStatus:
    """What this command can tell HQ of the kiosk: the interview set up and the drive it
    serves today (the window knows the camera and microphone; here they stay unknown)."""
    status = KioskStatus()
    today = datetime.now(UTC).date()
    with contextlib.suppress(KioskError, ValueError):
        status.interview(drive_interview(data_dir, today) or find_template(
            str(Settings.load(data_dir).get("interview.template")), data_dir).id)
    drive = drive_for(load_drives(data_dir), None, today)
    status.drive(drive.id if drive else None)
    return status


def sync_command(args: argparse.Namespace) -> int:
    """One pass, or passes until SIGINT/SIGTERM."""
    data_dir, _ = open_data_dir(args)
    enrollment.require_link(data_dir)
    unlocked = unlock_keys(data_dir, args.passphrase_file)
    store = open_store(data_dir, unlocked)
    try:
        link, client = sender.open_client(data_dir, unlocked)

        def progress(_item: str, done: int, total: int) -> None:
            if sys.stderr.isatty():
                print(f"\ruploading a recording: {done * 100 // total:3d} %", end="",
                      file=sys.stderr, flush=True)

        service = sender.SyncService(store, link, client, on_progress=progress,
                                     status=_status(data_dir))
        if args.once:
            result = service.run_pass()
            _print_pass(result)
            return 0 if result.stopped_by is None else 1
        stop = threading.Event()

        def on_signal(_number: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        sender.SyncLoop(service, args.interval, sleep=stop.wait, report=_print_pass).run()
        return 0
    finally:
        store.close()


def status_command(args: argparse.Namespace) -> int:
    """Counts only: no passphrase needed, no candidate data shown."""
    data_dir, _ = open_data_dir(args)
    link = enrollment.load_link(data_dir)
    print(f"HQ: {link.url} as {link.device_id}" if link else "HQ: not enrolled")
    store = open_store(data_dir)
    try:
        state = outbox.status(store)
    finally:
        store.close()
    waiting = ", ".join(f"{n} {kind}s" for kind, n in sorted(state.waiting.items()))
    print(f"waiting: {waiting or 'nothing'}")
    if state.waiting_for_scoring:
        print(f"  of which {state.waiting_for_scoring} sessions wait for scoring to finish")
    print(f"sent and confirmed by HQ: {state.sent}")
    if state.last_error:
        print(f"last failure: {state.last_error}")
    for family, session_id, error in state.rejected:
        print(f"refused by HQ: a {family} of session {session_id[:8]} ({error})")
    if state.demo_kept:
        print(f"demo sessions kept on this kiosk (never sent): {state.demo_kept}")
    return 0


def export_command(args: argparse.Namespace) -> int:
    """Write one bundle with a progress line."""
    from kiosk.uplink.export import export_bundle

    data_dir, _ = open_data_dir(args)
    target = Path(args.to)
    if not target.is_dir():
        raise InvalidInput("--to", f"{target} is not a folder (is the USB stick mounted?)")
    since = None
    if args.since:
        try:
            since = datetime.strptime(args.since, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise InvalidInput("--since", "give a date as YYYY-MM-DD") from None
    unlocked = unlock_keys(data_dir, args.passphrase_file)
    store = open_store(data_dir, unlocked)

    def progress(done: int, total: int) -> None:
        print(f"\rwriting bundle: {done * 100 // max(total, 1):3d} %", end="",
              file=sys.stderr, flush=True)

    try:
        path, sessions = export_bundle(store, unlocked, target, since, progress)
    finally:
        store.close()
    print(file=sys.stderr)
    noun = "session" if sessions == 1 else "sessions"
    print(f"wrote {sessions} {noun} to {path}; take it to HQ (`kiosk-hq import`)")
    return 0
