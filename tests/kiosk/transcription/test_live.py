"""Live transcription: chunk by chunk while the answer is recorded, as good as the whole.

The bundled model hears espeak-ng speech fed in 0.1 s blocks, as the recorder hands it over.
No test asserts on time: "done while the candidate spoke" is asserted by what was done
before `finish()`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from pathlib import Path

import jiwer
import numpy as np
import pytest

from kiosk.transcription.live import (
    FRAME,
    LiveTranscriber,
    load_at_low_priority,
    quietest_cut,
)
from kiosk.transcription.sample_speech import espeak_available, synthesise
from kiosk.transcription.transcriber import SAMPLE_RATE, Transcriber, language_flag
from kiosk.transcription.transcript import Transcript

needs_espeak = pytest.mark.skipif(not espeak_available(),
                                  reason="espeak-ng is not installed: run make test, which "
                                         "installs it, to generate test speech")

BLOCK = SAMPLE_RATE // 10  # 0.1 s, as the recorder hands audio over
WAIT = 120.0  # a bound for a stuck thread, never a figure asserted on
SENTENCES = (
    "In my last job I worked at the front desk of a busy hotel in the city centre.",
    "One evening a guest arrived late and found that his booking had been cancelled.",
    "He was tired and angry, so I listened to him first and said that I understood.",
    "Then I called our partner hotel nearby and found him a room for the same price.",
    "I booked a taxi for him and wrote to my manager about what had gone wrong.",
    "The next week the guest wrote a kind review and thanked the whole team by name.",
    "I learned that staying calm and acting quickly matters more than any script.",
)


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber()


@pytest.fixture(scope="module")
def answer() -> np.ndarray:
    """About 30 s of speech: sentences with short pauses between them."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed: run make test, which installs it")
    pause = np.zeros(SAMPLE_RATE // 2, np.float32)
    return np.concatenate([part for sentence in SENTENCES
                           for part in (synthesise(sentence), pause)])


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def feed_all(live: LiveTranscriber, samples: np.ndarray, *, as_spoken: bool = False) -> None:
    """Feed `samples` in 0.1 s blocks. `as_spoken`: pace the blocks as a candidate speaking
    in real time would on a machine fast enough to keep up: a block comes only once every
    whole chunk before it is transcribed (however long that takes here)."""
    for start in range(0, len(samples), BLOCK):
        live.feed(samples[start:start + BLOCK])
        fed = (start + BLOCK) / SAMPLE_RATE
        deadline = time.monotonic() + WAIT
        while as_spoken and fed - live.seconds_done >= live._chunk / SAMPLE_RATE \
                and time.monotonic() < deadline:
            time.sleep(0.01)


@needs_espeak
def test_the_live_transcript_reads_like_the_whole_answer(
        transcriber: Transcriber, answer: np.ndarray) -> None:
    assert 25 < len(answer) / SAMPLE_RATE < 40
    whole = transcriber.transcribe_samples(answer, language="en")
    live = LiveTranscriber(transcriber, language="en", chunk_seconds=8.0)
    feed_all(live, answer)
    live.finish()
    heard = live.result(WAIT)
    assert heard is not None
    assert live.chunks_done >= 3  # it was cut: this is not the whole clip in one piece
    error = jiwer.wer(normalised(whole.text), normalised(heard.text))
    assert error < 0.2, (whole.text, heard.text)
    # Times are the answer's: in order, inside it, and ending where the whole one ends.
    starts = [w.start for w in heard.words]
    assert starts == sorted(starts) and starts[0] >= 0
    assert heard.duration == pytest.approx(len(answer) / SAMPLE_RATE)
    assert heard.words[-1].end <= heard.duration + 0.5
    assert heard.words[-1].end == pytest.approx(whole.words[-1].end, abs=1.0)
    assert not heard.needs_review and heard.review_reasons == ()
    assert heard.language == "en" and heard.model == transcriber.info.name


@needs_espeak
def test_chunks_are_done_while_the_answer_comes_in(
        transcriber: Transcriber, answer: np.ndarray) -> None:
    long_answer = np.concatenate([answer, answer])  # about a minute
    live = LiveTranscriber(transcriber, language="en", chunk_seconds=6.0)
    feed_all(live, long_answer, as_spoken=True)
    live.finish()
    heard = live.result(WAIT)
    assert heard is not None and len(heard.words) > 100
    # Only the last, partial chunk was left to do when the answer ended.
    assert live.chunks_done >= 8
    assert live.chunks_before_finish >= live.chunks_done - 1


def test_chunks_are_cut_in_the_quiet_between_words() -> None:
    rng = np.random.default_rng(7)
    speech = rng.normal(0, 0.3, SAMPLE_RATE * 10).astype(np.float32)
    speech[round(6.40 * SAMPLE_RATE):round(6.55 * SAMPLE_RATE)] *= 0.01  # a short pause
    speech[round(7.50 * SAMPLE_RATE):round(7.56 * SAMPLE_RATE)] *= 0.01  # too short to count
    cut = quietest_cut(speech, 8 * SAMPLE_RATE, 3 * SAMPLE_RATE)
    assert 6.40 * SAMPLE_RATE <= cut <= 6.55 * SAMPLE_RATE
    assert cut % FRAME == 0
    # Silence throughout: the latest place, so chunks are as long as they may be.
    assert quietest_cut(np.zeros(SAMPLE_RATE * 10, np.float32), 8 * SAMPLE_RATE,
                        3 * SAMPLE_RATE) >= 7.9 * SAMPLE_RATE


def test_silence_gives_an_empty_transcript(transcriber: Transcriber) -> None:
    live = LiveTranscriber(transcriber, language="en", chunk_seconds=8.0)
    feed_all(live, np.zeros(SAMPLE_RATE * 20, np.float32))
    live.finish()
    heard = live.result(WAIT)
    assert heard is not None
    assert heard.text == "" and heard.words == [] and heard.segments == ()
    assert heard.duration == pytest.approx(20.0)
    assert heard.review_reasons == ("no speech was recognised",)


def test_an_answer_with_no_audio_at_all_is_empty(transcriber: Transcriber) -> None:
    live = LiveTranscriber(transcriber, language="en")
    live.finish()
    heard = live.result(WAIT)
    assert heard is not None and heard.text == "" and heard.duration == 0.0


@needs_espeak
def test_cancel_ends_the_thread_and_drops_the_audio(
        transcriber: Transcriber, answer: np.ndarray) -> None:
    live = LiveTranscriber(transcriber, language="en", chunk_seconds=5.0)
    feed_all(live, answer[:SAMPLE_RATE * 12])
    live.cancel()
    assert live.join(WAIT)
    assert live._blocks == [] and live._queued == 0
    live.feed(answer[:BLOCK])  # a late block from the recorder is ignored
    live.finish()
    assert live._blocks == [] and live.result(0.5) is None


class BrokenModel:
    """A transcriber whose model fails, with words in the error that must not be logged."""

    class info:  # noqa: N801 - stands in for Transcriber.info
        name = "broken"

    def transcribe_samples(self, samples: np.ndarray, *, language: str | None = None,
                           prompt: str | None = None) -> Transcript:
        raise RuntimeError("the candidate said: my secret plan")


def test_a_failing_model_gives_none_and_a_line_without_content(
        caplog: pytest.LogCaptureFixture) -> None:
    live = LiveTranscriber(BrokenModel(), language="en", chunk_seconds=2.0)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="kiosk.transcription.live"):
        feed_all(live, np.full(SAMPLE_RATE * 5, 0.1, np.float32))
        live.finish()
        assert live.result(WAIT) is None
        assert live.join(WAIT)
    records = [r for r in caplog.records if r.name == "kiosk.transcription.live"]
    assert [r.getMessage() for r in records] == ["live_transcription.failed"]
    assert records[0].kiosk_fields == {"error_type": "RuntimeError"}  # type: ignore[attr-defined]
    assert "secret" not in caplog.text
    live.feed(np.zeros(SAMPLE_RATE, np.float32))  # after a failure no audio piles up
    assert live._blocks == []


