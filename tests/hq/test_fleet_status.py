"""The fleet board's rules (hq.fleet.judge) as a table, and the heartbeat's strict parser."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hq.fleet import judge
from kiosk.vault import Identity
from sync.fields import ProtocolError
from sync.heartbeat import Heartbeat, heartbeat_body, parse_heartbeat

NOW = datetime(2026, 12, 5, 10, 50, tzinfo=UTC)
RECIPIENT = Identity.generate().recipient.to_text()
WELL = Heartbeat(
    sent_at="2026-12-05T10:49:30+00:00", app_version="0.9.0", interview_id="campus",
    drive="d-0123456789", last_candidate_at="2026-12-05T10:30:00+00:00",
    transcription_backlog=0, outbox_backlog=0, recording_minutes_left=300, camera="ok",
    camera_since="2026-12-05T08:00:00+00:00", microphone="ok", microphone_since=None,
    last_error=None, recipient=RECIPIENT)
JUST = NOW - timedelta(seconds=30)


@pytest.mark.parametrize(("last_seen", "heartbeat", "offset", "interview", "level", "reasons"), [
    (None, None, None, None, "unseen", ["never seen"]),
    (JUST, WELL, 0.5, "campus", "ok", []),
    (JUST, WELL, None, None, "ok", []),
    (NOW - timedelta(minutes=15), WELL, 0.0, None, "problem", ["not seen for 15 min"]),
    (NOW - timedelta(minutes=14, seconds=59), WELL, 0.0, None, "ok", []),
    (NOW - timedelta(hours=3, minutes=5), WELL, 0.0, None, "problem",
     ["not seen for 3 h 5 min"]),
    (JUST, None, None, None, "warning", ["sends no heartbeat (update the kiosk's software)"]),
    (JUST, replace(WELL, recording_minutes_left=40), 0.0, None, "warning",
     ["disk: 40 min left"]),
    (JUST, replace(WELL, recording_minutes_left=60), 0.0, None, "ok", []),
    (JUST, replace(WELL, recording_minutes_left=14), 0.0, None, "problem",
     ["disk: 14 min left"]),
    (JUST, replace(WELL, recording_minutes_left=None), 0.0, None, "ok", []),
    (JUST, replace(WELL, camera="lost", camera_since="2026-12-05T10:42:10+00:00"), 0.0, None,
     "problem", ["camera lost at 10:42 UTC"]),
    (JUST, replace(WELL, microphone="absent"), 0.0, None, "problem", ["no microphone"]),
    (JUST, replace(WELL, camera="unknown"), 0.0, None, "warning", ["camera not checked yet"]),
    (JUST, WELL, 75.0, None, "warning", ["clock 75 s ahead"]),
    (JUST, WELL, -59.0, None, "ok", []),
    (JUST, WELL, -300.0, None, "problem", ["clock 5 min behind"]),
    (JUST, replace(WELL, outbox_backlog=100), 0.0, None, "warning",
     ["outbox: 100 items waiting"]),
    (JUST, replace(WELL, transcription_backlog=12), 0.0, None, "warning",
     ["transcription: 12 answers waiting"]),
    (JUST, replace(WELL, last_error={"at": "2026-12-05T10:40:00+00:00",
                                     "code": "camera.open_failed"}), 0.0, None, "warning",
     ["error camera.open_failed at 10:40 UTC"]),
    (JUST, replace(WELL, last_error={"at": "2026-12-05T09:00:00+00:00",
                                     "code": "camera.open_failed"}), 0.0, None, "ok", []),
    (JUST, WELL, 0.0, "other-interview", "warning",
     ["interview in use: campus, the drive's: other-interview"]),
    (JUST, replace(WELL, interview_id=None), 0.0, "campus", "warning",
     ["interview in use: none, the drive's: campus"]),
    # Problems come before warnings, and every reason is given.
    (NOW - timedelta(minutes=20), replace(WELL, recording_minutes_left=40, camera="lost",
                                          camera_since=None), 0.0, None, "problem",
     ["not seen for 20 min", "camera lost", "disk: 40 min left"]),
])
def test_fleet_status_rules(last_seen: datetime | None, heartbeat: Heartbeat | None,
                            offset: float | None, interview: str | None, level: str,
                            reasons: list[str]) -> None:
    status = judge(NOW, last_seen, heartbeat, offset, interview)
    assert (status.level, status.reasons) == (level, reasons)


def test_a_heartbeat_round_trips() -> None:
    assert parse_heartbeat(heartbeat_body(WELL)) == WELL


def _body(**change: Any) -> bytes:
    return json.dumps({**WELL.doc(), **change}).encode()


@pytest.mark.parametrize(("change", "field"), [
    ({"camera": "fine"}, "camera"),
    ({"outbox_backlog": -1}, "outbox_backlog"),
    ({"outbox_backlog": True}, "outbox_backlog"),
    ({"recording_minutes_left": 1.5}, "recording_minutes_left"),
    ({"sent_at": "2026-12-05 10:49"}, "sent_at"),
    ({"app_version": "1.0; rm -rf"}, "app_version"),
    ({"interview_id": "Campus Drive"}, "interview_id"),
    ({"drive": "d-1"}, "drive"),
    ({"last_error": {"at": "2026-12-05T10:40:00+00:00", "code": "x",
                     "message": "Asha's camera"}}, "last_error"),
    ({"last_error": {"at": "2026-12-05T10:40:00+00:00", "code": "Has Spaces"}},
     "last_error.code"),
    ({"recipient": "short"}, "recipient"),
    ({"name": "Asha"}, "the heartbeat"),
])
def test_a_malformed_heartbeat_is_refused_naming_the_field(change: dict[str, Any],
                                                            field: str) -> None:
    with pytest.raises(ProtocolError, match=field):
        parse_heartbeat(_body(**change))


def test_a_heartbeat_missing_a_member_is_refused() -> None:
    doc = WELL.doc()
    del doc["camera"]
    with pytest.raises(ProtocolError, match="the heartbeat"):
        parse_heartbeat(json.dumps(doc).encode())


def test_a_large_heartbeat_is_refused() -> None:
    with pytest.raises(ProtocolError, match="larger"):
        parse_heartbeat(_body(recipient="A" * 20_000))
