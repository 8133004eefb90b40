"""Finding where an answer says what a rubric indicator looks for, with the times it was said."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kiosk.scoring.meaning import METHOD as MEANING
from kiosk.scoring.meaning import SentenceEncoder, can_use_meaning, find_hits
from kiosk.scoring.text import normalise
from kiosk.templates.model import Competency
from kiosk.transcription.transcript import Transcript, Word

STRUCTURE_LABEL = "structure"

# How a piece of evidence was found: by the template's phrases, or by meaning.
EVIDENCE_METHODS = ("phrases", "meaning")

# Cues that an answer is told as situation, task, action and result. They count only for
# competencies with `structure_cues = true`, and together as one extra indicator.
STRUCTURE_CUES: dict[str, tuple[str, ...]] = {
    "situation": ("the situation was", "at the time", "there was a time", "one time",
                  "back when", "when i was"),
    "task": ("my task", "my job was", "my role was", "i was responsible", "i had to",
             "the goal was"),
    "action": ("i decided", "so i", "i started by", "what i did", "first i", "i talked to"),
    "result": ("as a result", "in the end", "it turned out", "we managed to", "i managed to",
               "the result was", "it worked"),
}


@dataclass(frozen=True)
class Evidence:
    """A stretch of one answer that matches an indicator phrase or a structure cue."""

    question_id: str
    start: float  # seconds into the answer: the first matched word's start
    end: float  # the last matched word's end
    text: str  # the matched words as they were recognised
    indicator: str  # the indicator's label, or "structure: <part>"
    phrase: str  # the phrase or cue as the rubric wrote it
    score: float = 1.0  # how strongly it shows the indicator, 0 to 1 (a phrase match is 1)
    method: str = "phrases"  # what found it: one of EVIDENCE_METHODS


def find_evidence(competency: Competency, question_id: str, transcript: Transcript,
                  model: SentenceEncoder | None = None,
                  rubric: Sequence[Competency] = (),
                  unrelated: Mapping[str, Sequence[str]] | None = None) -> list[Evidence]:
    """The answer's evidence for the competency, in time order: by meaning when `model` is
    given, reads the answer's language and the template has examples in it; else by phrases.
    Each piece of evidence names the method that found it. `rubric`, every competency of the
    template, and `unrelated`, its sentences that show no indicator (by language), sharpen
    the meaning of each indicator."""
    language = answer_language(transcript)
    if model is not None and can_use_meaning(competency, language, model):
        found = [Evidence(question_id, hit.sentence.start, hit.sentence.end, hit.sentence.text,
                          hit.indicator, hit.example, hit.score, MEANING)
                 for hit in find_hits(competency, transcript, model, language, rubric,
                                      unrelated=(unrelated or {}).get(language, ()))]
        if competency.structure_cues:  # the structure cues stay phrases: they are phrases
            found.extend(e for e in find_by_phrases(competency, question_id, transcript)
                         if e.indicator.startswith(f"{STRUCTURE_LABEL}:"))
        return sorted(found, key=lambda e: (e.start, e.end, e.indicator))
    return find_by_phrases(competency, question_id, transcript)


def answer_language(transcript: Transcript) -> str:
    """The answer's language: Hindi if any of it is written in Devanagari (a typed answer in
    a Hindi session may still be English), else what the transcript says."""
    if any("\u0900" <= char <= "\u097f" for char in transcript.text):
        return "hi"
    return transcript.language or "en"


def find_by_phrases(competency: Competency, question_id: str,
                    transcript: Transcript) -> list[Evidence]:
    """Every span of `transcript` that matches one of the competency's phrases, in time order."""
    words = _words(transcript)
    tokens = [(token, index) for index, word in enumerate(words)
              for token in normalise(word.word)]
    found: dict[tuple[str, int, int], Evidence] = {}
    for label, phrase in _phrases(competency):
        wanted = normalise(phrase)
        for first, last in _matches([token for token, _ in tokens], wanted):
            span = (label, tokens[first][1], tokens[last][1])
            if span not in found:  # "honest" and "honestly" find the same words once
                spoken = words[span[1]: span[2] + 1]
                found[span] = Evidence(question_id, spoken[0].start, spoken[-1].end,
                                       " ".join(w.word.strip() for w in spoken), label, phrase)
    return sorted(found.values(), key=lambda e: (e.start, e.end, e.indicator))


def story_parts(transcript: Transcript) -> set[str]:
    """The parts of a told story (situation, task, action, result) the answer has cues of."""
    tokens = [token for word in _words(transcript) for token in normalise(word.word)]
    return {part for part, cues in STRUCTURE_CUES.items()
            if any(next(iter(_matches(tokens, normalise(cue))), None) for cue in cues)}


def _phrases(competency: Competency) -> Iterable[tuple[str, str]]:
    """(label, phrase) pairs to look for: the indicators', then the structure cues if used."""
    for indicator in competency.indicators:
        for phrase in indicator.phrases:
            yield indicator.label, phrase
    if competency.structure_cues:
        for part, cues in STRUCTURE_CUES.items():
            for cue in cues:
                yield f"{STRUCTURE_LABEL}: {part}", cue


def _matches(tokens: Sequence[str], wanted: Sequence[str]) -> Iterable[tuple[int, int]]:
    """(first, last) token positions where `wanted` occurs in `tokens`."""
    size = len(wanted)
    if size == 0:
        return
    for first in range(len(tokens) - size + 1):
        if tokens[first] == wanted[0] and list(tokens[first: first + size]) == list(wanted):
            yield first, first + size - 1


def _words(transcript: Transcript) -> list[Word]:
    """Every word in order; a segment without word times (a typed answer) gives its own."""
    words: list[Word] = []
    for segment in transcript.segments:
        if segment.words:
            words.extend(segment.words)
        else:
            words.extend(Word(segment.start, segment.end, part, 1.0)
                         for part in segment.text.split())
    return words
