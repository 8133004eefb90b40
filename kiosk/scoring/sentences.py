"""Cutting an answer into sentences with times, even when Whisper gave no punctuation.

A sentence ends at . ? ! or ; after a word, at a pause of at least PAUSE_SECONDS between two
words, and at a segment's end. A sentence still longer than MAX_WORDS is cut at its commas,
and what is still too long into overlapping windows, so that one long unpunctuated ramble
does not blur several points into one.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.transcription.transcript import Transcript, Word

PAUSE_SECONDS = 0.8
MAX_WORDS = 28
WINDOW_WORDS = 16
WINDOW_STEP = 8
CLAUSE_FROM = 10
MIN_CLAUSE_WORDS = 4
_JOINS = frozenset({"and", "but", "so", "then", "because"})
_ENDS = (".", "?", "!", ";", "।", "|")  # "।" is the Devanagari full stop (danda)


@dataclass(frozen=True)
class Sentence:
    """Words of one answer that belong together, with the times they were said."""

    text: str
    start: float
    end: float
    words: int
    spoken: tuple[Word, ...] = ()  # the words themselves, for cutting into clauses


def sentences(transcript: Transcript) -> list[Sentence]:
    """The answer's sentences, in time order."""
    found: list[Sentence] = []
    for segment in transcript.segments:
        words = list(segment.words) or [Word(segment.start, segment.end, part, 1.0)
                                        for part in segment.text.split()]
        current: list[Word] = []
        for index, word in enumerate(words):
            current.append(word)
            following = words[index + 1] if index + 1 < len(words) else None
            pause = following is not None and following.start - word.end >= PAUSE_SECONDS
            if word.word.strip().endswith(_ENDS) or pause or following is None:
                found.extend(_shorter(current))
                current = []
    return found


def _shorter(words: list[Word]) -> list[Sentence]:
    """`words` as one sentence, or cut at commas, or as windows, to at most MAX_WORDS."""
    if len(words) <= MAX_WORDS:
        return [_sentence(words)] if words else []
    parts: list[list[Word]] = [[]]
    for word in words:
        parts[-1].append(word)
        if word.word.strip().endswith(","):
            parts.append([])
    merged: list[list[Word]] = []
    for part in (p for p in parts if p):
        if merged and len(merged[-1]) + len(part) <= MAX_WORDS // 2:
            merged[-1].extend(part)  # keep short clauses together: they need each other
        else:
            merged.append(part)
    out: list[Sentence] = []
    for part in merged:
        if len(part) <= MAX_WORDS:
            out.append(_sentence(part))
        else:
            for first in range(0, max(1, len(part) - WINDOW_WORDS + WINDOW_STEP), WINDOW_STEP):
                out.append(_sentence(part[first: first + WINDOW_WORDS]))
    return out


def _sentence(words: list[Word]) -> Sentence:
    return Sentence(" ".join(w.word.strip() for w in words), words[0].start, words[-1].end,
                    len(words), tuple(words))


def clauses(sentence: Sentence) -> list[Sentence]:
    """The clauses of a sentence of at least CLAUSE_FROM words, cut at commas and before
    "and", "but", "so", "then", "because": one sentence often makes two points ("I'd show a
    few bags in her range, and at the end ask if she likes one"). Empty when it has one."""
    if sentence.words < CLAUSE_FROM:
        return []
    parts: list[list[Word]] = [[]]
    for word in sentence.spoken:
        bare = word.word.strip().lower().strip(",.;:!?")
        if bare in _JOINS and len(parts[-1]) >= MIN_CLAUSE_WORDS:
            parts.append([])
        parts[-1].append(word)
        if word.word.strip().endswith(",") and len(parts[-1]) >= MIN_CLAUSE_WORDS:
            parts.append([])
    kept = [part for part in parts if len(part) >= MIN_CLAUSE_WORDS]
    return [_sentence(part) for part in kept] if len(kept) > 1 else []
