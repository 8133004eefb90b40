"""The answer recorder: H.264 + AAC in fragmented MP4, written straight into a sink.

One encoder thread takes timestamped frames and audio blocks from the source's queues.
Video presentation times are the frames' own capture times (variable frame rate when a
camera stutters); audio is placed by sample count, and a hole in the audio (an overflow, a
device hiccup) is filled with silence of the same length, so picture and sound stay in
step. Fragmented MP4 (`frag_keyframe+empty_moov+default_base_moof`) needs no seeking back,
so it streams into a vault writer, and a file cut off by a crash still plays up to its
last fragment. A 16 kHz mono copy of the sound goes to a second sink for transcription.

The source's threads never wait on the encoder; the encoder never touches a screen or a
database. The newest frame (small) and the sound level are kept for a preview.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO

import av
import cv2
import numpy as np

from capture.media import (
    AudioBlock,
    DeviceError,
    DropQueue,
    Image,
    SinkFullError,
    VideoFrame,
)
from capture.sources import Source

MS = Fraction(1, 1000)
GAP_TOLERANCE = 0.030  # seconds of missing sound before we fill it in
TRANSCRIPTION_RATE = 16_000
PREVIEW_WIDTH = 320
MP4_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof",
               # Also close a fragment every quarter second, keyframe or not.
               "frag_duration": "250000"}
# A keyframe (and so a new fragment) twice a second: a crash loses at most about that much.
KEYFRAMES_PER_SECOND = 2
# Vault segment sizes that fill within a second or so at typical bitrates (see docs).
VIDEO_SEGMENT_SIZE = 8 * 1024
AUDIO_COPY_SEGMENT_SIZE = 4 * 1024

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TakeStats:
    """What a take turned out to be; stored with the take."""

    frames: int
    dropped_frames: int
    audio_gaps: int
    gap_seconds: float
    video_seconds: float
    audio_seconds: float
    drift: float  # audio end minus video end, in seconds
    ended_by: str  # "stop", "device_lost" or "sink_full"
    error: str | None = None


@dataclass(frozen=True)
class Preview:
    """What the candidate sees and hears of themselves while recording."""

    image: Image | None
    rms_dbfs: float
    peak_dbfs: float


def _dbfs(value: float) -> float:
    return 20 * float(np.log10(value)) if value > 1e-6 else -120.0


class AnswerRecorder:
    """Records one take from `source` into `video_sink` (and `audio_sink`, 16 kHz)."""

    def __init__(self, source: Source, video_sink: BinaryIO | Any,
                 audio_sink: BinaryIO | Any | None = None, *, crf: int = 23,
                 preset: str = "superfast", audio_bitrate: int = 96_000,
                 clock: Callable[[], float] = time.monotonic,
                 on_failure: Callable[[DeviceError], None] | None = None,
                 queue_seconds: float = 2.0,
                 on_speech: Callable[[np.ndarray], None] | None = None) -> None:
        self.source = source
        self._video_sink, self._audio_sink = video_sink, audio_sink
        self._crf, self._preset, self._audio_bitrate = crf, preset, audio_bitrate
        self._clock = clock
        self._on_failure = on_failure
        # Called on the encoder thread with each block of the 16 kHz copy's samples; it must
        # return at once (see `_speak`). Dropped for the rest of the take if it raises.
        self._on_speech = on_speech
        fps = source.fps or 30.0
        self._video: DropQueue[VideoFrame] = DropQueue(max(8, int(fps * queue_seconds)))
        self._audio: DropQueue[AudioBlock] = DropQueue(max(16, int(queue_seconds * 50)))
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._preview = Preview(None, -120.0, -120.0)
        self.stats: TakeStats | None = None
        # Encoder state, touched only by the encoder thread.
        self._frames = 0
        self._last_pts = -1
        self._video_end = 0.0
        self._samples = 0
        self._gaps = 0
        self._gap_samples = 0

    # --- control ------------------------------------------------------------------------

    def start(self) -> None:
        """Open the containers and begin recording."""
        self._t0 = self._clock()
        self._open()
        self.source.start(self._clock, self._video, self._audio, origin=self._t0)
        self._thread = threading.Thread(target=self._encode_loop, daemon=True,
                                        name="AnswerRecorder")
        self._thread.start()

    def stop(self) -> TakeStats:
        """Stop the source, encode what is queued, close the containers; returns the stats."""
        self.source.stop()  # first: what it delivers while stopping is still encoded
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        assert self.stats is not None
        return self.stats

    def wait(self, timeout: float | None = None) -> TakeStats | None:
        """Wait for a take that ends by itself (a file source, a lost device)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.stats

    @property
    def encoded_seconds(self) -> float:
        """How much of the take is encoded so far, in seconds of media: picture and sound
        both (the muxer interleaves them, so the one behind holds the other back)."""
        ends = []
        if self.source.has_video:
            ends.append(self._video_end)
        if self.source.has_audio:
            ends.append(self._samples / self.source.audio_rate)
        return min(ends, default=0.0)

    def preview(self) -> Preview:
        """The newest small frame and the sound level (never blocks capture)."""
        return self._preview

    # --- encoding -----------------------------------------------------------------------

    def _open(self) -> None:
        source = self.source
        self._out = av.open(self._video_sink, mode="w", format="mp4", options=MP4_OPTIONS)
        self._vstream: Any = None
        self._astream: Any = None
        if source.has_video:
            width, height = source.width - source.width % 2, source.height - source.height % 2
            self._vstream = self._out.add_stream("libx264", rate=round(source.fps or 30))
            self._vstream.width, self._vstream.height = width, height
            self._vstream.pix_fmt = "yuv420p"
            self._vstream.codec_context.time_base = MS
            self._vstream.codec_context.gop_size = max(1, int((source.fps or 30)
                                                              // KEYFRAMES_PER_SECOND))
            self._vstream.options = {"preset": self._preset, "tune": "zerolatency",
                                     "crf": str(self._crf)}
        if source.has_audio:
            self._astream = self._out.add_stream("aac", rate=source.audio_rate, layout="mono")
            self._astream.bit_rate = self._audio_bitrate
        self._copy: Any = None
        self._resampler: Any = None
        if self._audio_sink is not None and source.has_audio:
            self._copy = av.open(self._audio_sink, mode="w", format="adts")
            self._copy_stream: Any = self._copy.add_stream("aac", rate=TRANSCRIPTION_RATE,
                                                           layout="mono")
            self._copy_stream.bit_rate = 48_000
        if source.has_audio and (self._copy is not None or self._on_speech is not None):
            self._resampler = av.AudioResampler(format="fltp", layout="mono",
                                                rate=TRANSCRIPTION_RATE)

    def _encode_loop(self) -> None:
        ended_by, error = "stop", None
        try:
            while True:
                # Whether the source is done is read before the queues: an item it puts just
                # before finishing is then still taken on the next turn, never left behind.
                done = self._stopping.is_set() or self.source.finished.is_set()
                frame = self._video.get_nowait()
                block = self._audio.get_nowait()
                if frame is None and block is None:
                    if done:
                        if self.source.lost is not None:
                            ended_by, error = "device_lost", str(self.source.lost)
                        break
                    time.sleep(0.002)
                    continue
                if frame is not None:
                    self._encode_video(frame)
                if block is not None:
                    self._encode_audio(block)
            self._close()
        except OSError as exc:
            ended_by, error = "sink_full", f"the recording could not be written: {exc}"
            self._abandon()
        video_seconds = self._video_end
        audio_seconds = self._samples / self.source.audio_rate if self.source.has_audio else 0.0
        self.stats = TakeStats(
            frames=self._frames, dropped_frames=self._video.dropped,
            audio_gaps=self._gaps + self._audio.dropped,
            gap_seconds=self._gap_samples / self.source.audio_rate if self.source.has_audio
            else 0.0,
            video_seconds=video_seconds, audio_seconds=audio_seconds,
            drift=audio_seconds - video_seconds if self.source.has_video
            and self.source.has_audio else 0.0,
            ended_by=ended_by, error=error)
        if ended_by != "stop" and self._on_failure is not None:
            failure: DeviceError = (self.source.lost if ended_by == "device_lost"
                                    and self.source.lost else SinkFullError(error or ""))
            self._on_failure(failure)

    def _encode_video(self, frame: VideoFrame) -> None:
        if self._vstream is None:
            return
        pts = max(round((frame.t - self._t0) * 1000), self._last_pts + 1)
        self._last_pts = pts
        image = frame.image
        height, width = self._vstream.height, self._vstream.width
        if image.shape[0] != height or image.shape[1] != width:
            image = image[:height, :width]
        # cv2 converts to I420 many times faster than PyAV's reformat.
        yuv = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2YUV_I420).astype(
            np.uint8, copy=False)
        video = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        video.pts, video.time_base = pts, MS
        for packet in self._vstream.encode(video):
            self._out.mux(packet)
        self._frames += 1
        self._video_end = (pts / 1000) + 1 / (self.source.fps or 30)
        if self._frames % 2 == 1:  # a preview at half the frame rate: smooth and cheap
            size = (PREVIEW_WIDTH, max(1, PREVIEW_WIDTH * height // width))
            small = np.asarray(cv2.resize(image, size), dtype=np.uint8)
            self._preview = Preview(small, self._preview.rms_dbfs, self._preview.peak_dbfs)

    def _encode_audio(self, block: AudioBlock) -> None:
        if self._astream is None:
            return
        rate = block.rate
        expected = self._t0 + self._samples / rate
        gap = block.t - expected
        samples = block.samples
        if gap > GAP_TOLERANCE:  # sound went missing: keep the picture in step with silence
            silence = round(gap * rate)
            self._gaps += 1
            self._gap_samples += silence
            samples = np.concatenate([np.zeros(silence, np.float32), samples])
        elif self._samples == 0 and gap < 0:
            samples = samples[round(-gap * rate):]  # began before the take did
        if not len(samples):
            return
        self._write_audio(samples, rate)
        peak = float(np.max(np.abs(block.samples))) if len(block.samples) else 0.0
        rms = float(np.sqrt(np.mean(np.square(block.samples)))) if len(block.samples) else 0.0
        self._preview = Preview(self._preview.image, _dbfs(rms), _dbfs(peak))

    def _write_audio(self, samples: np.ndarray, rate: int) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32)
                                           .reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate, frame.pts = rate, self._samples
        for packet in self._astream.encode(frame):
            self._out.mux(packet)
        if self._resampler is not None:
            self._copy_out(self._resampler.resample(frame))
        self._samples += len(samples)

    def _copy_out(self, resampled: list[Any]) -> None:
        """The 16 kHz copy: into its sink, and the same samples to `on_speech`."""
        for block in resampled:
            if self._copy is not None:
                for packet in self._copy_stream.encode(block):
                    self._copy.mux(packet)
            if self._on_speech is not None:
                self._speak(np.asarray(block.to_ndarray(), dtype=np.float32).reshape(-1))

    def _speak(self, samples: np.ndarray) -> None:
        """Hand samples to `on_speech`. Recording comes first: a callback that fails is
        logged once (its kind only: a message may quote what it was given) and dropped."""
        assert self._on_speech is not None
        try:
            self._on_speech(samples)
        except Exception as exc:  # whatever it is, the take goes on
            self._on_speech = None
            _log.warning("recorder.speech_callback_failed",
                         extra={"kiosk_fields": {"error_type": type(exc).__name__}})

    def _close(self) -> None:
        for stream in (self._vstream, self._astream):
            if stream is not None:
                for packet in stream.encode(None):
                    self._out.mux(packet)
        self._out.close()
        if self._resampler is not None:
            self._copy_out(self._resampler.resample(None))
        if self._copy is not None:
            for packet in self._copy_stream.encode(None):
                self._copy.mux(packet)
            self._copy.close()

    def _abandon(self) -> None:
        """The sink refused bytes: stop here; what reached it stays (and recovers)."""
        self.source.stop()
        for container in (self._out, self._copy):
            if container is not None:
                # The trailer cannot be written either; the fragments before it can be read.
                with contextlib.suppress(OSError, av.error.FFmpegError):
                    container.close()

