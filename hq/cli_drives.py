"""`kiosk-hq drives …`: create a drive, import its roster, list drives with their funnel,
write the invitations, export the placement cell's list. Thin: each command opens HQ,
calls one function of `hq.drives` and turns its errors into one line on stderr."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hq import drives
from hq.roster import RosterError, parse_roster_csv
from kiosk import keys
from sync.invites import DRIVE_ID

Handler = Callable[[argparse.Namespace], int]


def _fail(message: str, status: int = 1) -> int:
    print(f"kiosk-hq: error: {message}", file=sys.stderr)
    return status


def _drive_id(text: str) -> str:
    if not DRIVE_ID.fullmatch(text):
        raise drives.NoSuchDriveError(f"{text!r} is not a drive id (like d-0123456789; see "
                                      "kiosk-hq drives list)")
    return text


def drives_create(args: argparse.Namespace) -> int:
    """Create a drive and print its id."""
    from hq.cli import _audit, _storage

    directory, storage = _storage(args)
    try:
        drive_id = drives.create_drive(storage, args.name, args.interview, args.kiosk,
                                       args.date_from, args.date_to, args.walk_ins)
    except drives.DriveError as exc:
        return _fail(str(exc), 2)
    drive = drives.get_drive(storage, drive_id)
    _audit(directory, storage).record("drive.created", "admin-cli", {
        "drive_id": drive_id, "interview_id": args.interview,
        "kiosks": [k["id"] for k in drive["kiosks"]], "walk_ins": args.walk_ins})
    print(drive_id)
    return 0


def drives_kiosks(args: argparse.Namespace) -> int:
    """Add or remove a drive's kiosks; print the kiosks it has now."""
    from hq.cli import _audit, _storage

    directory, storage = _storage(args)
    try:
        now = drives.change_kiosks(storage, _drive_id(args.drive), args.add, args.remove)
    except drives.NoSuchDriveError as exc:
        return _fail(str(exc))
    except drives.DriveError as exc:
        return _fail(str(exc), 2)
    if args.add or args.remove:
        _audit(directory, storage).record("drive.kiosks_changed", "admin-cli",
                                          {"drive_id": args.drive, "kiosks": now})
    print("\n".join(now) if now else "the drive has no kiosks")
    return 0


def drives_roster(args: argparse.Namespace) -> int:
    """Import a roster CSV: every row, or none with every bad row named FILE:LINE."""
    from hq.cli import _audit, _storage

    directory, storage = _storage(args)
    try:
        drive_id = _drive_id(args.drive)
        drives.get_drive(storage, drive_id)
        data = Path(args.file).read_bytes()
    except drives.DriveError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror}")
    try:
        rows = parse_roster_csv(data)
    except RosterError as exc:
        for line, message in exc.problems:
            print(f"{args.file}:{line}: {message}", file=sys.stderr)
        return _fail(f"{len(exc.problems)} problem(s); nothing was imported")
    count = drives.import_roster(storage, drive_id, rows,
                                 keys.load_public(directory).recipient)
    _audit(directory, storage).record("drive.roster_imported", "admin-cli",
                                      {"drive_id": drive_id, "invited": count})
    print(f"imported {count} invited candidates into {drive_id}")
    return 0


_LIST_FIELDS = ("invited", "started", "completed", "no_shows")


def drives_list(args: argparse.Namespace) -> int:
    """Every drive with its invited, started, completed and no-show counts."""
    from hq.cli import _storage

    _, storage = _storage(args)
    found = drives.list_drives(storage)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    for drive in found:
        dates = f"{drive['starts_on']}..{drive['ends_on']}" if drive["starts_on"] else "-"
        counts = "  ".join(f"{name.replace('_', '-')} {drive[name]}" for name in _LIST_FIELDS)
        print(f"{drive['id']}  {drive['name'][:30]:30}  {drive['interview_id'][:24]:24}  "
              f"{dates}  {counts}")
    if not found:
        print("no drives yet (kiosk-hq drives create NAME --interview ID)", file=sys.stderr)
    return 0


def _drive_with_keys(args: argparse.Namespace) -> tuple[Path, Any, dict[str, Any],
                                                       keys.UnlockedKeys]:
    """HQ's folder, its storage, the drive named by `args.drive`, and HQ's keys (the roster
    is sealed: only the admin passphrase opens it). Raises DriveError for an unknown drive."""
    from hq.cli import _passphrase, _storage

    directory, storage = _storage(args)
    drive = drives.get_drive(storage, _drive_id(args.drive))
    return directory, storage, drive, keys.unlock(directory, _passphrase(args))


def drives_invites(args: argparse.Namespace) -> int:
    """Write the printable invitations and the mail-merge CSV into a folder."""
    from hq.cli import _audit
    from hq.invite_sheets import invitations, write_invitations
    from hq.results import interview_titles

    try:
        directory, storage, drive, unlocked = _drive_with_keys(args)
    except drives.DriveError as exc:
        return _fail(str(exc))
    people = drives.invited(storage, drive["id"], unlocked.identity)
    if not people:
        return _fail(f"{drive['id']} has no roster yet (kiosk-hq drives roster)")
    cards = invitations(people, drive, unlocked.signing)
    out = Path(args.out)
    try:
        write_invitations(out, drive, cards,
                          interview_titles(storage).get(drive["interview_id"]))
    except OSError as exc:
        return _fail(f"cannot write into {out}: {exc.strerror}")
    _audit(directory, storage).record("drive.invites_written", "admin-cli",
                                      {"drive_id": drive["id"], "invites": len(cards)})
    print(f"wrote {len(cards)} invitations: {out / 'invitations.html'} (print it) and "
          f"{out / 'mail-merge.csv'} (with qr/*.png)")
    return 0


