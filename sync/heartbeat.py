"""The heartbeat: how a kiosk tells HQ, with each sync pass, that it works and how well.

`POST /v1/heartbeat` (signed like every kiosk request; body at most `MAX_BODY` bytes)
carries exactly these members, each present (null where the kiosk does not know):

    sent_at                 the kiosk's clock when it sent this (HQ derives the offset)
    app_version             the kiosk software's version
    interview_id            the interview in use, or null
    drive                   the drive the kiosk is serving, or null
    last_candidate_at       when the last candidate started, or null
    transcription_backlog   answers waiting for transcription
    outbox_backlog          items waiting to reach HQ
    recording_minutes_left  minutes of recording the free disk holds, or null
    camera, microphone      "ok", "lost" (it was there and went), "absent", or "unknown"
    camera_since, microphone_since   when that state began, or null
    last_error              {"at": time, "code": word} or null: never a message, which
                            could carry candidate data
    recipient               the kiosk's vault recipient: HQ seals drive rosters to it

HQ answers 200 with `{"received": TIME}` and a receipt. What HQ makes of it: docs/drives.md.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from sync import fields, invites
from sync.fields import QUESTION_ID, ProtocolError

__all__ = ["DEVICE_STATES", "Heartbeat", "ProtocolError", "heartbeat_body", "parse_heartbeat"]

MAX_BODY = 16 * 1024
DEVICE_STATES = ("ok", "lost", "absent", "unknown")
VERSION = re.compile(r"[0-9A-Za-z.+_-]{1,40}")
ERROR_CODE = re.compile(r"[a-z][a-z0-9_.]{0,59}")
RECIPIENT = re.compile(r"[A-Za-z0-9+/=:._-]{16,8192}")
KEYS = ("sent_at", "app_version", "interview_id", "drive", "last_candidate_at",
        "transcription_backlog", "outbox_backlog", "recording_minutes_left", "camera",
        "camera_since", "microphone", "microphone_since", "last_error", "recipient")


@dataclass(frozen=True)
class Heartbeat:
    """One kiosk's report of itself."""

    sent_at: str
    app_version: str
    interview_id: str | None
    drive: str | None
    last_candidate_at: str | None
    transcription_backlog: int
    outbox_backlog: int
    recording_minutes_left: int | None
    camera: str
    camera_since: str | None
    microphone: str
    microphone_since: str | None
    last_error: dict[str, str] | None
    recipient: str

    def doc(self) -> dict[str, Any]:
        """The JSON form (what is sent, and what HQ stores)."""
        return asdict(self)


def heartbeat_body(heartbeat: Heartbeat) -> bytes:
    """The request body for `heartbeat`."""
    from sync.protocol import dumps

    return dumps(heartbeat.doc())


def parse_heartbeat(body: bytes) -> Heartbeat:
    """A heartbeat body, checked member by member."""
    from sync.protocol import loads

    doc = fields.obj(loads(body, limit=MAX_BODY), "the heartbeat", KEYS, KEYS)
    error = doc["last_error"]
    if error is not None:
        error = fields.obj(error, "last_error", ("at", "code"), ("at", "code"))
        error = {"at": fields.timestamp(error["at"], "last_error.at"),
                 "code": fields.text(error["code"], "last_error.code", 60, ERROR_CODE)}
    interview = doc["interview_id"]
    drive = doc["drive"]
    return Heartbeat(
        sent_at=fields.timestamp(doc["sent_at"], "sent_at"),
        app_version=fields.text(doc["app_version"], "app_version", 40, VERSION),
        interview_id=None if interview is None else fields.text(interview, "interview_id", 64,
                                                                QUESTION_ID),
        drive=None if drive is None else fields.text(drive, "drive", 12, invites.DRIVE_ID),
        last_candidate_at=fields.optional_timestamp(doc["last_candidate_at"],
                                                    "last_candidate_at"),
        transcription_backlog=fields.integer(doc["transcription_backlog"],
                                             "transcription_backlog", 0, 1_000_000),
        outbox_backlog=fields.integer(doc["outbox_backlog"], "outbox_backlog", 0, 10_000_000),
        recording_minutes_left=fields.optional_integer(
            doc["recording_minutes_left"], "recording_minutes_left", 0, 10_000_000),
        camera=fields.choice(doc["camera"], "camera", DEVICE_STATES),
        camera_since=fields.optional_timestamp(doc["camera_since"], "camera_since"),
        microphone=fields.choice(doc["microphone"], "microphone", DEVICE_STATES),
        microphone_since=fields.optional_timestamp(doc["microphone_since"],
                                                   "microphone_since"),
        last_error=error,
        recipient=fields.text(doc["recipient"], "recipient", 8192, RECIPIENT))
