"""The answer recorder: the right length, in sync, and nothing lost when things go wrong."""

from __future__ import annotations

import errno
import io
import itertools
import threading
import time
from collections.abc import Callable

import av
import numpy as np
import pytest

from capture.media import AudioBlock, DeviceError, DeviceLostError, SinkFullError
from capture.recorder import AnswerRecorder, TakeStats
from capture.sources import Source, SyntheticSource
from kiosk.vault import Identity, VaultWriter, recover

FPS = 30


def record(source: SyntheticSource, audio: bool = True,
           **options: object) -> tuple[TakeStats, bytes, bytes]:
    video_sink, audio_sink = io.BytesIO(), io.BytesIO()
    recorder = AnswerRecorder(source, video_sink, audio_sink if audio else None, **options)
    recorder.start()
    stats = recorder.wait(120)
    assert stats is not None
    return stats, video_sink.getvalue(), audio_sink.getvalue()


def decode(data: bytes) -> tuple[list[tuple[float, float]], np.ndarray, int]:
    """(frame time, mean brightness) per frame, the audio samples and their rate."""
    with av.open(io.BytesIO(data)) as container:
        frames = [(float(f.time), float(f.to_ndarray(format="gray").mean()))
                  for f in container.decode(video=0)]
    with av.open(io.BytesIO(data)) as container:
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
        rate = container.streams.audio[0].rate
    return frames, np.concatenate(chunks), rate


def test_a_recording_has_both_streams_and_the_right_length() -> None:
    stats, video, copy = record(SyntheticSource(640, 480, FPS, seconds=6, realtime=False))
    assert (stats.frames, stats.dropped_frames, stats.audio_gaps) == (180, 0, 0)
    assert stats.ended_by == "stop"
    frames, samples, rate = decode(video)
    assert len(frames) == 180
    assert abs(frames[-1][0] + 1 / FPS - 6.0) <= 1 / FPS
    assert abs(len(samples) / rate - 6.0) <= 1 / FPS + 1024 / rate  # AAC pads one frame
    assert abs(stats.drift) < 1 / FPS
    with av.open(io.BytesIO(copy)) as container:  # the transcription copy: 16 kHz mono
        stream = container.streams.audio[0]
        assert (stream.rate, stream.channels) == (16_000, 1)


def test_a_busy_machine_does_not_move_a_take_from_a_source_that_is_not_live() -> None:
    """Media timestamps, not scheduling, place a synthetic take: however late the source's
    thread gets to run (here every clock reading comes 25 ms after the last, as on a machine
    busy with other work), the take is the same, to the millisecond."""
    def busy_clock(step: float) -> Callable[[], float]:
        ticks = itertools.count()
        return lambda: 1000.0 + next(ticks) * step

    takes = [record(SyntheticSource(640, 480, FPS, seconds=6, realtime=False),
                    clock=busy_clock(step))[0] for step in (0.0, 0.025, 0.040)]
    assert takes[0] == takes[1] == takes[2]
    assert takes[1].audio_gaps == 0 and round(takes[1].video_seconds, 3) == 6.0
    # Sound runs to the end of its last 1024-sample block: 6.016 s, a constant, under a frame.
    assert takes[1].drift == pytest.approx(0.016 - 0.000333, abs=1e-6)


class FinishesAsTheEncoderLooks(Source):
    """Sound that arrives in the instant between the encoder finding the queues empty and
    it seeing that the source has finished: the last block of a file, on a busy machine."""

    audio_rate = 48_000
    BLOCKS = 10

    def __init__(self) -> None:
        super().__init__()
        self._release = threading.Event()

    def start(self, clock, video, audio, origin=None) -> None:  # type: ignore[no-untyped-def]
        self._base = clock() if origin is None else origin
        super().start(clock, video, audio, origin)
        polled = audio.get_nowait
        taken = [0]

        def get_nowait():  # type: ignore[no-untyped-def]
            item = polled()
            if item is not None:
                taken[0] += 1
            # Only once all but the last are taken: on a busy machine the encoder may look
            # before the source has put its first block, and that is not the instant meant.
            elif not self._release.is_set() and taken[0] == self.BLOCKS - 1:
                audio._queue.put(self.block(self.BLOCKS - 1))
                self._release.set()
                assert self.finished.wait(10)
            return item

        audio.get_nowait = get_nowait  # type: ignore[method-assign]

    def block(self, index: int) -> AudioBlock:
        return AudioBlock(self._base + index * 1024 / self.audio_rate,
                          np.full(1024, 0.1, np.float32), self.audio_rate)

    def _run(self, clock) -> None:  # type: ignore[no-untyped-def]
        assert self.audio is not None
        for index in range(self.BLOCKS - 1):
            self.audio.put_wait(self.block(index), self._stop)
        self._release.wait(10)


