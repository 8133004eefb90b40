"""Suggested rubric levels for a human reviewer, each with its evidence and a plain sentence.

A suggestion is never a decision: the reviewer's score, notes and decision are kept apart
from it. Unclear speech is routed to a person and never lowers a level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kiosk.scoring.evidence import STRUCTURE_LABEL, Evidence, find_evidence
from kiosk.scoring.meaning import SentenceEncoder
from kiosk.session import FOLLOW_UP_SUFFIX, follow_up_key
from kiosk.templates.model import Competency, InterviewTemplate
from kiosk.transcription.transcript import Transcript

LOWEST_LEVEL = 1
HIGHEST_LEVEL = 5


@dataclass(frozen=True)
class Suggestion:
    """A suggested level (1-5) for one competency, or why none is suggested."""

    competency_id: str
    level: int | None  # None when withheld
    evidence: tuple[Evidence, ...]
    explanation: str  # one sentence a candidate could read
    withheld: str | None  # why no level is suggested, for staff; None when there is a level


def suggest(template: InterviewTemplate, transcripts: Mapping[str, Transcript], *,
            ai_consent: bool, model: SentenceEncoder | None = None) -> list[Suggestion]:
    """One suggestion per rubric competency; none at all without the policy and consent.
    With `model`, evidence is found by meaning where the template and language allow it."""
    if not (template.policy.ai_scoring and ai_consent):
        return []
    return [_suggest_one(template, competency, transcripts, model)
            for competency in template.competencies]


def answer_evidence(template: InterviewTemplate, question_id: str, transcript: Transcript,
                    model: SentenceEncoder | None = None) -> list[Evidence]:
    """The evidence of one answer for every competency its question assesses, rubric order
    then time order (what `kiosk evidence` prints and the suggestions are built from)."""
    question = template.question(question_id)
    return [item for competency in template.competencies
            if competency.id in question.competencies
            for item in find_evidence(competency, question_id, transcript, model,
                                      template.competencies, template.unrelated)]


def suggested_level(evidenced: int, looked_for: int) -> int:
    """The level rule: 1 + 4 x evidenced/looked_for, rounded half up, kept within 2..4
    unless nothing (1) or everything (5) is evidenced."""
    if evidenced <= 0:
        return LOWEST_LEVEL
    if evidenced >= looked_for:
        return HIGHEST_LEVEL
    spread = (8 * evidenced + looked_for) // (2 * looked_for)  # round(4k/n), halves up
    return min(HIGHEST_LEVEL - 1, max(LOWEST_LEVEL + 1, LOWEST_LEVEL + spread))


def _suggest_one(template: InterviewTemplate, competency: Competency,
                 transcripts: Mapping[str, Transcript],
                 model: SentenceEncoder | None) -> Suggestion:
    numbers = {question.id: n for n, question in enumerate(template.questions, 1)}
    numbers.update({follow_up_key(q): n for q, n in list(numbers.items())})
    asked = [q.id for q in template.questions if competency.id in q.competencies]
    # A follow-up's answer is searched with its question's: what it shows counts once.
    heard = [key for question_id in asked for key in (question_id, follow_up_key(question_id))
             if key in transcripts]
    evidence = tuple(item for question_id in heard
                     for item in find_evidence(competency, question_id, transcripts[question_id],
                                              model, template.competencies, template.unrelated))
    if not heard:
        return Suggestion(competency.id, None, evidence,
                          "No level is suggested yet: none of the answers for this part of "
                          "the rubric has a transcript.", "no transcript yet")
    unclear = [question_id for question_id in heard if transcripts[question_id].needs_review]
    if unclear:
        # A partial reading could only find less, so any unclear answer withholds the level.
        where = _questions(unclear, numbers)
        reasons = sorted({r for q in unclear for r in transcripts[q].review_reasons})
        detail = f" ({', '.join(reasons)})" if reasons else ""
        return Suggestion(competency.id, None, evidence,
                          f"No level is suggested: {where} may not have been transcribed "
                          "clearly, so a person will listen to it instead; unclear speech "
                          "never lowers a score.", f"needs review: {where}{detail}")
    looked_for = len(competency.indicators) + (1 if competency.structure_cues else 0)
    shown = _first_of_each(competency, evidence, numbers)
    level = suggested_level(len(shown), looked_for)
    found = f"{len(shown)} of" if shown else "none of the"
    items = f" ({'; '.join(shown)})" if shown else ""
    missing = [question_id for question_id in asked if question_id not in transcripts]
    note = f", and {_questions(missing, numbers)} had no transcript to read" if missing else ""
    return Suggestion(competency.id, level, evidence,
                      f"Suggested {level} of {HIGHEST_LEVEL}: the answers show {found} "
                      f"{looked_for} things the rubric looks for{items}{note}.", None)


def _first_of_each(competency: Competency, evidence: Sequence[Evidence],
                   numbers: Mapping[str, int]) -> list[str]:
    """'<what> at m:ss in question N' for the first evidence of each indicator, rubric order."""
    ordered = sorted(evidence, key=lambda e: (numbers[e.question_id], e.start))
    shown: list[str] = []
    for indicator in competency.indicators:
        first = next((e for e in ordered if e.indicator == indicator.label), None)
        if first is not None:
            shown.append(f"{_lower_first(indicator.label)} {_where(first, numbers)}")
    cues = [e for e in ordered if e.indicator.startswith(f"{STRUCTURE_LABEL}:")]
    if cues:
        parts = dict.fromkeys(e.indicator.split(":", 1)[1].strip() for e in cues)
        shown.append(f"a clear structure ({', '.join(parts)}) {_where(cues[0], numbers)}")
    return shown


def _where(item: Evidence, numbers: Mapping[str, int]) -> str:
    if item.question_id.endswith(FOLLOW_UP_SUFFIX):
        return f"at {mmss(item.start)} in the follow-up to question {numbers[item.question_id]}"
    return f"at {mmss(item.start)} in question {numbers[item.question_id]}"


def _questions(question_ids: Sequence[str], numbers: Mapping[str, int]) -> str:
    """'question 2', 'questions 1 and 3', 'questions 1, 2 and 3'."""
    labels = [f"{numbers[q]}'s follow-up" if q.endswith(FOLLOW_UP_SUFFIX) else str(numbers[q])
              for q in question_ids]
    if len(labels) == 1:
        return f"question {labels[0]}"
    return f"questions {', '.join(labels[:-1])} and {labels[-1]}"


def _lower_first(label: str) -> str:
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def mmss(seconds: float) -> str:
    """A time in an answer as m:ss, e.g. 62.4 -> '1:02'."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
