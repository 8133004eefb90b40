"""Follow-up probes in the flow: every path from a kept answer, and what each leaves behind."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kiosk.demo.scripted_candidate import to_first_question
from kiosk.errors import IllegalTransition, InvalidInput
from kiosk.flow import Step
from kiosk.flow import events as ev
from kiosk.session import Accommodations, FollowUpOutcome, SessionStatus
from tests.kiosk.conftest import Harness, probe_template

Make = Callable[..., Harness]


def at_check(make_harness: Make, follow_ups: str = "",
             accommodations: Accommodations | None = None) -> Harness:
    """q-one's answer just kept: the flow waits for the follow-up decision."""
    h = make_harness(probe_template(follow_ups))
    h.to(Step.FOLLOW_UP_CHECK, accommodations=accommodations)
    return h


def test_a_kept_answer_waits_for_the_decision_and_asks_the_probe(make_harness: Make) -> None:
    h = at_check(make_harness)
    flow = h.flow
    assert h.of_type(ev.FollowUpNeeded) == [ev.FollowUpNeeded("q-one", 1, flow.mode)]
    assert flow.question is None and flow.follow_up is None
    flow.follow_up_decided("q-one", FollowUpOutcome.ASKED, "greeting")
    assert flow.step is Step.THINK  # the follow-up's prompt at once: no question card
    assert flow.follow_up is not None and flow.follow_up.id == "greeting"
    assert flow.question is not None and flow.question.id == "q-one"
    assert flow.answer_key == "q-one.probe" and flow.question_number == 1
    assert flow.time_left() == 5  # the probe's own think time
    flow.ready()
    h.advance(flow.time_left() or 0)  # the 3-2-1
    assert flow.step is Step.ANSWER and flow.time_left() == 40
    started = h.of_type(ev.RecordingStarted)[-1]
    assert (started.question_id, started.take, started.seconds) == ("q-one.probe", 1, 40)
    h.advance(10)
    flow.finish_answer()
    assert flow.takes_left == 1  # the probe's own retakes
    flow.submit()
    assert flow.step is Step.READ and flow.question_number == 2 and flow.follow_up is None
    session = flow.session()
    assert session is not None
    assert list(session.answers) == ["q-one", "q-one.probe"]
    decision = session.follow_ups["q-one"]
    assert (decision.outcome, decision.probe_id) == (FollowUpOutcome.ASKED, "greeting")
    assert h.of_type(ev.FollowUpDecided) == [
        ev.FollowUpDecided("q-one", FollowUpOutcome.ASKED, "greeting")]


@pytest.mark.parametrize("outcome", [FollowUpOutcome.NOT_NEEDED, FollowUpOutcome.NEEDS_REVIEW])
def test_no_probe_goes_on_to_the_next_question(make_harness: Make,
                                               outcome: FollowUpOutcome) -> None:
    h = at_check(make_harness)
    h.flow.follow_up_decided("q-one", outcome)
    assert h.flow.step is Step.READ and h.flow.question_number == 2
    session = h.flow.session()
    assert session is not None and session.follow_ups["q-one"].outcome is outcome
    assert "q-one.probe" not in session.answers


def test_a_decision_not_ready_in_time_goes_on_without_the_probe(make_harness: Make) -> None:
    h = at_check(make_harness)
    h.advance(1.999)
    assert h.flow.step is Step.FOLLOW_UP_CHECK
    h.advance(0.001)
    assert h.flow.step is Step.READ and h.flow.question_number == 2
    session = h.flow.session()
    assert session is not None
    assert session.follow_ups["q-one"].outcome is FollowUpOutcome.NOT_READY
    with pytest.raises(IllegalTransition):  # too late: the flow has gone on
        h.flow.follow_up_decided("q-one", FollowUpOutcome.ASKED, "greeting")


@pytest.mark.parametrize(("follow_ups", "outcome"), [
    ("max = 0", FollowUpOutcome.LIMIT),
    ("interview_minutes = 2", FollowUpOutcome.NO_TIME),  # q-two and q-three alone take 7.5
])
def test_the_flow_alone_skips_the_probe(make_harness: Make, follow_ups: str,
                                        outcome: FollowUpOutcome) -> None:
    h = make_harness(probe_template(follow_ups))
    h.to(Step.REVIEW)
    h.flow.submit()
    assert h.flow.step is Step.READ  # never waited
    assert h.of_type(ev.FollowUpNeeded) == []
    session = h.flow.session()
    assert session is not None and session.follow_ups["q-one"].outcome is outcome


