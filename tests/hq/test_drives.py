"""A recruitment drive end to end at a real HQ: create it, import its roster, write its
invitations, let two enrolled kiosks send heartbeats and (forged, correctly signed) session
records, and check the funnel, the kiosks' sealed rosters and the fleet status."""

from __future__ import annotations

import csv
import http.client
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hq import accounts
from hq.review import submit_review
from hq.storage import HqStorage
from kiosk.uplink import enrollment as hq_link
from kiosk.vault import Recipient, open_bytes
from sync import invites, protocol
from sync.drive_config import parse_roster
from sync.heartbeat import Heartbeat, heartbeat_body
from sync.signing import CONFIG_CONTEXT, verify_from_hq
from tests.hq.conftest import HqServer, Kiosk, make_kiosk
from tests.hq.forge import Forger, session_content, session_meta

ROSTER_HEADER = "roll,name,contact\n"
DURING = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _roster(path: Path, count: int) -> Path:
    path.write_text(ROSTER_HEADER + "".join(
        f"21CS{n:03d},Student {n},student{n}@example.edu\n" for n in range(count)),
        encoding="utf-8")
    return path


def _heartbeat(kiosk: Kiosk, **change: Any) -> bytes:
    doc = {"sent_at": datetime.now(UTC).isoformat(), "app_version": "0.9.0",
           "interview_id": "sync-drive", "drive": None, "last_candidate_at": None,
           "transcription_backlog": 0, "outbox_backlog": 0, "recording_minutes_left": 500,
           "camera": "ok", "camera_since": None, "microphone": "ok", "microphone_since": None,
           "last_error": None, "recipient": kiosk.unlocked.identity.recipient.to_text(),
           **change}
    return heartbeat_body(Heartbeat(**doc))


def _create(hq: HqServer, *args: str) -> str:
    return hq.cli("drives", "create", "IIT Campus, December", "--interview", "sync-drive",
                  "--from", "2026-12-05", "--to", "2026-12-06", *args).stdout.strip()


