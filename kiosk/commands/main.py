"""The `kiosk` command: assembles the subcommands in `kiosk.commands` and turns every library
error into a one-line message — exit 1 for a failed operation or bad input, exit 2 for a usage
or configuration problem. No traceback reaches a person; details go to the log.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from kiosk.commands import (
    capture,
    evidence,
    interview,
    keys,
    privacy,
    records,
    scoring,
    settings,
    sync,
    transcription,
    vault,
)
from kiosk.commands.common import Parser, run_command, share_global_options
from kiosk.logs import get_logger

_log = get_logger("cli")


def _version() -> str:
    try:
        return version("interview-kiosk")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar (also used to check the docs cover every command)."""
    parser = Parser(prog="kiosk", description="Interview Kiosk: on-site one-way video interviews.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for area in (interview, transcription, scoring, evidence, capture, keys, vault, records,
                 settings, sync, privacy):
        area.register(commands)
    share_global_options(parser, _global_options)
    return parser


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=default,
                        help="data directory (default: $KIOSK_DATA_DIR, else the platform's "
                             "user data directory); before or after the command")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the kiosk command line; returns the exit status."""
    return run_command("kiosk", build_parser(), argv, unexpected=_internal_error)


def _internal_error(args: argparse.Namespace, exc: Exception) -> int:
    """A bug of ours: its details go to the kiosk's log (which holds no candidate data)."""
    _log.exception("cli.internal_error", extra={"kiosk_fields": {"command": args.command}})
    print(f"kiosk: internal error ({type(exc).__name__}); details are in the kiosk log",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
