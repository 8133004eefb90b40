"""Reading a vault file: streaming, seekable, and strict about every byte.

Opening checks the header MAC and authenticates the final segment, so a cut-off file is
refused at once. Reads decrypt only the segments they touch; each segment is authenticated
by its position and by whether it is the last, so moved, dropped, duplicated or altered
segments are caught, each with its own error. No plaintext of a failed segment is returned.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.vault.errors import (
    HeaderMismatchError,
    ReorderedError,
    TamperedError,
    TruncatedError,
)
from kiosk.vault.header import BINDING_LENGTH, TAG_LENGTH, Header, open_header, read_header
from kiosk.vault.suites import Identity
from kiosk.vault.writer import MAX_SEGMENTS, segment_nonce

# How far either side to look for a segment's real position (error path only; each try
# costs one segment's decryption).
_REORDER_SEARCH = 2048


@dataclass(frozen=True)
class Layout:
    """Where a file's segments lie, from its header and length."""

    header: Header
    payload_start: int
    full_segments: int  # non-final segments
    final_length: int  # ciphertext bytes of the final segment (0: there is none)

    @property
    def chunk(self) -> int:
        """Ciphertext bytes of a full segment."""
        return self.header.segment_size + TAG_LENGTH

    @property
    def finished(self) -> bool:
        """Whether the file ends in a (candidate) final segment."""
        return self.final_length >= TAG_LENGTH

    @property
    def segments(self) -> int:
        """Segments in the file, the final one included."""
        return self.full_segments + (1 if self.finished else 0)


