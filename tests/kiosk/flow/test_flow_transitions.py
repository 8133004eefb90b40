"""Every intent at every step: allowed ones act, the rest raise and change nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.errors import FlowError
from kiosk.flow import CandidateFlow, Step
from kiosk.session import Accommodations, FollowUpOutcome, Invited
from tests.kiosk.conftest import DRIVE, Harness

# The specification, written independently of the implementation: where each intent may be
# used. (Some also need a condition, e.g. retakes left; those are tested elsewhere.)
ALLOWED: dict[str, set[Step]] = {
    "start": {Step.WELCOME},
    "choose_language": {Step.WELCOME, Step.LANGUAGE},
    "identify": {Step.IDENTIFY},
    "give_consent": {Step.CONSENT},
    "decline_consent": {Step.CONSENT},
    "set_accommodations": {Step.ACCOMMODATIONS},
    "report_devices": {Step.DEVICE_CHECK},
    "devices_ready": {Step.DEVICE_CHECK},
    "skip_practice": {Step.READ},
    "begin_question": {Step.READ},
    "take_break": {Step.READ},
    "ready": {Step.THINK},
    "update_text": {Step.ANSWER},
    "finish_answer": {Step.ANSWER},
    "choose_take": {Step.REVIEW},
    "retake": {Step.REVIEW},
    "recording_failed": {Step.ANSWER},
    "submit": {Step.REVIEW},
    "follow_up_decided": {Step.FOLLOW_UP_CHECK},
    "end_break": {Step.BREAK},
    "reset": {Step.FINISHED, Step.DECLINED},
    "abort": set(Step) - {Step.WELCOME},
    "resume": {Step.WELCOME},
    "scan_invitation": {Step.WELCOME},
    "leave_invitation": {Step.INVITATION},
    "accept_invitation": {Step.WELCOME, Step.INVITATION},
}

CALLS: dict[str, Callable[[CandidateFlow], Any]] = {
    "start": lambda f: f.start(),
    "choose_language": lambda f: f.choose_language("en"),
    "identify": lambda f: f.identify("Ann Lee", "ann@example.com"),
    "give_consent": lambda f: f.give_consent(recording=True, retention=True),
    "decline_consent": lambda f: f.decline_consent(),
    "set_accommodations": lambda f: f.set_accommodations(Accommodations()),
    "report_devices": lambda f: f.report_devices(camera=True, microphone=True),
    "devices_ready": lambda f: f.devices_ready(),
    "skip_practice": lambda f: f.skip_practice(),
    "begin_question": lambda f: f.begin_question(),
    "take_break": lambda f: f.take_break(),
    "ready": lambda f: f.ready(),
    "update_text": lambda f: f.update_text("words"),
    "finish_answer": lambda f: f.finish_answer(),
    "choose_take": lambda f: f.choose_take(1),
    "retake": lambda f: f.retake(),
    "recording_failed": lambda f: f.recording_failed(),
    "submit": lambda f: f.submit(),
    "follow_up_decided": lambda f: f.follow_up_decided("q-one", FollowUpOutcome.ASKED,
                                                       "greeting"),
    "end_break": lambda f: f.end_break(),
    "reset": lambda f: f.reset(),
    "abort": lambda f: f.abort(),
    "resume": lambda f: f.resume("ZZZZ-ZZZZ"),
    "scan_invitation": lambda f: f.scan_invitation(),
    "leave_invitation": lambda f: f.leave_invitation(),
    "accept_invitation": lambda f: f.accept_invitation(Invited(DRIVE, "i-0123456789abcdef")),
}


def snapshot(flow: CandidateFlow) -> dict[str, Any]:
    state = {k: v for k, v in vars(flow).items()
             if k not in {"_events", "_clock", "_archive", "_make_reference"}}
    return copy.deepcopy(state)


def test_the_specification_names_every_intent() -> None:
    public = {name for name in dir(CandidateFlow)
              if not name.startswith("_") and callable(getattr(CandidateFlow, name))}
    queries = {"session", "time_left", "required_devices", "subscribe", "touch", "tick"}
    assert public - queries == set(ALLOWED)


@pytest.mark.parametrize(("step", "intent"), [
    (step, intent) for intent in sorted(ALLOWED) for step in Step if step not in ALLOWED[intent]
])
def test_intents_outside_their_steps_raise_and_change_nothing(
        harness: Harness, step: Step, intent: str) -> None:
    harness.to(step, practice=step is Step.READ)
    before = snapshot(harness.flow)
    events_before = len(harness.events)
    with pytest.raises(FlowError):
        CALLS[intent](harness.flow)
    assert snapshot(harness.flow) == before
    assert len(harness.events) == events_before
    assert harness.flow._events._queue == []  # nothing left to announce later either


def test_update_text_is_refused_for_a_recorded_answer(harness: Harness) -> None:
    harness.to(Step.ANSWER)
    before = snapshot(harness.flow)
    with pytest.raises(FlowError, match="recorded, not typed"):
        harness.flow.update_text("hello")
    assert snapshot(harness.flow) == before


def test_overlong_text_is_refused_and_the_draft_kept(harness: Harness) -> None:
    harness.to(Step.ANSWER, accommodations=Accommodations(text_answers=True))
    harness.flow.update_text("draft")
    with pytest.raises(FlowError, match="limited"):
        harness.flow.update_text("x" * 10_001)
    assert harness.flow.draft_text == "draft"


ACTIONS = st.one_of(
    st.sampled_from(sorted(CALLS)),
    st.floats(min_value=0.05, max_value=400),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=st.lists(ACTIONS, max_size=60), at_drive=st.booleans(),
       walk_ins=st.booleans())
def test_any_sequence_of_actions_keeps_the_flow_consistent(
        make_harness: Callable[..., Harness], script: list[str | float], at_drive: bool,
        walk_ins: bool) -> None:
    h = make_harness(drive=DRIVE if at_drive else None, walk_ins=walk_ins)
    for action in script:
        if isinstance(action, float):
            h.advance(action)
        else:
            before = snapshot(h.flow)
            try:
                CALLS[action](h.flow)
            except FlowError:
                assert snapshot(h.flow) == before
        flow = h.flow
        assert (flow.reference is None) == (flow.session() is None)
        if flow.step in (Step.WELCOME, Step.INVITATION, Step.LANGUAGE, Step.IDENTIFY,
                         Step.CONSENT, Step.DECLINED):
            assert flow.reference is None
        else:
            assert flow.reference is not None
        if flow.step in (Step.READ, Step.THINK, Step.COUNTDOWN, Step.ANSWER, Step.REVIEW):
            assert flow.question is not None
            assert flow.takes_left is None or flow.takes_left >= 0
        time_left = flow.time_left()
        assert time_left is None or time_left >= 0
    for stored in h.archive.all():
        for answer in stored.answers.values():
            assert 1 <= answer.chosen <= len(answer.takes)
        # At a drive every session names it; without walk-ins each came with an invitation.
        assert stored.drive == (DRIVE if at_drive else None)
        assert stored.invite is not None or walk_ins or not at_drive
