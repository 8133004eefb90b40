"""What every command needs: one-line usage errors, the data directory, passphrases, the store."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError, KioskError, TemplateError
from kiosk.logs import configure_logging
from kiosk.paths import resolve_data_dir
from kiosk.settings import Settings

PASSPHRASE_ENV = "KIOSK_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
NEW_PASSPHRASE_ENV = "KIOSK_NEW_PASSPHRASE"  # noqa: S105


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


GlobalOptions = Callable[[argparse.ArgumentParser, Any], None]


def share_global_options(parser: argparse.ArgumentParser, add: GlobalOptions) -> None:
    """Let the global options go before or after any subcommand, at any depth.

    `add(parser, default)` adds them: to the top level with default None, and to every
    subcommand (found by walking the finished grammar, so a new one is covered without being
    listed) with default SUPPRESS, so that a subcommand's parse leaves a value given before it
    alone. Given in both places, the later one wins, as a repeated option does.
    """
    add(parser, None)

    def walk(node: argparse.ArgumentParser) -> None:
        for action in node._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                    add(sub, argparse.SUPPRESS)
                    walk(sub)

    walk(parser)


def open_data_dir(args: argparse.Namespace) -> tuple[Path, Settings]:
    """The data directory and its settings, with logging sent to its log file."""
    data_dir = resolve_data_dir(args.data_dir)
    settings = Settings.load(data_dir)
    level, max_bytes, backups = (settings.get(k) for k in ("log.level", "log.max_bytes",
                                                           "log.backups"))
    assert isinstance(level, str) and isinstance(max_bytes, int) and isinstance(backups, int)
    configure_logging(data_dir, level, max_bytes, backups)
    return data_dir, settings


def add_passphrase_options(parser: argparse.ArgumentParser, new: bool = False) -> None:
    """--passphrase-file (and --new-passphrase-file) for automation."""
    parser.add_argument("--passphrase-file", metavar="FILE",
                        help=f"read the staff passphrase from FILE (else ${PASSPHRASE_ENV}, "
                             f"else the terminal asks)")
    if new:
        parser.add_argument("--new-passphrase-file", metavar="FILE",
                            help=f"read the new passphrase from FILE (else "
                                 f"${NEW_PASSPHRASE_ENV}, else the terminal asks twice)")


def read_passphrase(file: str | None, env: str, prompt: str, confirm: bool = False) -> str:
    """A passphrase from FILE, the environment, or the terminal (asked twice if `confirm`)."""
    if file:
        try:
            return Path(file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"cannot read passphrase file {file}: {exc.strerror}") from exc
    if os.environ.get(env):
        return os.environ[env]
    if not sys.stdin.isatty():
        raise ConfigError(f"no passphrase: give --passphrase-file FILE or set {env} "
                          f"(no terminal to ask on)")
    first = getpass.getpass(f"{prompt}: ")
    if confirm and getpass.getpass(f"{prompt} again: ") != first:
        raise ConfigError("the two passphrases differ; nothing was changed")
    return first


# The shell's status for a writer killed by SIGPIPE (128 + 13).
CLOSED_PIPE_STATUS = 141


def reader_went_away() -> int:
    """A reader that stopped early (`kiosk … | head`) is no failure of ours: the rest of the
    output goes nowhere, quietly, and the status is the one a shell gives such a writer."""
    with contextlib.suppress(OSError):  # no descriptor to replace: nothing more is written
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return CLOSED_PIPE_STATUS


def run_command(prog: str, parser: argparse.ArgumentParser, argv: Sequence[str] | None, *,
                also: tuple[type[Exception], ...] = (),
                unexpected: Callable[[argparse.Namespace, Exception], int] | None = None) -> int:
    """Parse `argv` and run its command: every failure a user can act on (a `KioskError`, or
    one of `also`) becomes a sentence on stderr and an exit status, never a traceback;
    anything else goes to `unexpected`, if given."""
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        status: int = args.handler(args)
        sys.stdout.flush()  # here, where a reader gone away is caught, not at exit
        return status
    except TemplateError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return exc.exit_status
    except KioskError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except also as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return reader_went_away()
    except Exception as exc:
        if unexpected is None:
            raise
        return unexpected(args, exc)