@needs_espeak
def test_hindi_the_english_model_cannot_read_goes_to_a_person(
        transcriber: Transcriber, answer: np.ndarray) -> None:
    hindi = synthesise("मेरा नाम राहुल है और मैं पिछले तीन साल से ग्राहक सेवा में काम कर रहा हूँ।",
                       "hi")
    # English, then Hindi: one chunk the model cannot read is enough for a person to listen.
    mixed = np.concatenate([answer[:SAMPLE_RATE * 9], np.zeros(SAMPLE_RATE, np.float32), hindi])
    live = LiveTranscriber(transcriber, language="hi", chunk_seconds=8.0)
    feed_all(live, mixed)
    live.finish()
    heard = live.result(WAIT)
    assert heard is not None and live.chunks_done >= 2
    assert heard.needs_review and heard.review_reasons == (language_flag("hi"),)
    assert heard.text == "" and heard.words == [] and heard.segments
    assert heard.language == "hi"


def _compute_by_thread() -> dict[int, tuple[int, int]]:
    """Linux: each thread of this process, its nice value and CPU ticks so far."""
    threads = {}
    for stat in Path("/proc/self/task").glob("*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            threads[int(stat.parent.name)] = (int(fields[16]), int(fields[11]) + int(fields[12]))
    return threads


@needs_espeak
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_a_model_loaded_at_low_priority_computes_at_low_priority(answer: np.ndarray) -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    if base >= 10:
        pytest.skip("this process already runs at nice 10 or more")
    transcriber = load_at_low_priority(threads=1)
    before = _compute_by_thread()
    live = LiveTranscriber(transcriber, language="en", chunk_seconds=8.0)
    feed_all(live, answer)
    live.finish()
    assert live.result(WAIT) is not None
    after = _compute_by_thread()
    worked = {tid: ticks - before.get(tid, (0, 0))[1] for tid, (_, ticks) in after.items()}
    busiest = max(worked, key=lambda tid: worked[tid])
    assert after[busiest][0] >= 10  # the thread that did the transcribing was lowered
