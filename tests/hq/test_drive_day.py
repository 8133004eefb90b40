"""A campus drive's day end to end, as the coordinator and HQ live it: the roster goes in at
HQ, the invitations are printed, two real kiosks sync (heartbeat, then the configuration
with the roster sealed to each), candidates scan or type their invitations at either kiosk
and take the interview, one kiosk is offline for a while and comes back, and HQ's fleet
board and funnel tell the truth throughout. Nothing a kiosk recorded is lost."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hq.fleet import fleet
from hq.storage import HqStorage, devices
from kiosk.clock import FakeClock
from kiosk.demo.scripted_candidate import answer_everything, to_first_question
from kiosk.drives.desk import InvitationDesk, open_desk
from kiosk.drives.held import DRIVES_FILE
from kiosk.errors import InvitationError
from kiosk.flow import CandidateFlow, Step
from kiosk.scoring.service import score_session
from kiosk.store import jobs, outbox
from kiosk.templates import find_template
from kiosk.uplink import sender
from kiosk.uplink.enrollment import HqLink, require_link
from kiosk.uplink.status import KioskStatus
from sync.client import HqClient
from tests.hq.conftest import HqServer, Kiosk, make_kiosk, sync_template

INVITED, COMPLETE, ABANDON = 30, 20, 5   # the rest (5) never come


@pytest.fixture
def hq_db(tmp_path: Path) -> str:
    """SQLite: what HQ stores of a drive is tested on both databases (test_drives.py); here
    the kiosks are the subject."""
    return f"sqlite:///{tmp_path / 'hq.sqlite3'}"


class Hall:
    """One enrolled kiosk at the drive, with its sync service and invitation desk."""

    def __init__(self, hq: HqServer, path: Path, name: str) -> None:
        self.kiosk: Kiosk = make_kiosk(path)
        self.link: HqLink = self.kiosk.enroll(hq, name)
        self.name = name
        self.status = KioskStatus()
        self.status.interview("sync-drive")
        self.status.device("camera", "ok")
        self.status.device("microphone", "ok")
        self.url = hq.url
        self.desk: InvitationDesk | None = None

    def sync(self, url: str | None = None) -> sender.PassResult:
        link = require_link(self.kiosk.data_dir)
        client = HqClient(url or self.url, link.device_id, self.kiosk.unlocked.signing,
                          hq_key=link.verify_key)
        return sender.SyncService(self.kiosk.store, link, client, status=self.status).run_pass()

    def open(self, drive: str) -> InvitationDesk:
        self.status.drive(drive)
        desk = open_desk(self.kiosk.store, self.kiosk.data_dir, [self.kiosk.unlocked.identity],
                         self.link.verify_key, "sync-drive")
        assert desk is not None and desk.drive.id == drive and desk.has_roster
        self.desk = desk
        # The drive's interview, as HQ published it to this kiosk (the app keeps it so).
        self.template = find_template("sync-drive", self.kiosk.data_dir)
        self.kiosk.store.keep_template(self.template)
        return desk

    def flow(self) -> tuple[CandidateFlow, FakeClock]:
        assert self.desk is not None
        clock = FakeClock()
        flow = CandidateFlow(self.template, clock=clock, archive=self.kiosk.store,
                             drive=self.desk.drive.id, walk_ins=self.desk.walk_ins)
        return flow, clock

    def score(self) -> None:
        """What the kiosk's worker does between candidates: score what completed."""
        store = self.kiosk.store
        while (job := jobs.claim(store)) is not None:
            with store.transaction():
                if job.kind == jobs.SCORE:
                    score_session(store, job.session_id)
                jobs.mark_done(store, job)


