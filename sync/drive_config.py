"""The `drives` section of a kiosk's configuration, and the roster sealed inside it.

HQ sends this section only to a kiosk it assigned to a drive (docs/drives.md). Each drive
names its interview, its dates, whether walk-ins are allowed, when its invitations expire,
and carries its roster sealed to that kiosk's own vault key (`roster`, base64 of a vault
blob; null until the kiosk has told HQ its key in a heartbeat). Opened, a roster is JSON:

    {"drive": ID, "invites": [{"invite": ID, "code": CODE, "name": …, "contact": …,
                               "roll": … or null}, …]}

so the kiosk can map a typed code to its invite and prefill the candidate's details.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from sync import fields, invites
from sync.fields import QUESTION_ID, ProtocolError

MAX_DRIVES = 20
MAX_ROSTER = 5000                         # candidates in one drive
MAX_SEALED_ROSTER = 4 * 1024 * 1024       # bytes of one sealed roster
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CODE = re.compile(rf"[{invites.ALPHABET}]{{{invites.CODE_LENGTH + 1}}}")
MAX_NAME = 120
MAX_CONTACT = 254
MAX_ROLL = 40
_DRIVE_KEYS = ("id", "name", "interview_id", "starts_on", "ends_on", "walk_ins",
               "expires_at", "roster")


@dataclass(frozen=True)
class DriveConfig:
    """One drive as a kiosk assigned to it learns it."""

    id: str
    name: str
    interview_id: str
    starts_on: str | None
    ends_on: str | None
    walk_ins: bool
    expires_at: str
    roster: bytes | None        # a vault blob sealed to this kiosk, or None


def drive_doc(drive: DriveConfig) -> dict[str, Any]:
    """The JSON form of one drive in the configuration."""
    return {"id": drive.id, "name": drive.name, "interview_id": drive.interview_id,
            "starts_on": drive.starts_on, "ends_on": drive.ends_on, "walk_ins": drive.walk_ins,
            "expires_at": drive.expires_at,
            "roster": None if drive.roster is None else base64.b64encode(drive.roster).decode()}


def _date(value: object, where: str) -> str | None:
    return None if value is None else fields.text(value, where, 10, DATE)


def parse_drives(value: object) -> tuple[DriveConfig, ...]:
    """The configuration's `drives` section, checked (each roster stays sealed)."""
    found = []
    for number, item in enumerate(fields.array(value, "drives", MAX_DRIVES)):
        where = f"drives[{number}]"
        doc = fields.obj(item, where, _DRIVE_KEYS, _DRIVE_KEYS)
        roster = doc["roster"]
        sealed = None
        if roster is not None:
            text = fields.text(roster, f"{where}.roster", MAX_SEALED_ROSTER * 4 // 3 + 4)
            try:
                sealed = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise ProtocolError(f"{where}.roster is not base64") from None
        found.append(DriveConfig(
            fields.text(doc["id"], f"{where}.id", 12, invites.DRIVE_ID),
            fields.text(doc["name"], f"{where}.name", MAX_NAME),
            fields.text(doc["interview_id"], f"{where}.interview_id", 64, QUESTION_ID),
            _date(doc["starts_on"], f"{where}.starts_on"),
            _date(doc["ends_on"], f"{where}.ends_on"),
            fields.boolean(doc["walk_ins"], f"{where}.walk_ins"),
            fields.timestamp(doc["expires_at"], f"{where}.expires_at"), sealed))
    return tuple(found)


@dataclass(frozen=True)
class RosterEntry:
    """One invited candidate, as the drive's kiosks know them."""

    invite: str
    code: str
    name: str
    contact: str
    roll: str | None


def roster_bytes(drive_id: str, entries: list[RosterEntry]) -> bytes:
    """The plaintext roster that HQ seals to each of the drive's kiosks."""
    return json.dumps({"drive": drive_id, "invites": [
        {"invite": e.invite, "code": e.code, "name": e.name, "contact": e.contact,
         "roll": e.roll} for e in entries]}, sort_keys=True, separators=(",", ":"),
        ensure_ascii=False).encode()


_ENTRY_KEYS = ("invite", "code", "name", "contact", "roll")


def parse_roster(plain: bytes, drive_id: str) -> dict[str, RosterEntry]:
    """An opened roster, checked, by invite code; it must be the roster of `drive_id`."""
    try:
        doc = fields.obj(json.loads(plain.decode("utf-8")), "the roster", ("drive", "invites"),
                         ("drive", "invites"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError("the roster is not JSON") from None
    if doc["drive"] != drive_id:
        raise ProtocolError("the roster is of another drive")
    by_code: dict[str, RosterEntry] = {}
    for number, item in enumerate(fields.array(doc["invites"], "invites", MAX_ROSTER)):
        where = f"invites[{number}]"
        entry = fields.obj(item, where, _ENTRY_KEYS, _ENTRY_KEYS)
        found = RosterEntry(
            fields.text(entry["invite"], f"{where}.invite", 24, invites.INVITE_ID),
            fields.text(entry["code"], f"{where}.code", 9, CODE),
            fields.text(entry["name"], f"{where}.name", MAX_NAME),
            fields.text(entry["contact"], f"{where}.contact", MAX_CONTACT),
            None if entry["roll"] is None else fields.text(entry["roll"], f"{where}.roll",
                                                           MAX_ROLL))
        if found.code in by_code:
            raise ProtocolError(f"{where}.code repeats")
        by_code[found.code] = found
    return by_code
