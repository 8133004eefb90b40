"""The invitation screen's machinery: the camera scanning for a QR code, and the desk that
checks what it reads (or what is typed). Owned by the Runtime; the screen only polls.

The scanner calls back on its own thread; the text waits here, under a lock, until the
screen's next refresh takes it on the GUI thread, so nothing Qt is touched off that thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from capture.sources import Source
from kiosk.drives.desk import InvitationDesk
from kiosk.drives.held import DRIVES_FILE
from kiosk.logs import get_logger, log_event
from kiosk.session import Invited
from kiosk.uplink.status import KioskStatus

if TYPE_CHECKING:
    from kiosk.drives.scanner import InviteScanner

_log = get_logger("ui")


class InvitationReader:
    """Scans and checks invitations for one drive at one kiosk window."""

    def __init__(self, desk: InvitationDesk, camera: Callable[[], Source] | None,
                 reopen: Callable[[], InvitationDesk | None] | None = None) -> None:
        self.desk = desk
        # The sync thread may bring a newer roster (late registrations) during the day: the
        # desk is opened again when the kept drives change, if it is still the same drive.
        self._reopen = reopen
        self._drives_stamp = self._stamp()
        self._camera = camera  # None: no camera here, only typed codes
        self._scanner: InviteScanner | None = None  # made on the GUI thread (it imports cv2)
        self._lock = threading.Lock()
        self._found: str | None = None
        self.camera_lost = False  # the camera stopped while scanning: typed codes still work
        self.status: KioskStatus | None = None  # the app's, reported to HQ in heartbeats

    @property
    def can_scan(self) -> bool:
        """Whether this kiosk has a camera to scan with."""
        return self._camera is not None

    def start(self) -> None:
        """Start looking (the invitation screen is showing); nothing is recorded."""
        if self._scanner is not None or self._camera is None:
            return
        with self._lock:
            self._found = None
        from kiosk.drives.scanner import InviteScanner

        try:
            self.camera_lost = False
            self._scanner = InviteScanner(self._camera(), self._on_found,
                                          on_lost=self._on_lost)
            self._scanner.start()
        except Exception as exc:  # a camera that does not open: typed codes still work
            log_event(_log, "ui.scanner_failed", error_type=type(exc).__name__)
            self._scanner = None

    def stop(self) -> None:
        """Stop looking and let the camera go."""
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            scanner.stop()
        with self._lock:
            self._found = None

    def rearm(self) -> None:
        """Look again, the same code included (after a refusal was shown)."""
        if self._scanner is not None:
            self._scanner.rearm()

    def preview(self) -> np.ndarray | None:
        """The newest camera picture, small, for the screen."""
        return self._scanner.preview() if self._scanner is not None else None

    def take_found(self) -> str | None:
        """What the scanner read since the last call, once."""
        with self._lock:
            found, self._found = self._found, None
        return found

    def check(self, text: str) -> Invited:
        """The candidate `text` admits (InvitationError says why not)."""
        stamp = self._stamp()
        if stamp != self._drives_stamp and self._reopen is not None:
            self._drives_stamp = stamp
            fresh = self._reopen()
            if fresh is not None and fresh.drive.id == self.desk.drive.id:
                self.desk = fresh
                log_event(_log, "ui.drive_roster_reloaded", roster=fresh.has_roster)
        return self.desk.check(text)

    def _stamp(self) -> int | None:
        try:
            return (self.desk.store.data_dir / DRIVES_FILE).stat().st_mtime_ns
        except OSError:
            return None

    def _on_found(self, text: str) -> None:
        with self._lock:
            self._found = text

    def _on_lost(self, error: Exception) -> None:
        log_event(_log, "ui.scanner_camera_lost", error_type=type(error).__name__)
        self.camera_lost = True
        if self.status is not None:  # the fleet board says so ("camera lost at 10:42")
            self.status.device("camera", "lost")
            self.status.error("camera.lost")
