"""What the candidate flow shows: the read-only half of `CandidateFlow`, which screens use.

Everything here reads state; nothing changes it. The intents, and the timers that change
state, are in `machine.py`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection

from kiosk.clock import Clock
from kiosk.flow import events as ev
from kiosk.flow import plan
from kiosk.flow.attempt import Attempt
from kiosk.flow.steps import FlowTimings, Step
from kiosk.session import Accommodations, Invited, Session, Take, follow_up_key
from kiosk.templates import AnswerMode, InterviewTemplate, Practice, Probe, Question


class FlowView:
    """The state a candidate screen renders (set by `CandidateFlow`)."""

    template: InterviewTemplate
    timings: FlowTimings
    _clock: Clock
    _events: ev.Announcer
    _step: Step
    _entered_at: float
    _language: str
    _session: Session | None
    _accommodations: Accommodations
    _practice: bool
    _index: int
    _attempt: Attempt
    _idle_warned: bool
    _probe: Probe | None
    _invited: Invited | None

    # --- what screens read --------------------------------------------------------------

    @property
    def step(self) -> Step:
        """The current step."""
        return self._step

    @property
    def language(self) -> str:
        """The language the candidate chose (the template's first until they choose)."""
        return self._language

    @property
    def in_practice(self) -> bool:
        """Whether the current question is the practice question."""
        return self._practice

    @property
    def question(self) -> Question | Practice | None:
        """The question being asked, the practice question, or None outside questions."""
        if self._step not in {Step.READ, Step.THINK, Step.COUNTDOWN, Step.ANSWER, Step.REVIEW}:
            return None
        return self.template.practice if self._practice else self._current_question()

    @property
    def follow_up(self) -> Probe | None:
        """The follow-up being asked of the current question's kept answer, if one is."""
        return self._probe if self.question is not None else None

    @property
    def answer_key(self) -> str | None:
        """Where the current takes are kept: the question's id, or its follow-up's key
        (None in practice, and outside questions)."""
        if self._practice or self.question is None:
            return None
        question_id = self._current_question().id
        return follow_up_key(question_id) if self._probe is not None else question_id

    @property
    def question_number(self) -> int:
        """1-based number of the current (or next) real question."""
        return self._index + 1

    @property
    def question_count(self) -> int:
        """How many real questions the interview has."""
        return len(self.template.questions)

    @property
    def mode(self) -> AnswerMode:
        """How the current question is answered, after accommodations."""
        if self._practice:
            return plan.practice_mode(self._remaining_questions(), self._accommodations)
        return plan.answer_mode(self._current_question(), self._accommodations)

    @property
    def takes(self) -> tuple[Take, ...]:
        """The takes of the current question so far."""
        return tuple(self._attempt.takes)

    @property
    def chosen_take(self) -> int | None:
        """The take number that will be submitted (the latest unless the candidate chose)."""
        return self._attempt.chosen

    @property
    def takes_left(self) -> int | None:
        """Retakes still allowed for the current question (None: unlimited, in practice, or
        when there is no question, as on the finished screen where the language may change)."""
        if self._practice or self._index >= len(self.template.questions):
            return None
        allowed = plan.allowed_takes(self._probe or self._current_question(),
                                     self._accommodations)
        counted = [t for t in self._attempt.takes if t.ended_by != "device"]
        return max(0, allowed - len(counted))  # a device failure never costs a retake

    @property
    def accommodations(self) -> Accommodations:
        """The adjustments in effect."""
        return self._accommodations

    @property
    def prefill(self) -> tuple[str, str] | None:
        """The name and contact the drive's roster holds for the invited candidate, for the
        "about you" screen to show for confirming or correcting (None: they type them)."""
        invited = self._invited
        if invited is None or invited.name is None or invited.contact is None:
            return None
        return invited.name, invited.contact

    @property
    def invited(self) -> bool:
        """Whether the current candidate came with an invitation."""
        return self._invited is not None

    @property
    def reference(self) -> str | None:
        """The session's reference code, once the candidate has consented."""
        return self._session.reference if self._session else None

    @property
    def idle_warning(self) -> bool:
        """Whether the 'Are you still there?' warning is showing."""
        return self._idle_warned

    @property
    def draft_text(self) -> str:
        """What the candidate has typed so far in a text answer."""
        return self._attempt.draft

    def session(self) -> Session | None:
        """A copy of the current session, for summaries."""
        return copy.deepcopy(self._session)

    def time_left(self) -> float | None:
        """Seconds until the current step's own timer runs out; None if it has none."""
        due = self._step_deadline()
        return None if due is None else max(0.0, due - self._clock.monotonic())

    def required_devices(self) -> tuple[bool, bool]:
        """(camera, microphone): what the questions still ahead need."""
        return plan.required_devices(self._remaining_questions(), self._accommodations)

    def subscribe(self, listener: ev.Listener) -> Callable[[], None]:
        """Call `listener` with every event from now on; returns an unsubscribe function."""
        return self._events.subscribe(listener)

    # --- reading helpers ---------------------------------------------------------------

    def _current_question(self) -> Question:
        return self.template.questions[self._index]

    def _asked(self) -> Question | Practice | Probe:
        if self._practice:
            return self.template.practice
        return self._probe or self._current_question()

    def _answered(self) -> Collection[str]:
        return self._session.answers.keys() if self._session else ()

    def _remaining_questions(self) -> list[Question]:
        return plan.remaining_questions(self.template, self._index, self._answered())

    def _step_deadline(self) -> float | None:
        seconds = plan.step_seconds(self._step, self._asked, self.timings, self._accommodations)
        return None if seconds is None else self._entered_at + seconds

