"""What the running kiosk knows of itself that its store does not: the state of its camera
and microphone, its last error, the interview and drive in use. The app updates it from any
thread (the GUI thread, a capture thread); the sync thread reads a snapshot of it into each
heartbeat (`kiosk.uplink.heartbeat`).

An error is kept as a code word only (`camera.lost`, `disk.nearly_full`), never a message:
messages can quote what caused them, and a candidate's data must not reach HQ in the clear.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sync import invites
from sync.fields import QUESTION_ID
from sync.heartbeat import DEVICE_STATES, ERROR_CODE

DEVICES = ("camera", "microphone")


@dataclass(frozen=True)
class DeviceState:
    """A device's state and when it began (None: not since any known time)."""

    state: str = "unknown"
    since: datetime | None = None


@dataclass(frozen=True)
class StatusSnapshot:
    """The status at one moment."""

    interview_id: str | None = None
    drive: str | None = None
    camera: DeviceState = DeviceState()
    microphone: DeviceState = DeviceState()
    last_error: tuple[datetime, str] | None = None   # (when, code)


class KioskStatus:
    """The kiosk's own status, safe to update and read from any thread."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._snapshot = StatusSnapshot()

    def device(self, kind: str, state: str, at: datetime | None = None) -> None:
        """`kind` ("camera", "microphone") is now in `state`; the time it began is kept
        while the state stays the same, so HQ sees since when a camera has been lost."""
        if kind not in DEVICES or state not in DEVICE_STATES:
            raise ValueError(f"no device state {kind}={state}")
        with self._lock:
            seen = self._snapshot
            if getattr(seen, kind).state != state:
                changed = DeviceState(state, at or self._now())
                self._snapshot = (replace(seen, camera=changed) if kind == "camera"
                                  else replace(seen, microphone=changed))

    def error(self, code: str, at: datetime | None = None) -> None:
        """An error happened; `code` is a fixed word such as `camera.lost`."""
        if not ERROR_CODE.fullmatch(code):
            raise ValueError(f"{code!r} is not an error code word")
        with self._lock:
            self._snapshot = replace(self._snapshot, last_error=(at or self._now(), code))

    def interview(self, interview_id: str | None) -> None:
        """The interview the kiosk runs (None: none)."""
        if interview_id is not None and not QUESTION_ID.fullmatch(interview_id):
            raise ValueError("not an interview id")
        with self._lock:
            self._snapshot = replace(self._snapshot, interview_id=interview_id)

    def drive(self, drive_id: str | None) -> None:
        """The drive the kiosk serves (None: none)."""
        if drive_id is not None and not invites.DRIVE_ID.fullmatch(drive_id):
            raise ValueError("not a drive id")
        with self._lock:
            self._snapshot = replace(self._snapshot, drive=drive_id)

    def snapshot(self) -> StatusSnapshot:
        """Everything at once, consistent."""
        with self._lock:
            return self._snapshot
