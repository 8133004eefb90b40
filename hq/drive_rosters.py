"""The `drives` section of a kiosk's configuration: its drives, each roster sealed to it.

A roster reaches only the drive's own kiosks, sealed to the vault recipient each kiosk
reported in its signed heartbeat (`hq.fleet`); until a kiosk has reported one, its copy
of the drive says `roster: null` and the fleet board says why. A seal is random, so the
sealed roster is kept (`sealed_rosters`) and reused while neither the roster nor the
kiosk's key changed: the configuration's bytes, and so its version, stay the same.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from hq import drives
from hq.fleet import kiosk_recipient
from hq.storage import HqStorage, invites, sealed_rosters
from kiosk.vault import Identity, Recipient, seal_bytes
from sync.drive_config import DriveConfig, drive_doc, roster_bytes


def roster_digest(storage: HqStorage, drive_id: str, recipient: str) -> str:
    """What a sealed roster was made from, without opening anything: each invite's id,
    code and the digest of its sealed person, and the kiosk's recipient."""
    digest = hashlib.sha256(recipient.encode() + b"\0" + drive_id.encode())
    with storage.read() as conn:
        for row in conn.execute(sa.select(invites.c.id, invites.c.code, invites.c.person)
                                .where(invites.c.drive_id == drive_id)
                                .order_by(invites.c.id)):
            digest.update(f"\0{row.id}\0{row.code}\0".encode())
            digest.update(hashlib.sha256(row.person).digest())
    return digest.hexdigest()


def _sealed(storage: HqStorage, drive_id: str, device_id: str, recipient: str,
            hq: Identity) -> bytes:
    """The drive's roster sealed to this kiosk: the kept one while nothing it was made
    from changed (opening thousands of rows every minute per kiosk would be wasteful),
    else opened and sealed afresh."""
    digest = roster_digest(storage, drive_id, recipient)
    where = ((sealed_rosters.c.drive_id == drive_id)
             & (sealed_rosters.c.device_id == device_id))
    with storage.read() as conn:
        row = conn.execute(sa.select(sealed_rosters.c.content_sha256, sealed_rosters.c.sealed)
                           .where(where)).first()
    if row is not None and row.content_sha256 == digest:
        return bytes(row.sealed)
    plain = roster_bytes(drive_id, drives.roster_entries(storage, drive_id, hq))
    sealed = seal_bytes(plain, [Recipient.from_text(recipient)])
    with storage.write() as conn:
        # Two racing passes may both seal; the one kept is what later passes send (at
        # worst the kiosk sees one extra configuration version).
        conn.execute(sealed_rosters.delete().where(where))
        conn.execute(sealed_rosters.insert().values(drive_id=drive_id, device_id=device_id,
                                                    content_sha256=digest, sealed=sealed))
    return sealed


def drives_section(storage: HqStorage, device_id: str,
                   hq: Identity | None) -> list[dict[str, Any]]:
    """The drives this kiosk serves, as its configuration carries them ([] for none)."""
    section = []
    recipient = kiosk_recipient(storage, device_id)
    for drive_id in drives.drive_ids_for(storage, device_id):
        drive = drives.get_drive(storage, drive_id)
        sealed = None
        if recipient is not None and hq is not None:
            sealed = _sealed(storage, drive_id, device_id, recipient, hq)
        section.append(drive_doc(DriveConfig(
            drive_id, drive["name"], drive["interview_id"], drive["starts_on"],
            drive["ends_on"], drive["walk_ins"], drive["expires_at"], sealed)))
    return section
