"""The welcome screen's "about N minutes" comes from the template, not a fixed 15."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk.flow import estimated_minutes
from kiosk.flow.plan import PER_QUESTION_SECONDS, SETUP_SECONDS
from kiosk.templates import InterviewTemplate, find_template
from tests.kiosk.conftest import small_template


def with_times(template: InterviewTemplate, *times: tuple[float, float]) -> InterviewTemplate:
    """`template` with its questions' (think, answer) seconds replaced; extras are copies."""
    first = template.questions[0]
    questions = tuple(dataclasses.replace(first, id=f"q-{n}", think_seconds=think,
                                          answer_seconds=answer)
                      for n, (think, answer) in enumerate(times))
    practice = dataclasses.replace(template.practice, think_seconds=10, answer_seconds=20)
    return dataclasses.replace(template, questions=questions, practice=practice)


def test_the_demo_is_not_a_fifteen_minute_interview() -> None:
    # 2 min of set-up, practice 45 s, 250 s of think and answer, 20 s per question: 8.25 min
    assert estimated_minutes(find_template("demo")) == 9


@pytest.mark.parametrize(("times", "minutes"), [
    ([(30, 60)], 5),                 # 120 + 50 + 110 = 280 s = 4.7 min: rounded up
    ([(30, 90)] * 3, 10),            # 120 + 50 + 3 * 140 = 590 s = 9.8 min: rounded up
    ([(30, 120)] * 4, 15),           # 120 + 50 + 4 * 170 = 850 s = 14.2 min: nearest five
    ([(30, 120)] * 5, 15),           # 1020 s = 17 min
    ([(45, 180)] * 6, 25),           # 1640 s = 27.3 min
    ([(45, 180)] * 7, 30),           # 1885 s = 31.4 min
])
def test_think_and_answer_times_make_the_estimate(times: list[tuple[float, float]],
                                                  minutes: int) -> None:
    template = with_times(small_template(), *times)
    assert estimated_minutes(template) == minutes


def test_retakes_are_not_assumed() -> None:
    none = with_times(small_template(retakes=0), (30, 60))
    many = with_times(small_template(retakes=3), (30, 60))
    assert estimated_minutes(none) == estimated_minutes(many)


def test_the_allowances_are_what_the_docs_say() -> None:
    assert (SETUP_SECONDS, PER_QUESTION_SECONDS) == (120, 20)
