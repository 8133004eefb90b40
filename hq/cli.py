"""The `kiosk-hq` command: create HQ's keys, run the server, enroll and revoke kiosks, list
and export what arrived, import bundles carried from kiosks without network.

Errors are one line on stderr: exit 1 for a failed operation, 2 for usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from hq import devices, reports, server
from hq.audit import HqAudit
from hq.blobs import FileBlobStore
from hq.config import publish_template
from hq.importer import import_bundle
from hq.storage import HqStorage, StorageError
from kiosk import keys
from kiosk.commands.common import Parser, read_passphrase, run_command, share_global_options
from sync.bundle import BundleError


def _version() -> str:
    try:
        return version("interview-kiosk")
    except PackageNotFoundError:
        return "unknown"


def _passphrase(args: argparse.Namespace, confirm: bool = False) -> str:
    return read_passphrase(args.passphrase_file, server.PASSPHRASE_ENV, "HQ admin passphrase",
                           confirm=confirm)


def _storage(args: argparse.Namespace) -> tuple[Path, HqStorage]:
    directory = server.data_dir(args.data_dir)
    return directory, server.open_storage(directory, args.db)


def _audit(directory: Path, storage: HqStorage) -> HqAudit:
    return HqAudit(storage, directory / "audit.head")


def init_command(args: argparse.Namespace) -> int:
    """Create HQ's keys under the admin passphrase, and the database."""
    directory = server.data_dir(args.data_dir)
    public = keys.init_keys(directory, _passphrase(args, confirm=True))
    server.open_storage(directory, args.db).dispose()
    print(f"HQ initialised in {directory}")
    print(f"HQ recipient (kiosks seal to this): {public.recipient.to_text()}")
    return 0


def serve_command(args: argparse.Namespace) -> int:
    """Unlock HQ's keys and serve the API."""
    try:
        proxies = [server.trusted_proxy(value) for value in args.trusted_proxy]
    except ValueError as exc:
        print(f"kiosk-hq: error: --trusted-proxy: {exc}", file=sys.stderr)
        return 2
    directory, storage = _storage(args)
    if not (directory / keys.KEYS_DIR / keys.KEY_FILE).exists():
        print(f"kiosk-hq: error: {directory} has no HQ keys yet: run `kiosk-hq init` first",
              file=sys.stderr)
        return 2
    unlocked = keys.unlock(directory, _passphrase(args))
    context = server.build_context(directory, storage, unlocked, device_rate=args.rate_limit,
                                   secure_cookies=not args.plain_http)
    if args.plain_http:
        print("kiosk-hq: warning: --plain-http: the sign-in cookie is sent without Secure; "
              "use this only for a trial on this machine", file=sys.stderr)
    print(f"HQ listening on http://{args.host}:{args.port} (the dashboard is at /)",
          file=sys.stderr, flush=True)
    server.serve(context, args.host, args.port, proxies)
    return 0


def enroll_code_command(args: argparse.Namespace) -> int:
    """Print a one-time enrollment code."""
    from datetime import timedelta

    _, storage = _storage(args)
    code, expires = devices.new_enroll_code(storage, timedelta(hours=args.hours))
    print(code)
    print(f"valid once, until {expires:%Y-%m-%d %H:%M} UTC: on the kiosk run "
          f"`kiosk enroll HQ-URL {code}`", file=sys.stderr)
    return 0


def devices_list(args: argparse.Namespace) -> int:
    """Every enrolled kiosk, with its fleet status and the reasons for it."""
    from hq.fleet import fleet

    _, storage = _storage(args)
    found = devices.list_devices(storage)
    status = {k["id"]: k for k in fleet(storage)}
    if args.json:
        print(json.dumps([{**d.__dict__, "status": status.get(d.id, {}).get("status",
                                                                           "revoked"),
                           "reasons": status.get(d.id, {}).get("reasons", [])}
                          for d in found], indent=2))
        return 0
    for device in found:
        if device.revoked_at:
            state = f"revoked {device.revoked_at[:16]}"
        else:
            kiosk = status[device.id]
            state = kiosk["status"] + (f": {'; '.join(kiosk['reasons'])}"
                                       if kiosk["reasons"] else "")
        print(f"{device.id}  {device.name:30}  enrolled {device.enrolled_at[:16]}  "
              f"last seen {(device.last_seen_at or 'never')[:16]}  {state}")
    if not found:
        print("no kiosks enrolled yet (kiosk-hq enroll-code makes a code)", file=sys.stderr)
    return 0


