"""Reading invitation QR codes from the kiosk's camera.

`read_codes` finds and decodes the QR codes in one camera frame. `InviteScanner` watches a
`capture.sources.Source` (the camera, or a file or synthetic source in tests): one thread
takes the newest frame, keeps a small copy for the screen's live preview, and reads codes
in it when the previous read has finished and `read_every` seconds have passed since it
began, so frames are dropped, never queued up, and the preview keeps the camera's pace.
Nothing is encoded or written anywhere: frames live in memory only while they are read.

Why these choices (measured by `bench/invite_scan_bench.py`, docs/benchmarks.md):

- OpenCV's `QRCodeDetectorAruco`: it reads HQ's version 11 codes far more often than the
  classic `QRCodeDetector`, tilted or rotated above all. `detectAndDecodeMulti` reads a
  few more blurred codes than `detectAndDecode` for the same time.
- Grey, then an unsharp mask: a phone held close to a fixed-focus webcam is out of focus,
  and sharpening made the detector read several times more blurred codes while losing
  none of the sharp ones. A second, stronger sharpening is tried only when the first
  finds nothing (a still image); the live scanner alternates the two from frame to frame
  so that no frame costs more than one detection.
- At most one read every 0.1 s by default: reading back to back kept most of a core busy
  (72 %) for as long as the welcome screen shows, against 38 % for 10 reads a second,
  while 10 reads a second still find a code well within the 1 s target.
- Frames wider than 1280 px are shrunk to 1280 first: the detector's time grows with the
  picture, and a 720p kiosk camera is what the figures were measured on.

Importing OpenCV and making the detector happen in `CodeReader.__init__`, on the caller's
thread: in the Qt process, the first import of a heavy library on a background thread can
deadlock in shiboken's import hook.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from capture.media import AudioBlock, DeviceError, DeviceLostError, DropQueue, VideoFrame
from capture.sources import Clock, Source

Image = np.ndarray[Any, np.dtype[np.uint8]]
MAX_WIDTH = 1280
PREVIEW_WIDTH = 640
READ_EVERY = 0.1  # seconds from the start of one read to the start of the next, at least
# (sigma of the blur subtracted, amount): an unsharp mask, then a stronger one.
SHARPENING = ((2.0, 1.5), (3.0, 2.5))


class CodeReader:
    """OpenCV's Aruco-based QR detector and the preprocessing that helps it on phones."""

    passes = len(SHARPENING)

    def __init__(self) -> None:
        import cv2

        self._cv2 = cv2
        self._detector = cv2.QRCodeDetectorAruco()

    def read(self, image: Image, passes: range | None = None) -> list[str]:
        """The texts of the QR codes in a BGR (or grey) frame; `passes` picks which of the
        preprocessing passes to try, in order, stopping at the first that reads a code."""
        cv2 = self._cv2
        if image.ndim != 2 and (image.ndim != 3 or image.shape[2] != 3):
            raise ValueError(f"not a BGR or grey frame: shape {image.shape}")
        if image.dtype != np.uint8:
            raise ValueError(f"not an 8-bit frame: {image.dtype}")
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        if grey.shape[1] > MAX_WIDTH:
            height = max(1, round(grey.shape[0] * MAX_WIDTH / grey.shape[1]))
            grey = cv2.resize(grey, (MAX_WIDTH, height), interpolation=cv2.INTER_AREA)
        for index in passes if passes is not None else range(self.passes):
            sigma, amount = SHARPENING[index]
            soft = cv2.GaussianBlur(grey, (0, 0), sigma)
            sharp = cv2.addWeighted(grey, 1 + amount, soft, -amount, 0)
            found, texts, _, _ = self._detector.detectAndDecodeMulti(sharp)
            if found:
                read = list(dict.fromkeys(t for t in texts if t))
                if read:
                    return read
        return []


def read_codes(image: Image, reader: CodeReader | None = None) -> list[str]:
    """The texts of the QR codes in a BGR uint8 frame (any size), empty if none is read.

    Tries every preprocessing pass until one reads a code. Pass a `reader` made on the
    caller's thread when calling from a background thread in the Qt process.
    """
    return (reader or CodeReader()).read(image)


