"""A running HQ with a drive in progress, for the browser tests of the drive pages, the fleet
board and the accessibility audit: three enrolled kiosks (two at the drive, one spare and
never heard from), a roster of 12, heartbeats, forged (correctly signed) sessions, reviews."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hq import accounts
from hq.review import submit_review
from hq.storage import HqStorage
from kiosk.vault import Recipient
from sync import invites
from sync.heartbeat import Heartbeat, heartbeat_body
from tests.hq.conftest import HqServer, Kiosk, make_kiosk, sync_template
from tests.hq.forge import Forger, session_content, session_meta

PASSWORD = "correct horse battery staple"
ROSTER = 12


@dataclass
class DriveSite:
    """The HQ, its drive, and what a test needs to find its way."""

    hq: HqServer
    drive: str
    session_path: str       # a candidate page
    kiosks: dict[str, str]  # name -> device id


def _heartbeat(kiosk: Kiosk, drive: str, **change: Any) -> bytes:
    doc: dict[str, Any] = {
        "sent_at": datetime.now(UTC).isoformat(), "app_version": "0.9.0",
        "interview_id": "sync-drive", "drive": drive,
        "last_candidate_at": (datetime.now(UTC) - timedelta(minutes=4)).isoformat(),
        "transcription_backlog": 1, "outbox_backlog": 3, "recording_minutes_left": 420,
        "camera": "ok", "camera_since": None, "microphone": "ok", "microphone_since": None,
        "last_error": None, "recipient": kiosk.unlocked.identity.recipient.to_text(), **change}
    return heartbeat_body(Heartbeat(**doc))


def drive_site(root: Path) -> Iterator[DriveSite]:
    """Set the site up under `root`; stop its HQ when the generator is closed."""
    secret = root / "hq-passphrase"
    secret.write_text("hq admin test passphrase")
    (root / "hq").mkdir()
    hq = HqServer(root / "hq", f"sqlite:///{root / 'hq.sqlite3'}", secret)
    hq.cli("init", "--passphrase-file", str(secret))
    password = root / "password"
    password.write_text(PASSWORD)
    for name, role in (("asha", "admin"), ("ravi", "recruiter"), ("vik", "viewer")):
        hq.cli("users", "add", name, "--role", role, "--password-file", str(password))
    template = root / "sync-drive.toml"
    template.write_text(sync_template().text, encoding="utf-8")
    hq.cli("templates", "publish", str(template))
    hq.start()
    kiosks = [make_kiosk(root / f"kiosk{n}") for n in range(3)]
    storage = HqStorage(hq.db)
    try:
        links = [k.enroll(hq, name) for k, name in zip(
            kiosks, ("Hall A", "Hall B", "Spare"), strict=True)]
        drive = hq.cli("drives", "create", "IIT Campus, December", "--interview",
                       "sync-drive", "--kiosk", "Hall A", "--kiosk", "Hall B", "--from",
                       "2026-12-05", "--to", "2026-12-06", "--walk-ins").stdout.strip()
        roster = root / "roster.csv"
        roster.write_text("roll,name,contact\n" + "".join(
            f"21CS{n:03d},Student {n},student{n}@example.edu\n" for n in range(ROSTER)))
        hq.cli("drives", "roster", drive, str(roster))
        hq.cli("drives", "invites", drive, "--out", str(root / "invitations"),
               "--passphrase-file", str(secret))
        with open(root / "invitations" / "mail-merge.csv", encoding="utf-8") as merge:
            tokens = [row["invite_token"] for row in csv.DictReader(merge)]
        invite_ids = [invites.verify(t, links[0].verify_key, {drive},
                                     datetime(2026, 12, 5, tzinfo=UTC)).invite
                      for t in tokens]
        forgers = [Forger(hq.url, link.device_id, k.unlocked.signing,
                          Recipient.from_text(link.hq_recipient))
                   for k, link in zip(kiosks, links, strict=True)]
        with forgers[0].client() as client:
            client.heartbeat(_heartbeat(kiosks[0], drive))
            client.config()
        with forgers[1].client() as client:
            client.heartbeat(_heartbeat(
                kiosks[1], drive, recording_minutes_left=40, camera="lost",
                camera_since="2026-12-05T10:42:00+00:00", outbox_backlog=140,
                last_error={"at": datetime.now(UTC).isoformat(),
                            "code": "camera.read_failed"}))
        reviewer = accounts.add_user(storage, "reviewer", "admin", PASSWORD)
        first = ""
        for number in range(8):  # 6 complete, 2 abandon, 4 never come; 1 walk-in
            invite = invite_ids[number]
            status, answered = ("completed", 2) if number < 6 else ("interrupted", 1)
            session = f"site-session-{number:04d}"
            reference = f"S{number:03d}-2345"
            answer = forgers[number % 2].put(
                "session", session, session_meta(reference, status=status, answered=answered,
                                                 drive=drive, invite=invite),
                session_content(forgers[0].hq, reference))
            assert answer.status == 201, answer.body
            if number < 3:
                submit_review(storage, reviewer, forgers[number % 2].device_id, session,
                              {"communication": 4}, "", "advance" if number < 2 else "hold",
                              forgers[0].hq)
            first = first or f"/sessions/{forgers[0].device_id}/{session}"
        forgers[0].put("session", "site-walk-in-0001",
                       session_meta("W001-2345", drive=drive),
                       session_content(forgers[0].hq, "W001-2345"))
        yield DriveSite(hq, drive, first, {
            d["name"]: d["id"] for d in json.loads(hq.cli("devices", "list",
                                                          "--json").stdout)})
    finally:
        storage.dispose()
        for kiosk in kiosks:
            kiosk.store.close()
        hq.stop()
