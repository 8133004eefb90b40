"""The kiosk's heartbeat (issue 17): built from its real state, sent first in every sync pass
to a real HQ on loopback, and never a reason to hold back what candidates sent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hq.fleet import fleet, kiosk_recipient
from hq.storage import HqStorage
from kiosk.demo.scripted_candidate import take_demo_interview
from kiosk.store import jobs, outbox
from kiosk.uplink import sender
from kiosk.uplink.enrollment import require_link
from kiosk.uplink.status import KioskStatus
from kiosk.vault import open_bytes
from sync import protocol
from sync.client import HqClient
from sync.drive_config import parse_roster
from sync.heartbeat import parse_heartbeat
from tests.hq.conftest import HqServer, Kiosk, hq, kiosk, sync_template
from tests.hq.mitm import Answer, Exchange, Mitm
from tests.hq.test_hq_sync import finished_session

__all__ = ["hq", "kiosk"]

NAME, CONTACT = "Zephyrine Quillfeather", "zephyrine.q@example.org"


@pytest.fixture
def hq_db(tmp_path: Path) -> str:
    """What the kiosk sends and when: SQLite only here (how HQ stores and judges
    heartbeats is tested on both databases, tests/hq/test_drives.py)."""
    return f"sqlite:///{tmp_path / 'hq.sqlite3'}"


def _service(kiosk: Kiosk, url: str, status: KioskStatus | None = None) -> sender.SyncService:
    link = require_link(kiosk.data_dir)
    client = HqClient(url, link.device_id, kiosk.unlocked.signing, hq_key=link.verify_key)
    return sender.SyncService(kiosk.store, link, client, status=status)


def _board(hq: HqServer) -> dict[str, dict[str, Any]]:
    """HQ's fleet board (what its Fleet page and `kiosk-hq devices list` show), by name."""
    storage = HqStorage(hq.db)
    try:
        return {kiosk["name"]: kiosk for kiosk in fleet(storage)}
    finally:
        storage.dispose()


def test_the_first_pass_reports_the_kiosk_before_it_fetches_its_drive_s_roster(
        hq: HqServer, kiosk: Kiosk, tmp_path: Path) -> None:
    link = kiosk.enroll(hq, "Hall A")
    drive = hq.cli("drives", "create", "Campus", "--interview", "sync-drive",
                   "--kiosk", "Hall A").stdout.strip()
    roster = tmp_path / "roster.csv"
    roster.write_text("name,contact\nStudent One,one@example.edu\nStudent Two,"
                      "two@example.edu\n", encoding="utf-8")
    hq.cli("drives", "roster", drive, str(roster))
    template = sync_template()
    kiosk.store.keep_template(template)
    session = take_demo_interview(kiosk.store, template=template, name=NAME, contact=CONTACT)
    # Two answers wait for the worker (the scripted one recorded none: queued here as the
    # store queues a recorded answer), and the session waits for its scorecard.
    spoken = [q for q, a in session.answers.items() if a.chosen_take.mode.value != "text"]
    with kiosk.store.transaction():
        for question_id in spoken:
            jobs.enqueue(kiosk.store, jobs.TRANSCRIBE, session.id, question_id)
    assert len(spoken) == 2
    status = KioskStatus()
    status.interview("sync-drive")
    status.drive(drive)
    status.device("camera", "ok")
    status.device("microphone", "ok")

    with Mitm(hq.port) as mitm:
        result = _service(kiosk, mitm.url, status).run_pass()
    assert result.stopped_by is None, result.stopped_by
    (sent, answered), (fetched, configuration) = mitm.seen[:2]
    assert (sent.path, answered.status) == (protocol.HEARTBEAT_PATH, 200)
    assert fetched.path == protocol.CONFIG_PATH
    beat = parse_heartbeat(sent.body)
    recipient = kiosk.unlocked.identity.recipient.to_text()
    assert (beat.interview_id, beat.drive, beat.camera, beat.microphone) == (
        "sync-drive", drive, "ok", "ok")
    assert beat.transcription_backlog == 2 and beat.outbox_backlog == 1
    assert beat.last_candidate_at == session.started_at.astimezone(UTC).isoformat()
    assert beat.recipient == recipient and beat.last_error is None
    assert beat.recording_minutes_left is not None and beat.recording_minutes_left > 0
    for secret in (NAME, "Zephyrine", CONTACT, session.reference):
        assert secret.encode() not in sent.body
    # HQ knew the kiosk's key before it answered the configuration: the roster came sealed
    # to it in this very first pass.
    [assigned] = protocol.parse_config(configuration.body).drives
    assert assigned.id == drive and assigned.roster is not None
    opened = parse_roster(open_bytes(assigned.roster, [kiosk.unlocked.identity]), drive)
    assert sorted(entry.name for entry in opened.values()) == ["Student One", "Student Two"]
    storage = HqStorage(hq.db)
    try:
        assert kiosk_recipient(storage, link.device_id) == recipient
    finally:
        storage.dispose()
    board = _board(hq)["Hall A"]
    assert (board["status"], board["reasons"]) == ("ok", [])
    assert board["heartbeat"]["transcription_backlog"] == 2

    # The camera goes mid-answer: the next pass shows the kiosk as a problem, and why.
    lost = datetime.now(UTC) - timedelta(minutes=2)
    status.device("camera", "lost", lost)
    status.error("camera.lost", lost)
    assert _service(kiosk, hq.url, status).run_pass().stopped_by is None
    board = _board(hq)["Hall A"]
    assert board["status"] == "problem"
    assert board["reasons"] == [f"camera lost at {lost:%H:%M} UTC",
                                f"error camera.lost at {lost:%H:%M} UTC"]


