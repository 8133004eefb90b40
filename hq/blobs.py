"""Where HQ keeps recordings: content-addressed blobs behind a small interface.

A blob's key is the SHA-256 of its bytes, so storing the same recording twice stores it once,
and a blob read back can be checked against its name. The filesystem store writes to a
temporary file, fsyncs it and renames it into place (then fsyncs the directory): a crash
leaves either the whole blob or none. Blobs are vault ciphertext; HQ never stores plaintext.
An object store (S3) would implement the same four methods.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO, Protocol

from durable.files import sync_directory

_KEY = re.compile(r"^[0-9a-f]{64}$")
_BLOCK = 1024 * 1024


class BlobError(Exception):
    """A blob could not be stored, or does not match what was expected."""


class BlobStore(Protocol):
    """What HQ needs from a blob store."""

    def put_file(self, source: Path, expected_sha256: str | None = None) -> str:
        """Store a file's bytes; return its key (checked against `expected_sha256`)."""

    def put_stream(self, source: BinaryIO, size: int, expected_sha256: str) -> str:
        """Store exactly `size` bytes from `source`; they must hash to `expected_sha256`."""

    def open(self, key: str) -> BinaryIO:
        """Read a blob."""

    def exists(self, key: str) -> bool:
        """Whether the blob is stored."""

    def delete(self, key: str) -> None:
        """Remove a blob (erasure); a missing blob is not an error."""



class FileBlobStore:
    """Blobs as files under `root/ab/cdef…`, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._incoming = root / "incoming"
        self._incoming.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Where a blob lives (the key is checked, so it cannot name another path)."""
        if not _KEY.fullmatch(key):
            raise BlobError("a blob key is a lowercase SHA-256 hex digest")
        return self.root / key[:2] / key[2:]

    def _store(self, chunks: BinaryIO, size: int | None, expected: str | None) -> str:
        temporary = self._incoming / secrets.token_hex(16)
        digest = hashlib.sha256()
        written = 0
        try:
            with open(temporary, "xb") as out:
                while size is None or written < size:
                    block = chunks.read(_BLOCK if size is None else min(_BLOCK, size - written))
                    if not block:
                        break
                    digest.update(block)
                    out.write(block)
                    written += len(block)
                out.flush()
                os.fsync(out.fileno())
            if size is not None and written != size:
                raise BlobError(f"expected {size} bytes, got {written}")
            key = digest.hexdigest()
            if expected is not None and key != expected:
                raise BlobError("the bytes do not match their SHA-256")
            final = self.path(key)
            final.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(temporary, final)
            sync_directory(final.parent)
            return key
        finally:
            temporary.unlink(missing_ok=True)

    def put_file(self, source: Path, expected_sha256: str | None = None) -> str:
        """Store a file's bytes; return its key."""
        with open(source, "rb") as chunks:
            return self._store(chunks, None, expected_sha256)

    def put_stream(self, source: BinaryIO, size: int, expected_sha256: str) -> str:
        """Store exactly `size` bytes from `source`, which must hash to `expected_sha256`."""
        return self._store(source, size, expected_sha256)

    def open(self, key: str) -> BinaryIO:
        """Read a blob."""
        return open(self.path(key), "rb")

    def exists(self, key: str) -> bool:
        """Whether the blob is stored."""
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove a blob; a missing one is fine."""
        self.path(key).unlink(missing_ok=True)
