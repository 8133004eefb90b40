"""Whether a kept answer gets its question's follow-up probe: one rule, the same for everyone.

The first probe of the question, in template order, whose condition holds is asked: an
indicator it is tied to has no evidence in the answer, the story part it is tied to is not
told, or the answer has fewer words than its threshold. Nothing is asked of an answer whose
transcript needs review. The rule reads only the answer's words: never who the candidate is.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from kiosk.scoring.evidence import find_evidence, story_parts
from kiosk.scoring.meaning import SentenceEncoder
from kiosk.session import FollowUpOutcome
from kiosk.templates.model import Competency, Probe, Question
from kiosk.transcription.transcript import Transcript


def choose(question: Question, transcript: Transcript,
           shown: Collection[tuple[str, str]], parts: Collection[str]
           ) -> tuple[FollowUpOutcome, Probe | None]:
    """The decision, given the (competency, indicator label) pairs the answer shows and the
    story parts it tells."""
    if not question.probes:
        return FollowUpOutcome.NOT_NEEDED, None
    if transcript.needs_review:
        return FollowUpOutcome.NEEDS_REVIEW, None
    words = len(transcript.text.split())
    for probe in question.probes:
        if probe.fewer_words_than is not None and words < probe.fewer_words_than:
            return FollowUpOutcome.ASKED, probe
        if probe.part is not None and probe.part not in parts:
            return FollowUpOutcome.ASKED, probe
        if probe.indicator is not None and (probe.competency, probe.indicator) not in shown:
            return FollowUpOutcome.ASKED, probe
    return FollowUpOutcome.NOT_NEEDED, None


def decide(question: Question, transcript: Transcript, rubric: Sequence[Competency],
           model: SentenceEncoder | None,
           unrelated: Mapping[str, Sequence[str]] | None = None
           ) -> tuple[FollowUpOutcome, Probe | None]:
    """The decision for a kept answer: its evidence found as scoring finds it (by meaning
    where `model` is given), then `choose`."""
    tied = {p.competency for p in question.probes if p.competency is not None}
    shown = {(c.id, e.indicator) for c in rubric if c.id in tied
             for e in find_evidence(c, question.id, transcript, model, rubric, unrelated)}
    return choose(question, transcript, shown, story_parts(transcript))


def because(probe: Probe) -> str:
    """Why a probe is asked, for reviewers: 'because …'."""
    if probe.part is not None:
        return {"situation": "no situation was described", "task": "no task was described",
                "action": "no action was described",
                "result": "no result was described"}[probe.part]
    if probe.indicator is not None:
        return f"the answer showed no evidence of “{probe.indicator}”"
    return f"the answer had fewer than {probe.fewer_words_than} words"
