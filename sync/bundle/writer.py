"""Writing a bundle: payloads streamed once, then the signed manifest, renamed into place."""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

if TYPE_CHECKING:
    pass

from durable.files import sync_directory
from sync.bundle.format import (
    _CHUNK,
    _CREATED_AT_FORMAT,
    _DEVICE_ID,
    _FOOTER,
    _ITEM_ID,
    _SINCE,
    END_MARK,
    FORMAT_NAME,
    HEADER,
    KINDS,
    MAX_ENTRIES,
    MAX_MANIFEST_BYTES,
    SIGNATURE_DOMAIN,
    SUFFIX,
    VERSION,
    EntrySpec,
    encode_meta,
)


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)




def _check_spec(spec: EntrySpec) -> None:
    if not isinstance(spec.item_id, str) or not _ITEM_ID.fullmatch(spec.item_id):
        raise ValueError(f"item id {spec.item_id!r} is not 1-200 of A-Z a-z 0-9 . _ : / -")
    if not isinstance(spec.kind, str) or spec.kind not in KINDS:
        raise ValueError(f"item {spec.item_id!r} has kind {spec.kind!r}, not one of "
                         f"{sorted(KINDS)}")
    try:
        # Round-tripping refuses what JSON would silently change (tuples, int keys), so the
        # meta HQ reads is the meta the kiosk gave.
        if json.loads(encode_meta(spec.meta)) != spec.meta:
            raise ValueError("it does not survive JSON unchanged (use str keys and lists)")
    except ValueError as error:
        raise ValueError(f"the meta of item {spec.item_id!r} is refused: {error}") from None
    if not isinstance(spec.source, bytes | Path):
        raise ValueError(f"item {spec.item_id!r}'s source is neither bytes nor a Path")


def _check_arguments(device_id: str, since: str | None, specs: list[EntrySpec]) -> None:
    if not isinstance(device_id, str) or not _DEVICE_ID.fullmatch(device_id):
        raise ValueError(f"device id {device_id!r} is not 1-128 of A-Z a-z 0-9 . _ -")
    if since is not None and (not isinstance(since, str) or not _SINCE.fullmatch(since)):
        raise ValueError(f"since {since!r} is not 1-200 printable ASCII characters")
    if len(specs) > MAX_ENTRIES:
        raise ValueError(f"{len(specs)} entries is more than a bundle holds ({MAX_ENTRIES})")
    seen: set[str] = set()
    for spec in specs:
        _check_spec(spec)
        if spec.item_id in seen:
            raise ValueError(f"item id {spec.item_id!r} is given twice")
        seen.add(spec.item_id)


def _source_size(source: bytes | Path) -> int:
    return source.stat().st_size if isinstance(source, Path) else len(source)


def _copy_payload(source: bytes | Path, out: BinaryIO, advance: Callable[[int], None]
                  ) -> tuple[int, str]:
    """Stream one payload into `out`; its size and SHA-256, from the bytes actually written."""
    hasher = hashlib.sha256()
    size = 0
    with source.open("rb") if isinstance(source, Path) else io.BytesIO(source) as stream:
        while chunk := stream.read(_CHUNK):
            out.write(chunk)
            hasher.update(chunk)
            size += len(chunk)
            advance(len(chunk))
    return size, hasher.hexdigest()


def _write_body(out: BinaryIO, device_id: str, signing_key: Ed25519PrivateKey,
                specs: list[EntrySpec], since: str | None, created: datetime,
                progress: Callable[[int, int], None] | None) -> None:
    total = sum(_source_size(spec.source) for spec in specs)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    advance(0)
    out.write(HEADER)
    offset = len(HEADER)
    listed = []
    for spec in specs:
        size, sha256 = _copy_payload(spec.source, out, advance)
        listed.append({"item_id": spec.item_id, "kind": spec.kind, "meta": dict(spec.meta),
                       "offset": offset, "size": size, "sha256": sha256})
        offset += size
    manifest = json.dumps(
        {"format": FORMAT_NAME, "version": VERSION, "bundle_id": uuid.uuid4().hex,
         "device_id": device_id, "created_at": created.strftime(_CREATED_AT_FORMAT),
         "since": since, "entries": listed},
        ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    if len(manifest) > MAX_MANIFEST_BYTES:
        raise ValueError(f"the manifest would be {len(manifest)} bytes, over "
                         f"{MAX_MANIFEST_BYTES}: export fewer items per bundle")
    signature = signing_key.sign(SIGNATURE_DOMAIN + manifest)
    out.write(manifest)
    out.write(_FOOTER.pack(signature, offset, len(manifest), END_MARK))



def write_bundle(directory: Path, device_id: str, signing_key: Ed25519PrivateKey,
                 entries: Iterable[EntrySpec], *, since: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Path:
    """Write one bundle file into `directory`; return its path.

    The name is `interview-kiosk-{device_id}-{YYYYmmddTHHMMSSZ}.ikbundle` (UTC). The file is
    written under a temporary name in the same directory, fsynced, then renamed (and the
    directory fsynced), so a pulled USB stick never leaves half a file under the real name.
    `progress(done_bytes, total_bytes)` is called as payload bytes are written, from (0,
    total) on; the total is the sources' sizes when the export starts. FileExistsError if a
    bundle of the same name exists (same device, same second).
    """
    specs = list(entries)
    _check_arguments(device_id, since, specs)
    created = _utc_now()
    final = directory / f"interview-kiosk-{device_id}-{created:%Y%m%dT%H%M%SZ}{SUFFIX}"
    if final.exists():
        raise FileExistsError(f"a bundle named {final.name} already exists")
    temporary = directory / f".{final.name}.{secrets.token_hex(8)}.partial"
    try:
        with temporary.open("xb") as out:
            _write_body(out, device_id, signing_key, specs, since, created, progress)
            out.flush()
            os.fsync(out.fileno())
        # Checked again because os.replace overwrites; a bundle must never replace another.
        if final.exists():
            raise FileExistsError(f"a bundle named {final.name} already exists")
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_directory(directory)
    return final


