"""Serving a recording to the dashboard: byte ranges over the decrypted file, and its audit.

A player asks for a recording in many ranges (the first bytes, the index at the end, each
seek, each replay). Every request that returns bytes of a recording is audited, whatever
range it asks for: an entry is written before the first byte goes out. To keep one
sitting from writing one entry per range, an entry covers one viewer and one recording
for `VIEW_WINDOW`; the next range after that writes a new one. The window is kept in
this process's memory only: after a restart (or in a second worker) the next range is
audited again, so losing it can only add entries, never hide a view.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

VIEW_WINDOW = 10 * 60.0   # seconds: longer than one answer watched with seeks and replays
_MAX_REMEMBERED = 10_000   # distinct (viewer, recording) pairs held before old ones go
CHUNK = 256 * 1024
_RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")


@dataclass(frozen=True)
class ByteRange:
    """Inclusive first and last byte to send; `partial` when answering a Range (206)."""

    first: int
    last: int
    partial: bool

    @property
    def length(self) -> int:
        """How many bytes the answer carries."""
        return self.last - self.first + 1


class Unsatisfiable(Exception):
    """The range asks for bytes past the end (416)."""


def byte_range(header: str | None, size: int) -> ByteRange:
    """The bytes to send for a `Range` header (RFC 9110 §14): one `bytes=` range, or the
    whole file for no header or one this server does not take (several ranges, another
    unit, garbage), as the RFC allows. A satisfiable range past the end is cut to the end."""
    whole = ByteRange(0, size - 1, False)
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None:
        return whole
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return whole                       # an invalid range is ignored (§14.2)
    elif last:
        start, end = max(0, size - int(last)), size - 1
        if int(last) == 0:
            raise Unsatisfiable
    else:
        return whole                           # "bytes=-" is not a range
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, end, True)


def stream(read_range: Callable[[int, int], bytes], close: Callable[[], None],
           wanted: ByteRange) -> Iterator[bytes]:
    """The wanted bytes in pieces of CHUNK, then close the reader."""
    try:
        position = wanted.first
        while position <= wanted.last:
            length = min(CHUNK, wanted.last + 1 - position)
            piece = read_range(position, length)
            if len(piece) != length:  # the file changed under us: never send short
                raise OSError(f"the recording ended early at byte {position + len(piece)}")
            yield piece
            position += length
    finally:
        close()


class ViewLog:
    """Which viewer saw which recording when: one audit entry per pair per window."""

    def __init__(self, window: float = VIEW_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._seen: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def due(self, viewer: str, recording: tuple[str, ...]) -> bool:
        """Whether this view needs an audit entry now (and note it as written)."""
        now = self._clock()
        key = (viewer, *recording)
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last < self.window:
                return False
            self._seen[key] = now
            if len(self._seen) > _MAX_REMEMBERED:  # forgetting only ever adds entries
                self._seen = {k: t for k, t in self._seen.items() if now - t < self.window}
                if len(self._seen) > _MAX_REMEMBERED:
                    self._seen = {key: now}
            return True

    def forget(self, viewer: str, recording: tuple[str, ...]) -> None:
        """The entry could not be written: the next request tries again."""
        with self._lock:
            self._seen.pop((viewer, *recording), None)
