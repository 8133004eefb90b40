"""What crosses the wire for drives: a session's drive and invite, the configuration's
`drives` section and the roster sealed inside it, each parsed strictly."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from sync import protocol
from sync.drive_config import (
    DriveConfig,
    RosterEntry,
    drive_doc,
    parse_drives,
    parse_roster,
    roster_bytes,
)
from sync.fields import ProtocolError
from tests.hq.forge import session_meta

DRIVE = "d-0123456789"
INVITE = "i-0123456789abcdef"


def test_a_session_names_its_drive_and_invite_or_neither() -> None:
    assert "drive" not in protocol.session_meta(session_meta())
    walk_in = protocol.session_meta(session_meta(drive=DRIVE))
    assert (walk_in["drive"], walk_in.get("invite")) == (DRIVE, None)
    invited = protocol.session_meta(session_meta(drive=DRIVE, invite=INVITE))
    assert (invited["drive"], invited["invite"]) == (DRIVE, INVITE)
    assert "drive" not in protocol.session_meta(session_meta(drive=None, invite=None))


@pytest.mark.parametrize(("change", "field"), [
    ({"invite": INVITE}, "meta.invite needs meta.drive"),
    ({"drive": "D-0123456789"}, "meta.drive"),
    ({"drive": DRIVE, "invite": "i-1"}, "meta.invite"),
    ({"drive": 12}, "meta.drive"),
    ({"drive": DRIVE, "roster": []}, "meta"),
])
def test_a_bad_drive_or_invite_is_refused(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ProtocolError, match=field):
        protocol.session_meta(session_meta(**change))


def _config(**more: Any) -> bytes:
    return protocol.dumps({"device_id": "k-1", "version": 5,
                           "issued_at": "2026-12-01T09:00:00+00:00", "templates": {},
                           "erasures": [], **more})


def _drive(**change: Any) -> dict[str, Any]:
    return {**drive_doc(DriveConfig(DRIVE, "IIT Campus", "campus", "2026-12-05",
                                    "2026-12-06", True, "2026-12-06T23:59:59-12:00",
                                    b"sealed")), **change}


def test_a_configuration_without_drives_is_as_before_and_one_with_drives_parses() -> None:
    assert protocol.parse_config(_config()).drives == ()
    drives = protocol.parse_config(_config(drives=[_drive(), _drive(roster=None)])).drives
    assert drives[0] == DriveConfig(DRIVE, "IIT Campus", "campus", "2026-12-05",
                                    "2026-12-06", True, "2026-12-07T11:59:59+00:00",
                                    b"sealed")
    assert drives[1].roster is None


@pytest.mark.parametrize(("change", "field"), [
    ({"id": "drive-1"}, "drives\\[0\\].id"),
    ({"walk_ins": "yes"}, "drives\\[0\\].walk_ins"),
    ({"starts_on": "5 Dec"}, "drives\\[0\\].starts_on"),
    ({"expires_at": "2026-12-06"}, "drives\\[0\\].expires_at"),
    ({"roster": "not base64!"}, "drives\\[0\\].roster"),
    ({"names": []}, "drives\\[0\\]"),
])
def test_a_malformed_drive_is_refused(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ProtocolError, match=field):
        protocol.parse_config(_config(drives=[_drive(**change)]))


def test_too_many_drives_are_refused() -> None:
    with pytest.raises(ProtocolError, match="drives"):
        parse_drives([_drive()] * 21)




def test_a_roster_round_trips_by_code() -> None:
    from sync.invites import new_code

    entry = RosterEntry(INVITE, new_code(), "Asha Rao", "asha@example.edu", None)
    assert parse_roster(roster_bytes(DRIVE, [entry]), DRIVE) == {entry.code: entry}


def test_a_roster_of_another_drive_or_with_repeated_codes_is_refused() -> None:
    from sync.invites import new_code

    entry = RosterEntry(INVITE, new_code(), "Asha Rao", "asha@example.edu", None)
    with pytest.raises(ProtocolError, match="another drive"):
        parse_roster(roster_bytes(DRIVE, [entry]), "d-9999999999")
    with pytest.raises(ProtocolError, match="repeats"):
        parse_roster(roster_bytes(DRIVE, [entry, entry]), DRIVE)
    doc = json.loads(roster_bytes(DRIVE, [entry]))
    doc["invites"][0]["name"] = "Asha\u0000"
    with pytest.raises(ProtocolError, match="invites\\[0\\].name"):
        parse_roster(json.dumps(doc).encode(), DRIVE)
    with pytest.raises(ProtocolError, match="JSON"):
        parse_roster(base64.b64encode(b"x"), DRIVE)
