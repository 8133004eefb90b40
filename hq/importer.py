"""`kiosk-hq import`: taking in a bundle carried from a kiosk without network.

The whole bundle is verified first (signature by an enrolled kiosk, every entry's size and
checksum, every record's shape) and only then ingested, in one transaction: a damaged or
foreign bundle changes nothing. Items are keyed by their client ids, so importing the same
bundle twice, or bundles that overlap, or a bundle whose items also arrived by sync, stores
each item once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq import devices
from hq.blobs import BlobError, BlobStore
from hq.ingest import ErasedError, _store_item, write_retrying
from hq.storage import HqStorage, bundles, now_text
from sync import protocol
from sync.bundle import BundleError, DamagedBundleError, VerifiedBundle, read_bundle


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    bundle_id: str
    device_id: str
    entries: int
    new: int
    already: int
    updated: int
    seen_before: bool


def _public_key(storage: HqStorage) -> Callable[[str], bytes | None]:
    def lookup(device_id: str) -> bytes | None:
        key = devices.public_key(storage, device_id)
        return None if key is None else key.public_bytes_raw()
    return lookup


def import_bundle(storage: HqStorage, blobs: BlobStore, path: Path,
                  progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Verify and ingest a bundle; raise BundleError (nothing imported) if it is not sound."""
    bundle = read_bundle(path, _public_key(storage), progress=progress)
    records = _check_records(bundle)
    stored_blobs = {}
    for entry in bundle.entries:
        if entry.kind == "recording":
            with bundle.open_entry(entry) as stream:
                try:
                    stored_blobs[entry.item_id] = blobs.put_stream(stream, entry.size,
                                                                   entry.sha256)
                except BlobError as exc:
                    raise DamagedBundleError(f"the bundle changed while it was imported "
                                             f"({exc}); copy it again") from None
    def ingest(conn: Connection) -> tuple[dict[str, int], bool]:
        outcomes = {"new": 0, "already": 0, "updated": 0}
        seen = conn.execute(sa.select(bundles.c.bundle_id).where(
            bundles.c.bundle_id == bundle.bundle_id)).first() is not None
        for entry in bundle.entries:
            if entry.kind == "recording":
                meta = protocol.check_meta("recording", entry.meta["session_id"],
                                           entry.meta["meta"])
                outcome = _store_item(conn, bundle.device_id, entry.item_id, "recording",
                                      entry.meta["session_id"], meta, entry.sha256,
                                      entry.size, "bundle", blob=stored_blobs[entry.item_id])
            else:
                record = records[entry.item_id]
                outcome = _store_item(conn, bundle.device_id, record.item_id, record.kind,
                                      record.session_id, record.meta, entry.sha256,
                                      entry.size, "bundle", sealed=record.sealed)
            outcomes[outcome] += 1
        if not seen:
            conn.execute(bundles.insert().values(
                bundle_id=bundle.bundle_id, device_id=bundle.device_id,
                imported_at=now_text(), entries=len(bundle.entries),
                new_items=outcomes["new"]))
        return outcomes, seen

    try:
        outcomes, seen = write_retrying(storage, ingest)
    except ErasedError:
        raise ErasedSessionError("the bundle holds a session HQ has erased; nothing was "
                                 "imported (the kiosk erases it at its next sync)") from None
    return ImportResult(bundle.bundle_id, bundle.device_id, len(bundle.entries),
                        outcomes["new"], outcomes["already"], outcomes["updated"], seen)


def _check_records(bundle: VerifiedBundle) -> dict[str, protocol.Record]:
    """Every entry's metadata and every record's envelope, checked before anything is stored."""
    records = {}
    for number, entry in enumerate(bundle.entries, start=1):
        try:
            session_id = entry.meta.get("session_id")
            if not isinstance(session_id, str):
                raise protocol.ProtocolError("session_id is missing")
            if entry.kind == "recording":
                meta = protocol.check_meta("recording", session_id, entry.meta.get("meta"))
                if meta["size"] != entry.size or meta["sha256"] != entry.sha256:
                    raise protocol.ProtocolError("the recording's size or checksum differs "
                                                 "from its metadata")
            else:
                record = protocol.parse_record(entry.item_id, bundle.read_entry(entry))
                if record.kind != entry.kind or record.session_id != session_id:
                    raise protocol.ProtocolError("the record differs from its manifest entry")
                records[entry.item_id] = record
        except protocol.ProtocolError as exc:
            raise MalformedEntryError(f"entry {number} of {len(bundle.entries)} is not a "
                                      f"valid {entry.kind} ({exc})") from None
    return records


class ErasedSessionError(BundleError):
    """The bundle holds a session that was erased at HQ."""


class MalformedEntryError(BundleError):
    """A verified, signed bundle carries an entry that is not a valid item."""
