"""Facts about how long and how fast an answer was: shown to the reviewer, never scored."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.transcription.transcript import Transcript


@dataclass(frozen=True)
class DeliveryFacts:
    """Timing facts about one answer. They never feed a suggested level."""

    question_id: str
    speaking_seconds: float  # sum of word durations (segment spans if there are no words)
    words: int
    words_per_minute: float | None  # words per minute of speaking time; None if none
    longest_silence: float  # largest gap, counting before the first and after the last word
    share_of_time_used: float  # answer duration / time allowed, at most 1


def delivery_facts(question_id: str, transcript: Transcript,
                   answer_seconds_allowed: float) -> DeliveryFacts:
    """The timing facts of `transcript`, an answer that was allowed `answer_seconds_allowed`."""
    if answer_seconds_allowed <= 0:
        raise ValueError(f"answer_seconds_allowed must be positive, got {answer_seconds_allowed}")
    words = transcript.words
    if words:
        spans = [(word.start, word.end) for word in words]
        count = len(words)
    else:
        spans = [(segment.start, segment.end) for segment in transcript.segments]
        count = len(transcript.text.split())
    spans.sort()
    speaking = sum(max(0.0, end - start) for start, end in spans)
    duration = max([transcript.duration, *(end for _, end in spans)])
    longest, heard_until = 0.0, 0.0
    for start, end in spans:
        longest = max(longest, start - heard_until)
        heard_until = max(heard_until, end)
    longest = max(longest, duration - heard_until)
    return DeliveryFacts(
        question_id=question_id,
        speaking_seconds=speaking,
        words=count,
        words_per_minute=count * 60.0 / speaking if count and speaking > 0 else None,
        longest_silence=longest,
        share_of_time_used=min(1.0, duration / answer_seconds_allowed),
    )
