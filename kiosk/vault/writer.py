"""Writing a vault file as a stream: encrypt segment by segment, straight into any sink.

Every full segment is encrypted and handed to the sink as soon as it is complete, then the
sink is flushed, so a killed process loses at most the segment being filled. The interval is
checked on every `write` and `flush`: the first call at least `fsync_interval` seconds after
a segment reached the sink fsyncs it, so a writer fed steadily (as a recorder is) loses no
more than that to a power cut. A writer left idle should be flushed by its owner.
`close()` writes the final segment (possibly empty), which is what marks a file finished.
"""

from __future__ import annotations

import errno
import io
import os
import struct
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from durable.files import sync_directory
from kiosk.vault.header import BINDING_LENGTH, DEFAULT_SEGMENT_SIZE, TAG_LENGTH, build_header
from kiosk.vault.suites import Recipient

_COUNTER = struct.Struct(">I")
MAX_SEGMENTS = 1 << 32


def segment_nonce(prefix: bytes, index: int, last: bool) -> bytes:
    """prefix (7) | segment index (4, big-endian) | 1 if final else 0 (1)."""
    if index >= MAX_SEGMENTS:
        raise OverflowError("a vault file holds at most 2^32 segments")
    return prefix + _COUNTER.pack(index) + (b"\x01" if last else b"\x00")


class VaultWriter(io.RawIOBase):
    """A write-only binary stream that encrypts into `sink` as a vault file."""

    def __init__(self, sink: BinaryIO, recipients: Sequence[Recipient], *,
                 segment_size: int = DEFAULT_SEGMENT_SIZE, fsync_interval: float = 1.0,
                 close_sink: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        header, keys = build_header(recipients, os.urandom(32), segment_size)
        self._sink = sink
        self._aead = AESGCM(keys.payload_key)
        self._prefix = keys.nonce_prefix
        self._segment_size = header.segment_size
        self._buffer = bytearray()
        self._index = 0
        self._close_sink = close_sink
        self._fsync_interval = fsync_interval
        self._clock = clock
        self._unsynced_since: float | None = None
        self.plaintext_bytes = 0
        self._emit(header.body + header.mac + header.mac[:BINDING_LENGTH])

    def writable(self) -> bool:
        """Always true until closed."""
        return not self.closed

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Encrypt and emit every segment `data` completes; keep the rest."""
        if self.closed:
            raise ValueError("write to a closed vault writer")
        view = memoryview(data).cast("B")
        size = self._segment_size
        position = 0
        if self._buffer:
            position = min(size - len(self._buffer), len(view))
            self._buffer += view[:position]
        complete = (len(self._buffer) == size) + (len(view) - position) // size
        if complete:
            # Encrypt straight into one output buffer: no per-segment copies or joins.
            out = bytearray(complete * (size + TAG_LENGTH))
            target = memoryview(out)
            if len(self._buffer) == size:
                self._seal_into(self._buffer, target[:size + TAG_LENGTH])
                target = target[size + TAG_LENGTH:]
                self._buffer.clear()
            while target:
                self._seal_into(view[position:position + size], target[:size + TAG_LENGTH])
                target = target[size + TAG_LENGTH:]
                position += size
            self._emit(out)
        self._buffer += view[position:]
        self.plaintext_bytes += len(view)
        self._maybe_fsync()
        return len(view)

    def flush(self) -> None:
        """Push completed segments to the OS (and to disk if the fsync interval has passed)."""
        if not self.closed:
            self._sink.flush()
            self._maybe_fsync()

    def close(self) -> None:
        """Write the final segment, flush and fsync; the file is finished."""
        if self.closed:
            return
        try:
            self._emit(self._seal(bytes(self._buffer), last=True))
            self._buffer.clear()
            self._fsync()
        finally:
            self._release()

    def abandon(self) -> None:
        """Stop without a final segment (the file stays unfinished); drop buffered plaintext."""
        self._buffer.clear()
        self._release()

    def _release(self) -> None:
        try:
            super().close()  # flushes the sink one last time
        finally:
            if self._close_sink:
                self._sink.close()

    def _seal(self, plaintext: bytes | memoryview, last: bool) -> bytes:
        nonce = segment_nonce(self._prefix, self._index, last)
        self._index += 1
        sealed: bytes = self._aead.encrypt(nonce, plaintext, None)
        return sealed

    def _seal_into(self, plaintext: bytearray | memoryview, out: memoryview) -> None:
        nonce = segment_nonce(self._prefix, self._index, False)
        self._index += 1
        self._aead.encrypt_into(nonce, plaintext, None, out)

    def _emit(self, ciphertext: bytes | bytearray) -> None:
        """Hand bytes to the sink and push them to the OS: a killed process keeps them."""
        view = memoryview(ciphertext)
        while view:
            written = self._sink.write(view)  # unbuffered files may take only part of it
            if not written:
                raise OSError(errno.EIO, "the sink stopped taking data (disk full?)")
            view = view[written:]
        self._sink.flush()
        if self._unsynced_since is None:
            self._unsynced_since = self._clock()

    def _maybe_fsync(self) -> None:
        since = self._unsynced_since
        if since is not None and self._clock() - since >= self._fsync_interval:
            self._fsync()

    def _fsync(self) -> None:
        try:
            fd = self._sink.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            fd = None  # an in-memory sink has nothing to sync
        if fd is not None:
            try:
                os.fsync(fd)
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.EROFS, errno.ENOTSUP):
                    raise  # a pipe or terminal cannot be synced; a failing disk must be heard
        self._unsynced_since = None


def create(path: str | os.PathLike[str], recipients: Sequence[Recipient], *,
           segment_size: int = DEFAULT_SEGMENT_SIZE, fsync_interval: float = 1.0) -> VaultWriter:
    """A writer into a new file at `path` (owner-only; refuses to overwrite)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    sink = os.fdopen(fd, "wb", buffering=0)
    try:
        writer = VaultWriter(sink, recipients, segment_size=segment_size,
                             fsync_interval=fsync_interval, close_sink=True)
        sync_directory(path.parent)  # so the new file's name survives a power cut too
    except BaseException:
        sink.close()
        path.unlink()
        raise
    return writer
