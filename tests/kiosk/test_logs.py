"""Logs are JSON lines that never hold candidate data."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from kiosk.commands import main
from kiosk.demo.headless import DEMO_CANDIDATE
from kiosk.logs import REDACTED, configure_logging, get_logger, log_event


def read_log(data_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in
            (data_dir / "logs" / "kiosk.jsonl").read_text(encoding="utf-8").splitlines()]


def test_a_whole_demo_session_logs_no_candidate_data(capsys, fresh_data_dir: Path) -> None:
    assert main.main(["demo", "--headless"]) == 0
    out = capsys.readouterr().out
    reference = out.split("reference code ")[1].split()[0]
    text = (fresh_data_dir / "logs" / "kiosk.jsonl").read_text(encoding="utf-8")
    entries = read_log(fresh_data_dir)
    assert len(entries) > 20
    assert {e["event"] for e in entries} >= {"flow.step", "flow.session_started",
                                            "flow.answer_submitted", "flow.session_finished"}
    name, contact = DEMO_CANDIDATE
    for secret in (name, name.split()[0], contact, reference, reference.replace("-", ""),
                   "felt easy", "spreadsheets"):
        assert secret not in text


def test_fields_off_the_allow_list_are_redacted(fresh_data_dir: Path) -> None:
    configure_logging(fresh_data_dir)
    log = get_logger("test")
    log_event(log, "test.event", step="read", name="Priya Sharma", contact="p@example.com")
    log.info("formatted %s", "Priya Sharma")  # arguments are never interpolated
    entries = read_log(fresh_data_dir)
    assert entries[0]["step"] == "read"
    assert entries[0]["name"] == REDACTED and entries[0]["contact"] == REDACTED
    assert entries[1]["event"] == "formatted %s"
    assert "Priya" not in (fresh_data_dir / "logs" / "kiosk.jsonl").read_text()


def test_exceptions_are_logged_by_type_and_frames_not_message(fresh_data_dir: Path) -> None:
    configure_logging(fresh_data_dir)
    try:
        raise ValueError("contact p@example.com is bad")
    except ValueError:
        get_logger("test").exception("test.failed")
    (entry,) = read_log(fresh_data_dir)
    assert entry["error_type"] == "ValueError"
    assert isinstance(entry["trace"], list) and "test_logs.py" in entry["trace"][0]
    assert "p@example.com" not in json.dumps(entry)


def test_logs_rotate(fresh_data_dir: Path) -> None:
    configure_logging(fresh_data_dir, max_bytes=10_000, backups=2)
    log = get_logger("test")
    for _ in range(1000):
        log_event(log, "test.event", step="read")
    files = sorted(p.name for p in (fresh_data_dir / "logs").iterdir())
    assert files == ["kiosk.jsonl", "kiosk.jsonl.1", "kiosk.jsonl.2"]


def test_reconfiguring_does_not_duplicate_lines(fresh_data_dir: Path) -> None:
    configure_logging(fresh_data_dir)
    configure_logging(fresh_data_dir, level="DEBUG")
    log_event(get_logger("x"), "test.once", level=logging.DEBUG)
    assert len(read_log(fresh_data_dir)) == 1
