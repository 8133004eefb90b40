"""Real devices: the camera (OpenCV) and the microphone (sounddevice), and listing them.

Device ids are stable across reboots where the system allows: cameras by their
/dev/v4l/by-id name (else /dev/videoN), microphones by host API and name.
"""

from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from capture.media import (
    AudioBlock,
    DeviceLostError,
    DeviceNotFoundError,
    DropQueue,
    VideoFrame,
)
from capture.sources import Clock, Source

# Modes tried in order: what we want, then what most webcams can do.
CAMERA_MODES = ((1280, 720, 30.0), (960, 540, 30.0), (640, 480, 30.0), (640, 480, 15.0))
MAX_FAILED_READS = 15


@dataclass(frozen=True)
class Device:
    """A camera or microphone the kiosk can use."""

    kind: str  # "camera" or "microphone"
    id: str
    name: str
    detail: str = ""


def list_cameras() -> list[Device]:
    """Video capture devices, by their most stable names."""
    stable = sorted(glob.glob("/dev/v4l/by-id/*-video-index0"))
    if stable:
        return [Device("camera", path, os.path.basename(path).removeprefix("usb-")
                       .removesuffix("-video-index0")) for path in stable]
    return [Device("camera", path, path) for path in sorted(glob.glob("/dev/video*"))]


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # PortAudio itself is missing
        raise DeviceNotFoundError("the sound library PortAudio is not installed (Debian: "
                                  "apt-get install libportaudio2)") from exc
    return sounddevice


def list_microphones() -> list[Device]:
    """Sound input devices."""
    sd = _sounddevice()
    apis = sd.query_hostapis()
    found = []
    for device in sd.query_devices():
        if device["max_input_channels"] > 0:
            api = apis[device["hostapi"]]["name"]
            found.append(Device("microphone", f"{api}:{device['name']}", device["name"],
                                f"{int(device['default_samplerate'])} Hz"))
    return found


class CameraSource(Source):
    """A camera through OpenCV: MJPG at 1280x720@30 if it can, else the best it offers."""

    device = "camera"

    def __init__(self, device: str | int = 0) -> None:
        super().__init__()
        import cv2

        # Errors only: a missing camera is reported by us, in plain words.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        self._capture = cv2.VideoCapture(device)
        if not self._capture.isOpened():
            raise DeviceNotFoundError(f"no camera found at {device!r}: check its cable, or "
                                      f"record with --source synthetic")
        self._capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        for width, height, fps in CAMERA_MODES:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            self._capture.set(cv2.CAP_PROP_FPS, fps)
            if int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == width:
                break
        # Report what the device really delivers, not what we asked for.
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 30.0)

    def _run(self, clock: Clock) -> None:
        assert self.video is not None
        failures = 0
        try:
            while not self._stop.is_set():
                ok, image = self._capture.read()
                if not ok:
                    failures += 1
                    if failures >= MAX_FAILED_READS:
                        raise DeviceLostError("the camera stopped sending pictures", "camera")
                    time.sleep(0.02)
                    continue
                failures = 0
                self.video.put(VideoFrame(clock(), np.asarray(image, dtype=np.uint8)))
        finally:
            self._capture.release()


class MicrophoneSource(Source):
    """A microphone through sounddevice; its callback only copies into the queue."""

    device = "microphone"

    def __init__(self, device: str | int | None = None, rate: int = 48_000) -> None:
        super().__init__()
        self._sd = _sounddevice()
        try:
            info = self._sd.query_devices(device, "input")
        except (ValueError, self._sd.PortAudioError) as exc:
            raise DeviceNotFoundError(f"no microphone {device!r}: {exc}") from exc
        self._device = device
        self.audio_rate = rate if rate else int(info["default_samplerate"])

    def _run(self, clock: Clock) -> None:
        audio = self.audio
        assert audio is not None
        rate = self.audio_rate

        def callback(indata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
            # Runs on PortAudio's thread: copy and go, never wait.
            audio.put(AudioBlock(clock() - frames / rate, indata[:, 0].copy(), rate))

        try:
            with self._sd.InputStream(device=self._device, channels=1, samplerate=rate,
                                      dtype="float32", callback=callback):
                while not self._stop.is_set():
                    time.sleep(0.05)
        except self._sd.PortAudioError as exc:
            raise DeviceLostError(f"the microphone stopped: {exc}", "microphone") from exc


class DeviceSource(Source):
    """A camera and a microphone together, as one source."""

    def __init__(self, camera: CameraSource | None, microphone: MicrophoneSource | None) -> None:
        super().__init__()
        self._parts = [part for part in (camera, microphone) if part is not None]
        if camera:
            self.width, self.height, self.fps = camera.width, camera.height, camera.fps
        if microphone:
            self.audio_rate = microphone.audio_rate

    def start(self, clock: Clock, video: DropQueue[VideoFrame],
              audio: DropQueue[AudioBlock], origin: float | None = None) -> None:
        """Start every part with the same queues and clock, and watch them."""
        for part in self._parts:
            part.start(clock, video, audio, origin)
        super().start(clock, video, audio, origin)

    def stop(self) -> None:
        """Stop every part."""
        for part in self._parts:
            part.stop()
        super().stop()

    def _run(self, clock: Clock) -> None:
        while not self._stop.is_set():
            for part in self._parts:
                if part.lost is not None:
                    raise part.lost  # one device gone ends the take for both
            time.sleep(0.05)
