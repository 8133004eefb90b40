"""Resuming an interrupted session by its reference code."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kiosk.clock import FakeClock
from kiosk.errors import InvalidInput, ResumeError
from kiosk.flow import Step
from kiosk.flow import events as ev
from kiosk.session import Accommodations, MemoryArchive, SessionStatus
from kiosk.templates import AnswerMode
from tests.kiosk.conftest import Harness, small_template


def interrupted_after_first_answer(make_harness: Callable[..., Harness]) -> tuple[Harness, str]:
    h = make_harness()
    h.to(Step.REVIEW, accommodations=Accommodations(extra_retakes=1))
    h.flow.submit()
    reference = h.flow.reference
    assert reference
    h.advance(60 + 20)  # walked away at question 2: idle wipe
    assert h.flow.step is Step.WELCOME
    return h, reference


def test_resume_continues_at_the_next_unanswered_question(make_harness) -> None:
    h, reference = interrupted_after_first_answer(make_harness)
    typed = reference.lower().replace("-", " ").replace("0", "o")
    h.flow.resume(typed)
    assert h.flow.step is Step.DEVICE_CHECK
    assert h.of_type(ev.SessionResumed) == [ev.SessionResumed(reference, 1)]
    assert h.flow.reference == reference
    assert h.flow.accommodations.extra_retakes == 1  # adjustments come back too
    h.flow.report_devices(camera=True, microphone=True)
    h.flow.devices_ready()
    assert h.flow.step is Step.READ and not h.flow.in_practice
    assert h.flow.question_number == 2
    h.answer_current()
    h.answer_current()
    stored = h.archive.find(reference)
    assert stored is not None and stored.status is SessionStatus.COMPLETED
    assert list(stored.answers) == ["q-one", "q-two", "q-three"]
    assert stored.interruption is None


def test_resume_survives_a_new_flow_on_the_same_archive(make_harness) -> None:
    """As after a kiosk restart: only the archive carries over."""
    h, reference = interrupted_after_first_answer(make_harness)
    again = make_harness(archive=h.archive, clock=h.clock)
    again.flow.resume(reference)
    assert again.flow.step is Step.DEVICE_CHECK and again.flow.question_number == 2


def test_resume_after_finishing_every_question_goes_to_finished(make_harness) -> None:
    h = make_harness()
    h.to(Step.REVIEW)
    reference = h.flow.reference or ""
    h.flow.submit()
    h.answer_current()
    h.flow.begin_question()
    h.flow.ready()
    h.advance(5)
    h.flow.finish_answer()
    h.flow.abort()  # staff stop in review of the last question: its take is kept
    h.flow.resume(reference)
    h.flow.report_devices(camera=False, microphone=False)
    h.flow.devices_ready()  # nothing left to record: no devices needed
    assert h.flow.step is Step.FINISHED


@pytest.mark.parametrize("code", ["", "ABC", "ABCD-EFGH-J", "ABCD-EFG!"])
def test_malformed_codes_are_refused_clearly(harness: Harness, code: str) -> None:
    with pytest.raises(InvalidInput, match="8 letters and digits"):
        harness.flow.resume(code)
    assert harness.flow.step is Step.WELCOME


def test_unknown_code(harness: Harness) -> None:
    with pytest.raises(ResumeError, match="no interview was found"):
        harness.flow.resume("ABCD-2345")


def test_completed_sessions_cannot_be_resumed(harness: Harness) -> None:
    harness.to(Step.FINISHED)
    reference = harness.flow.reference or ""
    harness.flow.reset()
    with pytest.raises(ResumeError, match="already complete"):
        harness.flow.resume(reference)


def test_codes_expire_after_the_resume_window(make_harness) -> None:
    h, reference = interrupted_after_first_answer(make_harness)
    h.clock.advance(24 * 3600 + 1)
    with pytest.raises(ResumeError, match="expired"):
        h.flow.resume(reference)
    stored = h.archive.find(reference)
    assert stored is not None and stored.status is SessionStatus.INTERRUPTED


def test_codes_work_until_the_window_closes(make_harness) -> None:
    h, reference = interrupted_after_first_answer(make_harness)
    h.clock.advance(24 * 3600 - 1)
    h.flow.resume(reference)
    assert h.flow.step is Step.DEVICE_CHECK


def test_a_code_from_another_interview_is_refused(make_harness) -> None:
    h, reference = interrupted_after_first_answer(make_harness)
    template = small_template()
    other = make_harness(type(template)(**{**template.__dict__, "id": "other-interview"}),
                         archive=h.archive, clock=h.clock)
    with pytest.raises(ResumeError, match="different interview"):
        other.flow.resume(reference)


def test_references_never_repeat_within_an_archive(make_harness) -> None:
    codes = iter(["AAAA-AAAA", "AAAA-AAAA", "BBBB-BBBB"])
    archive = MemoryArchive()
    from kiosk.flow import CandidateFlow
    from tests.kiosk.conftest import TIMINGS

    clock = FakeClock()
    first = CandidateFlow(small_template(), clock=clock, archive=archive, timings=TIMINGS,
                          make_reference=lambda: next(codes))
    second = CandidateFlow(small_template(), clock=clock, archive=archive, timings=TIMINGS,
                           make_reference=lambda: next(codes))
    for flow in (first, second):
        flow.start()
        flow.choose_language("en")
        flow.identify("Ann Lee", "ann@example.com")
        flow.give_consent(recording=True, retention=True)
    assert (first.reference, second.reference) == ("AAAA-AAAA", "BBBB-BBBB")


def test_resumed_text_accommodation_still_applies(make_harness) -> None:
    h = make_harness()
    h.to(Step.READ, accommodations=Accommodations(text_answers=True))
    reference = h.flow.reference or ""
    h.flow.abort()
    h.flow.resume(reference)
    h.flow.devices_ready()
    h.flow.begin_question()
    h.flow.ready()
    assert h.flow.mode is AnswerMode.TEXT and h.flow.step is Step.ANSWER


def test_a_take_is_kept_the_moment_it_ends_not_when_it_is_used(make_harness) -> None:
    h = make_harness()
    h.to(Step.REVIEW, accommodations=Accommodations(extra_retakes=1))
    stored = h.archive.find(h.flow.reference or "")
    assert stored is not None and not stored.answers  # not used yet ...
    [take] = stored.recorded["q-one"]  # ... but kept
    assert take.number == 1 and take.ended_by == "candidate"


def test_a_kiosk_that_dies_on_the_review_screen_resumes_on_that_review(make_harness) -> None:
    """As after a crash: the first flow is simply gone; only the archive carries over."""
    h = make_harness()
    h.to(Step.REVIEW, accommodations=Accommodations(extra_retakes=1))
    reference = h.flow.reference or ""
    again = make_harness(archive=h.archive, clock=h.clock)
    again.flow.resume(reference)
    again.flow.report_devices(camera=True, microphone=True)
    again.flow.devices_ready()
    assert again.flow.step is Step.REVIEW and again.flow.question_number == 1
    assert [t.number for t in again.flow.takes] == [1] and again.flow.chosen_take == 1
    assert again.flow.takes_left == 2  # three allowed; the one made before the crash counts
    again.flow.retake()  # numbering goes on: take 1's recording is never overwritten
    if again.flow.step is Step.COUNTDOWN:
        again.advance(again.flow.time_left() or 0)
    again.advance(3)
    again.flow.finish_answer()
    assert [t.number for t in again.flow.takes] == [1, 2]
    again.flow.submit()
    stored = h.archive.find(reference)
    assert stored is not None and stored.answers["q-one"].chosen == 2
    assert [t.number for t in stored.answers["q-one"].takes] == [1, 2]
    assert "q-one" not in stored.recorded


def test_a_typed_take_under_review_survives_too(make_harness) -> None:
    h = make_harness(template=small_template(mode="text"))
    h.to(Step.ANSWER)
    h.flow.update_text("I would ask the customer what they need first.")
    h.flow.finish_answer()
    again = make_harness(archive=h.archive, clock=h.clock, template=h.flow.template)
    again.flow.resume(h.flow.reference or "")
    again.flow.report_devices(camera=True, microphone=True)
    again.flow.devices_ready()
    assert again.flow.step is Step.REVIEW
    assert again.flow.takes[-1].text == "I would ask the customer what they need first."


def test_a_take_cut_off_by_a_wipe_is_not_kept(make_harness) -> None:
    h = make_harness()
    h.to(Step.ANSWER)
    h.flow.abort()  # staff stop the session mid-answer: that take is dropped
    started = next(e for e in h.events if isinstance(e, ev.SessionStarted))
    stored = h.archive.find(started.reference)
    assert stored is not None and not stored.recorded and not stored.answers


def test_a_take_that_could_not_be_stored_is_tried_again_at_the_next_tick(make_harness) -> None:
    h = make_harness()
    failures = [RuntimeError("database is locked")]
    keep = h.archive.save_take

    def flaky(session, question_id, take) -> None:
        if failures:
            raise failures.pop()
        keep(session, question_id, take)

    h.archive.save_take = flaky  # type: ignore[method-assign]
    h.to(Step.REVIEW)
    stored = h.archive.find(h.flow.reference or "")
    assert stored is not None and not stored.recorded  # not yet ...
    h.advance(0.1)
    stored = h.archive.find(h.flow.reference or "")
    assert stored is not None and [t.number for t in stored.recorded["q-one"]] == [1]
