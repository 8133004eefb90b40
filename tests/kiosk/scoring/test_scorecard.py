"""Scorecards from stored results: suggestions with evidence, reviewer scores beside them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kiosk import keys
from kiosk.commands import main
from kiosk.scoring.scorecard import SCHEMA, build, render
from kiosk.scoring.service import score_session
from kiosk.store import Store
from kiosk.store.results import save_transcript, scores, set_reviewer_score
from kiosk.templates import find_template
from kiosk.transcription.transcript import Segment, Transcript, Word
from tests.kiosk.conftest import take_demo_interview

PASS = "scorecard test passphrase"
FAST = keys.KdfParams(memory_kib=8 * 1024, iterations=1, lanes=1)


def spoken(text: str, start: float = 1.0, step: float = 0.4, *,
           needs_review: bool = False) -> Transcript:
    words = tuple(Word(start + i * step, start + (i + 1) * step, w, 0.9)
                  for i, w in enumerate(text.split()))
    return Transcript(text=text, language="en", duration=start + len(words) * step + 1,
                      segments=(Segment(start, words[-1].end, text, words),),
                      needs_review=needs_review,
                      review_reasons=("low recognition confidence",) if needs_review else ())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    keys.init_keys(tmp_path, PASS, FAST)
    unlocked = keys.unlock(tmp_path, PASS)
    opened = Store(tmp_path, keys.recipients(tmp_path), [unlocked.identity])
    yield opened
    opened.close()


def finished_session(store: Store, ai: bool = True, unclear: bool = True) -> str:
    store.keep_template(find_template("demo"))
    session = take_demo_interview(store, ai=ai, name="Meera Iyer",
                                  typed="Next time I would make the review screen clearer.")
    with store.transaction():
        save_transcript(store, session.id, "introduce-yourself", 1,
                        spoken("I am a student and for example I ran the college fest"))
        save_transcript(store, session.id, "something-you-learned-recently", 1,
                        spoken("recently I learned to cook", needs_review=unclear))
        score_session(store, session.id)
    return session.reference


def test_the_scorecard_carries_evidence_times_and_no_name(store: Store) -> None:
    reference = finished_session(store)
    card = build(store, store.session_id(reference))
    assert card["schema"] == SCHEMA and card["version"] == 1
    assert card["candidate"] == {"reference": reference, "language": "en"}
    assert "Meera" not in json.dumps(card) and "candidate@example.com" not in json.dumps(card)
    communication = next(c for c in card["competencies"] if c["id"] == "communication")
    # Found by meaning: the clause that gives the example, words 5 to 12.
    example = next(e for e in communication["suggestion"]["evidence"]
                   if e["indicator"] == "Gives a concrete example")
    assert example["method"] == "meaning" and 0.5 <= example["score"] <= 1
    assert example["text"] == "and for example I ran the college fest"
    assert (example["start"], example["end"]) == pytest.approx((2.6, 5.8))
    first = card["questions"][0]
    assert {"start": example["start"], "end": example["end"], "text": example["text"],
            "competency": "communication"} in first["highlights"]
    assert card["questions"][2]["typed_excerpt"].startswith("Next time")
    assert any("question 2: a person should check" in flag for flag in card["flags"])
    assert "Suggestions for a human reviewer" in render(card)


def test_unclear_speech_withholds_rather_than_lowers(store: Store) -> None:
    reference = finished_session(store)
    card = build(store, store.session_id(reference))
    reflection = next(c for c in card["competencies"] if c["id"] == "self-reflection")
    assert reflection["suggestion"]["level"] is None
    assert "needs review: question 2" in reflection["suggestion"]["withheld"]


def test_declined_ai_means_no_suggestions_at_all(store: Store) -> None:
    reference = finished_session(store, ai=False)
    session_id = store.session_id(reference)
    assert scores(store, session_id) == {}
    card = build(store, session_id)
    assert all(c["suggestion"] is None for c in card["competencies"])
    assert card["ai_scoring"] == {"enabled_by_interview": True, "consented": False,
                                  "label": card["ai_scoring"]["label"]}


def test_a_reviewer_override_is_kept_beside_the_suggestion_and_audited(store: Store) -> None:
    reference = finished_session(store, unclear=False)
    session_id = store.session_id(reference)
    suggested = scores(store, session_id)["communication"]["suggested"]
    assert suggested is not None
    override = 1 if suggested != 1 else 2
    set_reviewer_score(store, session_id, "communication", override)
    stored = scores(store, session_id)["communication"]
    assert (stored["suggested"], stored["reviewer"]) == (suggested, override)
    card = build(store, session_id)
    communication = next(c for c in card["competencies"] if c["id"] == "communication")
    assert communication["reviewer_score"] == override
    assert communication["overrides_suggestion"] is True
    assert communication["suggestion"]["level"] == suggested
    (entry,) = [e for e in store.audit.entries() if e.action == "score.reviewed"]
    assert entry.details["overrides_suggestion"] is True
    with pytest.raises(ValueError, match="1 to 5"):
        set_reviewer_score(store, session_id, "communication", 7)


def test_scoring_again_keeps_the_reviewer_score(store: Store) -> None:
    reference = finished_session(store)
    session_id = store.session_id(reference)
    set_reviewer_score(store, session_id, "communication", 4)
    with store.transaction():
        score_session(store, session_id, force=True)
    assert scores(store, session_id)["communication"]["reviewer"] == 4


def test_score_and_scorecard_commands(store: Store, capsys, tmp_path: Path,
                                      monkeypatch) -> None:
    reference = finished_session(store)
    monkeypatch.setenv("KIOSK_PASSPHRASE", PASS)
    assert main.main(["--data-dir", str(tmp_path), "score", reference.lower()]) == 0
    assert "2 competencies scored" in capsys.readouterr().out
    assert main.main(["--data-dir", str(tmp_path), "scorecard", reference, "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["candidate"]["reference"] == reference
    assert main.main(["--data-dir", str(tmp_path), "scorecard", "ZZZZ-ZZZZ"]) == 1
    assert "no session has that reference code" in capsys.readouterr().err


def test_notes_and_a_decision_are_kept_apart_from_suggestions(store: Store) -> None:
    from kiosk.store.results import add_note, decision, notes, set_decision

    reference = finished_session(store, unclear=False)
    session_id = store.session_id(reference)
    add_note(store, session_id, "  Strong example of teamwork.  ")
    set_decision(store, session_id, "hold")
    set_decision(store, session_id, "advance")  # a person may change their mind
    assert decision(store, session_id) == "advance"
    assert [text for _, text in notes(store, session_id)] == ["Strong example of teamwork."]
    card = build(store, session_id)
    assert card["review"]["decision"] == "advance"
    assert card["competencies"][0]["suggestion"]["level"] is not None  # untouched
    with pytest.raises(ValueError, match="advance, hold, reject"):
        set_decision(store, session_id, "maybe")
    with pytest.raises(ValueError, match="some text"):
        add_note(store, session_id, "   ")
    store.erase(reference)
    assert store.connection.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0


def test_the_printed_scorecard_shows_each_piece_of_evidence_and_how_it_was_found(
        store: Store) -> None:
    reference = finished_session(store, unclear=False)
    card = build(store, store.session_id(reference))
    shown = render(card).splitlines()
    # The piece's text is what it was found in (after evidence by meaning: the sentence).
    at = next(n for n, line in enumerate(shown)
              if line.strip().startswith("- Q1 at 0:0") and "for example" in line.lower())
    # By meaning where the model is installed (as `make` installs it), else by the phrase.
    assert re.fullmatch(r'Gives a concrete example; found by (meaning \(score (0\.\d\d|1\.00)\)'
                        r'|the phrase "for example")', shown[at + 1].strip()), shown[at + 1]
    # Evidence found by meaning says so, with its score.
    communication = next(c for c in card["competencies"] if c["id"] == "communication")
    communication["suggestion"]["evidence"] = [{
        "question_id": "introduce-yourself", "start": 61.0, "end": 64.0,
        "text": "We sat down and agreed who does what.", "indicator": "Puts the answer in order",
        "phrase": "", "score": 0.71, "method": "meaning"}]
    shown = render(card).splitlines()
    at = shown.index('        - Q1 at 1:01: "We sat down and agreed who does what."')
    assert shown[at + 1].strip() == "Puts the answer in order; found by meaning (score 0.71)"
