"""`kiosk retention run`: erase what is past its interview's retention."""

from __future__ import annotations

import argparse

from kiosk.commands.common import Parser, add_passphrase_options, open_data_dir
from kiosk.commands.records import open_store, unlock_keys
from kiosk.privacy import retention


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `retention run`."""
    parser = commands.add_parser("retention", help="erase sessions past their retention")
    sub = parser.add_subparsers(dest="retention_command", metavar="COMMAND",
                                parser_class=Parser, required=True)
    run = sub.add_parser("run", help="erase every session past its interview's retention "
                                     "(never before HQ has it)")
    run.add_argument("--dry-run", action="store_true", help="only say what would go")
    add_passphrase_options(run)
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    """One retention run."""
    data_dir, _ = open_data_dir(args)
    store = open_store(data_dir, unlock_keys(data_dir, args.passphrase_file))
    try:
        result = retention.run(store, dry_run=args.dry_run)
    finally:
        store.close()
    verb = "would erase" if args.dry_run else "erased"
    print(f"{verb} {len(result.erased)} sessions past their retention")
    if result.waiting_for_hq:
        print(f"{len(result.waiting_for_hq)} more are due but wait until HQ has them in full "
              f"(see `kiosk sync status`)")
    if result.skipped:
        print(f"{len(result.skipped)} could not be judged or erased and were skipped "
              f"(see `kiosk audit list`, job.row_skipped)")
    return 0
