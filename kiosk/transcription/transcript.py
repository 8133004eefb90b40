"""A transcript of one answer: segments and words with times and confidences.

Plain data, JSON-round-trippable, produced by `kiosk.transcription.transcriber` and read by
scoring and the scorecard. Times are seconds from the start of the answer's audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Word:
    """One recognised word (with its leading space stripped)."""

    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class Segment:
    """A stretch of speech the recogniser decoded as a unit."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class Transcript:
    """Everything recognised in one answer, and whether a person should check it."""

    text: str
    language: str
    duration: float
    segments: tuple[Segment, ...]
    needs_review: bool = False
    review_reasons: tuple[str, ...] = ()
    model: str = ""
    language_probability: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def words(self) -> list[Word]:
        """Every word in order."""
        return [word for segment in self.segments for word in segment.words]

    def to_json(self) -> dict[str, Any]:
        """The JSON form (also printed by `kiosk transcribe --json`)."""
        return {
            "text": self.text,
            "language": self.language,
            "language_probability": round(self.language_probability, 4),
            "duration": round(self.duration, 3),
            "needs_review": self.needs_review,
            "review_reasons": list(self.review_reasons),
            "model": self.model,
            "segments": [
                {
                    "start": round(s.start, 3), "end": round(s.end, 3), "text": s.text,
                    "avg_logprob": round(s.avg_logprob, 4),
                    "no_speech_prob": round(s.no_speech_prob, 4),
                    "words": [{"start": round(w.start, 3), "end": round(w.end, 3),
                               "word": w.word, "probability": round(w.probability, 4)}
                              for w in s.words],
                }
                for s in self.segments
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transcript:
        """Rebuild a transcript from `to_json`'s output."""
        return cls(
            text=data["text"], language=data["language"], duration=data["duration"],
            needs_review=data["needs_review"], review_reasons=tuple(data["review_reasons"]),
            model=data.get("model", ""),
            language_probability=data.get("language_probability", 1.0),
            segments=tuple(
                Segment(start=s["start"], end=s["end"], text=s["text"],
                        avg_logprob=s.get("avg_logprob", 0.0),
                        no_speech_prob=s.get("no_speech_prob", 0.0),
                        words=tuple(Word(w["start"], w["end"], w["word"], w["probability"])
                                    for w in s["words"]))
                for s in data["segments"]
            ),
        )
