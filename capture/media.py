"""What sources deliver and the capture package's errors.

    DeviceError                 a camera, microphone or file cannot be used
    ├── DeviceNotFoundError     no such device, or it does not open
    ├── DeviceLostError         it stopped delivering mid-answer (unplugged, driver hang)
    └── SinkFullError           the disk (or other sink) refused the recording's bytes

Every frame and audio block carries a time from one monotonic clock, so sound and picture
can be lined up whatever each device's own pace.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

Image = np.ndarray[Any, np.dtype[np.uint8]]
Samples = np.ndarray[Any, np.dtype[np.float32]]


class DeviceError(Exception):
    """A camera, microphone or media file cannot be used."""


class DeviceNotFoundError(DeviceError):
    """No such device, or it does not open."""


class DeviceLostError(DeviceError):
    """A device stopped delivering in the middle of an answer; `device` says which one
    ("camera" or "microphone") where the source knows, so HQ can be told without a message."""

    def __init__(self, message: str, device: str | None = None) -> None:
        super().__init__(message)
        self.device = device


class SinkFullError(DeviceError):
    """The recording's bytes were refused (the disk is full)."""


@dataclass(frozen=True)
class VideoFrame:
    """One camera frame (BGR) and when it was captured."""

    t: float
    image: Image


@dataclass(frozen=True)
class AudioBlock:
    """Mono samples and when the first of them was captured."""

    t: float
    samples: Samples
    rate: int


T = TypeVar("T")


class DropQueue(Generic[T]):
    """A bounded queue whose producer never blocks: when full, the item is dropped and counted.

    Capture threads and device callbacks must never wait on the encoder.
    """

    def __init__(self, size: int) -> None:
        self._queue: queue.Queue[T] = queue.Queue(size)
        self.dropped = 0

    def put(self, item: T) -> None:
        """Add `item`, or drop it if the queue is full."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def put_wait(self, item: T, stop: threading.Event) -> None:
        """Add `item`, waiting for room (for sources that are not live), unless stopped."""
        while not stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self, timeout: float) -> T | None:
        """The next item, or None after `timeout` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def get_nowait(self) -> T | None:
        """The next item if one is waiting."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None
