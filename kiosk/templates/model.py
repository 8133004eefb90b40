"""What an interview template is, once read and checked: frozen, typed, ready for the flow."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class AnswerMode(enum.StrEnum):
    """How a question is answered."""

    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"


@dataclass(frozen=True)
class LocalText:
    """Text a candidate reads, one version per language the template declares."""

    by_language: Mapping[str, str]

    def get(self, language: str) -> str:
        """The text in `language`, or in the template's first language if it has none."""
        if language in self.by_language:
            return self.by_language[language]
        return next(iter(self.by_language.values()))


# The parts of a told story a probe may ask after (the STAR cues of scoring's evidence).
STORY_PARTS = ("situation", "task", "action", "result")


@dataclass(frozen=True)
class Probe:
    """A short follow-up a question may ask once its answer is kept, when the answer lacks
    what the probe is tied to: exactly one of an indicator of one of the question's
    competencies, a part of a told story, or a word count (the answer too short to judge)."""

    id: str
    prompt: LocalText
    answer_seconds: float
    think_seconds: float = 10
    retakes: int = 0
    competency: str | None = None
    indicator: str | None = None       # an indicator label of `competency`
    part: str | None = None            # one of STORY_PARTS
    fewer_words_than: int | None = None

    @property
    def target(self) -> str:
        """What the probe is tied to, as the decision record names it."""
        if self.indicator is not None:
            return f"{self.competency}: {self.indicator}"
        if self.part is not None:
            return f"structure: {self.part}"
        return f"fewer than {self.fewer_words_than} words"


@dataclass(frozen=True)
class FollowUps:
    """Interview-wide limits on follow-up probes."""

    max_per_interview: int = 2
    interview_minutes: float | None = None  # no probe that would run the interview past this


@dataclass(frozen=True)
class Question:
    """One interview question."""

    id: str
    mode: AnswerMode
    prompt: LocalText
    think_seconds: float
    answer_seconds: float
    retakes: int
    competencies: tuple[str, ...]
    probes: tuple[Probe, ...] = ()  # in the order they are considered; at most one is asked


@dataclass(frozen=True)
class Practice:
    """The warm-up question; its answers are never stored."""

    prompt: LocalText
    think_seconds: float
    answer_seconds: float


@dataclass(frozen=True)
class Indicator:
    """Evidence a reviewer looks for: a label, the phrases that tend to show it and (format 2)
    what it means, with example sentences that show it and near-misses that do not."""

    label: str
    phrases: tuple[str, ...]
    description: LocalText | None = None  # format 2: what a reviewer looks for, in words
    shows: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # by language
    near_misses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # by language


@dataclass(frozen=True)
class Competency:
    """A rubric competency with its weight, anchored levels (1-5) and indicators."""

    id: str
    name: str
    description: str
    weight: float
    levels: Mapping[int, str]
    indicators: tuple[Indicator, ...]
    structure_cues: bool = False  # situation/task/action/result cues count as evidence


@dataclass(frozen=True)
class Policy:
    """What happens to the data of a session taken with this template."""

    retention_days: int
    ai_scoring: bool = False
    recordings_leave_kiosk: bool = False
    rejected_retention_days: int | None = None   # sooner for rejected candidates
    compliance: str | None = None                # a profile in assets/compliance/

    def retention_for(self, decision: str | None) -> int:
        """Days a session is kept, given the reviewers' decision."""
        if decision == "reject" and self.rejected_retention_days is not None:
            return min(self.retention_days, self.rejected_retention_days)
        return self.retention_days


@dataclass(frozen=True)
class InterviewTemplate:
    """A checked interview template."""

    id: str
    role: str
    languages: tuple[str, ...]
    title: LocalText
    intro: LocalText
    policy: Policy
    practice: Practice
    questions: tuple[Question, ...]
    competencies: tuple[Competency, ...]
    source: str
    sha256: str
    text: str = ""  # the TOML it was read from, so a store can keep the exact version
    follow_ups: FollowUps = field(default_factory=FollowUps)
    # format 2, optional: sentences candidates say that show none of the indicators (story
    # context, results, small talk), by language; the evidence finder learns from them
    unrelated: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def default_language(self) -> str:
        """The first declared language."""
        return self.languages[0]

    def question(self, question_id: str) -> Question:
        """The question with `question_id`."""
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)