def _drives(hq: HqServer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(hq.cli("drives", "list", "--json").stdout)
    return found


def test_a_roster_with_bad_rows_is_refused_whole_with_file_and_line(
        hq: HqServer, tmp_path: Path) -> None:
    drive = _create(hq)
    bad = tmp_path / "roster.csv"
    bad.write_text(ROSTER_HEADER + "1,Asha,asha@example.edu\n2,,b@example.edu\n"
                   "3,Vikram,vikram at example\n4,Meera,98765\n", encoding="utf-8")
    result = hq.cli("drives", "roster", drive, str(bad), check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{bad}:3: a name is required",
        f"{bad}:4: the contact must be an email address or a phone number (7 to 15 digits)",
        f"{bad}:5: the contact must be an email address or a phone number (7 to 15 digits)",
        "kiosk-hq: error: 3 problem(s); nothing was imported"]
    assert "Asha" not in result.stderr
    assert _drives(hq)[0]["invited"] == 0
    missing = hq.cli("drives", "roster", "d-0000000000", str(_roster(tmp_path / "ok.csv", 2)),
                     check=False)
    assert missing.returncode == 1 and "no drive 'd-0000000000'" in missing.stderr


def test_creating_a_drive_checks_what_it_is_given(hq: HqServer) -> None:
    for args, message in [
        (("--kiosk", "no-such-kiosk"), "no kiosk 'no-such-kiosk'"),
        (("--from", "2026-12-06", "--to", "2026-12-05"), "ends before it starts"),
        (("--from", "2026-13-01", "--to", "2026-12-05"), "--from must be a date"),
    ]:
        result = hq.cli("drives", "create", "X", "--interview", "sync-drive", *args,
                        check=False)
        assert result.returncode == 2 and message in result.stderr, result.stderr
    assert _drives(hq) == []


@pytest.fixture
def hq_storage(hq: HqServer) -> Any:
    opened = HqStorage(hq.db)
    yield opened
    opened.dispose()


def test_a_scripted_drive_of_30_invited_candidates(hq: HqServer, tmp_path: Path,
                                                    hq_storage: HqStorage) -> None:
    kiosks = [make_kiosk(tmp_path / f"kiosk{n}") for n in (1, 2, 3)]
    links = [kiosk.enroll(hq, name) for kiosk, name in zip(kiosks, ("Hall A", "Hall B",
                                                                    "Spare"), strict=True)]
    drive = _create(hq, "--kiosk", links[0].device_id, "--kiosk", "Hall B", "--walk-ins")
    assert invites.DRIVE_ID.fullmatch(drive)
    assert "imported 30" in hq.cli("drives", "roster", drive,
                                   str(_roster(tmp_path / "roster.csv", 30))).stdout
    out = tmp_path / "invitations"
    hq.cli("drives", "invites", drive, "--out", str(out), "--passphrase-file",
           str(hq.passphrase_file))

    # The mail-merge file: one line per candidate; every token is HQ's, for this drive.
    with open(out / "mail-merge.csv", encoding="utf-8", newline="") as merge:
        merged = list(csv.DictReader(merge))
    assert [r["name"] for r in merged] == [f"Student {n}" for n in range(30)]
    hq_key = links[0].verify_key
    found = [invites.verify(r["invite_token"], hq_key, {drive}, DURING) for r in merged]
    assert len({f.invite for f in found}) == 30
    # Each QR code reads back as its token with OpenCV's Aruco-based detector, the one
    # the kiosk should use (the classic one misses some: bench/invite_qr_bench.py).
    import cv2

    detector = cv2.QRCodeDetectorAruco()
    for row in merged:
        text, _, _ = detector.detectAndDecode(cv2.imread(str(out / row["qr_file"])))
        assert text == row["invite_token"]
    sheet = (out / "invitations.html").read_text(encoding="utf-8")
    assert sheet.count('class="invitation"') == 30 and "Student 29" in sheet
    assert merged[0]["invite_code"] in sheet
    with pytest.raises(invites.ExpiredInviteError):  # the end of 2026-12-06 anywhere
        invites.verify(merged[0]["invite_token"], hq_key, {drive},
                       datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    # The token names no person.
    assert all("Student" not in r["invite_token"] for r in merged)

    # Hall A reports its key; its configuration then carries the roster sealed to it.
    forgers = [Forger(hq.url, link.device_id, kiosk.unlocked.signing,
                      Recipient.from_text(link.hq_recipient))
               for kiosk, link in zip(kiosks, links, strict=True)]
    with forgers[0].client() as client:
        client.heartbeat(_heartbeat(kiosks[0], drive=drive))
        body, signature = client.config()
    verify_from_hq(CONFIG_CONTEXT, body, signature, hq_key)
    config = protocol.parse_config(body)
    assert [d.id for d in config.drives] == [drive] and config.drives[0].walk_ins
    assert config.drives[0].roster is not None
    roster = parse_roster(open_bytes(config.drives[0].roster, [kiosks[0].unlocked.identity]),
                          drive)
    by_code = {r["invite_code"].replace("-", ""): r for r in merged}
    assert set(roster) == set(by_code)
    for code, entry in roster.items():
        assert (entry.name, entry.contact) == (by_code[code]["name"], by_code[code]["contact"])
    assert b"Student" not in body  # sealed: nobody on the way reads the roster
    with forgers[0].client() as client:  # the same roster again: the same bytes, version
        assert client.config()[0] == body
    hq_link.apply_config(kiosks[0].data_dir, links[0], body, signature)  # the kiosk takes it
    # Hall B has not reported a key: its drive comes without a roster. Spare gets no drives.
    with forgers[1].client() as client:
        assert protocol.parse_config(client.config()[0]).drives[0].roster is None
    with forgers[2].client() as client:
        assert b'"drives"' not in client.config()[0]

    # The day: 20 complete (one after an abandoned first try), 5 abandon, 5 never come,
    # 2 walk-ins, and one session of another drive-less interview.
    invite_ids = [f.invite for f in found]
    hq_recipient = forgers[0].hq
    sessions: list[tuple[int, str, str]] = []

    def send(number: int, invite: str | None, status: str, answered: int,
             drive_id: str | None = drive) -> None:
        forger = forgers[number % 2]
        session = f"drive-session-{len(sessions):04d}"
        reference = f"D{len(sessions):03d}-2345"
        extra = {} if drive_id is None else {"drive": drive_id}
        if invite is not None:
            extra["invite"] = invite
        meta = session_meta(reference, status=status, answered=answered, **extra)
        answer = forger.put("session", session, meta, session_content(hq_recipient, reference))
        assert answer.status == 201, answer.body
        sessions.append((number, forger.device_id, session))

    send(3, invite_ids[3], "interrupted", 1)
    for number in range(20):
        send(number, invite_ids[number], "completed", 2)
    for number in range(20, 25):
        send(number, invite_ids[number], "interrupted", 1)
    send(30, None, "completed", 2)
    send(31, None, "completed", 2)
    send(32, None, "completed", 2, drive_id=None)
    send(27, invite_ids[27], "completed", 2, drive_id="d-0000000000")  # claimed elsewhere

    reviewer = accounts.add_user(hq_storage, "asha", "admin", "correct horse battery staple")
    for number, device, session in sessions[1:11]:  # invites 0-9 reviewed; 0-5 advance
        submit_review(hq_storage, reviewer, device, session, {"communication": 4}, "",
                      "advance" if number < 6 else "hold", hq_recipient)

    listed = _drives(hq)
    assert len(listed) == 1
    counts = {key: listed[0][key] for key in ("invited", "started", "completed", "reviewed",
                                              "advanced", "no_shows", "abandoned",
                                              "walk_in_sessions", "walk_ins")}
    assert counts == {"invited": 30, "started": 25, "completed": 20, "reviewed": 10,
                      "advanced": 6, "no_shows": 5, "abandoned": 5, "walk_in_sessions": 2,
                      "walk_ins": True}
    text = hq.cli("drives", "list").stdout
    assert "invited 30  started 25  completed 20  no-shows 5" in text

    # The placement cell's list: names and whether they came; scores only when asked.
    plain = hq.cli("drives", "export", drive, "--passphrase-file",
                   str(hq.passphrase_file)).stdout
    rows = list(csv.DictReader(plain.splitlines()))
    assert list(rows[0]) == ["roll", "name", "contact", "status"]
    assert [r["status"] for r in rows].count("did not attend") == 5
    assert [r["status"] for r in rows].count("completed") == 20
    full = hq.cli("drives", "export", drive, "--decisions", "--scores", "--passphrase-file",
                  str(hq.passphrase_file)).stdout
    rows = list(csv.DictReader(full.splitlines()))
    assert list(rows[0]) == ["roll", "name", "contact", "status", "decision", "reviewer_mean"]
    assert (rows[0]["decision"], rows[0]["reviewer_mean"]) == ("advance", "4.0")
    assert (rows[29]["decision"], rows[29]["reviewer_mean"]) == ("", "")
    nowhere = hq.cli("drives", "export", drive, "--out", str(hq.data_dir / "no" / "such.csv"),
                     "--passphrase-file", str(hq.passphrase_file), check=False)
    assert nowhere.returncode == 1 and "Traceback" not in nowhere.stderr
    assert nowhere.stderr.startswith("kiosk-hq: error: cannot write "), nowhere.stderr
    unknown = hq.cli("drives", "export", "d-0000000000", "--passphrase-file",
                     str(hq.passphrase_file), check=False)
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr, unknown.stderr

    # The fleet: Hall A reported; Hall B only fetched (no heartbeat); Spare likewise.
    devices = {d["name"]: d for d in json.loads(hq.cli("devices", "list", "--json").stdout)}
    assert devices["Hall A"]["status"] == "ok"
    assert devices["Hall B"]["status"] == "warning"
    assert devices["Hall B"]["reasons"] == ["sends no heartbeat (update the kiosk's software)"]
    with forgers[0].client() as client:
        client.heartbeat(_heartbeat(kiosks[0], drive=drive, recording_minutes_left=40,
                                    camera="lost", camera_since="2026-12-05T10:42:00+00:00"))
    line = next(line for line in hq.cli("devices", "list").stdout.splitlines()
                if "Hall A" in line)
    assert line.endswith("problem: camera lost at 10:42 UTC; disk: 40 min left")

    # Hall A leaves the drive: its configuration no longer carries the drive or its roster.
    assert hq.cli("drives", "kiosks", drive, "--remove", "Hall A").stdout.split() == [
        links[1].device_id]
    with forgers[0].client() as client:
        assert b'"drives"' not in client.config()[0]
    refused = hq.cli("drives", "kiosks", drive, "--add", "Hall A", "--remove", "Hall A",
                     check=False)
    assert refused.returncode == 2 and "both added and removed" in refused.stderr

    # Once the drive is over: deleted with its roster, on confirmation only.
    unconfirmed = hq.cli("drives", "delete", drive, "--confirm", "d-0000000000", check=False)
    assert unconfirmed.returncode == 2 and len(_drives(hq)) == 1
    assert "roster of 30" in hq.cli("drives", "delete", drive, "--confirm", drive).stdout
    assert _drives(hq) == []
    with forgers[1].client() as client:
        assert b'"drives"' not in client.config()[0]
    assert len(json.loads(hq.cli("sessions", "list", "--json").stdout)) == len(sessions)
    with hq_storage.read() as conn:
        from hq.storage import invites as invite_rows
        from hq.storage import sealed_rosters

        assert conn.execute(invite_rows.select()).first() is None
        assert conn.execute(sealed_rosters.select()).first() is None
    for kiosk in kiosks:
        kiosk.store.close()


def test_a_kiosk_never_heard_from_is_unseen_not_well(hq: HqServer, tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path / "kiosk")
    kiosk.enroll(hq, "Quiet")
    listed = json.loads(hq.cli("devices", "list", "--json").stdout)
    assert [(d["status"], d["reasons"]) for d in listed] == [("unseen", ["never seen"])]
    assert "unseen: never seen" in hq.cli("devices", "list").stdout
    kiosk.store.close()


def test_a_malformed_or_unsigned_heartbeat_is_refused(hq: HqServer, tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path / "kiosk")
    link = kiosk.enroll(hq, "Hall A")
    forger = Forger(hq.url, link.device_id, kiosk.unlocked.signing,
                    Recipient.from_text(link.hq_recipient))
    with forger.client() as client:
        bad = client.signed("POST", protocol.HEARTBEAT_PATH,
                            _heartbeat(kiosk).replace(b'"camera":"ok"', b'"camera":"fine"'),
                            {"Content-Type": "application/json"})
        assert bad.status == 422 and b"camera" in bad.body
        fake_key = _heartbeat(kiosk, recipient="ik-x25519-" + "A" * 40)
        bad = client.signed("POST", protocol.HEARTBEAT_PATH, fake_key,
                            {"Content-Type": "application/json"})
        assert bad.status == 422 and b"recipient" in bad.body
        big = client.signed("POST", protocol.HEARTBEAT_PATH, b"{" + b" " * 20_000 + b"}",
                            {"Content-Type": "application/json"})
        assert big.status == 413
    unsigned = http.client.HTTPConnection("127.0.0.1", hq.port, timeout=60)
    try:
        unsigned.request("POST", protocol.HEARTBEAT_PATH, _heartbeat(kiosk),
                         {"Content-Type": "application/json"})
        assert unsigned.getresponse().status == 401
    finally:
        unsigned.close()
    assert json.loads(hq.cli("devices", "list", "--json").stdout)[0]["status"] == "unseen"
    kiosk.store.close()


def test_a_kiosks_roster_is_sealed_again_only_when_it_changes(
        hq: HqServer, tmp_path: Path, hq_storage: HqStorage) -> None:
    from hq.config import config_document
    from hq.fleet import record_heartbeat
    from kiosk import keys
    from sync.heartbeat import parse_heartbeat
    from tests.hq.conftest import HQ_PASSPHRASE

    kiosk = make_kiosk(tmp_path / "kiosk")
    link = kiosk.enroll(hq, "Hall A")
    drive = _create(hq, "--kiosk", "Hall A")
    hq.cli("drives", "roster", drive, str(_roster(tmp_path / "first.csv", 2)))
    identity = keys.unlock(hq.data_dir, HQ_PASSPHRASE).identity
    record_heartbeat(hq_storage, link.device_id, parse_heartbeat(_heartbeat(kiosk)))
    first = config_document(hq_storage, link.device_id, identity)
    assert config_document(hq_storage, link.device_id, identity) == first
    late = tmp_path / "late.csv"
    late.write_text(ROSTER_HEADER + "21CS900,Late Student,late@example.edu\n")
    hq.cli("drives", "roster", drive, str(late))
    second = config_document(hq_storage, link.device_id, identity)
    parsed = protocol.parse_config(second)
    assert parsed.version > protocol.parse_config(first).version
    assert parsed.drives[0].roster is not None
    roster = parse_roster(open_bytes(parsed.drives[0].roster, [kiosk.unlocked.identity]),
                          drive)
    assert sorted(e.name for e in roster.values()) == ["Late Student", "Student 0",
                                                        "Student 1"]
    # A kiosk set up afresh under the same enrollment reports a new key: sealed to it.
    other = make_kiosk(tmp_path / "other")
    record_heartbeat(hq_storage, link.device_id, parse_heartbeat(_heartbeat(other)))
    third = protocol.parse_config(config_document(hq_storage, link.device_id, identity))
    assert third.drives[0].roster is not None
    assert len(parse_roster(open_bytes(third.drives[0].roster, [other.unlocked.identity]),
                            drive)) == 3
    kiosk.store.close()
    other.store.close()
