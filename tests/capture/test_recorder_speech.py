"""The recorder's `on_speech`: the audio copy as it is made, never at the take's cost."""

from __future__ import annotations

import io
import logging

import av
import numpy as np
import pytest

from capture.media import AudioBlock
from capture.recorder import TRANSCRIPTION_RATE, AnswerRecorder, TakeStats
from capture.sources import Source, SyntheticSource

FPS = 30
AAC_FRAME = 1024  # samples of one AAC frame: the copy is padded to whole frames


def record(source: Source, on_speech: object) -> tuple[TakeStats, bytes]:
    copy = io.BytesIO()
    recorder = AnswerRecorder(source, io.BytesIO(), copy, on_speech=on_speech)  # type: ignore[arg-type]
    recorder.start()
    stats = recorder.wait(120)
    assert stats is not None
    return stats, copy.getvalue()


def decode_copy(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].rate == TRANSCRIPTION_RATE
        return np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])


def onsets(samples: np.ndarray, rate: int) -> list[float]:
    """Times where a loud beep starts after quiet."""
    window = rate // 200
    envelope = np.abs(samples[:len(samples) // window * window]).reshape(-1, window).max(axis=1)
    loud = envelope > 0.4
    return [i * window / rate for i in range(1, len(loud)) if loud[i] and not loud[i - 1]]


def test_speech_gets_the_audio_copy_in_order_and_whole() -> None:
    blocks: list[np.ndarray] = []
    stats, copy = record(SyntheticSource(640, 480, FPS, seconds=6, flash_every=1.0,
                                         realtime=False), blocks.append)
    heard = np.concatenate(blocks)
    assert all(block.dtype == np.float32 and block.ndim == 1 for block in blocks)
    assert len(blocks) > 10  # block by block as it is encoded, not all at the end
    assert abs(len(heard) - stats.audio_seconds * TRANSCRIPTION_RATE) <= AAC_FRAME
    assert abs(len(heard) - len(decode_copy(copy))) <= AAC_FRAME
    beeps = onsets(heard, TRANSCRIPTION_RATE)
    # A beep each second (the one at 0 s has no quiet before it; 6 s is in the last block).
    assert beeps == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], abs=0.02)


class HoleInTheSound(Source):
    """Sound that stops for half a second (a device hiccup), then comes back."""

    audio_rate = 48_000
    BLOCKS = 60
    HOLE_AFTER = 20
    HOLE = 0.5

    def _run(self, clock) -> None:  # type: ignore[no-untyped-def]
        assert self.audio is not None
        for index in range(self.BLOCKS):
            t = index * 1024 / self.audio_rate + (self.HOLE if index >= self.HOLE_AFTER else 0)
            self.audio.put_wait(AudioBlock(self._origin + t, np.full(1024, 0.3, np.float32),
                                           self.audio_rate), self._stop)


def test_speech_gets_the_silence_that_fills_a_hole() -> None:
    blocks: list[np.ndarray] = []
    stats, _ = record(HoleInTheSound(), blocks.append)
    heard = np.concatenate(blocks)
    assert stats.audio_gaps == 1
    expected = (HoleInTheSound.BLOCKS * 1024 / 48_000 + HoleInTheSound.HOLE) * TRANSCRIPTION_RATE
    assert abs(len(heard) - expected) <= AAC_FRAME
    quiet = np.abs(heard) < 0.01
    # The hole is silence in the samples, where the copy has it: after the 20th block.
    start = round(HoleInTheSound.HOLE_AFTER * 1024 / 48_000 * TRANSCRIPTION_RATE)
    hole = quiet[start + 200:start + round(HoleInTheSound.HOLE * TRANSCRIPTION_RATE) - 200]
    assert hole.all()
    assert not quiet[200:start - 200].any()


def test_a_failing_callback_is_dropped_and_the_take_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def fails_third_time(samples: np.ndarray) -> None:
        calls.append(len(samples))
        if len(calls) == 3:
            raise ValueError("secret words the candidate said")

    with caplog.at_level(logging.WARNING, logger="capture.recorder"):
        stats, copy = record(SyntheticSource(640, 480, FPS, seconds=4, realtime=False),
                             fails_third_time)
    assert len(calls) == 3  # never called again after it failed
    assert stats.ended_by == "stop" and stats.error is None
    assert (stats.frames, stats.dropped_frames) == (4 * FPS, 0)
    assert abs(len(decode_copy(copy)) - 4 * TRANSCRIPTION_RATE) <= 2 * AAC_FRAME
    records = [r for r in caplog.records if r.name == "capture.recorder"]
    assert [r.getMessage() for r in records] == ["recorder.speech_callback_failed"]
    assert records[0].kiosk_fields == {"error_type": "ValueError"}  # type: ignore[attr-defined]
    assert "secret" not in caplog.text


def test_speech_without_an_audio_copy_still_gets_the_samples() -> None:
    blocks: list[np.ndarray] = []
    recorder = AnswerRecorder(SyntheticSource(640, 480, FPS, seconds=2, realtime=False),
                              io.BytesIO(), None, on_speech=blocks.append)
    recorder.start()
    stats = recorder.wait(60)
    assert stats is not None
    assert abs(sum(map(len, blocks)) - 2 * TRANSCRIPTION_RATE) <= AAC_FRAME
