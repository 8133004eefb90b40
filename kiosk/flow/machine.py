"""The candidate flow: every decision a candidate screen shows is made here, without Qt.

Screens call intents (`flow.begin_question()`) and render what the flow exposes; a UI
timer calls `tick()`. Every intent checks, then changes state, then announces events: a
refused intent raises a `FlowError` and changes nothing. Timers are deadlines on the
injected clock; `tick()` applies each one due in order, from when the previous fell due,
so ticking every 100 ms or once an hour gives the same result.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from kiosk.clock import Clock, SystemClock
from kiosk.errors import IllegalTransition, InvalidInput, ResumeError
from kiosk.flow import events as ev
from kiosk.flow import follow_ups, plan
from kiosk.flow.attempt import Attempt
from kiosk.flow.details import check_consents, check_contact, check_name
from kiosk.flow.records import UnsavedTakes, find_resumable, open_session, recorded_attempt
from kiosk.flow.steps import WAITING_STEPS, FlowTimings, Step
from kiosk.flow.view import FlowView
from kiosk.logs import get_logger, log_event
from kiosk.reference import new_reference
from kiosk.session import (
    Accommodations,
    Answer,
    CandidateDetails,
    FollowUp,
    FollowUpOutcome,
    Invited,
    MemoryArchive,
    Session,
    SessionArchive,
    SessionStatus,
)
from kiosk.templates import AnswerMode, InterviewTemplate, Probe

MAX_TEXT_ANSWER = 10_000
# The notice and consent text this kiosk shows; recorded with every consent. Change it
# whenever the wording candidates see changes.
NOTICE_VERSION = "kiosk-notice-2"  # 2: the AI consent names follow-up questions

_log = get_logger("flow")


class CandidateFlow(FlowView):
    """One kiosk's candidate journey through one interview template."""

    def __init__(self, template: InterviewTemplate, *, clock: Clock | None = None,
                 archive: SessionArchive | None = None, timings: FlowTimings | None = None,
                 make_reference: Callable[[], str] = new_reference,
                 notice_version: str = NOTICE_VERSION, drive: str | None = None,
                 walk_ins: bool = True) -> None:
        self.template = template
        # At a campus drive: its id (every session names it) and whether candidates without
        # an invitation may start (`start`); invited ones come through `accept_invitation`.
        self.drive = drive
        self.walk_ins = walk_ins or drive is None
        self.notice_version = notice_version
        self.timings = timings or FlowTimings()
        self._clock = clock or SystemClock()
        self._archive: SessionArchive = archive if archive is not None else MemoryArchive()
        self._make_reference = make_reference
        self._events = ev.Announcer()
        self._unsaved_takes = UnsavedTakes(self._archive)
        self._step = Step.WELCOME
        self._entered_at = self._clock.monotonic()
        # Everything about the current candidate, all set (and reset) by _clear_candidate.
        self._language: str
        self._candidate: CandidateDetails | None
        self._session: Session | None
        self._accommodations: Accommodations
        self._devices: tuple[bool, bool]
        self._practice: bool
        self._index: int
        self._attempt: Attempt
        self._idle_warned: bool
        self._last_activity: float
        self._probe: Probe | None
        self._invited: Invited | None
        self._clear_candidate(self._entered_at)

    # --- intents ------------------------------------------------------------------------

    def start(self) -> None:
        """The candidate tapped Start on the welcome screen (a walk-in)."""
        self._require(Step.WELCOME)
        if not self.walk_ins:
            raise InvalidInput("invitation", "this kiosk is for invited candidates: scan "
                                             "your invitation")
        now = self._now()
        self._go(Step.LANGUAGE if len(self.template.languages) > 1 else Step.IDENTIFY, now)
        self._deliver()

    def scan_invitation(self) -> None:
        """'Scan your invitation' on the welcome screen (only at a drive)."""
        self._require(Step.WELCOME)
        if self.drive is None:
            raise IllegalTransition("this kiosk is not at a drive: there is nothing to scan")
        self._go(Step.INVITATION, self._now())
        self._deliver()

    def leave_invitation(self) -> None:
        """'Back' from scanning: to the welcome screen, nothing kept."""
        self._require(Step.INVITATION)
        now = self._now()
        self._clear_candidate(now)
        self._go(Step.WELCOME, now)
        self._deliver()

    def accept_invitation(self, invited: Invited) -> None:
        """A checked invitation (`kiosk.drives.desk`): its unfinished session resumes;
        otherwise the candidate goes on with the roster's details to confirm or correct."""
        self._require(Step.WELCOME, Step.INVITATION)
        if invited.drive != self.drive:
            raise InvalidInput("invitation", "this invitation is for another drive")
        now = self._now()
        if invited.resume is not None:
            session = self._archive.find(invited.resume)
            if session is None or session.invite != invited.invite \
                    or session.status is SessionStatus.COMPLETED:
                raise ResumeError("that interview cannot be resumed: ask a member of staff")
            self._resume(session, now)
            return
        self._invited = invited
        log_event(_log, "flow.invitation_accepted", prefilled=invited.name is not None)
        self._go(Step.LANGUAGE if len(self.template.languages) > 1 else Step.IDENTIFY, now)
        self._deliver()

    def choose_language(self, language: str) -> None:
        """Pick the language (on the welcome screen, or the language step, which it ends)."""
        self._require(Step.WELCOME, Step.LANGUAGE)
        if language not in self.template.languages:
            raise InvalidInput("language", f"this interview is offered in "
                                           f"{', '.join(self.template.languages)}")
        now = self._now()
        self._language = language
        if self._step is Step.LANGUAGE:
            self._go(Step.IDENTIFY, now)
        self._deliver()

    def identify(self, name: str, contact: str) -> None:
        """The candidate gave their name and one contact detail."""
        self._require(Step.IDENTIFY)
        details = CandidateDetails(check_name(name), check_contact(contact))
        now = self._now()
        self._candidate = details
        self._go(Step.CONSENT, now)
        self._deliver()

    def give_consent(self, *, recording: bool, retention: bool,
                     ai_scoring: bool | None = None) -> None:
        """The candidate's separate answers on the consent screen. Without recording or
        keeping the data: `ConsentNeeded` (the screen asks; `decline_consent` ends). AI
        scoring is asked only where the template uses it; no keeps a human-only review."""
        self._require(Step.CONSENT)
        check_consents(self.template.policy.ai_scoring, recording=recording,
                       retention=retention, ai_scoring=ai_scoring)
        now = self._now()
        assert self._candidate is not None
        self._session = open_session(self._archive, self.template, self._language,
                                     self._candidate, bool(ai_scoring), self._wall(now),
                                     self._make_reference, self.notice_version)
        self._session.drive = self.drive
        self._session.invite = self._invited.invite if self._invited else None
        self._save()
        log_event(_log, "flow.session_started", session_id=self._session.id,
                  template_id=self.template.id, language=self._language)
        self._events.queue(ev.SessionStarted(self._session.reference))
        self._go(Step.ACCOMMODATIONS, now)
        self._deliver()

    def decline_consent(self) -> None:
        """The candidate does not agree to be recorded: end politely, keeping nothing."""
        self._require(Step.CONSENT)
        now = self._now()
        self._candidate = None  # nothing about someone who declined is kept
        log_event(_log, "flow.consent_declined")
        self._go(Step.DECLINED, now)
        self._deliver()

    def set_accommodations(self, accommodations: Accommodations | None = None) -> None:
        """Apply the adjustments the candidate asked for (None: no adjustment)."""
        self._require(Step.ACCOMMODATIONS)
        chosen = accommodations or Accommodations()
        now = self._now()
        assert self._session is not None
        self._accommodations = chosen
        self._session.accommodations = chosen
        self._save()
        self._go(Step.DEVICE_CHECK, now)
        self._deliver()

    def report_devices(self, *, camera: bool, microphone: bool) -> None:
        """The device check's findings: whether camera and microphone work."""
        self._require(Step.DEVICE_CHECK)
        self._devices = (camera, microphone)
        self._touch(self._now())
        self._deliver()

    def devices_ready(self) -> None:
        """Leave the device check; refused while a device the questions need is not working."""
        self._require(Step.DEVICE_CHECK)
        need_camera, need_microphone = self.required_devices()
        camera, microphone = self._devices
        missing = [name for name, need, ok in (("camera", need_camera, camera),
                                               ("microphone", need_microphone, microphone))
                   if need and not ok]
        if missing:
            raise IllegalTransition(f"the {' and '.join(missing)} must work before the "
                                    f"questions start (or choose text answers)")
        now = self._now()
        if not self._remaining_questions():
            self._finish(now)
        elif self._attempt.takes and not self._practice:
            self._go(Step.REVIEW, now)  # resumed with a take not yet used: review it first
        else:
            self._go(Step.READ, now)
        self._deliver()

    def skip_practice(self) -> None:
        """Go straight to the first real question."""
        self._require(Step.READ)
        if not self._practice:
            raise IllegalTransition("only the practice question can be skipped")
        now = self._now()
        self._practice = False
        self._go(Step.READ, now)
        self._deliver()

    def begin_question(self) -> None:
        """Show the question and start the think countdown."""
        self._require(Step.READ)
        now = self._now()
        self._go(Step.THINK, now)
        self._deliver()

    def ready(self) -> None:
        """'I'm ready': end thinking early."""
        self._require(Step.THINK)
        now = self._now()
        self._start_countdown(now)
        self._deliver()

    def update_text(self, text: str) -> None:
        """Keep the text typed so far, so a timeout never loses it."""
        self._require(Step.ANSWER)
        if self.mode is not AnswerMode.TEXT:
            raise IllegalTransition("this answer is recorded, not typed")
        if len(text) > MAX_TEXT_ANSWER:
            raise InvalidInput("text", f"answers are limited to {MAX_TEXT_ANSWER} characters")
        self._attempt.draft = text
        self._touch(self._now())
        self._deliver()

    def finish_answer(self) -> None:
        """'Finish answer': stop recording early (or hand in the typed text)."""
        self._require(Step.ANSWER)
        now = self._now()
        self._stop_answer(now, "candidate")
        self._deliver()

    def recording_failed(self) -> None:
        """The camera or microphone failed mid-answer: keep the take; no retake is lost."""
        self._require(Step.ANSWER)
        self._stop_answer(self._now(), "device")
        self._deliver()

    def choose_take(self, number: int) -> None:
        """Pick which take to submit."""
        self._require(Step.REVIEW)
        if not 1 <= number <= len(self._attempt.takes):
            raise InvalidInput("take", f"choose a take from 1 to {len(self._attempt.takes)}")
        self._attempt.chosen = number
        self._touch(self._now())
        self._deliver()

    def retake(self) -> None:
        """'Try again': record another take, if the question allows one."""
        self._require(Step.REVIEW)
        if self.takes_left == 0:
            raise IllegalTransition("no retakes are left for this question")
        now = self._now()
        self._start_countdown(now)
        self._deliver()

    def submit(self) -> None:
        """'Use this answer': submit the chosen take and move on."""
        self._require(Step.REVIEW)
        self._submit(self._now())
        self._deliver()

    def follow_up_decided(self, question_id: str, outcome: FollowUpOutcome,
                          probe_id: str | None = None) -> None:
        """The decision about the kept answer's follow-up (`FollowUpNeeded`): ask the probe
        `probe_id` (outcome ASKED), or go on. Refused for another question, for a probe the
        question does not have, and once the wait is over (the flow has gone on)."""
        self._require(Step.FOLLOW_UP_CHECK)
        question = self._current_question()
        if question_id != question.id:
            raise InvalidInput("question", f"the follow-up being decided is for "
                                           f"'{question.id}', not '{question_id}'")
        probe = next((p for p in question.probes if p.id == probe_id), None)
        if (outcome is FollowUpOutcome.ASKED) != (probe is not None):
            raise InvalidInput("probe", "a probe of this question is named exactly when one "
                                        "is asked")
        if outcome in follow_ups.DECIDED_BY_FLOW:
            raise InvalidInput("outcome", f"'{outcome.value}' is the flow's own decision")
        self._follow_up(self._now(), outcome, probe)
        self._deliver()

    def take_break(self) -> None:
        """Pause before the next question."""
        self._require(Step.READ)
        if self._practice:
            raise IllegalTransition("breaks are taken between questions")
        now = self._now()
        assert self._session is not None
        self._session.breaks_taken += 1
        self._go(Step.BREAK, now)
        self._deliver()

    def end_break(self) -> None:
        """Back from the break to the next question."""
        self._require(Step.BREAK)
        now = self._now()
        self._go(Step.READ, now)
        self._deliver()

    def reset(self) -> None:
        """'Done' on the finished or declined screen: wipe and welcome the next candidate."""
        self._require(Step.FINISHED, Step.DECLINED)
        now = self._now()
        self._wipe("finished" if self._step is Step.FINISHED else "declined", now)
        self._deliver()

    def abort(self) -> None:
        """Staff stop the session; it can be resumed later with its reference code."""
        if self._step is Step.WELCOME:
            raise IllegalTransition("there is no session to stop")
        now = self._now()
        self._wipe("staff", now)
        self._deliver()

    def resume(self, code: str) -> None:
        """Resume an interrupted session by its reference code, from its next question."""
        self._require(Step.WELCOME)
        now = self._now()
        session = find_resumable(self._archive, code, self.template.id, self._wall(now),
                                 self.timings.resume_window_hours)
        self._resume(session, now)

    def _resume(self, session: Session, now: float) -> None:
        self._session = session
        self._language = session.language
        self._candidate = session.candidate
        self._accommodations = session.accommodations
        self._practice = False
        self._index = self._next_unanswered(0)
        self._attempt = recorded_attempt(session, self.template, self._index)
        session.status = SessionStatus.IN_PROGRESS
        session.interruption = None
        self._save()
        log_event(_log, "flow.session_resumed", session_id=session.id,
                  questions=len(session.answers))
        self._events.queue(ev.SessionResumed(session.reference, len(session.answers)))
        self._go(Step.DEVICE_CHECK, now)
        self._deliver()

    def touch(self) -> None:
        """Any touch or key press: the candidate is still here."""
        if self._step is not Step.WELCOME:
            self._touch(self._now())
        self._deliver()

    def tick(self) -> None:
        """Apply every deadline that has passed."""
        now = self._now()
        while (due := self._next_deadline()) is not None and due <= now:
            self._expire(due)
        self._deliver()

    # --- the machinery ------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock.monotonic()

    def _deliver(self) -> None:
        """Announce what happened, then store each take that ended (see `UnsavedTakes`)."""
        self._events.deliver()
        self._unsaved_takes.store()

    def _wall(self, at: float) -> datetime:
        """Wall time at monotonic reading `at` (which may lie in the recent past)."""
        return self._clock.now() - timedelta(seconds=self._now() - at)

    def _require(self, *allowed: Step) -> None:
        if self._step not in allowed:
            names = " or ".join(s.value for s in allowed)
            raise IllegalTransition(f"not possible at the {self._step.value} step "
                                    f"(only at {names})")

    def _go(self, step: Step, at: float) -> None:
        previous, self._step = self._step, step
        self._entered_at = at
        self._touch(at)
        log_event(_log, "flow.step", step=step.value, previous=previous.value,
                  session_id=self._session.id if self._session else None,
                  question_index=self._index, practice=self._practice)
        self._events.queue(ev.StepChanged(step, previous))

    def _touch(self, at: float) -> None:
        self._last_activity = at
        if self._idle_warned:
            self._idle_warned = False
            self._events.queue(ev.IdleCleared())

    def _clear_candidate(self, at: float) -> None:
        """Forget everything about the current candidate."""
        self._language = self.template.default_language
        self._candidate = None
        self._session = None
        self._accommodations = Accommodations()
        self._devices = (False, False)
        self._practice = True
        self._index = 0
        self._attempt = Attempt()
        self._idle_warned = False
        self._last_activity = at
        self._probe = None
        self._invited = None

    def _save(self) -> None:
        assert self._session is not None
        self._session.updated_at = self._clock.now()
        self._archive.save(self._session)

    def _next_unanswered(self, start: int) -> int:
        return plan.next_unanswered(self.template, start, self._answered())

    def _answer_seconds(self) -> float:
        return plan.answer_seconds(self._asked(), self._accommodations)

    def _next_deadline(self) -> float | None:
        if self._step in WAITING_STEPS:
            idle = self.timings.idle_seconds * self._accommodations.extra_time
            warning = self.timings.idle_warning_seconds if self._idle_warned else 0
            return self._last_activity + idle + warning
        return self._step_deadline()

    def _expire(self, at: float) -> None:
        step = self._step
        if step in WAITING_STEPS:
            if not self._idle_warned:
                self._idle_warned = True
                self._events.queue(ev.IdleWarning(self.timings.idle_warning_seconds))
            else:
                self._wipe("idle", at)
        elif step is Step.THINK:
            self._start_countdown(at)
        elif step is Step.COUNTDOWN:
            self._start_answer(at)
        elif step is Step.ANSWER:
            self._stop_answer(at, "time")
        elif step is Step.REVIEW:
            self._submit(at)
        elif step is Step.BREAK:
            self._go(Step.READ, at)
        elif step is Step.FOLLOW_UP_CHECK:
            self._follow_up(at, FollowUpOutcome.NOT_READY, None)
        elif step in (Step.FINISHED, Step.DECLINED):
            self._wipe("finished" if step is Step.FINISHED else "declined", at)

    def _start_countdown(self, at: float) -> None:
        if self.mode is AnswerMode.TEXT or self.timings.countdown_seconds <= 0:
            self._start_answer(at)
        else:
            self._go(Step.COUNTDOWN, at)

    def _start_answer(self, at: float) -> None:
        self._attempt.start_take(at, self._wall(at))
        self._go(Step.ANSWER, at)
        self._events.queue(ev.RecordingStarted(self.answer_key, self._attempt.next_take,
                                               self.mode, self._answer_seconds(),
                                               self._practice))

    def _stop_answer(self, at: float, ended_by: str) -> None:
        take = self._attempt.stop_take(at, self.mode, self._answer_seconds(), ended_by)
        question_id = self.answer_key
        if question_id is not None and self._session is not None:  # kept now; used later
            self._session.recorded.setdefault(question_id, []).append(take)
            self._unsaved_takes.add(self._session, question_id, take)
        self._events.queue(ev.RecordingStopped(question_id, take.number, ended_by,
                                               self._practice))
        self._go(Step.REVIEW, at)

    def _submit(self, at: float) -> None:
        if self._practice:
            # Practice takes are never stored: drop them and start the real questions.
            self._practice = False
            self._next_question(at, advance=False)
        else:
            answer = self._keep_answer(at)
            self._save()
            assert self._session is not None
            log_event(_log, "flow.answer_submitted", session_id=self._session.id,
                      question_id=answer.question_id, take=answer.chosen,
                      takes=len(answer.takes))
            self._events.queue(ev.AnswerSubmitted(answer.question_id, answer.chosen))
            if self._probe is None and self._current_question().probes:
                self._consider_follow_up(at, answer)
            else:
                self._next_question(at)

    def _next_question(self, at: float, advance: bool = True) -> None:
        if advance:
            self._index = self._next_unanswered(self._index + 1)
        self._attempt = Attempt()
        self._probe = None
        if self._index >= len(self.template.questions):
            self._finish(at)
        else:
            self._go(Step.READ, at)

    def _consider_follow_up(self, at: float, answer: Answer) -> None:
        """Decide now where the flow alone can (consent, the maximum, time); else wait for
        the answer's decision (`FollowUpNeeded`), at most the flow's wait."""
        assert self._session is not None
        question = self._current_question()
        outcome = follow_ups.gate(self.template, question, self._session, self._accommodations,
                                  self._wall(at))
        if outcome is not None:
            self._follow_up(at, outcome, None)
            return
        self._go(Step.FOLLOW_UP_CHECK, at)
        self._events.queue(ev.FollowUpNeeded(question.id, answer.chosen,
                                             answer.chosen_take.mode))

    def _follow_up(self, at: float, outcome: FollowUpOutcome, probe: Probe | None) -> None:
        """Record the decision about the current question's follow-up, then ask it or go on."""
        assert self._session is not None
        question_id = self._current_question().id
        self._session.follow_ups[question_id] = FollowUp(
            question_id, outcome, probe.id if probe else None, self._wall(at))
        self._save()
        log_event(_log, "flow.follow_up", session_id=self._session.id,
                  question_id=question_id, outcome=outcome.value,
                  probe_id=probe.id if probe else None)
        self._events.queue(ev.FollowUpDecided(question_id, outcome,
                                              probe.id if probe else None))
        if probe is None:
            self._next_question(at)
            return
        self._probe = probe
        self._attempt = Attempt()
        self._go(Step.THINK, at)

    def _keep_answer(self, at: float) -> Answer:
        """Put the chosen take of the current question into the session."""
        assert self._session is not None and self._attempt.chosen is not None
        question_id = self.answer_key
        assert question_id is not None
        answer = Answer(question_id=question_id, takes=list(self._attempt.takes),
                        chosen=self._attempt.chosen, submitted_at=self._wall(at))
        self._session.answers[question_id] = answer
        self._session.recorded.pop(question_id, None)  # kept: now part of the answer
        return answer

    def _finish(self, at: float) -> None:
        assert self._session is not None
        self._session.status = SessionStatus.COMPLETED
        self._session.ended_at = self._wall(at)
        self._save()
        log_event(_log, "flow.session_finished", session_id=self._session.id,
                  questions=len(self._session.answers))
        self._events.queue(ev.SessionFinished(self._session.reference))
        self._go(Step.FINISHED, at)

    def _wipe(self, reason: str, at: float) -> None:
        if self._step is Step.ANSWER:
            self._events.queue(ev.RecordingStopped(
                self.answer_key, self._attempt.next_take, "abort", self._practice))
        session = self._session
        if session is not None and session.status is not SessionStatus.COMPLETED:
            if self._step is Step.REVIEW and not self._practice:
                self._keep_answer(at)  # a finished take is the candidate's work: keep it
            session.status = SessionStatus.INTERRUPTED
            session.interruption = reason
            session.stopped_at_step = f"{self._step.value}:{self._index + 1}"
            self._save()
            log_event(_log, "flow.session_interrupted", session_id=session.id, reason=reason,
                      step=self._step.value, question_index=self._index)
            self._events.queue(ev.SessionInterrupted(session.reference, reason))
        self._clear_candidate(at)
        self._go(Step.WELCOME, at)
        log_event(_log, "flow.wiped", reason=reason)
        self._events.queue(ev.SessionWiped(reason))

