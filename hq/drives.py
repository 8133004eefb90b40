"""Campus recruitment drives at HQ: the drive, its kiosks, its roster, and its true funnel.

A drive names an interview, its dates, its kiosks and whether walk-ins are allowed. Its
roster is imported from the placement cell's CSV (`hq.roster`: all rows or none); each
row becomes an invite with a random id and a short typable code. What identifies the
candidate (name, contact, roll number) is sealed to HQ's key in the database, like every
other candidate datum at HQ: importing needs only HQ's public recipient, and reading the
roster back (for the printed invitations, the kiosks' copies, the export) needs HQ's
unlocked key. The funnel counts by invite: invited → started → completed → reviewed →
advanced, with no-shows and abandoned sessions, from what the drive's kiosks sent.

    DriveError          a drive cannot be created or changed as asked
    └── NoSuchDriveError
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hq.accounts import User
from hq.review import sees_others
from hq.roster import RosterRow
from hq.storage import (
    HqStorage,
    devices,
    drive_kiosks,
    drives,
    invites,
    now_text,
    reviews,
    sealed_rosters,
    sessions,
)
from kiosk.vault import Identity, Recipient, VaultError, open_bytes, seal_bytes
from sync import fields
from sync.drive_config import MAX_NAME, RosterEntry
from sync.invites import new_code

DEFAULT_VALIDITY = timedelta(days=30)
# Invitations stay valid to the end of the last day anywhere on earth (UTC-12), so a drive
# in any time zone never sees them expire before its day is over.
ANYWHERE_ON_EARTH = "-12:00"


class DriveError(Exception):
    """A drive cannot be created or changed as asked."""


class NoSuchDriveError(DriveError):
    """No drive has that id."""


@dataclass(frozen=True)
class Invited:
    """One invited candidate, opened with HQ's key."""

    invite: str
    code: str
    line: int
    name: str
    contact: str
    roll: str | None


def _date(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text).isoformat() if len(text) == 10 else _bad(what)
    except ValueError:
        return _bad(what)


def _bad(what: str) -> str:
    raise DriveError(f"{what} must be a date like 2026-12-05")


def resolve_kiosks(storage: HqStorage, wanted: list[str]) -> list[str]:
    """Device ids for kiosks named by id or by name; each must be enrolled and active."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(devices.c.id, devices.c.name, devices.c.revoked_at)
                            ).all()
    found = []
    for name in wanted:
        matches = [r for r in rows if r.id == name] or [r for r in rows if r.name == name]
        if not matches:
            raise DriveError(f"no kiosk {name!r} (see kiosk-hq devices list)")
        if len(matches) > 1:
            raise DriveError(f"more than one kiosk is called {name!r}: name it by its id")
        if matches[0].revoked_at is not None:
            raise DriveError(f"kiosk {name!r} was revoked")
        if matches[0].id not in found:
            found.append(matches[0].id)
    return found


def create_drive(storage: HqStorage, name: str, interview_id: str, kiosks: list[str],
                 starts_on: str | None = None, ends_on: str | None = None,
                 walk_ins: bool = False) -> str:
    """Create a drive; return its id. Kiosks are named by device id or name."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise DriveError(f"a drive's name is 1 to {MAX_NAME} printable characters")
    if not fields.QUESTION_ID.fullmatch(interview_id):
        raise DriveError("the interview id is lower-case letters, digits, - and _")
    starts, ends = _date(starts_on, "--from"), _date(ends_on, "--to")
    if (starts is None) != (ends is None):
        raise DriveError("give both --from and --to, or neither")
    if starts is not None and ends is not None and ends < starts:
        raise DriveError("the drive ends before it starts")
    device_ids = resolve_kiosks(storage, kiosks)
    created = datetime.now(UTC)
    last = ends or (created + DEFAULT_VALIDITY).date().isoformat()
    drive_id = "d-" + secrets.token_hex(5)
    with storage.write() as conn:
        conn.execute(drives.insert().values(
            id=drive_id, name=name, interview_id=interview_id, starts_on=starts,
            ends_on=ends, walk_ins=walk_ins, expires_at=f"{last}T23:59:59{ANYWHERE_ON_EARTH}",
            created_at=created.isoformat(timespec="milliseconds")))
        for device_id in device_ids:
            conn.execute(drive_kiosks.insert().values(drive_id=drive_id, device_id=device_id))
    return drive_id


def change_kiosks(storage: HqStorage, drive_id: str, add: list[str],
                  remove: list[str]) -> list[str]:
    """Add and remove a drive's kiosks (by id or name); return the device ids it has now.
    A removed kiosk's sealed copy of the roster is dropped: its next configuration carries
    neither the drive nor its roster."""
    get_drive(storage, drive_id)
    adding, removing = resolve_kiosks(storage, add), resolve_kiosks(storage, remove)
    if set(adding) & set(removing):
        raise DriveError("a kiosk cannot be both added and removed")
    with storage.write() as conn:
        held = set(conn.execute(sa.select(drive_kiosks.c.device_id).where(
            drive_kiosks.c.drive_id == drive_id)).scalars())
        for device_id in adding:
            if device_id not in held:
                conn.execute(drive_kiosks.insert().values(drive_id=drive_id,
                                                          device_id=device_id))
        for device_id in removing:
            conn.execute(drive_kiosks.delete().where(drive_kiosks.c.drive_id == drive_id,
                                                     drive_kiosks.c.device_id == device_id))
            conn.execute(sealed_rosters.delete().where(
                sealed_rosters.c.drive_id == drive_id,
                sealed_rosters.c.device_id == device_id))
    return sorted((held | set(adding)) - set(removing))


