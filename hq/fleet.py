"""The fleet board: each kiosk's latest heartbeat, and a status with the reasons for it.

Heartbeats (`sync.heartbeat`) are kept latest-per-kiosk, plus a short history
(`HISTORY_KEEP`) for looking back over a day. `judge` is the one place that turns what a
kiosk last said, and when, into a status; its thresholds are named here and listed in
docs/drives.md. A kiosk HQ has never heard from is "unseen", never "ok".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hq.storage import HqStorage, devices, drive_kiosks, drives, heartbeat_history, heartbeats
from kiosk.vault import Recipient
from sync.fields import ProtocolError
from sync.heartbeat import Heartbeat

NOT_SEEN_AFTER = timedelta(minutes=15)         # a kiosk syncs every minute when idle
DISK_LOW_MINUTES = 60                          # warning: less than an hour of recording
DISK_CRITICAL_MINUTES = 15                     # problem: not one more interview, nearly
OUTBOX_BACKLOG_WARN = 100                      # items waiting to reach HQ
TRANSCRIPTION_BACKLOG_WARN = 10                # answers waiting for transcription
CLOCK_OFFSET_WARN = timedelta(minutes=1)
CLOCK_OFFSET_PROBLEM = timedelta(minutes=4)    # signed requests fail at 5 minutes
RECENT_ERROR = timedelta(minutes=30)
HISTORY_KEEP = timedelta(hours=24)
LEVELS = ("problem", "unseen", "warning", "ok")   # worst first


@dataclass(frozen=True)
class Status:
    """A kiosk's status and the reasons for it, worst first."""

    level: str
    reasons: list[str] = field(default_factory=list)


def _clock(at: str) -> str:
    return f"{datetime.fromisoformat(at).astimezone(UTC):%H:%M} UTC"


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} days"


def judge(now: datetime, last_seen: datetime | None, heartbeat: Heartbeat | None,
          clock_offset: float | None = None, interview: str | None = None) -> Status:
    """The status of one kiosk at `now`: when HQ last heard from it (`last_seen`, any
    signed request), its latest heartbeat and that heartbeat's clock offset (seconds,
    kiosk minus HQ), and the interview its drive expects, if any."""
    problems: list[str] = []
    warnings: list[str] = []
    if last_seen is None and heartbeat is None:
        return Status("unseen", ["never seen"])
    if last_seen is not None and now - last_seen >= NOT_SEEN_AFTER:
        problems.append(f"not seen for {_duration(now - last_seen)}")
    if heartbeat is None:
        warnings.append("sends no heartbeat (update the kiosk's software)")
        return _status(problems, warnings)
    minutes = heartbeat.recording_minutes_left
    if minutes is not None and minutes < DISK_CRITICAL_MINUTES:
        problems.append(f"disk: {minutes} min left")
    elif minutes is not None and minutes < DISK_LOW_MINUTES:
        warnings.append(f"disk: {minutes} min left")
    for name, state, since in (("camera", heartbeat.camera, heartbeat.camera_since),
                               ("microphone", heartbeat.microphone,
                                heartbeat.microphone_since)):
        when = f" at {_clock(since)}" if since else ""
        if state == "lost":
            problems.append(f"{name} lost{when}")
        elif state == "absent":
            problems.append(f"no {name}")
        elif state == "unknown":
            warnings.append(f"{name} not checked yet")
    if clock_offset is not None and abs(clock_offset) >= CLOCK_OFFSET_WARN.total_seconds():
        way = "ahead" if clock_offset > 0 else "behind"
        text = f"clock {_duration(timedelta(seconds=abs(clock_offset)))} {way}"
        if abs(clock_offset) < 120:
            text = f"clock {int(abs(clock_offset))} s {way}"
        (problems if abs(clock_offset) >= CLOCK_OFFSET_PROBLEM.total_seconds()
         else warnings).append(text)
    if heartbeat.outbox_backlog >= OUTBOX_BACKLOG_WARN:
        warnings.append(f"outbox: {heartbeat.outbox_backlog} items waiting")
    if heartbeat.transcription_backlog >= TRANSCRIPTION_BACKLOG_WARN:
        warnings.append(f"transcription: {heartbeat.transcription_backlog} answers waiting")
    error = heartbeat.last_error
    if error is not None and now - datetime.fromisoformat(error["at"]) < RECENT_ERROR:
        warnings.append(f"error {error['code']} at {_clock(error['at'])}")
    if interview is not None and heartbeat.interview_id != interview:
        warnings.append(f"interview in use: {heartbeat.interview_id or 'none'}, "
                        f"the drive's: {interview}")
    return _status(problems, warnings)


