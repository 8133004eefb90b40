"""Scoring a stored session once all its transcripts are in (run by the worker and the CLI)."""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict

from kiosk.errors import ConfigError
from kiosk.logs import get_logger, log_event
from kiosk.scoring import suggest
from kiosk.scoring.meaning import SentenceEncoder, can_use_meaning
from kiosk.scoring.reading_ahead import ReaderAhead
from kiosk.session import SessionStatus
from kiosk.store import Store
from kiosk.store.results import save_suggestions, transcripts
from kiosk.templates import InterviewTemplate, find_template
from kiosk.transcription.transcript import Segment, Transcript, Word

_log = get_logger("scoring")


@functools.cache
def sentence_model() -> SentenceEncoder | None:
    """The evidence model, loaded and digest-checked once per process; None when it is
    missing or refused, and then evidence comes from phrases (each piece says so)."""
    from kiosk.scoring.evidence_model import EvidenceModelError, SentenceModel

    try:
        return SentenceModel(threads=2)
    except EvidenceModelError as exc:
        log_event(_log, "scoring.evidence_model_unavailable", reason=str(exc))
        return None


def template_of(store: Store, template_id: str, sha256: str) -> InterviewTemplate:
    """The exact interview a session was taken with: as kept by the store, else bundled."""
    kept = store.kept_template(sha256)
    if kept is not None:
        return kept
    try:
        return find_template(template_id)
    except ConfigError as exc:
        raise ConfigError(f"the interview '{template_id}' of this session is not installed "
                          f"here, so it cannot be scored") from exc


def typed_transcript(text: str, language: str) -> Transcript:
    """A typed answer as a transcript (no times: it was not spoken)."""
    words = tuple(Word(0.0, 0.0, word, 1.0) for word in text.split())
    segments = (Segment(0.0, 0.0, text, words),) if words else ()
    return Transcript(text=text, language=language, duration=0.0, segments=segments,
                      model="typed answer")


def answer_transcripts(store: Store, session_id: str) -> dict[str, Transcript]:
    """Every answer as text: transcripts of spoken answers, and typed answers as typed."""
    session = store.find(session_id)
    found = transcripts(store, session_id)
    if session is not None:
        for question_id, answer in session.answers.items():
            text = answer.chosen_take.text
            if text is not None and question_id not in found:
                found[question_id] = typed_transcript(text, session.language)
    return found


def ready_to_score(store: Store, session_id: str) -> bool:
    """A completed session with no transcription still waiting."""
    row = store.connection.execute("SELECT status FROM sessions WHERE id = ?",
                                   (session_id,)).fetchone()
    pending = store.connection.execute(
        "SELECT COUNT(*) FROM jobs WHERE session_id = ? AND kind = 'transcribe' "
        "AND state IN ('queued', 'running')", (session_id,)).fetchone()[0]
    return row is not None and row[0] == SessionStatus.COMPLETED.value and pending == 0


def reader_ahead(store: Store, session_id: str) -> ReaderAhead | None:
    """What the worker gives the transcriber, so that an answer's sentences are read for
    meaning while the rest of it is still being transcribed and its evidence is ready soon
    after its transcript (docs/benchmarks.md). None when the session's evidence will not be
    found by meaning: suggestions off or declined, no model, or a language it does not read."""
    session = store.find(session_id)
    if session is None:
        return None
    try:
        template = template_of(store, session.template_id, session.template_sha256)
    except ConfigError:
        return None  # scoring will say so; transcription goes on
    if not (template.policy.ai_scoring and session.consents.ai_scoring):
        return None
    try:
        model = sentence_model()
    except Exception as exc:  # a saving lost, never a transcription: scoring meets it later
        log_event(_log, "scoring.read_ahead_failed", level=logging.WARNING,
                  error_type=type(exc).__name__)
        return None
    if model is None or not any(can_use_meaning(c, session.language, model)
                                for c in template.competencies):
        return None
    return ReaderAhead(model)


def score_session(store: Store, session_id: str, force: bool = False,
                  model: SentenceEncoder | bool | None = True) -> int:
    """Store suggestions for a session, if its interview and its candidate allow them.

    Returns how many competencies got a suggestion record; 0 when scoring is off, the
    candidate declined AI-assisted scoring, or transcripts are still missing. `model` True
    (the default) uses the process's evidence model; False or None finds by phrases only.
    """
    if not force and not ready_to_score(store, session_id):
        return 0
    session = store.find(session_id)
    if session is None:
        return 0
    template = template_of(store, session.template_id, session.template_sha256)
    if not (template.policy.ai_scoring and session.consents.ai_scoring):
        model = None  # nothing will be suggested: no need to load the model
    encoder = sentence_model() if model is True else (model or None)
    suggestions = suggest(template, answer_transcripts(store, session_id),
                          ai_consent=session.consents.ai_scoring, model=encoder)
    save_suggestions(store, session_id, {
        s.competency_id: (s.level, {"explanation": s.explanation, "withheld": s.withheld,
                                    "evidence": [asdict(e) for e in s.evidence]})
        for s in suggestions
    })
    return len(suggestions)
