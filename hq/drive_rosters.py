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
from hq.storage import HqStorage, sealed_rosters
from kiosk.vault import Identity, Recipient, seal_bytes
from sync.drive_config import DriveConfig, drive_doc, roster_bytes


def _sealed(storage: HqStorage, drive_id: str, device_id: str, plain: bytes,
            recipient: str) -> bytes:
    digest = hashlib.sha256(plain + b"\0" + recipient.encode()).hexdigest()
    where = ((sealed_rosters.c.drive_id == drive_id)
             & (sealed_rosters.c.device_id == device_id))
    with storage.read() as conn:
        row = conn.execute(sa.select(sealed_rosters.c.content_sha256, sealed_rosters.c.sealed)
                           .where(where)).first()
    if row is not None and row.content_sha256 == digest:
        return bytes(row.sealed)
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
            plain = roster_bytes(drive_id, drives.roster_entries(storage, drive_id, hq))
            sealed = _sealed(storage, drive_id, device_id, plain, recipient)
        section.append(drive_doc(DriveConfig(
            drive_id, drive["name"], drive["interview_id"], drive["starts_on"],
            drive["ends_on"], drive["walk_ins"], drive["expires_at"], sealed)))
    return section
