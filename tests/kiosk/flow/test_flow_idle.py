"""Idle timeouts, wipes and staff aborts: nothing of a candidate outlives their session."""

from __future__ import annotations

import pytest

from kiosk.flow import Step
from kiosk.flow import events as ev
from kiosk.session import SessionStatus
from tests.kiosk.conftest import Harness, small_template

EVERY_STEP_BUT_WELCOME = [s for s in Step if s is not Step.WELCOME]


def assert_nothing_held(h: Harness) -> None:
    flow = h.flow
    assert flow.step is Step.WELCOME
    assert flow.reference is None and flow.session() is None
    assert flow.takes == () and flow.draft_text == ""
    assert flow.language == flow.template.default_language
    assert flow.accommodations.names() == []
    assert flow._candidate is None  # the wipe drops the details themselves


@pytest.mark.parametrize("step", EVERY_STEP_BUT_WELCOME)
def test_an_abandoned_kiosk_wipes_itself_from_every_step(harness: Harness, step: Step) -> None:
    h = harness
    h.to(step)
    assert h.flow.step is step
    for _ in range(200):  # 200 minutes: past every timer of the small template
        h.advance(60)
    assert_nothing_held(h)
    assert h.of_type(ev.SessionWiped), "the wipe must be announced"
    sessions = h.archive.all()
    if step in (Step.INVITATION, Step.LANGUAGE, Step.IDENTIFY, Step.CONSENT, Step.DECLINED):
        assert sessions == []  # no consent, nothing kept
    elif step is Step.FINISHED:
        assert sessions[0].status is SessionStatus.COMPLETED
    else:
        assert sessions[0].status is SessionStatus.INTERRUPTED
        assert sessions[0].interruption == "idle"


@pytest.mark.parametrize("step", sorted(
    {Step.LANGUAGE, Step.IDENTIFY, Step.CONSENT, Step.ACCOMMODATIONS, Step.DEVICE_CHECK,
     Step.READ}))
def test_waiting_steps_warn_then_wipe_on_the_second(harness: Harness, step: Step) -> None:
    h = harness
    h.to(step)
    h.advance(59.999)
    assert not h.flow.idle_warning
    h.advance(0.001)
    assert h.flow.idle_warning and h.of_type(ev.IdleWarning) == [ev.IdleWarning(20)]
    h.advance(19.999)
    assert h.flow.step is step
    h.advance(0.001)
    assert_nothing_held(h)
    assert h.of_type(ev.SessionWiped) == [ev.SessionWiped("idle")]


def test_a_touch_clears_the_warning_and_restarts_the_wait(harness: Harness) -> None:
    h = harness
    h.to(Step.IDENTIFY)
    h.advance(65)
    assert h.flow.idle_warning
    h.flow.touch()
    assert not h.flow.idle_warning and h.of_type(ev.IdleCleared)
    h.advance(59)
    assert h.flow.step is Step.IDENTIFY and not h.flow.idle_warning


def test_any_intent_counts_as_activity(harness: Harness) -> None:
    h = harness
    h.to(Step.DEVICE_CHECK)
    h.advance(50)
    h.flow.report_devices(camera=True, microphone=False)
    h.advance(50)
    assert not h.flow.idle_warning


def test_extra_time_also_lengthens_the_idle_wait(harness: Harness) -> None:
    from kiosk.session import Accommodations

    h = harness
    h.to(Step.DEVICE_CHECK, accommodations=Accommodations(extra_time=2.0))
    h.advance(119)
    assert not h.flow.idle_warning
    h.advance(1)
    assert h.flow.idle_warning


def test_timed_steps_do_not_count_idle_time(harness: Harness) -> None:
    h = harness
    h.to(Step.ANSWER)
    h.advance(59)  # a candidate talking does not touch the screen
    assert h.flow.step is Step.ANSWER and not h.flow.idle_warning


def test_the_finished_screen_resets_after_its_time(harness: Harness) -> None:
    h = harness
    h.to(Step.FINISHED)
    h.advance(29)
    assert h.flow.step is Step.FINISHED and h.flow.reference
    h.advance(1)
    assert_nothing_held(h)
    assert h.of_type(ev.SessionWiped)[-1] == ev.SessionWiped("finished")


def test_done_button_resets_at_once(harness: Harness) -> None:
    harness.to(Step.FINISHED)
    harness.flow.reset()
    assert_nothing_held(harness)


def test_staff_abort_mid_answer_drops_the_take_and_interrupts(harness: Harness) -> None:
    h = harness
    h.to(Step.ANSWER)
    reference = h.flow.reference
    h.advance(10)
    h.flow.abort()
    assert h.of_type(ev.RecordingStopped)[-1] == ev.RecordingStopped("q-one", 1, "abort", False)
    assert h.of_type(ev.SessionInterrupted) == [ev.SessionInterrupted(reference or "", "staff")]
    assert_nothing_held(h)
    stored = h.archive.find(reference or "")
    assert stored is not None and stored.answers == {}
    assert stored.stopped_at_step == "answer:1"


def test_staff_abort_in_review_keeps_the_finished_take(harness: Harness) -> None:
    h = harness
    h.to(Step.REVIEW)
    reference = h.flow.reference or ""
    h.flow.abort()
    stored = h.archive.find(reference)
    assert stored is not None and list(stored.answers) == ["q-one"]
    assert stored.status is SessionStatus.INTERRUPTED and stored.interruption == "staff"


def test_staff_abort_before_consent_keeps_nothing(harness: Harness) -> None:
    harness.to(Step.CONSENT)
    harness.flow.abort()
    assert_nothing_held(harness)
    assert harness.archive.all() == []


def test_the_wiped_flow_serves_the_next_candidate_afresh(make_harness) -> None:
    h = make_harness(small_template())
    h.to(Step.REVIEW)
    first = h.flow.reference
    h.flow.abort()
    h.events.clear()
    h.to(Step.THINK)
    assert h.flow.reference != first
    assert h.flow.question_number == 1 and h.flow.takes == ()
