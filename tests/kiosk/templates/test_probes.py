"""Follow-up probes in a template: read as written, and every mistake caught with its line."""

from __future__ import annotations

import pytest

from kiosk.errors import TemplateError
from kiosk.templates import parse_template
from tests.kiosk.conftest import PROBES, SMALL_TEMPLATE

GOOD = SMALL_TEMPLATE.format(ai="true", mode="video", retakes=1, probes=PROBES.format(),
                             follow_ups="\n[follow_ups]\nmax = 1\ninterview_minutes = 20\n")


def problems(text: str) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        parse_template(text.encode(), "t.toml")
    return [str(p) for p in caught.value.problems]


def line_of(text: str, snippet: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if snippet in line)


def test_probes_are_read_in_template_order_with_their_defaults() -> None:
    template = parse_template(GOOD.encode(), "t.toml")
    first, second = template.questions[0].probes
    assert (first.id, first.fewer_words_than, first.think_seconds, first.retakes) == \
        ("say-more", 4, 10.0, 0)
    assert first.target == "fewer than 4 words"
    assert (second.competency, second.indicator, second.think_seconds, second.retakes) == \
        ("talk", "Greets", 5.0, 1)
    assert second.prompt.get("hi") == "आप किसी मेहमान का स्वागत कैसे करेंगे?"
    assert second.target == "talk: Greets"
    assert template.questions[1].probes == ()
    assert (template.follow_ups.max_per_interview, template.follow_ups.interview_minutes) == \
        (1, 20.0)


def test_follow_ups_default_to_two_and_no_time_limit() -> None:
    template = parse_template(GOOD.replace("max = 1\ninterview_minutes = 20\n", "").encode(),
                              "t.toml")
    assert (template.follow_ups.max_per_interview, template.follow_ups.interview_minutes) == \
        (2, None)


def replace_nth(text: str, old: str, new: str, nth: int) -> str:
    parts = text.split(old)
    assert len(parts) > nth, f"{old!r} occurs fewer than {nth} times"
    return old.join(parts[:nth]) + new + old.join(parts[nth:])


def nth_line(text: str, snippet: str, nth: int) -> int:
    return [n for n, line in enumerate(text.splitlines(), 1) if snippet in line][nth - 1]


# (what to change, its occurrence, into what, where the problem is (snippet, occurrence), message)
MISTAKES = [
    ('indicator = "Greets"', 1, 'indicator = "Waves"', ('indicator = "Waves"', 1),
     "questions[1].probes[2].indicator: 'Waves' is not an indicator of 'talk' (its labels: "
     "Greets)"),
    ('competency = "talk"', 1, 'competency = "sing"', ('competency = "sing"', 1),
     "questions[1].probes[2].competency: 'sing' is not one of this question's competencies "
     "(talk)"),
    ('competency = "talk"\n', 1, "", ("[[questions.probes]]", 2),
     "questions[1].probes[2]: a probe tied to an indicator names its competency too"),
    ("fewer_words_than = 4", 1, 'fewer_words_than = 4\npart = "result"',
     ("[[questions.probes]]", 1),
     "questions[1].probes[1]: a probe is tied to exactly one of: competency and indicator, "
     "part, fewer_words_than (got part, fewer_words_than)"),
    ("fewer_words_than = 4", 1, 'part = "ending"', ('part = "ending"', 1),
     "questions[1].probes[1].part: 'ending' is not a part of a told story (situation, task, "
     "action, result)"),
    ("fewer_words_than = 4", 1, "fewer_words_than = 1", ("fewer_words_than = 1", 1),
     "questions[1].probes[1].fewer_words_than: must be 2 to 200 words, got 1"),
    ("answer_seconds = 40", 1, "answer_seconds = 400", ("answer_seconds = 400", 1),
     "questions[1].probes[2].answer_seconds: a follow-up is short: at most 300 seconds, got "
     "400"),
    ("retakes = 1", 2, "retakes = 7", ("retakes = 7", 1),
     "questions[1].probes[2].retakes: must be 0 to 3, got 7"),
    ('id = "greeting"', 1, 'id = "say-more"', ('id = "say-more"', 2),
     "questions[1].probes[2].id: duplicate id 'say-more'"),
    ('prompt = { en = "Could you say a little more?", hi = "थोड़ा और बताइए?" }', 1,
     'prompt = { en = "Could you say a little more?" }', ("Could you say a little more?", 1),
     "questions[1].probes[1].prompt: missing text for declared language 'hi'"),
    ("max = 1", 1, "max = 50", ("max = 50", 1),
     "follow_ups.max: must be 0 to 20 follow-ups, got 50"),
    ("interview_minutes = 20", 1, "minutes = 20", ("minutes = 20", 1),
     "follow_ups.minutes: unknown key (allowed: interview_minutes, max)"),
]


@pytest.mark.parametrize(("old", "nth", "new", "at", "message"), MISTAKES)
def test_each_mistake_is_reported_at_its_line(old: str, nth: int, new: str,
                                              at: tuple[str, int], message: str) -> None:
    text = replace_nth(GOOD, old, new, nth)
    assert problems(text) == [f"t.toml:{nth_line(text, *at)}: {message}"]


def test_probes_need_the_candidates_consent_to_automated_processing() -> None:
    text = GOOD.replace("ai_scoring = true", "ai_scoring = false")
    assert problems(text) == [
        f"t.toml:{line_of(text, 'ai_scoring')}: policy.ai_scoring: must be true for a template "
        "with probes: a follow-up is decided by automated processing of the answer, which "
        "candidates consent to with AI-assisted scoring"]


def test_more_than_four_probes_on_a_question_are_refused() -> None:
    more = "".join(f"""
[[questions.probes]]
id = "more-{n}"
fewer_words_than = 3
prompt = {{ en = "More?", hi = "और?" }}
answer_seconds = 20
""" for n in range(3))
    text = replace_nth(GOOD, '[[questions]]\nid = "q-two"', more + '[[questions]]\nid = "q-two"', 1)
    assert [p.split(": ", 1)[1] for p in problems(text)] == [
        "questions[1].probes: has 5 entries; at most 4 are allowed"]
