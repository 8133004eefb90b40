"""The follow-up decision: one rule in template order, the same for everyone, never on
unclear speech; with the real evidence model on the demo's probes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.scoring.evidence_model import SentenceModel
from kiosk.scoring.probes import because, choose, decide
from kiosk.scoring.service import typed_transcript
from kiosk.session import FollowUpOutcome
from kiosk.templates import InterviewTemplate, find_template
from tests.kiosk.conftest import probe_template
from tests.kiosk.scoring.test_scorecard import spoken

LEARNED = "something-you-learned-recently"


@pytest.fixture(scope="module")
def model() -> SentenceModel:
    return SentenceModel()


@pytest.fixture(scope="module")
def demo() -> InterviewTemplate:
    return find_template("demo")


def test_template_order_decides_between_probes() -> None:
    question = probe_template().questions[0]
    short = spoken("hi")  # too short, and no greeting: the first probe wins
    assert choose(question, short, set(), set()) == (FollowUpOutcome.ASKED, question.probes[0])
    long = spoken("I would walk up and smile at them")
    assert choose(question, long, set(), set()) == (FollowUpOutcome.ASKED, question.probes[1])
    assert choose(question, long, {("talk", "Greets")}, set()) == (
        FollowUpOutcome.NOT_NEEDED, None)


def test_unclear_speech_never_gets_a_probe() -> None:
    question = probe_template().questions[0]
    assert choose(question, spoken("hi", needs_review=True), set(), set()) == (
        FollowUpOutcome.NEEDS_REVIEW, None)


def test_a_story_part_probe_asks_for_what_was_not_told() -> None:
    from dataclasses import replace

    question = probe_template().questions[0]
    result = replace(question.probes[1], competency=None, indicator=None, part="result")
    question = replace(question, probes=(result,))
    told = spoken("At the time the shop was busy so I decided to help")
    assert decide(question, told, [], None) == (FollowUpOutcome.ASKED, result)
    ended = spoken("At the time the shop was busy so I helped and in the end we closed on time")
    assert decide(question, ended, [], None) == (FollowUpOutcome.NOT_NEEDED, None)
    assert because(result) == "no result was described"


def test_the_demo_asks_for_a_next_step_by_meaning(demo: InterviewTemplate,
                                                  model: SentenceModel) -> None:
    question = demo.question(LEARNED)
    without = typed_transcript(
        "Recently I learned to make simple spreadsheets with formulas. At first I did not "
        "understand them, so I watched short videos and practised every evening.", "en")
    outcome, probe = decide(question, without, demo.competencies, model)
    assert outcome is FollowUpOutcome.ASKED and probe is not None and probe.id == "next-step"
    assert because(probe) == ("the answer showed no evidence of “Suggests a change or next "
                              "step”")
    paraphrase = typed_transcript(
        "Recently I learned to make simple spreadsheets with formulas. I watched short videos "
        "and practised every evening. My plan now is to sign up for an evening course on "
        "charts so I can go further.", "en")
    assert decide(question, paraphrase, demo.competencies, model) == (
        FollowUpOutcome.NOT_NEEDED, None)


def test_a_hindi_answer_is_judged_by_the_phrases_it_uses(demo: InterviewTemplate,
                                                         model: SentenceModel) -> None:
    question = demo.question(LEARNED)
    hindi = typed_transcript("मैंने हाल ही में स्प्रेडशीट बनाना सीखा। रोज़ शाम अभ्यास किया और "
                             "छोटे वीडियो देखे। अगली बार मैं पहले से तैयारी करूँगा।", "hi")
    assert decide(question, hindi, demo.competencies, model) == (
        FollowUpOutcome.NOT_NEEDED, None)


@settings(max_examples=25, deadline=None)
@given(name=st.text(alphabet=st.characters(categories=["L"]), min_size=2, max_size=30),
       language=st.sampled_from(["en", "hi"]), contact=st.sampled_from(
           ["a@example.com", "+91 98765 43210"]))
def test_the_same_words_give_the_same_decision_whoever_says_them(
        name: str, language: str, contact: str) -> None:
    """Candidates who differ in everything but their words get the same decision: the flow
    with each one, the decision from the same transcript, the record compared."""
    from kiosk.clock import FakeClock
    from kiosk.demo.scripted_candidate import to_first_question
    from kiosk.flow import CandidateFlow, Step

    template = probe_template()
    flow = CandidateFlow(template, clock=FakeClock())
    to_first_question(flow, name=name, contact=contact, language=language)
    flow.begin_question()
    flow.ready()
    flow.tick()
    flow._clock.advance(5)  # type: ignore[attr-defined]
    flow.tick()
    flow.finish_answer()
    flow.submit()
    assert flow.step is Step.FOLLOW_UP_CHECK
    outcome, probe = decide(template.questions[0], spoken("I would walk up to them and smile"),
                            template.competencies, None)
    flow.follow_up_decided("q-one", outcome, probe.id if probe else None)
    session = flow.session()
    assert session is not None
    record = session.follow_ups["q-one"]
    assert (record.outcome, record.probe_id) == (FollowUpOutcome.ASKED, "greeting")
