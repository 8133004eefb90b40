"""The candidate journey: every step in order, accommodations, timers, retakes and consent."""

from __future__ import annotations

import pytest

from kiosk.errors import ConsentNeeded, IllegalTransition, InvalidInput
from kiosk.flow import Step
from kiosk.flow import events as ev
from kiosk.session import Accommodations, SessionStatus
from kiosk.templates import AnswerMode
from tests.kiosk.conftest import Harness, small_template


def steps(h: Harness) -> list[Step]:
    return [e.step for e in h.of_type(ev.StepChanged)]


def test_whole_journey_in_order_stores_every_answer(harness: Harness) -> None:
    h, flow = harness, harness.flow
    flow.choose_language("hi")
    flow.start()
    flow.choose_language("hi")
    flow.identify("  Priya   Sharma ", "priya@example.com")
    flow.give_consent(recording=True, retention=True)
    reference = flow.reference
    assert reference is not None
    flow.set_accommodations()
    flow.report_devices(camera=True, microphone=True)
    flow.devices_ready()
    assert flow.in_practice and flow.step is Step.READ
    h.answer_current()  # practice
    for _ in range(3):
        h.answer_current()
    assert flow.step is Step.FINISHED
    assert flow.takes_left is None  # asked by the review screen when the language changes
    assert steps(h)[:9] == [Step.LANGUAGE, Step.IDENTIFY, Step.CONSENT, Step.ACCOMMODATIONS,
                            Step.DEVICE_CHECK, Step.READ, Step.THINK, Step.COUNTDOWN, Step.ANSWER]
    session = h.archive.find(reference)
    assert session is not None
    assert session.status is SessionStatus.COMPLETED
    assert session.language == "hi"
    assert session.candidate.name == "Priya Sharma"
    assert list(session.answers) == ["q-one", "q-two", "q-three"]
    assert [a.chosen_take.mode for a in session.answers.values()] == [
        AnswerMode.VIDEO, AnswerMode.VIDEO, AnswerMode.TEXT]
    assert h.of_type(ev.SessionFinished) == [ev.SessionFinished(reference)]


def test_single_language_interview_skips_the_language_step(make_harness) -> None:
    template = small_template()
    single = type(template)(**{**template.__dict__, "languages": ("en",)})
    h = make_harness(single)
    h.flow.start()
    assert h.flow.step is Step.IDENTIFY


def test_practice_is_never_stored_and_can_be_skipped(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.READ, practice=True)
    assert flow.question is flow.template.practice
    h.answer_current()
    started = h.of_type(ev.RecordingStarted)
    assert started == [ev.RecordingStarted(None, 1, AnswerMode.VIDEO, 20, practice=True)]
    session = flow.session()
    assert session is not None and session.answers == {}
    assert flow.step is Step.READ and not flow.in_practice and flow.question_number == 1
    with pytest.raises(IllegalTransition):
        flow.skip_practice()


def test_think_time_running_out_starts_countdown_then_recording(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.THINK)
    h.advance(29.9)
    assert flow.step is Step.THINK
    assert flow.time_left() == pytest.approx(0.1)
    h.advance(0.1)
    assert flow.step is Step.COUNTDOWN
    h.advance(3)
    assert flow.step is Step.ANSWER
    assert h.of_type(ev.RecordingStarted)[-1] == ev.RecordingStarted(
        "q-one", 1, AnswerMode.VIDEO, 60, practice=False)


def test_answer_time_running_out_stops_by_itself(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.ANSWER)
    h.advance(59)
    assert flow.step is Step.ANSWER
    h.advance(1)
    assert flow.step is Step.REVIEW
    (take,) = flow.takes
    assert take.ended_by == "time" and take.seconds == 60
    assert h.of_type(ev.RecordingStopped)[-1] == ev.RecordingStopped("q-one", 1, "time", False)


def test_stopping_early_records_the_real_length(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.ANSWER)
    h.advance(12.5)
    flow.finish_answer()
    assert flow.takes[0].seconds == 12.5 and flow.takes[0].ended_by == "candidate"


def test_review_time_running_out_submits_the_chosen_take(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.REVIEW)
    flow.retake()
    h.advance(3 + 7)
    flow.finish_answer()
    flow.choose_take(1)
    h.advance(119)
    assert flow.step is Step.REVIEW
    h.advance(1)
    assert flow.step is Step.READ and flow.question_number == 2
    session = flow.session()
    assert session is not None
    answer = session.answers["q-one"]
    assert answer.chosen == 1 and len(answer.takes) == 2


def test_retakes_are_limited_by_the_question(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.REVIEW)
    assert flow.takes_left == 1
    flow.retake()
    assert flow.step is Step.COUNTDOWN  # a retake skips the think time
    h.advance(3 + 4)
    flow.finish_answer()
    assert flow.takes_left == 0 and flow.chosen_take == 2
    with pytest.raises(IllegalTransition, match="no retakes"):
        flow.retake()
    with pytest.raises(InvalidInput):
        flow.choose_take(3)
    flow.submit()
    assert h.of_type(ev.AnswerSubmitted) == [ev.AnswerSubmitted("q-one", 2)]