def delete_drive(storage: HqStorage, drive_id: str) -> int:
    """Delete a drive with its roster (the sealed names and contacts) and every kiosk's
    sealed copy; return how many invites went. Sessions stay, under their own retention;
    kiosks drop the drive at their next configuration."""
    get_drive(storage, drive_id)
    with storage.write() as conn:
        count = conn.execute(invites.delete().where(invites.c.drive_id == drive_id)).rowcount
        for table in (sealed_rosters, drive_kiosks):
            conn.execute(table.delete().where(table.c.drive_id == drive_id))
        conn.execute(drives.delete().where(drives.c.id == drive_id))
    return int(count)


def get_drive(storage: HqStorage, drive_id: str) -> dict[str, Any]:
    """One drive with its kiosks' ids and names; NoSuchDriveError if there is none."""
    with storage.read() as conn:
        row = conn.execute(sa.select(drives).where(drives.c.id == drive_id)).mappings().first()
        if row is None:
            raise NoSuchDriveError(f"no drive {drive_id!r} (see kiosk-hq drives list)")
        kiosks = conn.execute(sa.select(devices.c.id, devices.c.name).join(
            drive_kiosks, drive_kiosks.c.device_id == devices.c.id).where(
            drive_kiosks.c.drive_id == drive_id).order_by(devices.c.name)).all()
    return {**row, "walk_ins": bool(row["walk_ins"]),
            "kiosks": [{"id": k.id, "name": k.name} for k in kiosks]}


def import_roster(storage: HqStorage, drive_id: str, rows: list[RosterRow],
                  hq: Recipient) -> int:
    """Add the checked rows to the drive's roster in one transaction; return how many."""
    get_drive(storage, drive_id)
    sealed = [(row, seal_bytes(json.dumps({"name": row.name, "contact": row.contact,
                                           "roll": row.roll}).encode(), [hq]))
              for row in rows]
    with storage.write() as conn:
        taken = set(conn.execute(sa.select(invites.c.code)).scalars())
        for row, person in sealed:
            code = new_code()
            while code in taken:  # 40 random bits: a repeat is rare, never silent
                code = new_code()
            taken.add(code)
            conn.execute(invites.insert().values(
                id="i-" + secrets.token_hex(8), drive_id=drive_id, code=code, line=row.line,
                person=person, created_at=now_text()))
    return len(rows)


def invited(storage: HqStorage, drive_id: str, hq: Identity) -> list[Invited]:
    """The drive's roster, opened, in the order it was imported."""
    with storage.read() as conn:
        rows = conn.execute(sa.select(invites.c.id, invites.c.code, invites.c.line,
                                      invites.c.person).where(invites.c.drive_id == drive_id)
                            .order_by(invites.c.created_at, invites.c.line)).all()
    found = []
    for row in rows:
        try:
            person = json.loads(open_bytes(row.person, [hq]))
        except (VaultError, ValueError) as exc:
            raise DriveError(f"invite {row.id} does not open with HQ's key "
                             f"({type(exc).__name__})") from None
        found.append(Invited(row.id, row.code, row.line, person["name"], person["contact"],
                             person["roll"]))
    return found


def roster_entries(storage: HqStorage, drive_id: str, hq: Identity) -> list[RosterEntry]:
    """The roster as the drive's kiosks get it."""
    return [RosterEntry(i.invite, i.code, i.name, i.contact, i.roll)
            for i in invited(storage, drive_id, hq)]


def drive_ids_for(storage: HqStorage, device_id: str) -> list[str]:
    """The drives a kiosk is assigned to."""
    with storage.read() as conn:
        return list(conn.execute(sa.select(drive_kiosks.c.drive_id).where(
            drive_kiosks.c.device_id == device_id).order_by(drive_kiosks.c.drive_id)
        ).scalars())


# --- the funnel ------------------------------------------------------------------------------

# A session counts for an invite only if it names the invite's own drive too: an invite id
# claimed under another drive is not that drive's candidate.
_OF_INVITE = (invites.c.id == sessions.c.invite_id) & (invites.c.drive_id == sessions.c.drive_id)