def test_no_probe_for_a_candidate_who_declined_ai_processing(make_harness: Make) -> None:
    h = make_harness(probe_template())
    flow = h.flow
    to_first_question(flow, ai=False)
    h.answer_current()
    assert flow.step is Step.READ and flow.question_number == 2
    session = flow.session()
    assert session is not None
    assert session.follow_ups["q-one"].outcome is FollowUpOutcome.NO_CONSENT


def test_the_maximum_counts_the_probes_asked_before(make_harness: Make) -> None:
    from kiosk.templates import parse_template
    from tests.kiosk.conftest import PROBES, SMALL_TEMPLATE

    q_two = 'retakes = 0\ncompetencies = ["talk"]\n'
    text = SMALL_TEMPLATE.format(ai="true", mode="video", retakes=1, probes=PROBES.format(),
                                 follow_ups="\n[follow_ups]\nmax = 1\n")
    text = text.replace(q_two, q_two + PROBES.format().split("[[questions.probes]]")[0]
                        + "[[questions.probes]]" + PROBES.format().split(
                            "[[questions.probes]]")[1], 1)
    h = make_harness(parse_template(text.encode(), "two.toml"))
    h.to(Step.FOLLOW_UP_CHECK)
    flow = h.flow
    flow.follow_up_decided("q-one", FollowUpOutcome.ASKED, "say-more")
    flow.ready()
    h.advance(flow.time_left() or 0)
    flow.finish_answer()
    flow.submit()
    h.answer_current()  # q-two: its probe would be the second
    session = flow.session()
    assert session is not None
    assert session.follow_ups["q-two"].outcome is FollowUpOutcome.LIMIT
    assert [e.question_id for e in h.of_type(ev.FollowUpNeeded)] == ["q-one"]


def test_extra_time_applies_to_the_probe(make_harness: Make) -> None:
    h = at_check(make_harness, accommodations=Accommodations(extra_time=1.5, extra_retakes=1))
    flow = h.flow
    flow.follow_up_decided("q-one", FollowUpOutcome.ASKED, "greeting")
    assert flow.time_left() == pytest.approx(7.5)
    flow.ready()
    h.advance(flow.time_left() or 0)
    assert flow.time_left() == pytest.approx(60)
    flow.finish_answer()
    assert flow.takes_left == 2  # the probe's retake and the extra one


@pytest.mark.parametrize(("question", "outcome", "probe", "error"), [
    ("q-two", FollowUpOutcome.ASKED, "greeting", "for 'q-one', not 'q-two'"),
    ("q-one", FollowUpOutcome.ASKED, "sing", "named exactly when one is asked"),
    ("q-one", FollowUpOutcome.ASKED, None, "named exactly when one is asked"),
    ("q-one", FollowUpOutcome.NOT_NEEDED, "greeting", "named exactly when one is asked"),
    ("q-one", FollowUpOutcome.NOT_READY, None, "the flow's own decision"),
    ("q-one", FollowUpOutcome.NO_CONSENT, None, "the flow's own decision"),
])
def test_a_wrong_decision_is_refused_and_changes_nothing(
        make_harness: Make, question: str, outcome: FollowUpOutcome, probe: str | None,
        error: str) -> None:
    from tests.kiosk.flow.test_flow_transitions import snapshot

    h = at_check(make_harness)
    before, events = snapshot(h.flow), len(h.events)
    with pytest.raises(InvalidInput, match=error):
        h.flow.follow_up_decided(question, outcome, probe)
    assert snapshot(h.flow) == before and len(h.events) == events


def test_a_wipe_on_the_follow_ups_review_keeps_its_take(make_harness: Make) -> None:
    h = at_check(make_harness)
    flow = h.flow
    flow.follow_up_decided("q-one", FollowUpOutcome.ASKED, "greeting")
    flow.ready()
    h.advance(flow.time_left() or 0)
    h.advance(8)
    flow.finish_answer()
    reference = flow.reference
    assert reference is not None
    flow.abort()
    session = h.archive.find(reference)
    assert session is not None and session.status is SessionStatus.INTERRUPTED
    assert session.answers["q-one.probe"].chosen_take.seconds == pytest.approx(8)
    assert session.stopped_at_step == "review:1"


def test_the_follow_up_is_typed_when_the_question_is(make_harness: Make) -> None:
    h = make_harness(probe_template(mode="text"))
    h.to(Step.FOLLOW_UP_CHECK)
    flow = h.flow
    flow.follow_up_decided("q-one", FollowUpOutcome.ASKED, "say-more")
    flow.ready()
    assert flow.step is Step.ANSWER  # typed answers have no 3-2-1
    flow.update_text("I would say hello and smile.")
    flow.finish_answer()
    flow.submit()
    session = flow.session()
    assert session is not None
    assert session.answers["q-one.probe"].chosen_take.text == "I would say hello and smile."
