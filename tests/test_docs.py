"""The docs are tested against the code: every setting, command, log event and step appears."""

from __future__ import annotations

import argparse
import re
import typing
from pathlib import Path

import pytest

from hq.audit import ACTIONS as HQ_ACTIONS
from hq.cli import build_parser as build_hq_parser
from kiosk.commands.main import build_parser
from kiosk.flow import Step
from kiosk.flow import events as ev
from kiosk.settings import REGISTRY
from kiosk.store import ACTIONS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_every_setting_is_documented_with_its_default(key: str) -> None:
    row = next((line for line in read("settings.md").splitlines()
                if line.startswith(f"| `{key}` |")), None)
    assert row is not None, f"{key} is missing from docs/settings.md"
    assert f"`{REGISTRY[key].default}`" in row


def command_paths(parser: argparse.ArgumentParser, prefix: str = "kiosk") -> list[str]:
    paths = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append(f"{prefix} {name}")
                paths.extend(command_paths(sub, f"{prefix} {name}"))
    return paths


@pytest.mark.parametrize("command", command_paths(build_parser())
                         + command_paths(build_hq_parser(), "kiosk-hq"))
def test_every_cli_command_is_documented(command: str) -> None:
    assert f"`{command}" in read("cli.md"), f"{command} is missing from docs/cli.md"


def logged_events() -> set[str]:
    events = set()
    for path in (ROOT / "kiosk").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        events.update(re.findall(r'log_event\(\s*_log,\s*"([a-z_.]+)"', text))
        events.update(re.findall(r'_log\.exception\(\s*"([a-z_.]+)"', text))
    return events


def test_the_event_scan_finds_events() -> None:
    assert {"flow.step", "cli.internal_error"} <= logged_events()


@pytest.mark.parametrize("event", sorted(logged_events()))
def test_every_log_event_is_documented(event: str) -> None:
    assert f"| `{event}` |" in read("logging.md")


@pytest.mark.parametrize("step", list(Step))
def test_every_step_is_in_the_flow_diagram(step: Step) -> None:
    assert re.search(rf"\b{step.value}\b", read("flow.md"))


@pytest.mark.parametrize("event", [cls.__name__ for cls in typing.get_args(ev.FlowEvent)])
def test_every_flow_event_is_documented(event: str) -> None:
    assert f"{event}(" in read("flow.md")


def test_readme_gives_the_two_commands_and_links_real_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    for link in re.findall(r"\]\(([^)#]+)", readme):
        assert (ROOT / link).exists(), f"README links to missing {link}"


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_audit_action_is_documented(action: str) -> None:
    assert f"| `{action}` |" in read("audit.md")


@pytest.mark.parametrize("action", sorted(HQ_ACTIONS))
def test_every_hq_audit_action_is_documented(action: str) -> None:
    hq_part = read("audit.md").partition("## At HQ")[2]
    assert f"| `{action}` |" in hq_part, f"{action} is missing from docs/audit.md (At HQ)"


def test_template_doc_lists_the_bundled_files() -> None:
    text = read("templates.md")
    for path in (ROOT / "assets" / "interviews").glob("*.toml"):
        assert f"`{path.name}`" in text


def test_the_dashboards_limits_and_audit_window_are_as_documented() -> None:
    from hq.bodylimit import ENROLL_LIMIT, FORM_LIMIT, SIGN_IN_LIMIT
    from hq.forms import NOTE_LIMIT
    from hq.media import VIEW_WINDOW
    from sync.protocol import MAX_CHUNK_BYTES, MAX_RECORD_BYTES

    text = " ".join(read("dashboard.md").split())
    for phrase in (f"sign-in form to {SIGN_IN_LIMIT // 1024} KiB",
                   f"every other dashboard form to {FORM_LIMIT // 1024} KiB",
                   f"enrollment to {ENROLL_LIMIT // 1024} KiB",
                   f"record to {MAX_RECORD_BYTES // 1024 ** 2} MiB",
                   f"chunk of a recording to {MAX_CHUNK_BYTES // 1024 ** 2} MiB",
                   f"a note (up to {NOTE_LIMIT:,} characters)",
                   f"one recording for {int(VIEW_WINDOW // 60)} minutes"):
        assert phrase in text, phrase
