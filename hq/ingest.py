"""Taking in what kiosks send — by sync or by bundle — exactly once.

Every item is keyed by (device, client-generated item id). The same bytes again change
nothing and answer "already". Different bytes under the same id are another revision (a
reviewer changed a score at the kiosk): they replace the stored ones only if their revision
number (the kiosk's counter, inside the signed record) is higher, or equal with a higher
SHA-256, so whichever order versions arrive in, by sync or by bundle, HQ ends with the same
newest one, and an older one answers "stale". A recording never changes: other bytes under
its id are a conflict. Recordings arrive by resumable upload:
the partial file grows chunk by chunk (each fsynced before it is acknowledged), and only
when the whole file's SHA-256 matches what the kiosk declared does it move into the blob
store and count as stored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hq.blobs import BlobError, BlobStore
from hq.storage import HqStorage, erasure_orders, items, now_text, sessions, uploads
from sync import protocol

T = TypeVar("T")


class ErasedError(Exception):
    """The session was erased at HQ: nothing of it is taken in again."""


class ItemConflictError(Exception):
    """Other contents under the id of an item that never changes (a recording)."""


class UploadError(Exception):
    """An upload request does not fit the upload's state."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


# Statements built once: at hundreds of records a second, building SQLAlchemy constructs per
# call cost more than the database work (a profile of bench/hq_load.py said so).
_ERASED = sa.select(erasure_orders.c.order_id).where(
    erasure_orders.c.device_id == sa.bindparam("b_device"),
    erasure_orders.c.session_id == sa.bindparam("b_session")).limit(1)
_ITEM_WHERE = ((items.c.device_id == sa.bindparam("b_device"))
               & (items.c.item_id == sa.bindparam("b_item")))
_OLD_ITEM = sa.select(items.c.sha256, items.c.revisions, items.c.kind, items.c.session_id,
                      items.c.revision).where(_ITEM_WHERE)
_INSERT_ITEM = items.insert()
_ITEM_COLUMNS = ("kind", "session_id", "meta", "sealed", "blob", "sha256", "size", "via",
                 "stored_at", "revisions", "revision")
# Conditional, so that of two writers racing on PostgreSQL (each saw the old row) the one
# with the older revision changes nothing: its UPDATE re-reads the row the other committed.
_UPDATE_ITEM = items.update().where(
    _ITEM_WHERE & ((items.c.revision < sa.bindparam("v_revision"))
                   | ((items.c.revision == sa.bindparam("v_revision"))
                      & (items.c.sha256 < sa.bindparam("v_sha256"))))).values(
    {name: sa.bindparam(f"v_{name}") for name in _ITEM_COLUMNS})
_SESSION_KEYS = ("device_id", "session_id")
_upserts: dict[str, Any] = {}