def read_layout(source: BinaryIO) -> tuple[Layout, bytes]:
    """The header and segment layout of a vault file, and the binding copy after the header."""
    source.seek(0)
    header = read_header(source)
    binding = source.read(BINDING_LENGTH)
    payload_start = header.length + BINDING_LENGTH
    end = source.seek(0, os.SEEK_END)
    payload = max(0, end - payload_start)
    chunk = header.segment_size + TAG_LENGTH
    return Layout(header, payload_start, payload // chunk, payload % chunk), binding


class VaultReader(io.RawIOBase):
    """A read-only, seekable binary stream over a vault file's plaintext."""

    def __init__(self, source: BinaryIO, identities: Sequence[Identity]) -> None:
        super().__init__()
        self._source = source
        self.layout, binding = read_layout(source)
        keys = open_header(self.layout.header, identities)
        self._aead = AESGCM(keys.payload_key)
        self._prefix = keys.nonce_prefix
        self._position = 0
        self._cache: tuple[int, bytes] | None = None
        layout = self.layout
        if len(binding) < BINDING_LENGTH:
            raise TruncatedError("the file ends right after its header: it was cut off")
        if layout.segments > MAX_SEGMENTS:
            raise TamperedError("the file is longer than any vault file can be")
        if binding != layout.header.mac[:BINDING_LENGTH] and not self._opens(0):
            raise HeaderMismatchError("the header belongs to another file: headers were "
                                      "swapped, or the payload was replaced")
        if not layout.finished:
            if layout.final_length:
                raise TruncatedError(f"the file ends inside segment {layout.full_segments + 1}"
                                     f": it was cut off (use recover to read the "
                                     f"{layout.full_segments} complete segments)")
            raise TruncatedError(f"the file ends after {layout.full_segments} segments "
                                 f"without its final segment: it was cut off or never "
                                 f"finished (use recover)")
        final = self._segment(layout.full_segments)
        if binding != layout.header.mac[:BINDING_LENGTH]:
            raise TamperedError("the copy of the header tag after the header was altered")
        self.size = layout.full_segments * layout.header.segment_size + len(final)

    # --- io.RawIOBase -------------------------------------------------------------------

    def readable(self) -> bool:
        """Always true."""
        return True

    def seekable(self) -> bool:
        """Always true: segments are at fixed places."""
        return True

    def tell(self) -> int:
        """Current plaintext position."""
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move within the plaintext."""
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill `buffer` from the current position (fewer bytes only at the end).

        Whole segments are decrypted straight into `buffer`; only partial ones are copied.
        """
        target = memoryview(buffer).cast("B")
        size = self.layout.header.segment_size
        filled = 0
        while filled < len(target) and self._position < self.size:
            index, skip = divmod(self._position, size)
            length = min(size, self.size - index * size)
            room = target[filled:]
            if skip == 0 and len(room) >= length and self._cache_index() != index:
                self._decrypt_segment_into(index, room[:length])
                taken = length
            else:
                piece = self._segment(index)[skip:skip + len(room)]
                room[:len(piece)] = piece
                taken = len(piece)
            filled += taken
            self._position += taken
        return filled

    def read_range(self, offset: int, length: int) -> bytes:
        """`length` plaintext bytes from `offset`, decrypting only the segments involved."""
        size = self.layout.header.segment_size
        end = min(self.size, offset + length)
        parts = []
        position = offset
        while position < end:
            index, skip = divmod(position, size)
            plain = self._segment(index)
            piece = plain[skip:skip + end - position]
            parts.append(piece)
            position += len(piece)
        return b"".join(parts)

    def verify(self) -> int:
        """Authenticate every segment; returns the number of segments."""
        for index in range(self.layout.segments):
            self._segment(index)
        return self.layout.segments

    def close(self) -> None:
        """Close the reader (and drop its decrypted cache)."""
        self._cache = None
        super().close()

    # --- segments -----------------------------------------------------------------------

    def _cache_index(self) -> int | None:
        return self._cache[0] if self._cache is not None else None

    def _decrypt_segment_into(self, index: int, out: memoryview) -> None:
        last = index == self.layout.full_segments
        chunk = self._chunk(index)
        try:
            self._aead.decrypt_into(segment_nonce(self._prefix, index, last), chunk, None, out)
        except InvalidTag:
            out[:] = bytes(len(out))  # GCM may have written unauthenticated bytes: wipe them
            raise self._diagnose(chunk, index, last) from None

    def _chunk(self, index: int) -> bytes:
        layout = self.layout
        self._source.seek(layout.payload_start + index * layout.chunk)
        last = index == layout.full_segments
        return self._source.read(layout.final_length if last else layout.chunk)

    def _opens(self, index: int) -> bool:
        try:
            self._decrypt(self._chunk(index), index, index == self.layout.full_segments)
        except InvalidTag:
            return False
        return True

    def _decrypt(self, chunk: bytes, index: int, last: bool) -> bytes:
        plain: bytes = self._aead.decrypt(segment_nonce(self._prefix, index, last), chunk, None)
        return plain

    def _segment(self, index: int) -> bytes:
        if self._cache is not None and self._cache[0] == index:
            return self._cache[1]
        last = index == self.layout.full_segments
        chunk = self._chunk(index)
        try:
            plain = self._decrypt(chunk, index, last)
        except InvalidTag:
            raise self._diagnose(chunk, index, last) from None
        self._cache = (index, plain)
        return plain

    def _diagnose(self, chunk: bytes, index: int, last: bool) -> Exception:
        """Why segment `index` failed: out of place, or altered."""
        total = self.layout.segments
        for other in range(max(0, index - _REORDER_SEARCH), index + _REORDER_SEARCH):
            if other == index:
                continue
            try:
                self._decrypt(chunk, other, last)
            except InvalidTag:
                continue
            return ReorderedError(f"segment {index + 1} of {total} is really segment "
                                  f"{other + 1}: segments were moved, dropped or duplicated")
        if last:
            return TamperedError(f"the final segment ({index + 1} of {total}) failed "
                                 f"authentication: the file was altered, or cut off "
                                 f"mid-write (try recover)")
        return TamperedError(f"segment {index + 1} of {total} failed authentication: "
                             f"it was altered or damaged")


@dataclass(frozen=True)
class Recovery:
    """What `recover` could read from a (possibly unfinished) file."""

    segments: int
    plaintext_bytes: int
    finished: bool
    stopped_because: str | None


class Sink(Protocol):
    """Anything plaintext can be written to (a file, a buffer, another vault writer)."""

    def write(self, data: bytes, /) -> int | None:
        """Take `data`."""
        ...


def recover(source: BinaryIO, identities: Sequence[Identity], sink: Sink) -> Recovery:
    """Copy the plaintext of every authentic segment, in order, into `sink`.

    For a file cut off by a crash this is everything up to the last complete segment. It
    stops at the first segment that does not authenticate at its place and says why.
    """
    layout, _ = read_layout(source)
    keys = open_header(layout.header, identities)
    aead = AESGCM(keys.payload_key)
    written = 0
    for index in range(layout.full_segments):
        source.seek(layout.payload_start + index * layout.chunk)
        try:
            plain = aead.decrypt(segment_nonce(keys.nonce_prefix, index, False),
                                 source.read(layout.chunk), None)
        except InvalidTag:
            return Recovery(index, written, False, f"segment {index + 1} failed authentication")
        sink.write(plain)
        written += len(plain)
    if layout.finished:
        source.seek(layout.payload_start + layout.full_segments * layout.chunk)
        try:
            plain = aead.decrypt(segment_nonce(keys.nonce_prefix, layout.full_segments, True),
                                 source.read(layout.final_length), None)
        except InvalidTag:
            return Recovery(layout.full_segments, written, False,
                            "the last segment is incomplete or damaged")
        sink.write(plain)
        return Recovery(layout.segments, written + len(plain), True, None)
    reason = "the file ends without its final segment"
    return Recovery(layout.full_segments, written, False, reason)
