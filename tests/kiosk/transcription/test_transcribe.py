"""Transcription: the bundled model hears generated speech, not silence, and refuses bad models."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from capture.audio_file import encode_aac
from kiosk.transcription import transcriber as transcribe
from kiosk.transcription.sample_speech import espeak_available, synthesise
from kiosk.transcription.transcriber import (
    SAMPLE_RATE,
    ModelError,
    Transcriber,
    TranscriptionError,
    check_model,
    decode_audio,
    review_reasons,
)
from kiosk.transcription.transcript import Segment, Transcript, Word
from kiosk.vault import Identity, VaultReader, VaultWriter

needs_espeak = pytest.mark.skipif(not espeak_available(),
                                  reason="espeak-ng is not installed: run make test, which "
                                         "installs it, to generate test speech")

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber()


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    if not espeak_available():
        pytest.skip("espeak-ng is not installed: run make test, which installs it")
    return synthesise(SENTENCE)


def words_of(transcript: Transcript) -> list[str]:
    return [w.word.strip(".,!?").lower() for w in transcript.words]


@needs_espeak
def test_generated_speech_is_heard(transcriber: Transcriber, speech: np.ndarray) -> None:
    transcript = transcriber.transcribe_samples(speech)
    heard = words_of(transcript)
    for word in ("quick", "fox", "over", "lazy", "dog", "river"):
        assert word in heard
    assert transcript.language == "en" and not transcript.needs_review
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)
    assert transcript.words[0].start >= 0
    assert transcript.words[-1].end <= transcript.duration + 0.5


def test_silence_gives_no_words_and_asks_for_a_person(transcriber: Transcriber) -> None:
    transcript = transcriber.transcribe_samples(np.zeros(SAMPLE_RATE * 20, dtype=np.float32))
    assert transcript.words == [] and transcript.text == ""
    assert transcript.needs_review
    assert transcript.review_reasons == ("no speech was recognised",)


@needs_espeak
def test_speech_stored_as_aac_in_the_vault_is_heard_from_memory(
        transcriber: Transcriber, speech: np.ndarray) -> None:
    me = Identity.generate()
    sealed = io.BytesIO()
    with VaultWriter(sealed, [me.recipient]) as writer:
        encode_aac(speech, SAMPLE_RATE, writer)
    assert b"fox" not in sealed.getvalue()
    with VaultReader(io.BytesIO(sealed.getvalue()), [me]) as reader:
        transcript = transcriber.transcribe(reader)
    assert {"quick", "fox", "dog"} <= set(words_of(transcript))


@needs_espeak
def test_json_round_trip(transcriber: Transcriber, speech: np.ndarray) -> None:
    transcript = transcriber.transcribe_samples(speech)
    again = Transcript.from_json(json.loads(json.dumps(transcript.to_json())))
    assert again.text == transcript.text
    assert [w.word for w in again.words] == [w.word for w in transcript.words]


def test_unreadable_audio_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "not-audio.wav"
    path.write_text("hello")
    with pytest.raises(TranscriptionError, match="cannot read audio"):
        decode_audio(path)


def make_segments(words: int, seconds: float, logprob: float = -0.3,
                  no_speech: float = 0.1) -> tuple[Segment, ...]:
    step = seconds / max(words, 1)
    return (Segment(0.0, seconds, "x", tuple(Word(i * step, (i + 1) * step, "w", 0.9)
                                             for i in range(words)), logprob, no_speech),)


@pytest.mark.parametrize(("segments", "duration", "reason"), [
    (make_segments(40, 20, logprob=-1.4), 20.0, "low recognition confidence"),
    (make_segments(40, 20, no_speech=0.8), 20.0, "mostly not recognised as speech"),
    (make_segments(3, 20), 60.0, "very few words for the answer's length"),
    ((), 30.0, "no speech was recognised"),
])
def test_review_reasons(segments: tuple[Segment, ...], duration: float, reason: str) -> None:
    assert reason in review_reasons(segments, duration)


def test_a_clear_answer_needs_no_review() -> None:
    assert review_reasons(make_segments(60, 30), 30.0) == []
    assert review_reasons(make_segments(3, 2), 5.0) == []  # a short answer may be short


def copy_model(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(transcribe.bundled_model_dir(), target)
    return target


def test_the_bundled_model_passes_its_digests() -> None:
    info = check_model()
    assert info.bundled and info.english_only and info.name.startswith("tiny.en")


def test_a_corrupt_bundled_model_is_refused_at_start_up(tmp_path: Path, monkeypatch) -> None:
    copied = copy_model(tmp_path)
    config = copied / "config.json"
    config.write_text(config.read_text().replace("}", ' }', 1))
    monkeypatch.setattr(transcribe, "bundled_model_dir", lambda: copied)
    with pytest.raises(ModelError, match="config.json is missing or corrupt"):
        Transcriber()


def test_a_missing_model_file_is_refused(tmp_path: Path) -> None:
    copied = copy_model(tmp_path)
    (copied / "model.bin").unlink()
    with pytest.raises(ModelError, match="lacks model.bin"):
        check_model(copied)
    with pytest.raises(ModelError, match="does not exist"):
        check_model(tmp_path / "nowhere")


def test_a_custom_model_folder_is_used_as_given(tmp_path: Path) -> None:
    copied = copy_model(tmp_path)
    info = check_model(copied)
    assert not info.bundled and info.name == "model"