def _session_upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE for the sessions index, per dialect, built once."""
    if dialect not in _upserts:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        statement = insert(sessions)
        _upserts[dialect] = statement.on_conflict_do_update(
            index_elements=list(_SESSION_KEYS),
            set_={c.name: statement.excluded[c.name] for c in sessions.c
                  if c.name not in _SESSION_KEYS})
    return _upserts[dialect]


def _store_item(conn: Connection, device_id: str, item_id: str, kind: str, session_id: str,
                meta: dict[str, Any], sha256: str, size: int, via: str, revision: int = 0,
                sealed: bytes | None = None, blob: str | None = None) -> str:
    """Insert or revise one item inside the caller's transaction; say which it was: "new",
    "updated", "already" or "stale". Raises ErasedError for an erased session and
    ItemConflictError for other bytes under a recording's id."""
    if conn.execute(_ERASED, {"b_device": device_id, "b_session": session_id}).first():
        raise ErasedError("this session was erased at HQ; its kiosk has an order to erase it")
    key = {"b_device": device_id, "b_item": item_id}
    old = conn.execute(_OLD_ITEM, key).first()
    if old is not None and (old.kind != kind or old.session_id != session_id):
        raise protocol.ProtocolError("that item id already names another kind or session")
    if old is not None and old.sha256 == sha256:
        return "already"
    if old is not None and kind == "recording":
        raise ItemConflictError("this recording was already stored with other contents")
    if old is not None and (revision, sha256) <= (old.revision, old.sha256):
        return "stale"
    values = {"kind": kind, "session_id": session_id, "meta": json.dumps(meta),
              "sealed": sealed, "blob": blob, "sha256": sha256, "size": size, "via": via,
              "stored_at": now_text(), "revisions": 1 if old is None else old.revisions + 1,
              "revision": revision}
    if old is None:
        conn.execute(_INSERT_ITEM, {"device_id": device_id, "item_id": item_id, **values})
    elif conn.execute(_UPDATE_ITEM, {**key, **{f"v_{k}": v for k, v in values.items()}}
                      ).rowcount == 0:
        return "stale"  # a newer revision was committed meanwhile
    if kind == "session":
        conn.execute(_session_upsert(conn.dialect.name), {
            "device_id": device_id, "session_id": session_id, "reference": meta["reference"],
            "interview_id": meta["interview_id"], "template_sha256": meta["template_sha256"],
            "language": meta["language"], "status": meta["status"],
            "started_at": meta["started_at"], "ended_at": meta["ended_at"],
            "decision": meta["decision"], "needs_review": meta["needs_review"],
            "questions": meta["questions"], "answered": meta["answered"],
            "scores": json.dumps(meta["scores"], sort_keys=True), "received_at": now_text(),
            "retention_days": meta.get("retention_days"),
            "rejected_retention_days": meta.get("rejected_retention_days"),
            "drive_id": meta.get("drive"), "invite_id": meta.get("invite"),
        })
    return "new" if old is None else "updated"


def write_retrying(storage: HqStorage, work: Callable[[Connection], T]) -> T:
    """Run `work` in a write transaction, once more if a concurrent insert of the same key
    won the race (PostgreSQL lets two transactions both see "not there yet"): the second
    run then finds it and answers "already" instead of a 500."""
    try:
        with storage.write() as conn:
            return work(conn)
    except sa.exc.IntegrityError:
        with storage.write() as conn:
            return work(conn)


def store_record(storage: HqStorage, device_id: str, record: protocol.Record,
                 via: str = "sync") -> str:
    """Store a checked record; returns "new", "updated", "already" or "stale"."""
    digest = hashlib.sha256(record.sealed).hexdigest()
    return write_retrying(storage, lambda conn: _store_item(
        conn, device_id, record.item_id, record.kind, record.session_id, record.meta, digest,
        len(record.sealed), via, record.revision, sealed=record.sealed))


# --- resumable uploads (tus 1.0 server side) ------------------------------------------------

@dataclass(frozen=True)
class Upload:
    """One recording on its way in."""

    upload_id: str
    device_id: str
    item_id: str
    session_id: str
    meta: dict[str, Any]
    length: int
    received: int
    complete: bool


def upload_id(device_id: str, item_id: str) -> str:
    """The same item from the same device is always the same upload."""
    return hashlib.sha256(f"{device_id}\0{item_id}".encode()).hexdigest()[:40]