def test_a_question_without_retakes_offers_none(make_harness) -> None:
    h = make_harness(small_template(retakes=0))
    h.to(Step.REVIEW)
    assert h.flow.takes_left == 0
    with pytest.raises(IllegalTransition):
        h.flow.retake()


def test_extra_time_multiplies_think_answer_and_review(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.THINK, accommodations=Accommodations(extra_time=1.5))
    assert flow.time_left() == 45
    h.advance(45 + 3)
    assert flow.step is Step.ANSWER and flow.time_left() == 90
    h.advance(90)
    assert flow.step is Step.REVIEW and flow.time_left() == 180


def test_extra_retakes_add_to_every_question(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.REVIEW, accommodations=Accommodations(extra_retakes=2))
    assert flow.takes_left == 3
    flow.submit()
    flow.begin_question()
    flow.ready()
    h.advance(3 + 5)
    flow.finish_answer()
    assert flow.takes_left == 2  # question two allows no retakes of its own


def test_text_answers_replace_recording_and_need_no_devices(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.DEVICE_CHECK, accommodations=Accommodations(text_answers=True))
    assert flow.required_devices() == (False, False)
    flow.devices_ready()  # no camera, no microphone: fine for typed answers
    flow.skip_practice()
    flow.begin_question()
    flow.ready()
    assert flow.step is Step.ANSWER  # no 3-2-1 before typing
    assert flow.mode is AnswerMode.TEXT
    flow.update_text("I would listen first.")
    h.advance(60)  # time runs out: the draft is kept, not lost
    assert flow.takes[0].text == "I would listen first."
    assert flow.takes[0].ended_by == "time"


def test_longer_breaks_multiply_the_break(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.BREAK, accommodations=Accommodations(break_multiplier=2.0))
    assert flow.time_left() == 240
    h.advance(239)
    assert flow.step is Step.BREAK
    h.advance(1)
    assert flow.step is Step.READ and flow.question_number == 2


def test_accommodations_are_recorded_with_the_session(harness: Harness) -> None:
    h, flow = harness, harness.flow
    chosen = Accommodations(extra_time=2.0, extra_retakes=1, text_answers=True,
                            break_multiplier=3.0)
    h.to(Step.DEVICE_CHECK, accommodations=chosen)
    stored = h.archive.find(flow.reference or "")
    assert stored is not None and stored.accommodations == chosen
    assert chosen.names() == ["extra_time x2", "extra_retakes +1", "text_answers",
                              "longer_breaks x3"]


@pytest.mark.parametrize(("field", "value"), [
    ("extra_time", 5.0), ("extra_retakes", 9), ("extra_retakes", -1),
    ("break_multiplier", 0.5),
])
def test_out_of_range_accommodations_are_refused(field: str, value: float) -> None:
    with pytest.raises(InvalidInput, match=field):
        Accommodations(**{field: value})


def test_break_can_end_early_and_is_counted(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.BREAK)
    flow.end_break()
    assert flow.step is Step.READ
    session = flow.session()
    assert session is not None and session.breaks_taken == 1


def test_breaks_are_only_between_questions(harness: Harness) -> None:
    h = harness
    h.to(Step.READ, practice=True)
    with pytest.raises(IllegalTransition, match="between questions"):
        h.flow.take_break()


def test_declining_recording_ends_politely_and_keeps_nothing(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.DECLINED)
    assert flow.step is Step.DECLINED
    assert flow.reference is None and flow.session() is None
    assert h.archive.all() == []
    h.advance(30)
    assert flow.step is Step.WELCOME
    assert h.of_type(ev.SessionWiped) == [ev.SessionWiped("declined")]


@pytest.mark.parametrize(("recording", "retention", "missing"), [
    (False, False, ("recording", "retention")), (False, True, ("recording",)),
    (True, False, ("retention",))])
def test_going_on_without_a_needed_consent_asks_first_and_changes_nothing(
        harness: Harness, recording: bool, retention: bool, missing: tuple[str, ...]) -> None:
    h, flow = harness, harness.flow
    h.to(Step.CONSENT)
    h.events.clear()
    with pytest.raises(ConsentNeeded) as refused:
        flow.give_consent(recording=recording, retention=retention)
    assert refused.value.missing == missing
    assert flow.step is Step.CONSENT and h.events == [] and h.archive.all() == []
    flow.give_consent(recording=True, retention=True)  # "Go back", tick, and go on
    assert flow.step is Step.ACCOMMODATIONS and flow.reference is not None


def test_ending_at_consent_keeps_nothing(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.CONSENT)
    flow.decline_consent()
    assert flow.step is Step.DECLINED and h.archive.all() == []