def _board(hq: HqServer, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    storage = HqStorage(hq.db)
    try:
        return {k["name"]: k for k in fleet(storage, now=now)}
    finally:
        storage.dispose()


def _read_qr(path: Path) -> str:
    """The invitation's QR code as the kiosk's scanner reads it off a camera frame."""
    import cv2

    from kiosk.drives.scanner import read_codes

    codes = read_codes(cv2.imread(str(path)))
    assert len(codes) == 1
    return codes[0]


def test_a_drive_day_with_two_kiosks_one_of_them_offline_for_a_while(
        hq: HqServer, tmp_path: Path) -> None:
    halls = [Hall(hq, tmp_path / "hall-a", "Hall A"), Hall(hq, tmp_path / "hall-b", "Hall B")]
    template_file = tmp_path / "sync-drive.toml"
    template_file.write_text(sync_template().text, encoding="utf-8")
    hq.cli("templates", "publish", str(template_file))
    today = datetime.now(UTC).date()
    drive = hq.cli("drives", "create", "Campus day", "--interview", "sync-drive",
                   "--kiosk", "Hall A", "--kiosk", "Hall B",
                   "--from", str(today - timedelta(days=1)),
                   "--to", str(today + timedelta(days=1))).stdout.strip()
    roster = tmp_path / "roster.csv"
    roster.write_text("roll,name,contact\n" + "".join(
        f"21CS{n:03d},Student {n},student{n}@example.edu\n" for n in range(INVITED)),
        encoding="utf-8")
    hq.cli("drives", "roster", drive, str(roster))
    printed = tmp_path / "invitations"
    hq.cli("drives", "invites", drive, "--out", str(printed), "--passphrase-file",
           str(hq.passphrase_file))
    with open(printed / "mail-merge.csv", encoding="utf-8", newline="") as merge:
        invitations = list(csv.DictReader(merge))

    # Morning: each kiosk's first pass reports it, then brings the roster sealed to it.
    for hall in halls:
        assert hall.sync().stopped_by is None
        kept = (hall.kiosk.data_dir / DRIVES_FILE).read_text(encoding="utf-8")
        assert drive in kept and "Student" not in kept  # the roster stays sealed at rest
        hall.open(drive)
    assert {k: v["status"] for k, v in _board(hq).items()} == {"Hall A": "ok", "Hall B": "ok"}

    # Hall B loses its network (its passes cannot reach HQ) for the rest of the morning.
    dead = "http://127.0.0.1:9"
    outcome: dict[int, str] = {}
    for number, invitation in enumerate(invitations[:COMPLETE + ABANDON]):
        hall = halls[number % 2]
        desk = hall.desk
        assert desk is not None
        # Half scan the printed QR code, half type the code printed under it.
        text = _read_qr(printed / invitation["qr_file"]) if number % 4 < 2 \
            else invitation["invite_code"].lower()
        flow, clock = hall.flow()
        flow.scan_invitation()
        flow.accept_invitation(desk.check(text))
        assert flow.prefill == (invitation["name"], invitation["contact"])
        if number < COMPLETE:
            answer_everything(flow, clock, name=invitation["name"],
                              contact=invitation["contact"])
            outcome[number] = "completed"
        else:  # starts, answers the first question, walks away
            to_first_question(flow, name=invitation["name"], contact=invitation["contact"])
            flow.abort()
            outcome[number] = "abandoned"
        hall.score()
        if number % 5 == 4:
            assert halls[0].sync().stopped_by is None
            assert halls[1].sync(dead).transient  # kept in its outbox, tried again later

    # Student 3 (Hall B) walked away once before finishing: scanning again resumes it.
    hall_b = halls[1]
    assert hall_b.desk is not None
    first = hall_b.desk.check(invitations[COMPLETE + 1]["invite_token"])
    assert first.resume is not None
    flow, clock = hall_b.flow()
    flow.accept_invitation(first)
    assert flow.step is Step.DEVICE_CHECK
    resumed = flow.session()
    assert resumed is not None and resumed.reference == first.resume
    # A completed candidate who scans again is thanked, not interviewed twice.
    with pytest.raises(InvitationError) as again:
        halls[0].desk.check(invitations[0]["invite_token"])  # type: ignore[union-attr]
    assert again.value.reason == "used"
    flow.abort()

    # HQ, 20 minutes after Hall B was last heard from: the board says so.
    storage = HqStorage(hq.db)
    try:
        with storage.write() as conn:
            conn.execute(sa.update(devices).where(devices.c.id == hall_b.link.device_id)
                         .values(last_seen_at=(datetime.now(UTC) - timedelta(minutes=20))
                                 .isoformat()))
    finally:
        storage.dispose()
    board = _board(hq)
    assert board["Hall B"]["status"] == "problem"
    assert any(r.startswith("not seen for 2") for r in board["Hall B"]["reasons"]), board
    assert board["Hall A"]["status"] == "ok"
    waiting = outbox.pending(hall_b.kiosk.store, limit=1000)
    assert len([e for e in waiting if e.family == outbox.SESSION]) == 12

    # Hall B's network comes back: everything it kept arrives, and the board clears.
    assert hall_b.sync().stopped_by is None
    assert outbox.pending(hall_b.kiosk.store, limit=1000) == []
    assert _board(hq)["Hall B"]["status"] == "ok"

    listed = json.loads(hq.cli("drives", "list", "--json").stdout)
    counts = {key: listed[0][key] for key in ("invited", "started", "completed", "no_shows",
                                              "abandoned", "walk_in_sessions")}
    assert counts == {"invited": INVITED, "started": COMPLETE + ABANDON,
                      "completed": COMPLETE, "no_shows": INVITED - COMPLETE - ABANDON,
                      "abandoned": ABANDON, "walk_in_sessions": 0}
    sessions = hq.sessions()
    assert len(sessions) == COMPLETE + ABANDON
    assert {s["device_id"] for s in sessions} == {h.link.device_id for h in halls}
    placement = hq.cli("drives", "export", drive, "--passphrase-file",
                       str(hq.passphrase_file)).stdout
    rows = {r["name"]: r["status"] for r in csv.DictReader(placement.splitlines())}
    assert sum(status == "did not attend" for status in rows.values()) == 5
    assert rows["Student 0"] == "completed"
    for hall in halls:
        hall.kiosk.store.close()
