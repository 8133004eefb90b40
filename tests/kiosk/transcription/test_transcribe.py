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


# --- an English-only model and a Hindi session (issue 15) ---------------------------------

HINDI_FLAG = "may have answered in Hindi: a person listens"
HINDI_ANSWERS = (
    "मेरा नाम राहुल है और मैं पिछले तीन साल से ग्राहक सेवा में काम कर रहा हूँ।",
    "एक बार एक ग्राहक बहुत नाराज़ था, मैंने ध्यान से उसकी बात सुनी और समस्या हल की।",
    "धन्यवाद।",  # one word: the English model read it as "on your mod." with no flag before
    "मेरी सबसे बड़ी ताकत धैर्य है।",
)


@needs_espeak
@pytest.mark.parametrize("answer", HINDI_ANSWERS)
def test_hindi_speech_in_a_hindi_session_is_flagged_and_no_english_guess_is_kept(
        transcriber: Transcriber, answer: str) -> None:
    samples = synthesise(answer, "hi")
    heard = transcriber.transcribe_samples(samples, language="hi")
    assert heard.needs_review and heard.review_reasons == (HINDI_FLAG,)
    assert heard.text == "" and heard.words == [] and all(s.text == "" for s in heard.segments)
    assert heard.language == "hi"
    # Where the speech was stays, for the delivery facts and the reviewer's player.
    spoken = sum(s.end - s.start for s in heard.segments)
    assert spoken >= 0.6 * len(samples) / SAMPLE_RATE
    again = Transcript.from_json(json.loads(json.dumps(heard.to_json())))
    assert again.text == "" and again.review_reasons == (HINDI_FLAG,)


@needs_espeak
def test_clear_english_in_a_hindi_session_is_kept(transcriber: Transcriber,
                                                  speech: np.ndarray) -> None:
    heard = transcriber.transcribe_samples(speech, language="hi")
    assert {"quick", "fox", "dog"} <= set(words_of(heard))
    assert not heard.needs_review and heard.language == "en"


def test_silence_in_a_hindi_session_is_silence_not_hindi(transcriber: Transcriber) -> None:
    heard = transcriber.transcribe_samples(np.zeros(SAMPLE_RATE * 5, dtype=np.float32),
                                           language="hi")
    assert heard.review_reasons == ("no speech was recognised",)


@needs_espeak
def test_hindi_in_an_english_session_gets_no_language_flag(transcriber: Transcriber) -> None:
    heard = transcriber.transcribe_samples(synthesise(HINDI_ANSWERS[0], "hi"), language="en")
    assert HINDI_FLAG not in heard.review_reasons  # the candidate chose English


def sentence_segments(text: str, logprob: float, probability: float) -> tuple[Segment, ...]:
    words = tuple(Word(i * 0.4, i * 0.4 + 0.3, w, probability)
                  for i, w in enumerate(text.split()))
    return (Segment(0.0, len(words) * 0.4, text, words, logprob, 0.05),)


@pytest.mark.parametrize(("text", "logprob", "probability", "english"), [
    ("I organised the college fest with twelve people.", -0.3, 0.92, True),
    ("I organised the college fest with twelve people.", -0.93, 0.92, False),
    ("on your mod.", -0.5, 0.47, False),  # espeak-ng's Hindi "thank you", as tiny.en read it
    ("Thank you very much. Thank you very much.", -0.2, 0.95, False),  # invented, repeated
    ("", -0.1, 0.99, False),
])
def test_what_counts_as_read_as_english(text: str, logprob: float, probability: float,
                                        english: bool) -> None:
    assert transcribe.reads_as_english(sentence_segments(text, logprob, probability)) is english


def fake_model(folder: Path, vocabulary: int, *, as_json: bool = False) -> Path:
    folder.mkdir()
    for name in transcribe.REQUIRED_FILES:
        (folder / name).write_bytes(b"{}")
    tokens = [f"t{i}" for i in range(vocabulary)]
    if as_json:
        (folder / "vocabulary.json").write_text(json.dumps(tokens))
    else:
        (folder / "vocabulary.txt").write_text("\n".join(tokens) + "\n")
    return folder


def test_whether_a_model_is_english_only_is_read_from_its_vocabulary(tmp_path: Path) -> None:
    assert check_model(copy_model(tmp_path)).english_only  # tiny.en under any folder name
    assert not check_model(fake_model(tmp_path / "small", 51865)).english_only
    assert not check_model(fake_model(tmp_path / "large-v3", 51866, as_json=True)).english_only
    assert check_model(fake_model(tmp_path / "medium.en", 51864, as_json=True)).english_only


def test_a_multilingual_model_is_given_the_sessions_language(
        transcriber: Transcriber, monkeypatch) -> None:
    asked: list[str | None] = []
    model = transcriber._model
    real = model.transcribe

    def spy(*args, **kwargs):
        asked.append(kwargs.get("language"))
        return real(*args, **kwargs)

    monkeypatch.setattr(model, "transcribe", spy)
    monkeypatch.setattr(transcriber, "info", transcribe.ModelInfo(
        transcriber.info.path, "multilingual", bundled=False, english_only=False))
    silence = np.zeros(SAMPLE_RATE * 2, dtype=np.float32)
    heard = transcriber.transcribe_samples(silence, language="hi")
    assert asked == ["hi"] and HINDI_FLAG not in heard.review_reasons


@needs_espeak
def test_each_segment_is_handed_over_as_it_is_recognised(transcriber: Transcriber) -> None:
    speech = synthesise("The parcel left the warehouse on Monday. It reached the wrong city "
                        "on Wednesday. We sent it back the same evening.")
    pause = np.zeros(SAMPLE_RATE * 2, dtype=np.float32)
    handed: list[Segment] = []
    transcript = transcriber.transcribe_samples(np.concatenate([speech, pause, speech]),
                                                on_segment=handed.append)
    assert len(transcript.segments) >= 2
    assert handed == list(transcript.segments)


@needs_espeak
def test_a_failing_segment_callback_loses_nothing(transcriber: Transcriber, speech: np.ndarray,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    calls: list[Segment] = []

    def fails(segment: Segment) -> None:
        calls.append(segment)
        raise RuntimeError("said: " + segment.text)  # a message may quote the answer

    plain = transcriber.transcribe_samples(speech)
    with caplog.at_level("WARNING"):
        transcript = transcriber.transcribe_samples(speech, on_segment=fails)
    assert transcript == plain and len(calls) == 1  # dropped after its first failure
    (record,) = [r for r in caplog.records
                 if r.getMessage() == "transcription.segment_callback_failed"]
    assert record.kiosk_fields == {"error_type": "RuntimeError"}  # type: ignore[attr-defined]
    assert "fox" not in caplog.text
