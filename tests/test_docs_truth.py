"""What the README and docs/cli.md claim, checked against the code: the command lines they
show parse, the system packages they list are the ones installed, the commands that ask for
the passphrase say so, and staff entry is described the same way everywhere."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from hq.cli import build_parser as build_hq_parser
from kiosk.commands.main import build_parser
from ui.app import _parser as build_app_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI_DOC = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
PARSERS = {"kiosk": build_parser, "kiosk-hq": build_hq_parser, "kiosk-app": build_app_parser}


def command_lines(text: str) -> Iterator[str]:
    """Every `kiosk…` command line in code spans and console blocks, comments cut off."""
    yield from re.findall(r"`([^`\n]+)`", text)
    for block in re.findall(r"```(?:console|sh|shell|bash)\n(.*?)```", text, re.DOTALL):
        yield from (line.split("#", 1)[0] for line in block.splitlines())


def readme_commands() -> list[str]:
    found = []
    for line in command_lines(README):
        words = line.strip().removeprefix(".venv/bin/").split()
        if words and words[0] in PARSERS:
            found.append(" ".join(words))
    return sorted(set(found))


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return {name: sub for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
            for name, sub in action.choices.items()}


def names_a_command(parser: argparse.ArgumentParser, words: list[str]) -> bool:
    """Whether `words` (options before it aside) is a command's name, given without its
    arguments, as prose does ("`kiosk scorecard` shows…")."""
    for word in words:
        if word.startswith("--"):
            return False
        choices = subcommands(parser)
        if word not in choices:
            return False
        parser = choices[word]
    return True


def test_the_readme_shows_command_lines() -> None:
    assert {"kiosk demo --headless --data-dir DIR", "kiosk sync --once",
            "kiosk-hq users add asha --role admin", "kiosk-app --windowed"} <= set(
                readme_commands())


@pytest.mark.parametrize("line", readme_commands())
def test_every_command_line_in_the_readme_parses(line: str, capsys) -> None:
    program, *words = shlex.split(line)
    parser = PARSERS[program]()
    if names_a_command(parser, words):
        return
    status: object = 0
    try:
        parser.parse_args(words)
    except SystemExit as stop:  # --help exits 0; a usage error exits 2
        status = stop.code
    assert status == 0, f"`{line}` from the README: {capsys.readouterr().err.strip()}"


def packages(kind: str) -> set[str]:
    script = (ROOT / "scripts" / "system-packages.sh").read_text(encoding="utf-8")
    block = re.search(rf"^{kind}_packages=\((.*?)^\)", script, re.DOTALL | re.MULTILINE)
    assert block is not None
    return {line.split("#")[0].strip() for line in block.group(1).splitlines()} - {""}


def readme_packages(label: str) -> set[str]:
    item = re.search(rf"^- \*\*{label}:\*\*(.*?)(?=^- |^\S)", README, re.DOTALL | re.MULTILINE)
    assert item is not None, label
    return set(re.findall(r"`([a-z0-9][a-z0-9.+-]+)`", item.group(1)))


def test_the_readme_lists_the_system_packages_that_are_installed() -> None:
    assert readme_packages("To run") == packages("run")
    assert readme_packages("For the tests") == packages("test")


def command_parsers(parser: argparse.ArgumentParser, prefix: str
                    ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for name, sub in subcommands(parser).items():
        yield f"{prefix} {name}", sub
        yield from command_parsers(sub, f"{prefix} {name}")


def asks_for_the_passphrase() -> list[str]:
    return [name for name, sub in command_parsers(build_parser(), "kiosk")
            if any("--passphrase-file" in a.option_strings for a in sub._actions)]


def test_the_passphrase_commands_are_found() -> None:
    assert {"kiosk sync", "kiosk export", "kiosk enroll"} <= set(asks_for_the_passphrase())


@pytest.mark.parametrize("command", asks_for_the_passphrase())
def test_every_command_that_asks_for_the_passphrase_says_so(command: str) -> None:
    rows = [row for row in CLI_DOC.splitlines() if row.startswith(f"| `{command}")]
    assert rows, f"{command} has no row in docs/cli.md"
    assert all("passphrase" in row for row in rows), f"docs/cli.md: {command} needs it"


def test_the_readme_says_how_to_give_the_passphrase_without_a_terminal() -> None:
    paragraph = next(p for p in README.split("\n- ") if "**The passphrase at the command" in p)
    for command in ("kiosk sync", "kiosk export", "kiosk enroll"):
        assert f"`{command}" in paragraph
    assert "--passphrase-file" in paragraph and "KIOSK_PASSPHRASE" in paragraph


def paragraphs_about_staff_entry() -> list[tuple[str, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for paragraph in re.split(r"\n\s*\n|\n- ", doc.read_text(encoding="utf-8")):
            if "Ctrl+Alt+S" in paragraph:
                found.append((doc.name, paragraph))
    return found


@pytest.mark.parametrize(("doc", "paragraph"), paragraphs_about_staff_entry())
def test_staff_entry_is_the_passphrase_until_a_pin_is_set_everywhere(doc: str,
                                                                     paragraph: str) -> None:
    text = " ".join(paragraph.split())
    assert "passphrase" in text and "PIN" in text, f"{doc}: {text}"


@pytest.mark.parametrize("option", [a.option_strings[0] for a in build_app_parser()._actions
                                    if a.option_strings and a.dest != "help"])
def test_every_kiosk_app_option_is_documented(option: str) -> None:
    assert f"| `{option}" in CLI_DOC, f"kiosk-app {option} is missing from docs/cli.md"