def drives_delete(args: argparse.Namespace) -> int:
    """Delete a drive and its roster once it is over."""
    from hq.cli import _audit, _storage

    directory, storage = _storage(args)
    try:
        drive_id = _drive_id(args.drive)
        if args.confirm != drive_id:
            return _fail("to delete a drive and its roster, repeat its id: "
                         f"--confirm {drive_id}", 2)
        count = drives.delete_drive(storage, drive_id)
    except drives.DriveError as exc:
        return _fail(str(exc))
    _audit(directory, storage).record("drive.deleted", "admin-cli",
                                      {"drive_id": drive_id, "invites": count})
    print(f"deleted {drive_id} and its roster of {count}; its sessions keep their own "
          "retention")
    return 0


def placement_csv(rows: list[dict[str, Any]]) -> str:
    """The placement cell's list as CSV (formula-looking cells written as text)."""
    from hq.reports import _cell

    out = io.StringIO()
    writer = csv.writer(out)
    names = list(rows[0]) if rows else list(drives.PLACEMENT_FIELDS)
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(row[name]) for name in names])
    return out.getvalue()


def drives_export(args: argparse.Namespace) -> int:
    """The placement cell's list: who came and finished; decisions/scores only if asked."""
    from hq.cli import _audit

    try:
        directory, storage, drive, unlocked = _drive_with_keys(args)
    except drives.DriveError as exc:
        return _fail(str(exc))
    rows = drives.placement_rows(storage, drive["id"], unlocked.identity, args.decisions,
                                 args.scores)
    text = placement_csv(rows)
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            return _fail(f"cannot write {args.out}: {exc.strerror}")
    else:
        sys.stdout.write(text)
    _audit(directory, storage).record("drive.exported", "admin-cli", {
        "drive_id": drive["id"], "rows": len(rows), "decisions": args.decisions,
        "scores": args.scores})
    return 0


def add_commands(commands: Any, passphrase_option: Callable[[argparse.ArgumentParser], None],
                 parser_class: type[argparse.ArgumentParser]) -> None:
    """Add `drives` and its subcommands to kiosk-hq's grammar."""
    drive = commands.add_parser("drives", help="campus recruitment drives: roster, "
                                "invitations, funnel")
    sub = drive.add_subparsers(dest="drives_command", metavar="COMMAND",
                               parser_class=parser_class, required=True)
    create = sub.add_parser("create", help="create a drive; prints its id")
    create.add_argument("name", help="the drive's name, e.g. 'IIT Delhi, December'")
    create.add_argument("--interview", required=True, metavar="ID",
                        help="the interview template's id")
    create.add_argument("--kiosk", action="append", default=[], metavar="DEVICE",
                        help="a kiosk of the drive, by device id or name (repeatable)")
    create.add_argument("--from", dest="date_from", metavar="DATE",
                        help="first day, e.g. 2026-12-05")
    create.add_argument("--to", dest="date_to", metavar="DATE", help="last day; invitations "
                        "expire at its end anywhere on earth (default: 30 days from now)")
    create.add_argument("--walk-ins", action="store_true",
                        help="let candidates without an invitation take the interview too")
    create.set_defaults(handler=drives_create)

    kiosks = sub.add_parser("kiosks", help="add or remove a drive's kiosks; list them")
    kiosks.add_argument("drive", help="the drive's id")
    kiosks.add_argument("--add", action="append", default=[], metavar="DEVICE",
                        help="a kiosk to add, by device id or name (repeatable)")
    kiosks.add_argument("--remove", action="append", default=[], metavar="DEVICE",
                        help="a kiosk to remove (repeatable): it no longer gets the roster")
    kiosks.set_defaults(handler=drives_kiosks)

    roster = sub.add_parser("roster", help="import the roster CSV (name, contact[, roll]): "
                            "all rows or none")
    roster.add_argument("drive", help="the drive's id")
    roster.add_argument("file", help="the CSV file; its first line names the columns")
    roster.set_defaults(handler=drives_roster)

    listing = sub.add_parser("list", help="every drive with invited, started, completed "
                             "and no-show counts")
    listing.add_argument("--json", action="store_true", help="print JSON (the full funnel)")
    listing.set_defaults(handler=drives_list)

    invites = sub.add_parser("invites", help="write the printable invitations and the "
                             "mail-merge CSV")
    invites.add_argument("drive", help="the drive's id")
    invites.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    passphrase_option(invites)
    invites.set_defaults(handler=drives_invites)

    export = sub.add_parser("export", help="the placement cell's list (no scores unless "
                            "asked)")
    export.add_argument("drive", help="the drive's id")
    export.add_argument("--out", metavar="FILE", help="write to FILE (default: stdout)")
    export.add_argument("--decisions", action="store_true", help="include HQ's decisions")
    export.add_argument("--scores", action="store_true",
                        help="include the reviewers' mean score")
    passphrase_option(export)
    export.set_defaults(handler=drives_export)

    delete = sub.add_parser("delete", help="delete a drive and its roster once it is over")
    delete.add_argument("drive", help="the drive's id")
    delete.add_argument("--confirm", required=True, metavar="DRIVE",
                        help="the drive's id again, to confirm")
    delete.set_defaults(handler=drives_delete)

