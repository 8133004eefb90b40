"""`kiosk erase` and `kiosk audit`, and opening the store for other commands."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from kiosk import keys
from kiosk.commands.common import (
    PASSPHRASE_ENV,
    Parser,
    add_passphrase_options,
    open_data_dir,
    read_passphrase,
)
from kiosk.errors import ConfigError, InvalidInput
from kiosk.reference import normalize_reference
from kiosk.store import DATABASE_FILE, AuditLog, Store


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `erase` and `audit verify|list`."""
    erase = commands.add_parser("erase", help="erase a session everywhere on this kiosk")
    erase.add_argument("--session", required=True, metavar="REF",
                       help="the session's reference code (as on the candidate's receipt)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_passphrase_options(erase)
    erase.set_defaults(handler=erase_command)

    audit = commands.add_parser("audit", help="check and show the audit log")
    sub = audit.add_subparsers(dest="audit_command", metavar="COMMAND", parser_class=Parser,
                               required=True)
    sub.add_parser("verify", help="check the hash chain; report the first broken link"
                   ).set_defaults(handler=audit_verify)
    sub.add_parser("list", help="print every entry").set_defaults(handler=audit_list)


def unlock_keys(data_dir: Path, passphrase_file: str | None) -> keys.UnlockedKeys:
    """Ask for the passphrase and unlock; every attempt is audited."""
    passphrase = read_passphrase(passphrase_file, PASSPHRASE_ENV, "Staff passphrase")
    try:
        unlocked = keys.unlock(data_dir, passphrase)
    except keys.WrongPassphraseError:
        audit_if_initialised(data_dir, "keys.unlock_failed")
        raise
    audit_if_initialised(data_dir, "keys.unlocked", key_id=unlocked.identity.key_id.hex())
    return unlocked


def open_store(data_dir: Path, unlocked: keys.UnlockedKeys | None = None) -> Store:
    """The store, able to seal new data (and read old data when `unlocked`)."""
    identities = [unlocked.identity] if unlocked else []
    return Store(data_dir, keys.recipients(data_dir), identities)


def audit_if_initialised(data_dir: Path, action: str, **details: object) -> None:
    """Append to the audit log, if this data directory has a database yet."""
    if not (data_dir / DATABASE_FILE).exists():
        return
    store = Store(data_dir, [])
    try:
        with store.transaction():
            store.audit.append(action, details)
    finally:
        store.close()


def erase_command(args: argparse.Namespace) -> int:
    """Destroy a session's keys, records and files after staff confirm."""
    data_dir, _ = open_data_dir(args)
    reference = normalize_reference(args.session)
    if reference is None:
        raise InvalidInput("session", "a reference code has 8 letters and digits, "
                                      "like ABCD-2345")
    unlocked = unlock_keys(data_dir, args.passphrase_file)
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigError("erasing needs confirmation: add --yes (no terminal to ask on)")
        typed = input(f"Erase session {reference} for good? Type the code again: ")
        if normalize_reference(typed) != reference:
            print("Not erased.")
            return 1
    store = open_store(data_dir, unlocked)
    try:
        erasure = store.erase(reference)
    finally:
        store.close()
    print(f"Erased session {reference}: {erasure.rows} records and {erasure.files} files; "
          f"its keys are destroyed, so no copy can be read.")
    return 0


@contextlib.contextmanager
def _audit_log(args: argparse.Namespace) -> Iterator[AuditLog]:
    """The audit log of an initialised data directory (no keys needed)."""
    data_dir, _ = open_data_dir(args)
    if not (data_dir / DATABASE_FILE).exists():
        raise ConfigError(f"{data_dir} has no kiosk database yet: run `kiosk init`")
    store = Store(data_dir, [])
    try:
        yield store.audit
    finally:
        store.close()


def audit_verify(args: argparse.Namespace) -> int:
    """Recompute the chain; exit 1 at the first broken link."""
    with _audit_log(args) as audit:
        result = audit.verify()
    if result.intact:
        print(f"audit log intact: {result.entries} entries")
        return 0
    print(f"audit log broken at entry {result.first_broken}: {result.reason}", file=sys.stderr)
    return 1


def audit_list(args: argparse.Namespace) -> int:
    """Every entry, oldest first."""
    with _audit_log(args) as audit:
        for entry in audit.entries():
            print(f"{entry.seq:5}  {entry.at}  {entry.actor:6} {entry.action:24} "
                  f"{json.dumps(dict(entry.details), sort_keys=True)}")
    return 0