def invite_states(storage: HqStorage, drive_id: str,
                  viewer: User | None = None) -> dict[str, dict[str, Any]]:
    """Per invite of the drive: started, completed, reviewed, and the decision where
    `viewer` may see it (None for the command line, which sees all)."""
    with storage.read() as conn:
        ids = list(conn.execute(sa.select(invites.c.id).where(
            invites.c.drive_id == drive_id)).scalars())
        rows = conn.execute(sa.select(sessions.c.device_id, sessions.c.session_id,
                                      sessions.c.invite_id, sessions.c.status,
                                      sessions.c.decision, sessions.c.started_at)
                            .join(invites, _OF_INVITE)
                            .where(invites.c.drive_id == drive_id)
                            .order_by(sessions.c.started_at)).all()
        given = conn.execute(sa.select(reviews.c.device_id, reviews.c.session_id,
                                       reviews.c.user_id, reviews.c.decision)
                             .join(sessions, (sessions.c.device_id == reviews.c.device_id)
                                   & (sessions.c.session_id == reviews.c.session_id))
                             .join(invites, _OF_INVITE)
                             .where(invites.c.drive_id == drive_id)
                             .order_by(reviews.c.submitted_at)).all()
    by_session: dict[tuple[str, str], list[Any]] = {}
    for review in given:
        by_session.setdefault((review.device_id, review.session_id), []).append(review)
    states: dict[str, dict[str, Any]] = {
        i: {"started": False, "completed": False, "reviewed": False, "decision": None,
            "decision_hidden": False, "sessions": 0} for i in ids}
    for row in rows:
        state = states[row.invite_id]
        state["started"] = True
        state["sessions"] += 1
        reviewed = by_session.get((row.device_id, row.session_id), [])
        if row.status == "completed":
            state["completed"] = True
            state["reviewed"] = state["reviewed"] or bool(reviewed)
            visible = viewer is None or sees_others(viewer, viewer.id in {
                r.user_id for r in reviewed})
            decisions = [r.decision for r in reviewed if r.decision] or [row.decision]
            if visible:
                state["decision"] = decisions[-1]
            else:
                state["decision_hidden"] = bool(reviewed) or row.decision is not None
    return states


def funnel(storage: HqStorage, drive_id: str, viewer: User | None = None) -> dict[str, int]:
    """invited, started, completed, reviewed, advanced, no_shows, abandoned, and
    walk_in_sessions (sessions at the drive without an invite)."""
    states = invite_states(storage, drive_id, viewer)
    with storage.read() as conn:
        walk_ins = conn.execute(sa.select(sa.func.count()).select_from(sessions).where(
            sessions.c.drive_id == drive_id, sessions.c.invite_id.is_(None))).scalar() or 0
    values = list(states.values())
    return {"invited": len(values), "started": sum(s["started"] for s in values),
            "completed": sum(s["completed"] for s in values),
            "reviewed": sum(s["reviewed"] for s in values),
            "advanced": sum(s["decision"] == "advance" for s in values),
            "no_shows": sum(not s["started"] for s in values),
            "abandoned": sum(s["started"] and not s["completed"] for s in values),
            "walk_in_sessions": int(walk_ins)}


def list_drives(storage: HqStorage, viewer: User | None = None) -> list[dict[str, Any]]:
    """Every drive, newest first, with its funnel."""
    with storage.read() as conn:
        ids = list(conn.execute(sa.select(drives.c.id).order_by(drives.c.created_at.desc(),
                                                                drives.c.id)).scalars())
    return [{**get_drive(storage, drive_id), **funnel(storage, drive_id, viewer)}
            for drive_id in ids]


PLACEMENT_FIELDS = ("roll", "name", "contact", "status")


def placement_rows(storage: HqStorage, drive_id: str, hq: Identity, decisions: bool,
                   scores: bool) -> list[dict[str, Any]]:
    """What the placement cell gets: who was invited and whether they came and finished;
    the decision and the reviewers' mean score only if the admin chose to include them."""
    states = invite_states(storage, drive_id)
    means = _reviewer_means(storage, drive_id) if scores else {}
    rows = []
    for person in invited(storage, drive_id, hq):
        state = states.get(person.invite, {})
        status = ("completed" if state.get("completed") else "started, not finished"
                  if state.get("started") else "did not attend")
        row: dict[str, Any] = {"roll": person.roll or "", "name": person.name,
                               "contact": person.contact, "status": status}
        if decisions:
            row["decision"] = state.get("decision") or ""
        if scores:
            mean = means.get(person.invite)
            row["reviewer_mean"] = "" if mean is None else mean
        rows.append(row)
    return rows


def _reviewer_means(storage: HqStorage, drive_id: str) -> dict[str, float]:
    with storage.read() as conn:
        given = conn.execute(sa.select(sessions.c.invite_id, reviews.c.scores)
                             .join(reviews, (sessions.c.device_id == reviews.c.device_id)
                                   & (sessions.c.session_id == reviews.c.session_id))
                             .join(invites, _OF_INVITE)
                             .where(invites.c.drive_id == drive_id,
                                    sessions.c.status == "completed")).all()
    levels: dict[str, list[int]] = {}
    for row in given:
        levels.setdefault(row.invite_id, []).extend(json.loads(row.scores).values())
    return {invite: round(sum(found) / len(found), 2) for invite, found in levels.items()
            if found}
