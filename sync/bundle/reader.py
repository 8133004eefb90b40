"""Reading a bundle: everything verified (signature first) before anything is returned."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PublicKey,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

from sync.bundle.format import (
    _AGAIN,
    _BUNDLE_ID,
    _CHUNK,
    _CREATED_AT,
    _CREATED_AT_FORMAT,
    _DEVICE_ID,
    _ENTRY_KEYS,
    _FOOTER,
    _ITEM_ID,
    _MANIFEST_KEYS,
    _SHA256,
    _SINCE,
    END_MARK,
    FORMAT_NAME,
    HEADER,
    KINDS,
    MAGIC,
    MAX_ENTRIES,
    MAX_MANIFEST_BYTES,
    SIGNATURE_DOMAIN,
    SUFFIX,
    VERSION,
    BadBundleSignatureError,
    DamagedBundleError,
    Entry,
    ForeignBundleError,
    NotABundleError,
    UnsupportedBundleVersionError,
    encode_meta,
)

MAX_SMALL_ENTRY = 64 * 1024 * 1024  # read_entry's default bound; callers pass their kind's


def _damaged(why: str) -> DamagedBundleError:
    return DamagedBundleError(f"the bundle is damaged: {why}")


def _malformed(what: str) -> DamagedBundleError:
    # Only reached after the signature verified: the kiosk wrote it so, and a fresh export
    # (with fixed software) is the way out, not another copy of the same file.
    return _damaged(f"its manifest {what} ({_AGAIN})")


def _check_header(head: bytes, length: int) -> None:
    if length == 0:
        raise NotABundleError("the file is empty, so it is not an export bundle (choose the "
                              f"{SUFFIX} file the kiosk wrote)")
    if head[:len(MAGIC)] != MAGIC[:len(head)]:
        raise NotABundleError("this file is not an interview kiosk export bundle (choose the "
                              f"{SUFFIX} file the kiosk wrote)")
    if len(head) < len(HEADER):
        raise NotABundleError("the file is too short to be an export bundle (choose the "
                              f"{SUFFIX} file the kiosk wrote, and copy it again)")
    if head[len(MAGIC)] != VERSION:
        raise UnsupportedBundleVersionError(
            f"this bundle is in format version {head[len(MAGIC)]}, which this HQ cannot read "
            f"(it reads version {VERSION}); update the HQ software")


def _read_trailer(file: BinaryIO, length: int) -> tuple[int, bytes, bytes]:
    """The manifest's offset, the manifest and its signature, from the footer."""
    if length < len(HEADER) + _FOOTER.size:
        raise _damaged("it is cut short (was the copy interrupted?)")
    file.seek(length - _FOOTER.size)
    footer = file.read(_FOOTER.size)
    if len(footer) != _FOOTER.size:
        raise _damaged("it became shorter while it was read (was the stick removed?)")
    signature, offset, size, end = _FOOTER.unpack(footer)
    if end != END_MARK:
        raise _damaged("it does not end with the bundle trailer, so it was cut short or has "
                       "bytes added (was the copy interrupted?)")
    if offset < len(HEADER) or offset + size + _FOOTER.size != length:
        raise _damaged("its trailer does not match the file's length (was the copy "
                       "interrupted, or bytes added?)")
    if size > MAX_MANIFEST_BYTES:
        raise _damaged(f"its manifest is {size} bytes, more than a bundle may have "
                       f"({MAX_MANIFEST_BYTES}); export it again with fewer items")
    file.seek(offset)
    manifest = file.read(size)
    if len(manifest) != size:
        raise _damaged("it became shorter while it was read (was the stick removed?)")
    return offset, manifest, signature


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a key repeats")
    return result


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _parse_manifest(manifest: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(manifest.decode("utf-8"), object_pairs_hook=_no_duplicate_keys,
                            parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise _damaged("its manifest is not valid JSON (copy it again)") from None
    if not isinstance(parsed, dict):
        raise _damaged("its manifest is not a JSON object (copy it again)")
    return parsed


def _check_signature(manifest: dict[str, Any], encoded: bytes, signature: bytes,
                     public_key_for: Callable[[str], bytes | None]) -> str:
    """The device that signed the manifest; only its id is read before the check."""
    device_id = manifest.get("device_id")
    if not isinstance(device_id, str) or not _DEVICE_ID.fullmatch(device_id):
        raise _damaged("its manifest does not name a valid device (copy it again)")
    raw_key = public_key_for(device_id)
    if raw_key is None:
        raise ForeignBundleError(f"the bundle was written by device {device_id!r}, which this "
                                 "HQ does not know or has revoked (enroll the device, or find "
                                 "out where the bundle came from)")
    try:
        key = Ed25519PublicKey.from_public_bytes(raw_key)
    except ValueError:
        raise ForeignBundleError(f"HQ's key for device {device_id!r} is not a valid Ed25519 "
                                 "public key; enroll the device again") from None
    try:
        key.verify(signature, SIGNATURE_DOMAIN + encoded)
    except InvalidSignature:
        raise BadBundleSignatureError(
            f"the bundle's signature does not verify with device {device_id!r}'s key, so it "
            "may have been altered; do not import it, and export again from the kiosk") from None
    return device_id


def _is_int(value: object) -> bool:
    return type(value) is int  # JSON true/false must not pass as 1/0


def _check_fields(manifest: dict[str, Any]) -> None:
    if set(manifest) != set(_MANIFEST_KEYS):
        raise _malformed("does not have exactly the fields of format version 1")
    if manifest["format"] != FORMAT_NAME or not _is_int(manifest["version"]) \
            or manifest["version"] != VERSION:
        raise _malformed(f"is not of the {FORMAT_NAME} format, version {VERSION}")
    bundle_id, created_at, since = (manifest["bundle_id"], manifest["created_at"],
                                    manifest["since"])
    if not isinstance(bundle_id, str) or not _BUNDLE_ID.fullmatch(bundle_id):
        raise _malformed("has a bundle id that is not 32 lowercase hex digits")
    try:
        if not isinstance(created_at, str) or not _CREATED_AT.fullmatch(created_at):
            raise ValueError
        datetime.strptime(created_at, _CREATED_AT_FORMAT)
    except ValueError:
        raise _malformed("has a creation time that is not an ISO 8601 UTC time") from None
    if since is not None and (not isinstance(since, str) or not _SINCE.fullmatch(since)):
        raise _malformed("has a 'since' that is not 1-200 printable ASCII characters")
    if not isinstance(manifest["entries"], list):
        raise _malformed("has no list of entries")
    if len(manifest["entries"]) > MAX_ENTRIES:
        raise _malformed(f"lists more than {MAX_ENTRIES} entries")


def _check_entry(raw: object, where: str, offset: int, end: int) -> Entry:
    """One manifest entry, whose payload must start at `offset` and end by `end`."""
    if not isinstance(raw, dict) or set(raw) != set(_ENTRY_KEYS):
        raise _malformed(f"has {where} without exactly the fields {', '.join(_ENTRY_KEYS)}")
    item_id, kind, meta, size, sha256 = (raw["item_id"], raw["kind"], raw["meta"],
                                         raw["size"], raw["sha256"])
    if not isinstance(item_id, str) or not _ITEM_ID.fullmatch(item_id):
        raise _malformed(f"has {where} whose item id is not 1-200 of A-Z a-z 0-9 . _ : / -")
    if not isinstance(kind, str) or kind not in KINDS:
        raise _malformed(f"has {where} of a kind other than {', '.join(sorted(KINDS))}")
    try:
        encode_meta(meta)
    except ValueError as error:
        raise _malformed(f"has {where} whose meta is refused because {error}") from None
    if not _is_int(raw["offset"]) or raw["offset"] != offset:
        raise _malformed(f"has {where} that overlaps the one before it or leaves a gap")
    if not _is_int(size) or size < 0 or offset + size > end:
        raise _malformed(f"has {where} whose size runs past the payloads")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise _malformed(f"has {where} whose checksum is not 64 lowercase hex digits")
    return Entry(item_id, kind, meta, size, sha256)


def _check_entries(raws: list[Any], manifest_offset: int) -> list[tuple[int, Entry]]:
    """Each entry with its payload's offset: contiguous, in range, ids unique."""
    located: list[tuple[int, Entry]] = []
    seen: set[str] = set()
    offset = len(HEADER)
    for number, raw in enumerate(raws, 1):
        entry = _check_entry(raw, f"entry {number} of {len(raws)}", offset, manifest_offset)
        if entry.item_id in seen:
            raise _malformed(f"lists item {entry.item_id!r} twice")
        seen.add(entry.item_id)
        located.append((offset, entry))
        offset += entry.size
    if offset != manifest_offset:
        raise _malformed("does not account for every byte before it")
    return located


def _check_payloads(file: BinaryIO, entries: list[Entry], total: int,
                    progress: Callable[[int, int], None] | None) -> None:
    """Hash every payload in one sequential pass (they are contiguous, in order)."""
    file.seek(len(HEADER))
    done = 0
    if progress is not None:
        progress(done, total)
    for number, entry in enumerate(entries, 1):
        hasher = hashlib.sha256()
        left = entry.size
        while left:
            chunk = file.read(min(_CHUNK, left))
            if not chunk:
                raise _damaged("it became shorter while it was read (was the stick removed?)")
            hasher.update(chunk)
            left -= len(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        if hasher.hexdigest() != entry.sha256:
            raise _damaged(f"entry {number} of {len(entries)} does not match its checksum "
                           "(was the copy interrupted?)")


class _EntryStream(io.RawIOBase):
    """One payload, read-only, checked against its SHA-256 again as it ends."""

    def __init__(self, file: io.BufferedReader, entry: Entry) -> None:
        super().__init__()
        self._file = file
        self._entry = entry
        self._left = entry.size
        self._hasher = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._left == 0:
            self._check()
            return 0
        view = memoryview(buffer).cast("B")
        view = view[:min(len(view), self._left)]
        count = self._file.readinto(view)
        if not count:
            raise _damaged("it became shorter after it was verified (was the stick removed?)")
        self._hasher.update(view[:count])
        self._left -= count
        if self._left == 0:
            self._check()
        return count

    def _check(self) -> None:
        # The file may have changed on the stick since read_bundle verified it.
        if self._hasher.hexdigest() != self._entry.sha256:
            raise _damaged(f"item {self._entry.item_id!r} changed after the bundle was "
                           "verified (is something else writing to the stick?)")

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose signature, structure and every payload checksum verified."""

    path: Path
    bundle_id: str
    device_id: str
    created_at: str
    since: str | None
    entries: tuple[Entry, ...]
    _located: Mapping[str, tuple[int, Entry]] = field(repr=False, compare=False)

    def open_entry(self, entry: Entry) -> BinaryIO:
        """A read-only stream of exactly that entry's payload, re-checked as it ends."""
        offset, known = self._located.get(entry.item_id, (0, None))
        if known != entry:
            raise ValueError(f"item {entry.item_id!r} is not an entry of this bundle")
        file = self.path.open("rb")
        file.seek(offset)
        return io.BufferedReader(_EntryStream(file, entry), buffer_size=_CHUNK)

    def read_entry(self, entry: Entry, limit: int = MAX_SMALL_ENTRY) -> bytes:
        """The whole payload of one small entry; DamagedBundleError, before a byte is read,
        if the manifest gives it more than `limit` bytes (a signed manifest is not a small
        payload's promise: a 300 MiB "record" must not reach memory)."""
        if entry.size > limit:
            raise _damaged(f"item {entry.item_id!r} is {entry.size} bytes, more than its kind "
                           f"may have ({limit})")
        with self.open_entry(entry) as stream:
            return stream.read(limit + 1)


def read_bundle(path: Path, public_key_for: Callable[[str], bytes | None], *,
                progress: Callable[[int, int], None] | None = None) -> VerifiedBundle:
    """Verify everything in the bundle at `path`, then return it; else a BundleError.

    The order: magic and version, the footer and the manifest's bounds, the manifest's JSON,
    its Ed25519 signature with the raw 32-byte key `public_key_for(device_id)` returns (None:
    the device is unknown or revoked), the manifest's fields and layout, then every payload's
    SHA-256, streamed. `progress(done_bytes, total_bytes)` follows the hashing.
    """
    with path.open("rb") as file:
        length = os.fstat(file.fileno()).st_size
        _check_header(file.read(len(HEADER)), length)
        manifest_offset, encoded, signature = _read_trailer(file, length)
        manifest = _parse_manifest(encoded)
        device_id = _check_signature(manifest, encoded, signature, public_key_for)
        _check_fields(manifest)
        located = _check_entries(manifest["entries"], manifest_offset)
        entries = [entry for _, entry in located]
        _check_payloads(file, entries, manifest_offset - len(HEADER), progress)
    return VerifiedBundle(path, manifest["bundle_id"], device_id, manifest["created_at"],
                          manifest["since"], tuple(entries),
                          {entry.item_id: (offset, entry) for offset, entry in located})
