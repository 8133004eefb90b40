"""Per-client rate limits: a token bucket per device (or per address, for enrollment).

In memory, per process: a limit protects this process from one noisy kiosk; it is not an
accounting system. Buckets idle long enough to be full again are dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """`rate` requests per second on average, bursts up to `burst`, per key."""

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def blocked(self, key: str) -> bool:
        """Whether `key` has no token left (without taking one)."""
        now = self._clock()
        with self._lock:
            tokens, since = self._buckets.get(key, (float(self.burst), now))
            return min(float(self.burst), tokens + (now - since) * self.rate) < 1.0

    def allow(self, key: str) -> bool:
        """Take a token for `key` if one is there."""
        now = self._clock()
        with self._lock:
            tokens, since = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - since) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > 10_000:
                full = self.burst / self.rate if self.rate else 0.0
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
            return allowed