class Uploads:
    """Upload state in the database, partial bytes in files, finished ones in the blob store."""

    def __init__(self, storage: HqStorage, blobs: BlobStore, directory: Path) -> None:
        self._storage = storage
        self._blobs = blobs
        self._dir = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _part(self, upload: str) -> Path:
        return self._dir / f"{upload}.part"

    def create(self, device_id: str, request: protocol.UploadRequest) -> Upload:
        """Create the upload, or find the one already created for this item."""
        item_id, session_id, meta, length = (request.item_id, request.session_id,
                                             request.meta, request.length)
        uid = upload_id(device_id, item_id)
        with self._storage.write() as conn:
            if conn.execute(_ERASED, {"b_device": device_id, "b_session": session_id}).first():
                raise ErasedError("this session was erased at HQ; its kiosk has an order to "
                                  "erase it")
            found = self._get(conn, uid)
            if found is not None:
                if found.meta["sha256"] != meta["sha256"] or found.length != length:
                    raise UploadError("this item was already uploaded with other contents",
                                      409, "item_conflict")
                return found
            # Already here by bundle? Then the upload is born complete.
            stored = conn.execute(sa.select(items.c.sha256).where(
                items.c.device_id == device_id, items.c.item_id == item_id)).first()
            if stored is not None and stored.sha256 != meta["sha256"]:
                raise UploadError("this item was already stored with other contents", 409,
                                  "item_conflict")
            done = stored is not None
            conn.execute(uploads.insert().values(
                upload_id=uid, device_id=device_id, item_id=item_id, session_id=session_id,
                meta=json.dumps(meta), length=length, received=length if done else 0,
                created_at=now_text(), completed_at=now_text() if done else None))
        if not done:
            self._part(uid).touch(mode=0o600)
        return Upload(uid, device_id, item_id, session_id, meta, length,
                      length if done else 0, done)

    @staticmethod
    def _get(conn: Connection, uid: str) -> Upload | None:
        row = conn.execute(sa.select(uploads).where(uploads.c.upload_id == uid)).first()
        if row is None:
            return None
        return Upload(row.upload_id, row.device_id, row.item_id, row.session_id,
                      json.loads(row.meta), row.length, row.received,
                      row.completed_at is not None)

    def get(self, device_id: str, uid: str) -> Upload:
        """An upload of this device's (another device's uploads do not exist for it)."""
        with self._storage.read() as conn:
            found = self._get(conn, uid)
        if found is None or found.device_id != device_id:
            raise UploadError("no such upload", 404, "no_upload")
        return found

    def append(self, device_id: str, uid: str, offset: int, chunk: bytes) -> Upload:
        """Append a verified chunk at `offset`; complete the upload when it is all there."""
        upload = self.get(device_id, uid)
        if upload.complete:
            if offset == upload.length and not chunk:
                return upload
            raise UploadError("this upload is already complete", 409, "offset_mismatch")
        if offset != upload.received:
            raise UploadError(f"HQ has {upload.received} bytes of this upload, not {offset}",
                              409, "offset_mismatch")
        if offset + len(chunk) > upload.length:
            raise UploadError("the chunk runs past the upload's length", 413, "too_long")
        part = self._part(uid)
        with open(part, "r+b" if part.exists() else "xb") as out:
            out.truncate(offset)  # drop any tail a crash left past the acknowledged offset
            out.seek(offset)
            out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        received = offset + len(chunk)
        if received < upload.length:
            with self._storage.write() as conn:
                conn.execute(uploads.update().where(uploads.c.upload_id == uid)
                             .values(received=received))
            return Upload(**{**upload.__dict__, "received": received})
        return self._complete(upload)

    def _complete(self, upload: Upload) -> Upload:
        part = self._part(upload.upload_id)
        try:
            blob = self._blobs.put_file(part, expected_sha256=upload.meta["sha256"])
        except BlobError:
            # The whole file is not what the kiosk declared: start again from nothing.
            part.unlink(missing_ok=True)
            with self._storage.write() as conn:
                conn.execute(uploads.update().where(uploads.c.upload_id == upload.upload_id)
                             .values(received=0))
            raise UploadError("the recording does not match its SHA-256; send it again",
                              460, "checksum_mismatch") from None
        def finish(conn: Connection) -> None:
            _store_item(conn, upload.device_id, upload.item_id, "recording",
                        upload.session_id, upload.meta, upload.meta["sha256"], upload.length,
                        "sync", blob=blob)
            conn.execute(uploads.update().where(uploads.c.upload_id == upload.upload_id)
                         .values(received=upload.length, completed_at=now_text()))

        write_retrying(self._storage, finish)
        part.unlink(missing_ok=True)
        return Upload(**{**upload.__dict__, "received": upload.length, "complete": True})
