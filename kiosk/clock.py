"""Time as the flow sees it: a monotonic clock for timers and a wall clock for records.

Injected everywhere so timers can be tested without sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the kiosk needs to know about time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for timers)."""
        ...

    def now(self) -> datetime:
        """The current UTC time (for records people read)."""
        ...


class SystemClock:
    """The real clocks of this machine."""

    def monotonic(self) -> float:
        """Seconds from `time.monotonic`."""
        return time.monotonic()

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to; both readings advance together."""

    def __init__(self, start: datetime | None = None) -> None:
        self._mono = 1000.0
        self._wall = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        """The fake monotonic reading."""
        return self._mono

    def now(self) -> datetime:
        """The fake wall time."""
        return self._wall

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by `seconds` (never backwards)."""
        if seconds < 0:
            raise ValueError("a clock never goes backwards")
        self._mono += seconds
        self._wall += timedelta(seconds=seconds)
