"""What is asked, how and for how long, once a candidate's accommodations apply."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

from kiosk.flow.steps import FlowTimings, Step
from kiosk.session import Accommodations
from kiosk.templates import AnswerMode, InterviewTemplate, Practice, Probe, Question


def answer_mode(question: Question, accommodations: Accommodations) -> AnswerMode:
    """How `question` is answered: typed for everyone who asked for text answers."""
    return AnswerMode.TEXT if accommodations.text_answers else question.mode


def practice_mode(remaining: list[Question], accommodations: Accommodations) -> AnswerMode:
    """The practice question is answered the way the first real question will be."""
    return answer_mode(remaining[0], accommodations) if remaining else (
        AnswerMode.TEXT if accommodations.text_answers else AnswerMode.VIDEO)


def allowed_takes(question: Question | Probe, accommodations: Accommodations) -> int:
    """Takes allowed: the first, the template's retakes and any extra retakes granted."""
    return 1 + question.retakes + accommodations.extra_retakes


def think_seconds(question: Question | Practice | Probe, accommodations: Accommodations) -> float:
    """Think time after extra time."""
    return question.think_seconds * accommodations.extra_time


def answer_seconds(question: Question | Practice | Probe, accommodations: Accommodations) -> float:
    """Answer time after extra time."""
    return question.answer_seconds * accommodations.extra_time


def remaining_questions(template: InterviewTemplate, start: int,
                        answered: Collection[str]) -> list[Question]:
    """Questions from index `start` on that have no answer yet."""
    return [q for q in template.questions[start:] if q.id not in answered]


def next_unanswered(template: InterviewTemplate, start: int, answered: Collection[str]) -> int:
    """Index of the first unanswered question at or after `start` (len if none)."""
    index = start
    while index < len(template.questions) and template.questions[index].id in answered:
        index += 1
    return index


def required_devices(remaining: list[Question],
                     accommodations: Accommodations) -> tuple[bool, bool]:
    """(camera, microphone) the remaining questions need."""
    modes = {answer_mode(q, accommodations) for q in remaining}
    camera = AnswerMode.VIDEO in modes
    return camera, camera or AnswerMode.AUDIO in modes


def step_seconds(step: Step, asked: Callable[[], Question | Practice | Probe], timings: FlowTimings,
                 extra: Accommodations) -> float | None:
    """How long `step` runs before it ends on its own; None for a step that waits (`asked`
    is called only for the steps of a question)."""
    if step is Step.THINK:
        return think_seconds(asked(), extra)
    if step is Step.ANSWER:
        return answer_seconds(asked(), extra)
    return {Step.COUNTDOWN: timings.countdown_seconds,
            Step.FOLLOW_UP_CHECK: timings.follow_up_wait_seconds,
            Step.REVIEW: timings.review_seconds * extra.extra_time,
            Step.BREAK: timings.break_seconds * extra.break_multiplier,
            Step.FINISHED: timings.finished_seconds,
            Step.DECLINED: timings.finished_seconds}.get(step)


# What the welcome screen's "about N minutes" counts besides think and answer times: the
# steps before the questions (name, consent, adjustments, device check), and per question
# the card, the 3-2-1 and a look at the review screen. Retakes and breaks are not assumed.
SETUP_SECONDS = 120
PER_QUESTION_SECONDS = 20


def estimated_minutes(template: InterviewTemplate) -> int:
    """How long the interview takes, as a candidate should expect it before starting.

    Whole minutes, rounded up, under ten; to the nearest five from ten on (nobody reads
    "about 23 minutes" as a promise).
    """
    asked: list[Question | Practice] = [template.practice, *template.questions]
    seconds = SETUP_SECONDS + sum(q.think_seconds + q.answer_seconds + PER_QUESTION_SECONDS
                                  for q in asked)
    minutes = seconds / 60
    if minutes < 10:
        return max(1, math.ceil(minutes))
    return 5 * math.floor(minutes / 5 + 0.5)
