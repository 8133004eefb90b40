"""`kiosk-hq import`: taking in a bundle carried from a kiosk without network.

The container is verified whole first (the signature of an enrolled kiosk, every entry's
size and checksum): a damaged or foreign bundle changes nothing. Then the entries go in
one by one, in small batches, as the online sync would send them. Each is checked before
it is read (its size against its kind's limit, so a huge "record" never reaches memory),
then parsed as strictly as a request. An entry that does not check out, belongs to a session
HQ erased, or contradicts what HQ holds is skipped, logged and audited, and the rest go in.
Items are keyed by their client ids, and a revision never replaces a newer one, so importing
the same bundle twice, bundles that overlap, or a bundle whose items also arrived by sync,
stores each item once and keeps the newest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq import devices
from hq.audit import HqAudit
from hq.blobs import BlobError, BlobStore
from hq.ingest import ErasedError, ItemConflictError, _store_item, write_retrying
from hq.storage import HqStorage, bundles, erasure_orders, items, now_text
from sync import protocol
from sync.bundle import DamagedBundleError, Entry, VerifiedBundle, read_bundle

BATCH_ENTRIES = 64
BATCH_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ImportResult:
    """What an import did. `skipped` lists (entry number, kind, why) of entries not taken."""

    bundle_id: str
    device_id: str
    entries: int
    new: int
    already: int
    updated: int
    seen_before: bool
    stale: int = 0
    skipped: tuple[tuple[int, str, str], ...] = field(default=())


@dataclass(frozen=True)
class _Item:
    """One entry, checked and ready to store."""

    number: int
    entry: Entry
    kind: str
    session_id: str
    meta: dict[str, object]
    revision: int = 0
    sealed: bytes | None = None
    blob: str | None = None


class _Skip(Exception):
    """This entry is not taken; the message says why (never its content)."""


def _public_key(storage: HqStorage) -> Callable[[str], bytes | None]:
    def lookup(device_id: str) -> bytes | None:
        key = devices.public_key(storage, device_id)
        return None if key is None else key.public_bytes_raw()
    return lookup


def import_bundle(storage: HqStorage, blobs: BlobStore, path: Path,
                  progress: Callable[[int, int], None] | None = None,
                  audit: HqAudit | None = None) -> ImportResult:
    """Verify a bundle, then ingest its entries one by one; raise BundleError (nothing
    imported) if the container is not sound. Skipped entries are in the result, logged,
    and audited when `audit` is given."""
    bundle = read_bundle(path, _public_key(storage), progress=progress)
    outcomes = {"new": 0, "already": 0, "updated": 0, "stale": 0}
    skipped: list[tuple[int, str, str]] = []
    batch: list[_Item] = []
    held = 0
    for number, entry in enumerate(bundle.entries, start=1):
        try:
            item = _checked(storage, blobs, bundle, number, entry)
        except _Skip as why:
            _skipped(audit, bundle, skipped, number, entry, str(why))
            continue
        batch.append(item)
        held += len(item.sealed or b"")
        if len(batch) >= BATCH_ENTRIES or held >= BATCH_BYTES:
            _store(storage, bundle, batch, outcomes, skipped, audit)
            batch, held = [], 0
    _store(storage, bundle, batch, outcomes, skipped, audit)
    with storage.write() as conn:
        seen = conn.execute(sa.select(bundles.c.bundle_id).where(
            bundles.c.bundle_id == bundle.bundle_id)).first() is not None
        if not seen:
            conn.execute(bundles.insert().values(
                bundle_id=bundle.bundle_id, device_id=bundle.device_id,
                imported_at=now_text(), entries=len(bundle.entries),
                new_items=outcomes["new"]))
    return ImportResult(bundle.bundle_id, bundle.device_id, len(bundle.entries),
                        outcomes["new"], outcomes["already"], outcomes["updated"], seen,
                        outcomes["stale"], tuple(skipped))


def _checked(storage: HqStorage, blobs: BlobStore, bundle: VerifiedBundle, number: int,
             entry: Entry) -> _Item:
    """One entry parsed as strictly as a request (a recording's bytes stored by then)."""
    try:
        session_id = entry.meta.get("session_id")
        if not isinstance(session_id, str):
            raise protocol.ProtocolError("session_id is missing")
        if entry.kind == "recording":
            if set(entry.meta) != {"session_id", "meta"}:
                raise protocol.ProtocolError("a recording entry's meta has other members")
            meta = protocol.check_item(entry.item_id, "recording", session_id,
                                       entry.meta["meta"])
            if meta["size"] != entry.size or meta["sha256"] != entry.sha256:
                raise protocol.ProtocolError("the recording's size or checksum differs from "
                                             "its metadata")
            held = _held(storage, bundle.device_id, entry, session_id)
            return _Item(number, entry, "recording", session_id, meta,
                         blob=None if held else _store_blob(blobs, bundle, entry))
        if set(entry.meta) != {"session_id"}:
            raise protocol.ProtocolError("a record entry's meta has other members")
        record = protocol.parse_record(
            entry.item_id, bundle.read_entry(entry, protocol.MAX_RECORD_BODY))
    except DamagedBundleError as exc:
        raise _Skip(str(exc)) from None
    except protocol.ProtocolError as exc:
        raise _Skip(f"it is not a valid {entry.kind} ({exc})") from None
    if record.kind != entry.kind or record.session_id != session_id:
        raise _Skip("the record differs from its manifest entry")
    return _Item(number, entry, record.kind, record.session_id, record.meta, record.revision,
                 sealed=record.sealed)


def _held(storage: HqStorage, device_id: str, entry: Entry, session_id: str) -> bool:
    """Whether HQ holds this recording already; looked at before its bytes are copied, so
    none are copied in vain (and none for an erased session)."""
    with storage.read() as conn:
        if conn.execute(sa.select(erasure_orders.c.order_id).where(
                erasure_orders.c.device_id == device_id,
                erasure_orders.c.session_id == session_id).limit(1)).first():
            raise _Skip("its session was erased at HQ (the kiosk erases it at its next sync)")
        stored = conn.execute(sa.select(items.c.sha256).where(
            items.c.device_id == device_id, items.c.item_id == entry.item_id)).scalar()
    if stored is not None and stored != entry.sha256:
        raise _Skip("HQ already holds this recording with other contents")
    return stored is not None


def _store_blob(blobs: BlobStore, bundle: VerifiedBundle, entry: Entry) -> str:
    if entry.size > protocol.MAX_RECORDING_BYTES:
        raise _Skip(f"the recording is larger than {protocol.MAX_RECORDING_BYTES} bytes")
    with bundle.open_entry(entry) as stream:
        try:
            return blobs.put_stream(stream, entry.size, entry.sha256)
        except (BlobError, DamagedBundleError) as exc:
            raise _Skip(f"the bundle changed while it was imported ({exc}); copy it again "
                        "and import it once more") from None


def _store(storage: HqStorage, bundle: VerifiedBundle, batch: list[_Item],
           outcomes: dict[str, int], skipped: list[tuple[int, str, str]],
           audit: HqAudit | None) -> None:
    """A batch in one transaction; if one of its items is refused, each on its own."""
    if not batch:
        return
    try:
        done = write_retrying(storage, lambda conn: [_one(conn, bundle, item)
                                                     for item in batch])
    except (ErasedError, ItemConflictError, protocol.ProtocolError):
        done = []
        for item in batch:
            try:
                done.append(write_retrying(storage, functools.partial(_one, bundle=bundle,
                                                                      item=item)))
            except (ErasedError, ItemConflictError, protocol.ProtocolError) as exc:
                _skipped(audit, bundle, skipped, item.number, item.entry, _why(exc))
    for outcome in done:
        outcomes[outcome] += 1


def _one(conn: Connection, bundle: VerifiedBundle, item: _Item) -> str:
    return _store_item(conn, bundle.device_id, item.entry.item_id, item.kind, item.session_id,
                       dict(item.meta), item.entry.sha256, item.entry.size, "bundle",
                       item.revision, sealed=item.sealed, blob=item.blob)


def _why(exc: Exception) -> str:
    if isinstance(exc, ErasedError):
        return "its session was erased at HQ (the kiosk erases it at its next sync)"
    return str(exc)


def _skipped(audit: HqAudit | None, bundle: VerifiedBundle, skipped: list[tuple[int, str, str]],
             number: int, entry: Entry, why: str) -> None:
    from hq.privacy import skip_row

    skipped.append((number, entry.kind, why))
    session_id = entry.meta.get("session_id")
    skip_row(audit, "import", bundle.device_id,
             session_id if isinstance(session_id, str) else "", why,
             bundle_id=bundle.bundle_id, entry=f"{number} of {len(bundle.entries)}")
