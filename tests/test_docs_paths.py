"""Docs and help texts never send a reader outside the repository.

What is checked: README.md, every Markdown file under docs/, and the `--help` text of every
command and subcommand of `kiosk`, `kiosk-hq` and `kiosk-app` (read from their grammars, so a
new command is covered without being listed).

The rule, for every path-like word in them (URLs, `scheme://…`, are not paths and are left out):

1. A relative path that climbs (`../…`) must stay inside the repository, resolved from the
   document's own folder (help texts: from the repository root, where the README runs them).
2. An absolute path must start at a standard system location that a reader's machine has too
   (SYSTEM below: /usr/bin/chromium, /etc/systemd/…, /media/usb, /var/lib/…), or be a route
   HQ serves (`/v1/…`, `/docs`: the first part of a path literal in hq/ or sync/). Anything
   else, such as /work/… or /home/someone/…, is a path on the author's machine.
3. A home-relative path may only name the per-user folders the kiosk itself uses
   (`~/.local/share/…`, `~/.config/…`, `~/.cache/…`).
4. A Markdown file named anywhere (`cli.md`, `docs/flow.md`) must exist in the repository:
   this catches `DESIGN.md`, `shared/STYLE.md` and other notes that live beside a checkout.
5. Nothing may name the team's workspace beside the checkout (`shared/…`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hq.cli import build_parser as build_hq_parser
from kiosk.commands.main import build_parser
from ui.app import _parser as build_app_parser

ROOT = Path(__file__).resolve().parent.parent
SYSTEM = {"bin", "boot", "dev", "etc", "lib", "media", "mnt", "opt", "proc", "run", "sbin",
          "srv", "sys", "tmp", "usr", "var"}
HOME_FOLDERS = ("~/.local/share/", "~/.config/", "~/.cache/")
URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S*")
SEPARATORS = re.compile(r"[\s'\"()\[\],;|]+")


def hq_routes() -> set[str]:
    """The first part of every path literal in HQ's and the protocol's code: its routes."""
    routes = {"docs", "openapi.json"}  # FastAPI's own pages
    for path in [*(ROOT / "hq").rglob("*.py"), *(ROOT / "sync").rglob("*.py")]:
        routes.update(re.findall(r"[\"'`]/([A-Za-z0-9_.-]+)", path.read_text(encoding="utf-8")))
    return routes


ROUTES = hq_routes()


def words(text: str) -> Iterator[str]:
    """The path-like words of `text`, outside URLs, code spans included."""
    for line in text.splitlines():
        parts = URL.sub(" ", line).split("`")
        for index, part in enumerate(parts):
            if index % 2 == 0 and index > 0 and part and not part[0].isspace():
                glued = part.split(None, 1)  # "`write`/fsync": the word glued on is prose
                part = glued[1] if len(glued) > 1 else ""
            for word in SEPARATORS.split(part):
                word = word.rstrip(".:!?*")
                if word.startswith(("/", "../", "~/")) or ".md" in word or \
                        word.startswith("shared/"):
                    yield word


def problem(word: str, base: Path) -> str | None:
    """Why `word`, read in a document in `base`, sends a reader outside; None if it does not."""
    if word.startswith("shared/") or "/shared/" in word:
        return "names the workspace beside the checkout"
    if word.startswith("../"):
        if not (base / word).resolve().is_relative_to(ROOT):
            return "climbs out of the repository"
    elif word.startswith("~/"):
        if not word.startswith(HOME_FOLDERS):
            return "is a home folder of the author's machine"
    elif re.match(r"/[\w.]", word):
        first = word[1:].split("/", 1)[0]
        if first not in SYSTEM and first not in ROUTES:
            return "is an absolute path that is neither a system location nor an HQ route"
    markdown = re.search(r"([\w./-]*\.md)(?:#[\w-]*)?$", word)
    if markdown and not word.startswith(("/", "~/")):
        name = markdown.group(1)
        if not ((base / name).resolve().is_file() or (ROOT / name).is_file()):
            return "names a Markdown file that is not in the repository"
    return None


def docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def help_texts() -> Iterator[tuple[str, str]]:
    """(command, its --help text) for every command and subcommand of the three programs."""
    def walk(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, str]]:
        yield name, parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from walk(sub, f"{name} {sub_name}")

    yield from walk(build_parser(), "kiosk")
    yield from walk(build_hq_parser(), "kiosk-hq")
    yield from walk(build_app_parser(), "kiosk-app")


@pytest.mark.parametrize("doc", docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_doc_sends_a_reader_outside_the_repository(doc: Path) -> None:
    found = [f"{word}: {why}" for word in words(doc.read_text(encoding="utf-8"))
             if (why := problem(word, doc.parent))]
    assert not found, f"{doc.relative_to(ROOT)}:\n" + "\n".join(found)


HELP = list(help_texts())


@pytest.mark.parametrize(("command", "text"), HELP, ids=[name for name, _ in HELP])
def test_no_help_text_sends_a_reader_outside_the_repository(command: str, text: str) -> None:
    found = [f"{word}: {why}" for word in words(text) if (why := problem(word, ROOT))]
    assert not found, f"`{command} --help`:\n" + "\n".join(found)


@pytest.mark.parametrize(("text", "why"), [
    ("Read `../shared/DESIGN.md` for the architecture.", "workspace beside the checkout"),
    ("Read ../DESIGN.md (beside the checkout).", "climbs out of the repository"),
    ("e.g. ../shared/data/video/derived_brbk7n.mp4", "workspace beside the checkout"),
    ("the clips are in /work/shared/data", "workspace beside the checkout"),
    ("the clips are in /work/data/speech", "neither a system location nor an HQ route"),
    ("--video /home/someone/Videos/answer.mp4", "neither a system location nor an HQ route"),
    ("kept in `~/work/kiosk`", "home folder of the author's machine"),
    ("see DESIGN.md", "not in the repository"),
    ("see [the notes](notes/STYLE.md)", "not in the repository"),
])
def test_the_rule_catches_what_it_is_for(text: str, why: str) -> None:
    problems = [problem(word, ROOT) for word in words(text)]
    assert any(p and why in p for p in problems), (text, problems)


@pytest.mark.parametrize("text", [
    "Install it: `apt-get install chromium` puts it at /usr/bin/chromium.",
    "`kiosk export --to /media/usb`, then `/etc/systemd/system/` and `/dev/video*`",
    "Data lives in `~/.local/share/interview-kiosk` by default.",
    "`PUT /v1/items/{item_id}` and the schema at `/openapi.json`; `write`/fsync calls",
    "See [the CLI](cli.md#passphrases), [the README](../README.md) and https://hq.example.org/x",
    "`{session_id}/session`, `/proc/<pid>/stat`, ending in /tmp.",
])
def test_the_rule_allows_what_a_reader_has_too(text: str) -> None:
    problems = [problem(word, ROOT / "docs") for word in words(text)]
    assert not any(problems), (text, problems)