def test_what_a_source_delivers_as_it_finishes_is_recorded() -> None:
    stats, _, _ = record(FinishesAsTheEncoderLooks(), audio=False)
    assert stats.audio_seconds * 48_000 == FinishesAsTheEncoderLooks.BLOCKS * 1024


class FlushesWhenStopped(Source):
    """A microphone that hands over its last buffer as it closes, a moment after stop."""

    audio_rate = 48_000

    def _run(self, clock) -> None:  # type: ignore[no-untyped-def]
        assert self.audio is not None
        self._stop.wait(10)
        time.sleep(0.2)  # the device closing
        self.audio.put(AudioBlock(self._origin, np.full(4800, 0.1, np.float32),
                                  self.audio_rate))


def test_what_a_device_delivers_while_stopping_is_recorded() -> None:
    recorder = AnswerRecorder(FlushesWhenStopped(), io.BytesIO())
    recorder.start()
    stats = recorder.stop()
    assert stats.audio_seconds == pytest.approx(0.1)


def onsets(samples: np.ndarray, rate: int) -> list[float]:
    """Times where a loud beep starts after quiet."""
    window = rate // 200
    envelope = np.abs(samples[:len(samples) // window * window]).reshape(-1, window).max(axis=1)
    loud = envelope > 0.4
    return [i * window / rate for i in range(1, len(loud)) if loud[i] and not loud[i - 1]]


def test_flash_and_beep_stay_within_one_frame() -> None:
    _stats, video, _ = record(SyntheticSource(640, 480, FPS, seconds=8, flash_every=1.0,
                                             realtime=False))
    frames, samples, rate = decode(video)
    flashes = [t for t, brightness in frames if brightness > 250]
    beeps = onsets(samples, rate)
    assert len(flashes) >= 7 and len(beeps) >= 7
    for flash in flashes:
        nearest = min(beeps, key=lambda beep: abs(beep - flash))
        # AAC's encoder delay (priming) is part of what a player would hear, so it counts.
        assert abs(nearest - flash) < 1 / FPS, (flash, nearest)


def test_a_camera_that_vanishes_closes_the_take_and_keeps_what_was_recorded() -> None:
    failures: list[DeviceError] = []
    stats, video, _ = record(SyntheticSource(640, 480, FPS, lose_after=2.5, realtime=False),
                             on_failure=failures.append)
    assert stats.ended_by == "device_lost"
    assert len(failures) == 1 and isinstance(failures[0], DeviceLostError)
    frames, _, _ = decode(video)
    assert abs(len(frames) - 75) <= 1  # 2.5 s at 30 fps, cleanly closed and playable


class FullDisk(io.BytesIO):
    """Takes `room` bytes, then fails as a full disk does."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_a_full_disk_keeps_what_was_written_and_tells_whoever_listens() -> None:
    me = Identity.generate()
    disk = FullDisk(room=200_000)
    writer = VaultWriter(disk, [me.recipient], segment_size=16 * 1024)
    failures: list[DeviceError] = []
    recorder = AnswerRecorder(SyntheticSource(640, 480, FPS, seconds=30, realtime=False),
                              writer, on_failure=failures.append)
    recorder.start()
    stats = recorder.wait(120)
    assert stats is not None and stats.ended_by == "sink_full"
    assert len(failures) == 1 and isinstance(failures[0], SinkFullError)
    writer.abandon()
    saved = io.BytesIO()
    report = recover(io.BytesIO(disk.getvalue()), [me], saved)
    assert not report.finished and report.plaintext_bytes > 100_000
    with av.open(io.BytesIO(saved.getvalue())) as container:
        played = sum(1 for _ in container.decode(video=0))
    assert played > FPS  # more than a second of the answer survives, and plays


def test_preview_gives_a_small_frame_and_a_level() -> None:
    recorder = AnswerRecorder(SyntheticSource(1280, 720, FPS, seconds=1, realtime=False),
                              io.BytesIO())
    assert recorder.preview().image is None
    recorder.start()
    recorder.wait(60)
    preview = recorder.preview()
    assert preview.image is not None and preview.image.shape[1] == 320
    assert -40 < preview.rms_dbfs < -20  # the quiet test tone, about -29 dBFS


@pytest.mark.parametrize("size", [(641, 481), (320, 240)])
def test_odd_sizes_are_recorded(size: tuple[int, int]) -> None:
    stats, video, _ = record(SyntheticSource(*size, FPS, seconds=1, realtime=False))
    assert stats.frames == 30
    with av.open(io.BytesIO(video)) as container:
        stream = container.streams.video[0]
        assert stream.width % 2 == 0 and stream.height % 2 == 0
