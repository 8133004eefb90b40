"""Finding rubric evidence by meaning: which sentences of an answer show an indicator.

The template gives every indicator example sentences that show it and near-misses that do
not, and may give sentences that show none of its indicators (`unrelated`: story context,
results, small talk). From them, a small linear classifier is fitted per indicator (once per
template and process): the examples that show the indicator against its near-misses, the
examples of the template's other indicators and the unrelated sentences, on sentence vectors
from the sentence model, centred on the template's mean so that what all answers share does
not count. Each sentence of the answer gets a probability per indicator, and so does each
of its clauses when a long sentence has several (a story often makes its point in one
clause, and a clause often needs the rest of its sentence to make sense). It is evidence
when

- the probability reaches `Thresholds.probability`, or a lower `Thresholds.with_phrase` when
  the clause also contains one of the indicator's phrases (the phrases the template had
  before, now confirmed by meaning), and
- of all the template's example sentences, the one nearest in meaning to the clause is an
  example that shows this indicator (not a near-miss, another indicator's or an unrelated
  one), unless the probability reaches `Thresholds.confident`: the reviewer sees the nearest
  example that shows it next to the evidence, and
- a clause's whole sentence leans the same way, if only a little (`Thresholds.sentence_floor`),
  and more than a little for a clause of a few words (`Thresholds.short_clause_floor`): a few
  words cut from a sentence about something else ("I will directly add caching", in a plan
  with no reason; "and i was stuck for", from unpunctuated speech) are not read as a point
  made.

Then four plain rules, which a reviewer can check by reading:

- someone else: a clause about what another person did ("she divided the work", "he
  listened to both sides"), with no "I", "we" or "you" in it, shows nothing of the
  candidate's own behaviour;
- negation: a clause with a negation ("not", "never", "won't", "instead of"...) does not
  count for an indicator whose nearest example has none: "I won't just say I understand"
  is not "I understand", "I would never say sorry" is not "I'm sorry";
- stuffing: a sentence that would show many indicators with few words each, or is a list of
  fragments ("please, I understand, next step, is there anything else"), shows none;
- repetition: an indicator counts once per answer, with its best clause.

Pure: the sentence model is passed in; nothing here reads files. Fitted classifiers are
remembered per model and example set (a cache of a pure computation).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kiosk.scoring.sentences import Sentence, clauses, sentences
from kiosk.scoring.text import normalise
from kiosk.templates.model import Competency, Indicator
from kiosk.transcription.transcript import Segment, Transcript

METHOD = "meaning"


class SentenceEncoder(Protocol):
    """What the finder needs of a sentence model (kiosk.scoring.evidence_model.SentenceModel)."""

    languages: tuple[str, ...]  # languages it was measured to find evidence in

    def __hash__(self) -> int: ...  # fitted classifiers are remembered per model

    def encode(self, sentences: Sequence[str]) -> np.ndarray: ...

    def encode_examples(self, sentences: Sequence[str]) -> np.ndarray: ...

    def fitted(self, key: bytes) -> np.ndarray | None: ...  # a classifier kept earlier

    def keep_fitted(self, key: bytes, weights: np.ndarray) -> None: ...


@dataclass(frozen=True)
class Thresholds:
    """When a clause counts: set on the seen benchmark sets, never on an untouched one
    (docs/benchmarks.md)."""

    probability: float = 0.6  # the indicator's classifier alone
    with_phrase: float = 0.3  # the classifier, for a clause with one of the phrases of two
    # words or more, or two of the one-word phrases ("first ... then"): one word like "then"
    # or "please" says too little to lower the bar)
    confident: float = 0.9  # a clause the classifier is this sure of needs no nearest example
    stuffing_hits: int = 3  # a sentence that shows this many indicators...
    stuffing_words: float = 6.0  # ...with fewer words per indicator than this shows none
    sentence_floor: float = 0.1  # a clause counts only if its whole sentence reaches this
    short_clause_words: int = 8  # a clause of this many words or fewer...
    short_clause_floor: float = 0.4  # ...counts only if its whole sentence reaches this


DEFAULT_THRESHOLDS = Thresholds()

_NEGATIONS = frozenset({
    "not", "never", "no", "dont", "wont", "wouldnt", "didnt", "doesnt", "cant", "cannot",
    "couldnt", "shouldnt", "isnt", "arent", "wasnt", "nobody", "nothing", "instead", "rather",
    "without", "neither", "nor", "hardly",
})
# Who a clause is about: the candidate speaks as "I" or "we", or to the customer as "you".
# Words read with their apostrophes: "well", "were" and "ill" are words of their own.
_CANDIDATE = frozenset({
    "i", "i'm", "i'd", "i'll", "i've", "im", "ive", "me", "my", "mine", "myself", "we", "we're",
    "we'd", "we'll", "we've", "us", "our", "ours", "let's", "lets", "you", "you're", "you'd",
    "you'll", "you've", "youre", "youd", "youll", "youve", "your", "yours", "sir", "madam",
    "ma'am", "maam", "mam",
})
_SOMEONE_ELSE = frozenset({
    "he", "she", "they", "he's", "she's", "they're", "he'd", "she'd", "they'd", "he'll",
    "she'll", "they'll", "they've", "hes", "shes", "theyre", "theyd", "theyll", "theyve",
})
_THEIRS = frozenset({"his", "her", "their"})  # "her manager divided...": a subject when first
# Words a spoken clause opens with before its subject ("and then she...").
_OPENERS = frozenset({
    "and", "so", "then", "but", "also", "basically", "um", "umm", "uh", "like", "actually",
    "okay", "ok", "after", "that", "because", "now", "later", "yeah", "accha", "first",
    "finally", "next",
})
_PRONOUN_WORDS = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SCALE = 5.0  # unit vectors are small numbers; scaled, the fit converges in few steps
_STEPS = 500
_RATE = 1.0
_L2 = 1.0


@dataclass(frozen=True)
class Hit:
    """One clause that shows one indicator."""

    indicator: str
    sentence: Sentence
    example: str  # the example sentence it is nearest to
    score: float  # the classifier's probability, 0 to 1


def can_use_meaning(competency: Competency, language: str,
                    model: SentenceEncoder | None) -> bool:
    """Whether the competency can be read by meaning in `language` with `model`."""
    return (model is not None and language in model.languages
            and all(indicator.shows.get(language) for indicator in competency.indicators))


def find_hits(competency: Competency, transcript: Transcript, model: SentenceEncoder,
              language: str, rubric: Sequence[Competency] = (),
              thresholds: Thresholds = DEFAULT_THRESHOLDS,
              unrelated: Sequence[str] = ()) -> list[Hit]:
    """The best clause for each indicator the answer shows, in rubric order. `rubric` is
    every competency of the template (the other indicators' examples sharpen each one);
    `unrelated`, the template's sentences that show none of them, in `language`."""
    whole = sentences(transcript)
    units = _units(whole)
    if not units:
        return []
    everyone = [i for c in (rubric or (competency,)) for i in c.indicators]
    vectors = model.encode([unit.text for _, unit in units])
    everything = _all_examples(everyone, language)
    vectors = _centred(vectors, _centre(model, everything))
    pool, rows = _pool(model, tuple(dict.fromkeys((*everything, *unrelated))), everything)
    alike = vectors @ pool.T  # how near each clause is to each example sentence
    by_sentence: dict[int, list[Hit]] = {}
    for indicator in competency.indicators:
        others = (*(s for i in everyone if i.label != indicator.label
                    for s in i.shows.get(language, ())), *unrelated)
        for position, hit in _indicator_hits(indicator, units, vectors, (alike, rows), model,
                                             language, others, everything, thresholds):
            by_sentence.setdefault(position, []).append(hit)
    best: dict[str, Hit] = {}
    for position, hits in by_sentence.items():
        if _stuffed(whole[position], len({h.indicator for h in hits}), thresholds):
            continue
        for hit in hits:
            if hit.indicator not in best or hit.score > best[hit.indicator].score:
                best[hit.indicator] = hit
    return [best[i.label] for i in competency.indicators if i.label in best]


def read_ahead(model: SentenceEncoder, segments: Sequence[Segment]) -> None:
    """Encode what `find_hits` will read of these segments, while the rest of the answer is
    still being transcribed: the model remembers the vectors, so once the transcript is whole
    only its last segments are left to encode. A sentence never spans two segments
    (kiosk.scoring.sentences), so the pieces are those of the whole answer."""
    part = Transcript(text="", language="", duration=0.0, segments=tuple(segments))
    units = _units(sentences(part))
    if units:
        model.encode([unit.text for _, unit in units])


def _units(whole: Sequence[Sentence]) -> list[tuple[int, Sentence]]:
    """What is read of each sentence: its clauses, then the sentence itself, last."""
    return [(index, unit) for index, sentence in enumerate(whole)
            for unit in dict.fromkeys([*clauses(sentence), sentence])]


def _indicator_hits(indicator: Indicator, units: Sequence[tuple[int, Sentence]],
                    vectors: np.ndarray, nearness: tuple[np.ndarray, dict[str, int]],
                    model: SentenceEncoder, language: str, others: tuple[str, ...],
                    everything: tuple[str, ...], thresholds: Thresholds
                    ) -> list[tuple[int, Hit]]:
    alike, rows = nearness  # each clause's nearness to each example, and their columns
    shows = indicator.shows.get(language, ())
    near = indicator.near_misses.get(language, ())
    weights, bias = _classifier(model, shows, near, others, everything)
    probability = 1.0 / (1.0 + np.exp(-(_SCALE * vectors @ weights + bias)))
    alike_shows = alike[:, [rows[s] for s in shows]]
    alike_rest = alike[:, [rows[s] for s in (*near, *others)]]
    nearest = alike_shows.argmax(axis=1)
    rest = alike_rest.max(axis=1) if alike_rest.shape[1] else np.full(len(units), -np.inf)
    closer_to_shows = alike_shows.max(axis=1) > rest
    phrases = [normalise(phrase) for phrase in indicator.phrases]
    # Each sentence's own probability: the last of its units (`_units`) is the sentence.
    whole = {position: float(probability[row]) for row, (position, _) in enumerate(units)}
    found: list[tuple[int, Hit]] = []
    for row, (position, unit) in enumerate(units):
        example = shows[int(nearest[row])]
        chance = float(probability[row])
        floor = (thresholds.short_clause_floor
                 if unit.words <= thresholds.short_clause_words else thresholds.sentence_floor)
        if whole[position] < floor or _about_someone_else(unit.text):
            continue
        needed = (thresholds.with_phrase if _has_phrase(unit.text, phrases)
                  else thresholds.probability)
        if chance < needed or (chance < thresholds.confident and not closer_to_shows[row]):
            continue
        if _negated(unit.text) and not _negated(example):
            continue
        found.append((position, Hit(indicator.label, unit, example, round(chance, 3))))
    return found


def _all_examples(indicators: Sequence[Indicator], language: str) -> tuple[str, ...]:
    return tuple(s for i in indicators
                 for s in (*i.shows.get(language, ()), *i.near_misses.get(language, ())))


@functools.lru_cache(maxsize=8)
def _pool(model: SentenceEncoder, examples: tuple[str, ...], everything: tuple[str, ...]
          ) -> tuple[np.ndarray, dict[str, int]]:
    """The centred vectors of all a template's example sentences, with each one's row: built
    once per process, since every answer is compared with all of them (rebuilding them per
    indicator and answer was a tenth of the answer's time)."""
    matrix = _centred(model.encode_examples(list(examples)), _centre(model, everything))
    return matrix, {sentence: row for row, sentence in enumerate(examples)}


@functools.lru_cache(maxsize=64)
def _centre(model: SentenceEncoder, examples: tuple[str, ...]) -> np.ndarray:
    """The mean vector of a template's examples: what all its sentences share."""
    mean: np.ndarray = model.encode_examples(list(examples)).mean(axis=0)
    return mean


def _centred(vectors: np.ndarray, centre: np.ndarray) -> np.ndarray:
    moved = vectors - centre
    lengths = np.linalg.norm(moved, axis=1, keepdims=True)
    result: np.ndarray = moved / np.maximum(lengths, 1e-9)
    return result


@functools.lru_cache(maxsize=256)
def _classifier(model: SentenceEncoder, shows: tuple[str, ...], near: tuple[str, ...],
                others: tuple[str, ...], everything: tuple[str, ...]
                ) -> tuple[np.ndarray, float]:
    """Logistic regression (balanced, L2) of `shows` against `near` and `others`, on centred
    vectors; fitted by plain gradient descent: a few hundred steps on a few thousand rows,
    seconds per interview, so the model keeps the result for later processes."""
    key = hashlib.sha256(json.dumps([shows, near, others, everything, _SCALE, _STEPS, _RATE,
                                     _L2]).encode("utf-8")).hexdigest().encode("ascii")
    kept = model.fitted(key)
    if kept is not None:  # its width was checked when it was read
        return kept[:-1].astype(np.float64), float(kept[-1])
    centre = _centre(model, everything)
    rows = _centred(model.encode_examples([*shows, *near, *others]), centre) * _SCALE
    target = np.r_[np.ones(len(shows)), np.zeros(len(near) + len(others))]
    balance = np.where(target == 1, (len(near) + len(others)) / max(1, len(shows)), 1.0)
    weights = np.zeros(rows.shape[1])
    bias = 0.0
    for _ in range(_STEPS):
        error = (1.0 / (1.0 + np.exp(-(rows @ weights + bias))) - target) * balance
        weights -= _RATE * (rows.T @ error / len(target) + _L2 * weights / len(target))
        bias -= _RATE * float(error.mean())
    model.keep_fitted(key, np.r_[weights, bias])
    return weights, bias


def _has_phrase(text: str, phrases: Sequence[Sequence[str]]) -> bool:
    """A phrase of two words or more in `text`, or two different one-word phrases."""
    tokens = normalise(text)
    found = [phrase for phrase in phrases
             if phrase and any(tokens[k: k + len(phrase)] == list(phrase)
                               for k in range(len(tokens) - len(phrase) + 1))]
    return any(len(phrase) >= 2 for phrase in found) or len(found) >= 2


def _words(text: str) -> list[str]:
    cleaned = "".join(ch.lower() if ch.isalnum() else (" " if ch not in "'\u2019" else "")
                      for ch in text)
    return cleaned.split()


def _about_someone_else(text: str) -> bool:
    """A clause whose subject is another person and that never names the candidate."""
    words = _PRONOUN_WORDS.findall(text.lower().replace("\u2019", "'"))
    if any(word in _CANDIDATE for word in words):
        return False
    subject = next((word for word in words if word not in _OPENERS), "")
    return subject in _THEIRS or any(word in _SOMEONE_ELSE for word in words)


def _negated(text: str) -> bool:
    return any(word in _NEGATIONS for word in _words(text))


def _stuffed(sentence: Sentence, hits: int, thresholds: Thresholds) -> bool:
    """A sentence that claims too much for its length, or is a list of fragments."""
    if hits >= thresholds.stuffing_hits and sentence.words / hits < thresholds.stuffing_words:
        return True
    fragments = [f for f in sentence.text.split(",") if f.strip()]
    return len(fragments) >= 4 and sentence.words / len(fragments) < 3.5