class _Events(logging.Handler):
    """The kiosk's log events, as they are logged (whatever handlers the kiosk set up)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((str(record.msg), getattr(record, "kiosk_fields", {})))


def test_an_hq_without_heartbeats_still_gets_the_pass_and_a_busy_one_stops_it(
        hq: HqServer, kiosk: Kiosk) -> None:
    kiosk.enroll(hq)
    session_id = finished_session(kiosk)
    hq_is = "busy"

    def older_or_busy_hq(exchange: Exchange) -> Answer | None:
        if exchange.path != protocol.HEARTBEAT_PATH:
            return None
        if hq_is == "busy":
            return Answer(503, {"Retry-After": "7"}, protocol.error_body("busy", "later"))
        if hq_is == "without heartbeats":
            return Answer(404, {"Content-Type": "application/json"},
                          protocol.error_body("not_found", "there is no such page"))
        # A real HQ asked at a route it does not have: its body limit, kept before routing,
        # answers first (413), as an HQ from before heartbeats does.
        exchange.path = f"{protocol.API}/no-heartbeats-here"
        return None

    events, logger = _Events(), logging.getLogger("kiosk")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(events)
    try:
        with Mitm(hq.port, on_request=older_or_busy_hq) as mitm:
            stopped = _service(kiosk, mitm.url).run_pass()
            assert stopped.transient and stopped.retry_after == 7.0 and stopped.total == 0
            assert [exchange.path for exchange, _ in mitm.seen] == [protocol.HEARTBEAT_PATH]
            hq_is = "without heartbeats"
            result = _service(kiosk, mitm.url).run_pass()
            assert result.stopped_by is None, result.stopped_by
            assert result.sent == {"session": 1, "transcript": 1}
            hq_is = "without the route"
            del mitm.seen[:]
            again = _service(kiosk, mitm.url).run_pass()
            assert again.stopped_by is None and again.total == 0
            assert [(e.path, a.status) for e, a in mitm.seen][:2] == [
                (f"{protocol.API}/no-heartbeats-here", 413), (protocol.CONFIG_PATH, 200)]
        # A heartbeat the kiosk cannot even build (its key file unreadable) is not sent,
        # and the pass goes on without it.
        key_file = kiosk.data_dir / "keys" / "kiosk-keys.json"
        key_file.rename(key_file.with_suffix(".away"))
        try:
            assert _service(kiosk, hq.url).run_pass().stopped_by is None
        finally:
            key_file.with_suffix(".away").rename(key_file)
    finally:
        logger.removeHandler(events)
        logger.setLevel(level)
    assert [s["session_id"] for s in hq.sessions()] == [session_id]
    assert outbox.status(kiosk.store).waiting == {}
    refused = [fields for event, fields in events.seen if event == "sync.heartbeat_refused"]
    assert refused == [{"reason": "not_found"}, {"reason": "too_large"}]
    assert ("sync.heartbeat_not_sent", {"reason": "NotInitialisedError"}) in events.seen


def test_a_device_s_state_keeps_when_it_began_and_errors_are_code_words_only() -> None:
    times = iter(datetime(2026, 12, 5, 10, minute, tzinfo=UTC) for minute in range(10))
    status = KioskStatus(now=lambda: next(times))
    assert status.snapshot().camera.state == "unknown"
    status.device("camera", "ok")
    status.device("camera", "ok")
    assert status.snapshot().camera.since == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    status.device("camera", "lost")
    assert status.snapshot().camera.since == datetime(2026, 12, 5, 10, 1, tzinfo=UTC)
    for wrong, says in ((lambda: status.error("Kavya's camera stopped"), "code word"),
                        (lambda: status.device("printer", "ok"), "no device state"),
                        (lambda: status.device("camera", "broken"), "no device state"),
                        (lambda: status.interview("Kavya Menon"), "not an interview")):
        with pytest.raises(ValueError, match=says):
            wrong()
    assert status.snapshot().last_error is None
