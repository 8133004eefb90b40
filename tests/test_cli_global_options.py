"""Global options work where users put them: before or after any subcommand, at any depth.

The commands are read from the grammar itself, so a new subcommand is covered without being
listed here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hq.cli import build_parser as build_hq_parser
from hq.cli import main as hq_main
from kiosk.commands.main import build_parser
from kiosk.commands.main import main as kiosk_main

# The options each program takes before its command; each must also work after it.
GLOBALS = {"kiosk": ("--data-dir",), "kiosk-hq": ("--data-dir", "--db")}
BUILDERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "kiosk": build_parser, "kiosk-hq": build_hq_parser}


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
           ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every runnable command: (its words, its parser)."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield path, parser
    for action in subparsers:
        for name, sub in action.choices.items():
            yield from leaves(sub, (*path, name))


def minimal_arguments(parser: argparse.ArgumentParser) -> list[str]:
    """The least a command needs to parse: a value for each positional and required option."""
    words: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        value = str(next(iter(action.choices))) if action.choices else "1"
        if not action.option_strings and action.nargs not in ("?", "*"):
            words.append(value)
        elif action.option_strings and action.required:
            words.extend([action.option_strings[0], value])
    return words


def commands() -> list[tuple[str, tuple[str, ...]]]:
    return [(program, path) for program, build in BUILDERS.items()
            for path, _ in leaves(build())]


def test_the_grammar_walk_finds_the_commands_users_run() -> None:
    found = {f"{program} {' '.join(path)}" for program, path in commands()}
    assert {"kiosk demo", "kiosk passphrase change", "kiosk sync status",
            "kiosk-hq devices list", "kiosk-hq serve"} <= found
    assert len(found) > 30


@pytest.mark.parametrize(("program", "path"), commands(),
                         ids=[f"{p} {' '.join(c)}" for p, c in commands()])
def test_every_global_option_works_before_and_after_every_command(
        program: str, path: tuple[str, ...]) -> None:
    parser = BUILDERS[program]()
    leaf = dict(leaves(parser))[path]
    rest = minimal_arguments(leaf)
    for option in GLOBALS[program]:
        dest = option.lstrip("-").replace("-", "_")
        before = parser.parse_args([option, "before", *path, *rest])
        after = parser.parse_args([*path, *rest, option, "after"])
        between = parser.parse_args([option, "before", *path, option, "after", *rest])
        neither = parser.parse_args([*path, *rest])
        assert getattr(before, dest) == "before", f"{option} before `{' '.join(path)}`"
        assert getattr(after, dest) == "after", f"{option} after `{' '.join(path)}`"
        assert getattr(between, dest) == "after"  # the later one wins, as a repeated option
        assert getattr(neither, dest) is None
        assert option in leaf.format_help(), f"`{program} {' '.join(path)} --help` hides it"


def test_the_readme_s_demo_line_parses(tmp_path: Path) -> None:
    args = build_parser().parse_args(["demo", "--headless", "--data-dir", str(tmp_path)])
    assert args.headless and args.data_dir == str(tmp_path)


def test_a_data_dir_after_the_command_is_the_one_used(tmp_path: Path, capsys,
                                                      fresh_data_dir: Path) -> None:
    chosen = tmp_path / "chosen"
    assert kiosk_main(["settings", "set", "flow.idle_seconds", "90",
                       "--data-dir", str(chosen)]) == 0
    assert "idle_seconds" in (chosen / "settings.toml").read_text()
    assert not (fresh_data_dir / "settings.toml").exists()
    capsys.readouterr()
    assert kiosk_main(["settings", "get", "flow.idle_seconds", "--data-dir", str(chosen)]) == 0
    assert capsys.readouterr().out.strip() == "90"


def test_hq_s_database_after_the_command_is_the_one_used(tmp_path: Path, capsys,
                                                         monkeypatch) -> None:
    monkeypatch.setenv("KIOSK_HQ_DATA_DIR", str(tmp_path / "default-hq"))
    database = tmp_path / "chosen.sqlite3"
    assert hq_main(["enroll-code", "--hours", "1", "--data-dir", str(tmp_path / "hq"),
                    "--db", f"sqlite:///{database}"]) == 0
    assert database.exists() and not (tmp_path / "default-hq").exists()
    assert capsys.readouterr().out.strip()