def devices_revoke(args: argparse.Namespace) -> int:
    """Refuse a kiosk from now on."""
    directory, storage = _storage(args)
    if not devices.revoke(storage, args.device):
        print(f"kiosk-hq: error: no active kiosk {args.device!r}", file=sys.stderr)
        return 1
    _audit(directory, storage).record("device.revoked", "admin-cli",
                                      {"device_id": args.device})
    print(f"revoked {args.device}: HQ refuses its requests and bundles from now on")
    return 0


def sessions_list(args: argparse.Namespace) -> int:
    """Sessions received, newest first."""
    _, storage = _storage(args)
    rows = reports.session_rows(storage)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        flag = "  needs review" if row["needs_review"] else ""
        print(f"{row['reference']}  {row['interview_id']:32} {row['status']:12} "
              f"{row['answered']}/{row['questions']} answered  {row['kiosk']}{flag}")
    if not rows:
        print("no sessions received yet", file=sys.stderr)
    return 0


def follow_ups_command(args: argparse.Namespace) -> int:
    """How often each follow-up probe of an interview was asked (`hq.follow_ups`)."""
    from hq.follow_ups import NOT_JUDGED, probe_rates
    from sync.fields import QUESTION_ID

    if not QUESTION_ID.fullmatch(args.interview):
        print("kiosk-hq: error: that is not an interview id", file=sys.stderr)
        return 2
    directory, storage = _storage(args)
    unlocked = keys.unlock(directory, _passphrase(args))
    rates = probe_rates(storage, unlocked.identity, args.interview, _audit(directory, storage))
    if args.json:
        print(json.dumps([question.as_json() for question in rates], indent=2))
        return 0
    for question in rates:
        apart = ", ".join(f"{n} {NOT_JUDGED.get(outcome, outcome)}"
                          for outcome, n in sorted(question.not_judged.items()))
        print(f"Q{question.number} {question.question_id}: {question.judged} judged"
              + (f" (not judged: {apart})" if apart else ""))
        for rate in question.probes:
            print(f"  {rate.sentence()}"
                  + ("  asked of most candidates: look at the question" if rate.most else ""))
    if not rates:
        print("no completed session of this interview has a follow-up decision",
              file=sys.stderr)
    return 0


