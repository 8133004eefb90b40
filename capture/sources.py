"""Sources of picture and sound behind one interface: synthetic, file, camera and microphone.

A source runs its own thread (or device callback) and puts timestamped frames and audio
blocks into the queues it is given; it never waits on whoever reads them. `realtime=False`
(synthetic and file sources) produces as fast as the reader takes, with timestamps as if in
real time, so tests and benchmarks need not wait. A source that is not a live device stamps
its media from the origin it is given (the take's start), never from when its thread got to
run: on a busy machine that moment comes late, and the picture would start late with it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from capture.media import (
    AudioBlock,
    DeviceError,
    DeviceLostError,
    DeviceNotFoundError,
    DropQueue,
    Image,
    VideoFrame,
)

Clock = Callable[[], float]
AUDIO_BLOCK = 1024


class Source:
    """Base of every source: start, stop, and what it turned out to deliver."""

    width = 0
    height = 0
    fps = 0.0
    audio_rate = 0
    device: str | None = None   # "camera" or "microphone" for a source that is one device

    def __init__(self) -> None:
        self.lost: DeviceError | None = None
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._origin = 0.0
        self.video: DropQueue[VideoFrame] | None = None
        self.audio: DropQueue[AudioBlock] | None = None

    @property
    def has_video(self) -> bool:
        """Whether frames come from this source."""
        return self.width > 0

    @property
    def has_audio(self) -> bool:
        """Whether sound comes from this source."""
        return self.audio_rate > 0

    def start(self, clock: Clock, video: DropQueue[VideoFrame],
              audio: DropQueue[AudioBlock], origin: float | None = None) -> None:
        """Begin delivering into the queues, timestamped by `clock`; media that is not live
        starts at `origin` (default: now)."""
        self._origin = clock() if origin is None else origin
        self.video, self.audio = video, audio
        self._stop.clear()
        self._thread = threading.Thread(target=self._guarded, args=(clock,), daemon=True,
                                        name=type(self).__name__)
        self._thread.start()

    def stop(self) -> None:
        """Stop delivering (waits for the source's thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _guarded(self, clock: Clock) -> None:
        try:
            self._run(clock)
        except DeviceError as exc:
            self.lost = exc
        except Exception as exc:  # a device failing in any way is a lost device
            self.lost = DeviceLostError(f"{type(self).__name__} failed: {exc}", self.device)
        finally:
            self.finished.set()

    def _run(self, clock: Clock) -> None:
        raise NotImplementedError

    realtime = True

    def _push(self, target: DropQueue[VideoFrame] | DropQueue[AudioBlock],
              item: VideoFrame | AudioBlock) -> None:
        """Live sources drop what the reader cannot take; others wait for the reader."""
        if self.realtime:
            target.put(item)  # type: ignore[arg-type]
        else:
            target.put_wait(item, self._stop)  # type: ignore[arg-type]

    def _wait_until(self, clock: Clock, t: float) -> None:
        while not self._stop.is_set():
            delay = t - clock()
            if delay <= 0:
                return
            time.sleep(min(delay, 0.05))


class SyntheticSource(Source):
    """A moving pattern and a quiet tone; optionally a white flash and a beep every second."""

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0,
                 audio_rate: int = 48_000, *, seconds: float | None = None,
                 flash_every: float | None = None, lose_after: float | None = None,
                 realtime: bool = True, frames: Sequence[Image] = (),
                 speech: np.ndarray | None = None, label: str | None = None) -> None:
        super().__init__()
        self.width, self.height, self.fps, self.audio_rate = width, height, fps, audio_rate
        self._seconds, self._flash, self._lose = seconds, flash_every, lose_after
        self.realtime = realtime
        self._frames = list(frames)
        self._speech = speech  # samples at audio_rate, played instead of the tone
        self._label = label

    def image(self, index: int) -> Image:
        """Frame `index`: prepared frames if given, else a bar moving across grey."""
        if self._flash and index % max(1, round(self._flash * self.fps)) == 0:
            return np.full((self.height, self.width, 3), 255, np.uint8)
        if self._frames:
            return self._frames[index % len(self._frames)]
        image = np.full((self.height, self.width, 3), 90, np.uint8)
        x = int((index * 8) % self.width)
        image[:, x:x + 40] = (40, 160, 220)
        if self._label:
            import cv2

            cv2.putText(image, self._label, (20, self.height // 2), cv2.FONT_HERSHEY_SIMPLEX,
                        self.width / 640, (255, 255, 255), 2, cv2.LINE_AA)
        return image

    def sound(self, start: int, count: int) -> np.ndarray:
        """Samples `start`..`start+count`: a quiet 220 Hz tone, a 1 kHz beep at each flash."""
        if self._speech is not None:
            chunk = self._speech[start:start + count]
            return np.pad(chunk, (0, count - len(chunk))).astype(np.float32)
        n = np.arange(start, start + count)
        t = n / self.audio_rate
        samples = 0.05 * np.sin(2 * math.pi * 220 * t)
        if self._flash:
            beep = (t % self._flash) < 0.05
            samples = np.where(beep, 0.8 * np.sin(2 * math.pi * 1000 * t), samples)
        return samples.astype(np.float32)

    def _run(self, clock: Clock) -> None:
        assert self.video is not None and self.audio is not None
        t0 = self._origin
        frame_index = sample_index = 0
        while not self._stop.is_set():
            next_video = frame_index / self.fps if self.has_video else math.inf
            next_audio = sample_index / self.audio_rate if self.has_audio else math.inf
            due = min(next_video, next_audio)
            if self._seconds is not None and due >= self._seconds:
                return
            if self._lose is not None and due >= self._lose:
                raise DeviceLostError("the synthetic camera was unplugged (simulated)", "camera")
            if self.realtime:
                self._wait_until(clock, t0 + due)
            if next_video <= next_audio:
                self._push(self.video, VideoFrame(t0 + next_video, self.image(frame_index)))
                frame_index += 1
            else:
                samples = self.sound(sample_index, AUDIO_BLOCK)
                self._push(self.audio, AudioBlock(t0 + next_audio, samples, self.audio_rate))
                sample_index += AUDIO_BLOCK


class FileSource(Source):
    """Plays any file PyAV can read as if it were a camera and a microphone."""

    def __init__(self, path: str | Path, *, realtime: bool = True, audio_rate: int = 48_000,
                 loop: bool = False, video: bool = True) -> None:
        super().__init__()
        import av

        self.path = Path(path)
        try:
            with av.open(str(self.path)) as probe:
                if probe.streams.video and video:
                    stream = probe.streams.video[0]
                    self.width, self.height = stream.width, stream.height
                    self.fps = float(stream.guessed_rate or stream.average_rate or 25)
                if probe.streams.audio:
                    self.audio_rate = audio_rate
        except (av.error.FFmpegError, OSError) as exc:
            raise DeviceNotFoundError(f"cannot play {self.path}: {exc}") from exc
        if not (self.has_video or self.has_audio):
            raise DeviceNotFoundError(f"{self.path} has neither picture nor sound")
        self.realtime, self._loop = realtime, loop

    def _run(self, clock: Clock) -> None:
        t0 = self._origin
        offset = 0.0
        while not self._stop.is_set():
            end = self._play_once(clock, t0 + offset)
            if not self._loop or end <= 0:
                return
            offset += end

    def _play_once(self, clock: Clock, t0: float) -> float:
        import av as pyav

        assert self.video is not None and self.audio is not None
        resampler = pyav.AudioResampler(format="flt", layout="mono", rate=self.audio_rate)
        end = 0.0
        with pyav.open(str(self.path)) as container:
            streams = [*container.streams.video[:1 if self.has_video else 0],
                       *container.streams.audio[:1]]
            for packet in container.demux(streams):
                for frame in packet.decode():
                    if self._stop.is_set():
                        return end
                    if not isinstance(frame, pyav.VideoFrame | pyav.AudioFrame):
                        continue
                    t = float(frame.time or 0.0)
                    if self.realtime:
                        self._wait_until(clock, t0 + t)
                    if isinstance(frame, pyav.VideoFrame):
                        image = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
                        self._push(self.video, VideoFrame(t0 + t, image))
                        end = max(end, t + 1 / (self.fps or 25))
                    elif isinstance(frame, pyav.AudioFrame):
                        for out in resampler.resample(frame):
                            samples = out.to_ndarray().reshape(-1).astype(np.float32)
                            self._push(self.audio, AudioBlock(t0 + t, samples, self.audio_rate))
                            end = max(end, t + len(samples) / self.audio_rate)
        return end