def test_declining_ai_keeps_a_human_only_path(make_harness) -> None:
    h = make_harness(small_template(ai=True))
    h.to(Step.CONSENT)
    with pytest.raises(InvalidInput, match="ai_scoring"):
        h.flow.give_consent(recording=True, retention=True)  # must be asked explicitly
    h.flow.give_consent(recording=True, retention=True, ai_scoring=False)
    assert h.flow.step is Step.ACCOMMODATIONS
    session = h.flow.session()
    assert session is not None and session.consents.ai_scoring is False


def test_ai_consent_cannot_be_given_when_the_interview_uses_no_ai(harness: Harness) -> None:
    harness.to(Step.CONSENT)
    with pytest.raises(InvalidInput, match="no AI"):
        harness.flow.give_consent(recording=True, retention=True, ai_scoring=True)
    assert harness.flow.step is Step.CONSENT


@pytest.mark.parametrize(("name", "contact", "field"), [
    ("", "a@b.co", "name"),
    ("   ", "a@b.co", "name"),
    ("12345", "a@b.co", "name"),
    ("Ann\x00", "a@b.co", "name"),
    ("A" * 101, "a@b.co", "name"),
    ("Ann", "", "contact"),
    ("Ann", "not-an-email", "contact"),
    ("Ann", "12", "contact"),
    ("Ann", "a@b", "contact"),
])
def test_identify_refuses_bad_details_and_stays(harness: Harness, name: str, contact: str,
                                                field: str) -> None:
    harness.to(Step.IDENTIFY)
    with pytest.raises(InvalidInput) as caught:
        harness.flow.identify(name, contact)
    assert caught.value.field == field
    assert harness.flow.step is Step.IDENTIFY


@pytest.mark.parametrize("contact", ["+91 98765 43210", "98765-43210", "a.b+c@mail.example.in"])
def test_identify_accepts_phones_and_emails(harness: Harness, contact: str) -> None:
    harness.to(Step.IDENTIFY)
    harness.flow.identify("अनीता देवी", contact)
    assert harness.flow.step is Step.CONSENT


def test_device_check_blocks_until_needed_devices_work(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.DEVICE_CHECK)
    assert flow.required_devices() == (True, True)
    with pytest.raises(IllegalTransition, match="camera and microphone"):
        flow.devices_ready()
    flow.report_devices(camera=False, microphone=True)
    with pytest.raises(IllegalTransition, match="camera"):
        flow.devices_ready()
    flow.report_devices(camera=True, microphone=True)
    flow.devices_ready()
    assert flow.step is Step.READ


def test_audio_only_questions_need_only_the_microphone(make_harness) -> None:
    template = small_template(mode="audio")
    only_audio = type(template)(**{**template.__dict__, "questions": template.questions[:1]})
    h = make_harness(only_audio)
    h.to(Step.DEVICE_CHECK)
    assert h.flow.required_devices() == (False, True)
    h.flow.report_devices(camera=False, microphone=True)
    h.flow.devices_ready()
    assert h.flow.mode is AnswerMode.AUDIO  # practice matches the first question


def test_listeners_see_the_state_already_changed(harness: Harness) -> None:
    seen: list[tuple[Step, Step]] = []
    flow = harness.flow
    flow.subscribe(lambda e: seen.append((e.step, flow.step))
                   if isinstance(e, ev.StepChanged) else None)
    flow.start()
    assert seen == [(Step.LANGUAGE, Step.LANGUAGE)]


def test_unsubscribe_stops_events(harness: Harness) -> None:
    got: list[object] = []
    unsubscribe = harness.flow.subscribe(got.append)
    unsubscribe()
    harness.flow.start()
    assert got == []


def test_one_late_tick_equals_many_small_ones(make_harness) -> None:
    """Deadlines cascade from when each fell due, not from when the flow noticed."""
    late, steady = make_harness(), make_harness()
    for h in (late, steady):
        h.to(Step.THINK)
    late.advance(400)
    for _ in range(4000):
        steady.advance(0.1)
    assert late.flow.step is steady.flow.step is Step.WELCOME
    assert [type(e) for e in late.events] == [type(e) for e in steady.events]
    late_session = late.archive.all()[0]
    steady_session = steady.archive.all()[0]
    assert late_session.answers.keys() == steady_session.answers.keys() == {"q-one"}
    late_answer, steady_answer = late_session.answers["q-one"], steady_session.answers["q-one"]
    drift = late_answer.submitted_at - steady_answer.submitted_at
    assert abs(drift.total_seconds()) < 0.001


def test_a_failed_device_keeps_the_take_and_costs_no_retake(harness: Harness) -> None:
    h, flow = harness, harness.flow
    h.to(Step.ANSWER)
    assert flow.takes_left == 2
    h.advance(7)
    flow.recording_failed()
    assert flow.step is Step.REVIEW
    (take,) = flow.takes
    assert take.ended_by == "device" and take.seconds == 7  # what was recorded is kept
    assert flow.takes_left == 2  # the camera's fault is not the candidate's
    assert h.of_type(ev.RecordingStopped)[-1] == ev.RecordingStopped("q-one", 1, "device", False)
    flow.retake()
    h.advance(3 + 5)
    flow.finish_answer()
    assert flow.takes_left == 1 and flow.chosen_take == 2