class InviteScanner:
    """Watches a camera for invitation QR codes until stopped.

    `on_found(text)` is called with each distinct text read (invite token or not: the
    caller decides, and says something polite about a QR code that is not an invitation),
    once until `rearm()`. `on_lost(error)` is called if the source stops delivering. Both
    are called ON THE SCANNER'S THREAD: a Qt screen must hand them to the GUI thread (a
    queued signal) and must not touch widgets in them. They must return quickly.
    """

    def __init__(self, source: Source, on_found: Callable[[str], None], *,
                 on_lost: Callable[[DeviceError], None] | None = None,
                 clock: Clock = time.monotonic, preview_width: int = PREVIEW_WIDTH,
                 read_every: float = READ_EVERY) -> None:
        import cv2

        self.source = source
        self._cv2 = cv2
        self._reader = CodeReader()  # here, on the caller's thread: see the module's notes
        self._on_found, self._on_lost = on_found, on_lost
        self._clock = clock
        self._preview_width = preview_width
        self._read_every = read_every
        self._video: DropQueue[VideoFrame] = DropQueue(4)
        self._audio: DropQueue[AudioBlock] = DropQueue(4)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._preview: Image | None = None
        self._reported: set[str] = set()
        self._thread: threading.Thread | None = None
        self.lost: DeviceError | None = None
        self.frames_seen = 0   # frames taken from the camera (each one refreshes the preview)
        self.frames_read = 0   # frames the detector looked at (the rest were dropped)
        self.read_errors = 0   # frames the detector failed on (counted, then skipped)

    def start(self) -> None:
        """Start the camera and the scanning thread."""
        if self._thread is not None:
            raise RuntimeError("this scanner was already started")
        self.source.start(self._clock, self._video, self._audio)
        self._thread = threading.Thread(target=self._scan_loop, daemon=True,
                                        name="InviteScanner")
        self._thread.start()

    def stop(self) -> None:
        """Stop the camera and the scanning thread (safe to call twice, or from on_found).

        A `CameraSource` releases its device when stopped: scan again with a new one."""
        self._stopping.set()
        self.source.stop()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def rearm(self) -> None:
        """Report every text again, even one already reported (after a refused invite)."""
        with self._lock:
            self._reported.clear()

    def preview(self) -> Image | None:
        """The newest frame, `preview_width` pixels wide, for the screen; None before the
        first frame. The array is never written to again: the screen may keep it."""
        with self._lock:
            return self._preview

    @property
    def running(self) -> bool:
        """Whether the scanning thread is still watching the camera."""
        return self._thread is not None and self._thread.is_alive()

    def _newest(self) -> VideoFrame | None:
        """The newest frame waiting, dropping the older ones (and all sound)."""
        while self._audio.get_nowait() is not None:
            pass
        frame = self._video.get(timeout=0.1)
        while frame is not None:
            newer = self._video.get_nowait()
            if newer is None:
                break
            frame = newer
        return frame

    def _scan_loop(self) -> None:
        passes = 0
        next_read = self._clock()
        while not self._stopping.is_set():
            frame = self._newest()
            if frame is None:
                if self.source.finished.is_set():
                    self._source_ended()
                    return
                continue
            self._keep_preview(frame.image)
            self.frames_seen += 1
            now = self._clock()
            if now < next_read:
                continue
            next_read = now + self._read_every
            try:  # one pass per frame: the next frame tries the next preprocessing
                texts = self._reader.read(frame.image, range(passes, passes + 1))
            except (ValueError, self._cv2.error):
                self.read_errors += 1
                continue
            passes = (passes + 1) % self._reader.passes
            self.frames_read += 1
            for text in texts:
                with self._lock:
                    if text in self._reported:
                        continue
                    self._reported.add(text)
                if not self._stopping.is_set():
                    self._on_found(text)

    def _keep_preview(self, image: Image) -> None:
        height, width = image.shape[:2]
        if width <= 0 or height <= 0:
            return
        size = (self._preview_width, max(1, self._preview_width * height // width))
        small = np.asarray(self._cv2.resize(image, size, interpolation=self._cv2.INTER_AREA),
                           dtype=np.uint8)
        with self._lock:
            self._preview = small

    def _source_ended(self) -> None:
        if self._stopping.is_set():
            return
        self.lost = self.source.lost or DeviceLostError(
            f"{type(self.source).__name__} stopped delivering frames")
        if self._on_lost is not None:
            self._on_lost(self.lost)