def _status(problems: list[str], warnings: list[str]) -> Status:
    level = "problem" if problems else "warning" if warnings else "ok"
    return Status(level, problems + warnings)


def record_heartbeat(storage: HqStorage, device_id: str, heartbeat: Heartbeat,
                     now: datetime | None = None) -> str:
    """Keep a kiosk's heartbeat as its latest (and in the history); return when HQ got it.
    The recipient must be a vault recipient: rosters are sealed to it."""
    try:
        Recipient.from_text(heartbeat.recipient)
    except (ValueError, KeyError):
        raise ProtocolError("recipient is not a vault recipient") from None
    received = (now or datetime.now(UTC)).astimezone(UTC)
    offset = (datetime.fromisoformat(heartbeat.sent_at) - received).total_seconds()
    at = received.isoformat(timespec="milliseconds")
    body = json.dumps({**heartbeat.doc(), "clock_offset_seconds": round(offset, 1)},
                      sort_keys=True)
    with storage.write() as conn:
        updated = conn.execute(heartbeats.update().where(
            heartbeats.c.device_id == device_id).values(
            received_at=at, body=body, recipient=heartbeat.recipient)).rowcount
        if not updated:
            conn.execute(heartbeats.insert().values(device_id=device_id, received_at=at,
                                                    body=body,
                                                    recipient=heartbeat.recipient))
        conn.execute(heartbeat_history.insert().values(device_id=device_id, received_at=at,
                                                       body=body))
        conn.execute(heartbeat_history.delete().where(
            heartbeat_history.c.device_id == device_id,
            heartbeat_history.c.received_at < (received - HISTORY_KEEP).isoformat()))
        conn.execute(devices.update().where(devices.c.id == device_id).values(
            last_seen_at=at))
    return at


def kiosk_recipient(storage: HqStorage, device_id: str) -> str | None:
    """The vault recipient a kiosk last reported, or None."""
    with storage.read() as conn:
        found: str | None = conn.execute(sa.select(heartbeats.c.recipient).where(
            heartbeats.c.device_id == device_id)).scalar()
    return found


def _heartbeat(body: str) -> tuple[Heartbeat, float | None]:
    doc = json.loads(body)
    offset = doc.pop("clock_offset_seconds", None)
    return Heartbeat(**doc), offset


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def fleet(storage: HqStorage, now: datetime | None = None,
          drive_id: str | None = None) -> list[dict[str, Any]]:
    """Every active kiosk (or a drive's kiosks) with its status and latest heartbeat,
    worst first. A kiosk of a drive is judged against the drive's interview."""
    now = now or datetime.now(UTC)
    query = (sa.select(devices.c.id, devices.c.name, devices.c.last_seen_at,
                       heartbeats.c.body, heartbeats.c.received_at)
             .outerjoin(heartbeats, heartbeats.c.device_id == devices.c.id)
             .where(devices.c.revoked_at.is_(None)))
    with storage.read() as conn:
        if drive_id is not None:
            query = query.join(drive_kiosks, drive_kiosks.c.device_id == devices.c.id).where(
                drive_kiosks.c.drive_id == drive_id)
        rows = conn.execute(query).all()
        expected = dict(conn.execute(sa.select(drive_kiosks.c.device_id,
                                               drives.c.interview_id)
                                     .join(drives, drives.c.id == drive_kiosks.c.drive_id)
                                     .order_by(drives.c.created_at)).all())
    found = []
    for row in rows:
        heartbeat, offset = _heartbeat(row.body) if row.body else (None, None)
        status = judge(now, _time(row.last_seen_at), heartbeat, offset,
                       expected.get(row.id))
        found.append({"id": row.id, "name": row.name, "last_seen_at": row.last_seen_at,
                      "status": status.level, "reasons": status.reasons,
                      "heartbeat": heartbeat.doc() if heartbeat else None,
                      "clock_offset_seconds": offset})
        if heartbeat is not None:
            del found[-1]["heartbeat"]["recipient"]  # long, and of no use on a board
    found.sort(key=lambda k: (LEVELS.index(k["status"]), k["name"].lower()))
    return found