def export_csv(args: argparse.Namespace) -> int:
    """Scorecards as CSV, to a file or stdout."""
    _, storage = _storage(args)
    text = reports.scorecards_csv(storage)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {text.count(chr(10)) - 1} sessions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def import_command(args: argparse.Namespace) -> int:
    """Verify and ingest a bundle."""
    directory, storage = _storage(args)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\rchecking {done * 100 // max(total, 1):3d} %", end="", file=sys.stderr)

    audit = _audit(directory, storage)
    result = import_bundle(storage, FileBlobStore(directory / "blobs"), Path(args.file),
                           progress, audit)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    audit.record("bundle.imported", "admin-cli", {
        "device_id": result.device_id, "bundle_id": result.bundle_id, "new": result.new,
        "skipped": len(result.skipped)})
    again = " (this bundle was imported before)" if result.seen_before else ""
    stale = f", {result.stale} older than what HQ holds" if result.stale else ""
    print(f"imported bundle from {result.device_id}: {result.entries} items, {result.new} "
          f"new, {result.updated} updated, {result.already} already here{stale}{again}")
    for number, kind, why in result.skipped:
        print(f"kiosk-hq: skipped entry {number} ({kind}): {why}", file=sys.stderr)
    return 1 if result.skipped else 0


def publish_command(args: argparse.Namespace) -> int:
    """Publish an interview template to every kiosk."""
    _, storage = _storage(args)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"kiosk-hq: error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    template_id, sha = publish_template(storage, data, str(path))
    print(f"published {template_id} ({sha[:12]}); kiosks pick it up at their next sync")
    return 0


def users_add(args: argparse.Namespace) -> int:
    """Create a dashboard account."""
    from hq import accounts

    directory, storage = _storage(args)
    password = read_passphrase(args.password_file, "KIOSK_HQ_USER_PASSWORD",
                               f"Password for {args.name}", confirm=True)
    try:
        user = accounts.add_user(storage, args.name, args.role, password)
    except accounts.AccountError as exc:
        print(f"kiosk-hq: error: {exc}", file=sys.stderr)
        return 1
    _audit(directory, storage).record("user.added", "admin-cli",
                                                      {"user": user.name, "role": user.role})
    print(f"added {user.name} ({user.role})")
    return 0


def users_list(args: argparse.Namespace) -> int:
    """Every account."""
    from hq import accounts

    _, storage = _storage(args)
    for user in accounts.list_users(storage):
        state = "disabled" if user["disabled_at"] else "active"
        print(f"{user['name']:30} {user['role']:10} {state}")
    return 0


def users_disable(args: argparse.Namespace) -> int:
    """Disable an account and end its sessions."""
    from hq import accounts

    directory, storage = _storage(args)
    found = [u for u in accounts.list_users(storage) if u["name"] == args.name]
    if not found:
        print(f"kiosk-hq: error: no user {args.name!r}", file=sys.stderr)
        return 1
    accounts.set_disabled(storage, int(str(found[0]["id"])), True)
    _audit(directory, storage).record("user.disabled", "admin-cli",
                                                      {"user": args.name})
    print(f"disabled {args.name}; their sessions are signed out")
    return 0


def audit_verify(args: argparse.Namespace) -> int:
    """Recompute HQ's audit hash chain."""
    directory, storage = _storage(args)
    result = _audit(directory, storage).verify()
    if result.intact:
        print(f"audit log intact: {result.entries} entries")
        return 0
    print(f"kiosk-hq: audit log BROKEN at entry {result.first_broken}: {result.reason}",
          file=sys.stderr)
    return 1


def audit_list(args: argparse.Namespace) -> int:
    """Print HQ's audit entries, oldest first."""
    directory, storage = _storage(args)
    for entry in reversed(_audit(directory, storage).entries()):
        print(f"{entry.seq:6} {entry.at} {entry.actor:20} {entry.action:22} "
              f"{json.dumps(entry.details, sort_keys=True)}")
    return 0


def retention_command(args: argparse.Namespace) -> int:
    """Erase every session past its retention now (serve also does this hourly)."""
    from hq.privacy import retention_run

    directory, storage = _storage(args)
    run = retention_run(storage, FileBlobStore(directory / "blobs"),
                        _audit(directory, storage))
    print(f"erased {run.erased} sessions past their retention; their kiosks get erasure "
          "orders")
    if run.skipped:
        print(f"skipped {run.skipped} sessions that could not be judged or erased "
              "(see `kiosk-hq audit list`, job.row_skipped)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar (also used to check the docs cover every command)."""
    parser = Parser(prog="kiosk-hq", description="Interview Kiosk HQ server.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def passphrase_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--passphrase-file", metavar="FILE", help=(
            f"read the admin passphrase from FILE (else ${server.PASSPHRASE_ENV}, else the "
            f"terminal asks)"))

    init = commands.add_parser("init", help="create HQ's keys and database")
    passphrase_option(init)
    init.set_defaults(handler=init_command)

    serve = commands.add_parser("serve", help="run the HQ server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on "
                       "(default 127.0.0.1; use 0.0.0.0 behind a TLS proxy)")
    serve.add_argument("--port", type=int, default=server.DEFAULT_PORT,
                       help=f"port (default {server.DEFAULT_PORT})")
    serve.add_argument("--rate-limit", type=float, default=50.0, metavar="N",
                       help="requests per second allowed per kiosk (default 50)")
    serve.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDR",
                       help="believe X-Forwarded-For/-Proto only from this proxy address or "
                       "network (repeatable; default: from no one)")
    serve.add_argument("--plain-http", action="store_true", help="local trials only: send "
                       "the sign-in cookie without Secure, so a browser keeps it over http://")
    passphrase_option(serve)
    serve.set_defaults(handler=serve_command)

    code = commands.add_parser("enroll-code", help="print a one-time kiosk enrollment code")
    code.add_argument("--hours", type=float, default=24.0, help="valid for (default 24)")
    code.set_defaults(handler=enroll_code_command)

    device = commands.add_parser("devices", help="list or revoke enrolled kiosks")
    device_commands = device.add_subparsers(dest="devices_command", metavar="COMMAND",
                                            parser_class=Parser, required=True)
    listing = device_commands.add_parser("list", help="every enrolled kiosk")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=devices_list)
    revoke = device_commands.add_parser("revoke", help="refuse a kiosk from now on")
    revoke.add_argument("device", help="the kiosk's device id (see devices list)")
    revoke.set_defaults(handler=devices_revoke)

    session = commands.add_parser("sessions", help="sessions received from kiosks")
    session_commands = session.add_subparsers(dest="sessions_command", metavar="COMMAND",
                                              parser_class=Parser, required=True)
    listing = session_commands.add_parser("list", help="newest first")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=sessions_list)

    csv = commands.add_parser("export-csv", help="scorecards as CSV")
    csv.add_argument("--out", metavar="FILE", help="write to FILE (default: stdout)")
    csv.set_defaults(handler=export_csv)

    follow = commands.add_parser("follow-ups", help="how often each follow-up probe of an "
                                 "interview was asked")
    follow.add_argument("interview", help="the interview's id")
    follow.add_argument("--json", action="store_true", help="print JSON")
    passphrase_option(follow)
    follow.set_defaults(handler=follow_ups_command)

    bundle = commands.add_parser("import", help="import a bundle carried from a kiosk")
    bundle.add_argument("file", help="the .ikbundle file")
    bundle.set_defaults(handler=import_command)

    template = commands.add_parser("templates", help="interview templates sent to kiosks")
    template_commands = template.add_subparsers(dest="templates_command", metavar="COMMAND",
                                                parser_class=Parser, required=True)
    publish = template_commands.add_parser("publish", help="check and publish a template")
    publish.add_argument("file", help="the template's .toml file")
    publish.set_defaults(handler=publish_command)

    user = commands.add_parser("users", help="dashboard accounts")
    user_commands = user.add_subparsers(dest="users_command", metavar="COMMAND",
                                        parser_class=Parser, required=True)
    add = user_commands.add_parser("add", help="create an account")
    add.add_argument("name", help="the sign-in name")
    add.add_argument("--role", required=True, choices=("admin", "recruiter", "viewer"),
                     help="admin manages accounts; recruiter reviews; viewer only looks")
    add.add_argument("--password-file", metavar="FILE", help="read the password from FILE "
                     "(else $KIOSK_HQ_USER_PASSWORD, else the terminal asks twice)")
    add.set_defaults(handler=users_add)
    user_commands.add_parser("list", help="every account").set_defaults(handler=users_list)
    disable = user_commands.add_parser("disable", help="disable an account, signing it out")
    disable.add_argument("name", help="the sign-in name")
    disable.set_defaults(handler=users_disable)

    keep = commands.add_parser("retention", help="erase what is past its retention")
    keep_commands = keep.add_subparsers(dest="retention_command", metavar="COMMAND",
                                        parser_class=Parser, required=True)
    keep_commands.add_parser("run", help="erase every session past its interview's "
                             "retention now").set_defaults(handler=retention_command)

    audit = commands.add_parser("audit", help="HQ's audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="COMMAND",
                                          parser_class=Parser, required=True)
    audit_commands.add_parser("verify", help="check the hash chain; name the first broken "
                              "entry").set_defaults(handler=audit_verify)
    audit_commands.add_parser("list", help="every entry").set_defaults(handler=audit_list)

    from hq.cli_drives import add_commands as add_drive_commands

    add_drive_commands(commands, passphrase_option, Parser)
    share_global_options(parser, _global_options)
    return parser


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=default, help=(
        f"HQ's data directory (default: ${server.DATA_DIR_ENV}, else the platform's user data "
        f"directory); before or after the command"))
    parser.add_argument("--db", metavar="URL", default=default, help=(
        f"database URL, e.g. postgresql://user@host/db (default: ${server.DB_ENV}, else SQLite "
        f"in the data directory); before or after the command"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the HQ command line; returns the exit status."""
    return run_command("kiosk-hq", build_parser(), argv, also=(BundleError, StorageError))


if __name__ == "__main__":
    sys.exit(main())
