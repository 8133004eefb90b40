"""Rubric evidence, suggested levels and delivery facts, on transcripts built by hand."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk.scoring import (
    STRUCTURE_CUES,
    delivery_facts,
    find_evidence,
    mmss,
    normalise,
    suggest,
    suggested_level,
)
from kiosk.templates import Competency, InterviewTemplate, find_template
from kiosk.transcription.transcript import Segment, Transcript, Word
from tests.kiosk.conftest import small_template


def said(text: str, start: float = 0.0, per_word: float = 0.5) -> Segment:
    """A segment whose words follow each other from `start`, each `per_word` seconds long."""
    words = tuple(Word(start + i * per_word, start + (i + 1) * per_word, word, 0.9)
                  for i, word in enumerate(text.split()))
    return Segment(start, words[-1].end if words else start, text, words)


def answer(*segments: Segment, duration: float | None = None,
           needs_review: bool = False, reasons: tuple[str, ...] = ()) -> Transcript:
    """A transcript of `segments`; its duration defaults to the end of the last word."""
    end = max((s.end for s in segments), default=0.0)
    return Transcript(text=" ".join(s.text for s in segments), language="en",
                      duration=end if duration is None else duration, segments=segments,
                      needs_review=needs_review, review_reasons=reasons)


def competency(template: InterviewTemplate, competency_id: str) -> Competency:
    return next(c for c in template.competencies if c.id == competency_id)


def with_ai(template: InterviewTemplate) -> InterviewTemplate:
    """A bundled template with AI-assisted scoring turned on, to test a bigger rubric."""
    return dataclasses.replace(template,
                               policy=dataclasses.replace(template.policy, ai_scoring=True))


@pytest.fixture
def demo() -> InterviewTemplate:
    return find_template("demo")


@pytest.fixture
def campus() -> InterviewTemplate:
    return with_ai(find_template("campus-graduate-software-engineer"))


# --- normalise ---------------------------------------------------------------------------

def test_normalise_lowers_case_and_drops_punctuation() -> None:
    assert normalise("Hello, WORLD!  (Why?)") == ["hello", "world", "why"]
    assert normalise("trade-off; 24-hour") == ["trad", "off", "24", "hour"]


def test_normalise_applies_nfkc_and_joins_apostrophes() -> None:
    assert normalise("\uff46\uff49\uff52\uff53\uff54") == normalise("\ufb01rst") == ["first"]
    assert normalise("I'd") == normalise("I\u2019d") == normalise("id")


@pytest.mark.parametrize("variants", [
    "apologised apologized apologise apologize apologising apologizes",
    "listening listened listen listens",
    "realised realized realise realize",
    "prioritise prioritize prioritising",
    "tested testing tests test",
    "stopped stopping stop",
    "replies replied reply",
    "honestly honest",
    "agreed agree",
    "analysed analyzed analyse",
])
def test_normalise_stems_variants_to_one_token(variants: str) -> None:
    stems = {tuple(normalise(word)) for word in variants.split()}
    assert len(stems) == 1, stems
    assert len(next(iter(stems))) == 1


@pytest.mark.parametrize(("word", "other"), [
    ("list", "listen"), ("this", "the"), ("need", "ne"), ("process", "proces"),
    ("call", "cal"), ("test", "tea"),
])
def test_normalise_keeps_different_words_apart(word: str, other: str) -> None:
    assert normalise(word) != normalise(other)


def test_normalise_keeps_devanagari_words_whole() -> None:
    # Vowel signs and the virama are Mn/Mc; a `\w`-based tokeniser would cut these words up.
    assert normalise("मैंने सीखा। उदाहरण के लिए, नमस्ते!") == [
        "मैंने", "सीखा", "उदाहरण", "के", "लिए", "नमस्ते"]
    assert normalise("मैं आपकी मदद करूँगा") == ["मैं", "आपकी", "मदद", "करूँगा"]


# --- evidence ----------------------------------------------------------------------------

def test_evidence_carries_the_times_and_words_of_the_match(demo: InterviewTemplate) -> None:
    talk = competency(demo, "communication")
    heard = answer(said("well I would say For example, the printer", start=10.0))
    found = [e for e in find_evidence(talk, "introduce-yourself", heard)
             if e.indicator == "Gives a concrete example"]
    assert len(found) == 1
    item = found[0]
    assert (item.start, item.end) == (12.0, 13.0)
    assert item.text == "For example,"
    assert item.phrase == "for example"
    assert item.question_id == "introduce-yourself"


def test_evidence_spans_a_phrase_split_across_segments(demo: InterviewTemplate) -> None:
    talk = competency(demo, "communication")
    heard = answer(said("we fixed it for", start=1.0), said("example by hand", start=5.0))
    found = [e for e in find_evidence(talk, "introduce-yourself", heard)
             if e.phrase == "for example"]
    assert [(e.start, e.end, e.text) for e in found] == [(2.5, 5.5, "for example")]


def test_hindi_phrase_matches_the_same_spoken_words(demo: InterviewTemplate) -> None:
    talk = competency(demo, "communication")
    heard = answer(said("मैं कहूँगा उदाहरण के लिए, दुकान में", start=3.0))
    found = [e for e in find_evidence(talk, "introduce-yourself", heard)
             if e.phrase == "उदाहरण के लिए"]
    assert [(e.start, e.end, e.text) for e in found] == [(4.0, 5.5, "उदाहरण के लिए,")]


def test_stemmed_variants_match(campus: InterviewTemplate) -> None:
    own = competency(campus, "ownership")
    heard = answer(said("then I apologized to my teammate and I listened"))
    found = find_evidence(own, "own-a-mistake", heard)
    assert [(e.indicator, e.text) for e in found] == [("Tells the people affected", "apologized")]


def test_phrases_match_whole_words_only(demo: InterviewTemplate) -> None:
    talk = competency(demo, "communication")
    heard = answer(said("firsthand thenceforth suchas"))
    assert find_evidence(talk, "introduce-yourself", heard) == []


STORY = "at the time I was new so I asked for help and in the end it turned out fine"


def test_structure_cues_count_only_when_enabled(demo: InterviewTemplate) -> None:
    talk = competency(demo, "communication")
    heard = answer(said(STORY))
    assert not [e for e in find_evidence(talk, "q", heard) if e.indicator.startswith("structure")]
    cued = dataclasses.replace(talk, structure_cues=True)
    labels = {e.indicator for e in find_evidence(cued, "q", heard)}
    assert {"structure: situation", "structure: action", "structure: result"} <= labels
    assert "structure: task" not in labels
    assert set(STRUCTURE_CUES) == {"situation", "task", "action", "result"}


# --- suggestions -------------------------------------------------------------------------

def test_no_suggestions_when_the_template_does_not_use_ai_scoring() -> None:
    heard = {"q-one": answer(said("hello there"))}
    assert suggest(small_template(ai=False), heard, ai_consent=True) == []


def test_no_suggestions_when_the_candidate_declined(demo: InterviewTemplate) -> None:
    heard = {"introduce-yourself": answer(said("for example first"))}
    assert suggest(demo, heard, ai_consent=False) == []
    assert suggest(small_template(ai=True), {"q-one": answer(said("hello"))},
                   ai_consent=False) == []


def test_one_suggestion_per_competency_in_rubric_order(demo: InterviewTemplate) -> None:
    heard = {q.id: answer(said("for example")) for q in demo.questions}
    result = suggest(demo, heard, ai_consent=True)
    assert [s.competency_id for s in result] == ["communication", "self-reflection"]
    assert all(s.level is not None and s.withheld is None for s in result)


def test_unclear_speech_is_withheld_never_scored_down(demo: InterviewTemplate) -> None:
    heard = {
        "introduce-yourself": answer(said("um for example first"), needs_review=True,
                                     reasons=("low confidence",)),
        "something-you-learned-recently": answer(said("er then"), needs_review=True),
    }
    talk = suggest(demo, heard, ai_consent=True)[0]
    assert talk.competency_id == "communication"
    assert talk.level is None
    assert talk.withheld is not None and "review" in talk.withheld
    assert "low confidence" in talk.withheld
    assert "questions 1 and 2" in talk.explanation
    assert "Suggested" not in talk.explanation
    assert talk.evidence  # the reviewer still gets pointers into the recordings


def test_one_unclear_answer_withholds_even_if_another_is_clear(
        demo: InterviewTemplate) -> None:
    heard = {
        "introduce-yourself": answer(said("nothing matching here")),
        "something-you-learned-recently": answer(said("mumble"), needs_review=True),
    }
    talk = suggest(demo, heard, ai_consent=True)[0]
    assert talk.level is None and talk.withheld is not None
    assert "question 2" in talk.explanation


def test_no_transcript_yet_is_withheld(demo: InterviewTemplate) -> None:
    result = suggest(demo, {}, ai_consent=True)
    assert [(s.level, s.withheld) for s in result] == [(None, "no transcript yet")] * 2


PROBLEM_SOLVING_PHRASES = ["I reproduced the bug", "I clarified what exactly was slow",
                           "we weighed the pros and cons", "then I wrote a test"]


@pytest.mark.parametrize(("shown", "level"), [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)])
def test_levels_rise_with_indicators_evidenced(campus: InterviewTemplate, shown: int,
                                               level: int) -> None:
    words = " and ".join(["we met", *PROBLEM_SOLVING_PHRASES[:shown]])
    asked = [q.id for q in campus.questions if "problem-solving" in q.competencies]
    heard = {question_id: answer(said("nothing to see")) for question_id in asked}
    heard[asked[0]] = answer(said(words))
    solving = next(s for s in suggest(campus, heard, ai_consent=True)
                   if s.competency_id == "problem-solving")
    assert solving.level == level
    assert solving.withheld is None
    assert f"Suggested {level} of 5" in solving.explanation
    assert (f"show {shown} of 4 things" if shown else "show none of the 4 things") \
        in solving.explanation


def test_structure_counts_as_one_more_indicator(demo: InterviewTemplate) -> None:
    cued = dataclasses.replace(demo, competencies=tuple(
        dataclasses.replace(c, structure_cues=True) for c in demo.competencies))
    plain = {"introduce-yourself": answer(said("for example first")),
             "something-you-learned-recently": answer(said("nothing"))}
    talk = suggest(cued, plain, ai_consent=True)[0]
    assert talk.level == 4 and "2 of 3 things" in talk.explanation
    told = {**plain, "something-you-learned-recently": answer(said(STORY))}
    talk = suggest(cued, told, ai_consent=True)[0]
    assert talk.level == 5 and "a clear structure (situation, action, result)" \
        in talk.explanation


def test_level_rule_spreads_evenly() -> None:
    assert [suggested_level(k, 4) for k in range(5)] == [1, 2, 3, 4, 5]
    assert [suggested_level(k, 2) for k in range(3)] == [1, 3, 5]
    assert [suggested_level(k, 3) for k in range(4)] == [1, 2, 4, 5]
    assert [suggested_level(k, 5) for k in range(6)] == [1, 2, 3, 3, 4, 5]
    assert [suggested_level(k, 8) for k in (1, 7)] == [2, 4]  # some is never 1, not all never 5


def test_explanation_gives_times_as_mm_ss(demo: InterviewTemplate) -> None:
    heard = {"introduce-yourself": answer(said("nothing here")),
             "something-you-learned-recently": answer(said("it was good for example",
                                                           start=62.4))}
    talk = suggest(demo, heard, ai_consent=True)[0]
    assert talk.level == 3
    assert talk.explanation == (
        "Suggested 3 of 5: the answers show 1 of 2 things the rubric looks for "
        "(gives a concrete example at 1:03 in question 2).")
    assert mmss(0) == "0:00" and mmss(59.9) == "0:59" and mmss(754) == "12:34"


def test_explanation_says_which_answers_had_no_transcript(demo: InterviewTemplate) -> None:
    heard = {"introduce-yourself": answer(said("first I sat down"))}
    talk = suggest(demo, heard, ai_consent=True)[0]
    assert talk.level == 3
    assert talk.explanation.endswith("and question 2 had no transcript to read.")


def test_delivery_never_changes_the_level(demo: InterviewTemplate) -> None:
    quick = {"introduce-yourself": answer(said("for example first", per_word=0.2)),
             "something-you-learned-recently": answer(said("ok"))}
    slow = {"introduce-yourself": answer(said("for example first", start=20, per_word=3.0),
                                         duration=45),
            "something-you-learned-recently": answer(said("ok", start=30), duration=45)}
    assert suggest(demo, quick, ai_consent=True) != []
    assert [s.level for s in suggest(demo, quick, ai_consent=True)] == \
        [s.level for s in suggest(demo, slow, ai_consent=True)]


# --- delivery facts ----------------------------------------------------------------------

def test_delivery_facts_of_a_known_answer() -> None:
    heard = answer(said("hello there friend", start=2.0), said("good bye", start=6.0),
                   duration=10.0)
    facts = delivery_facts("q-one", heard, 60)
    assert facts.question_id == "q-one"
    assert facts.speaking_seconds == pytest.approx(2.5)
    assert facts.words == 5
    assert facts.words_per_minute == pytest.approx(120.0)
    assert facts.longest_silence == pytest.approx(3.0)  # from 7.0 to the end at 10.0
    assert facts.share_of_time_used == pytest.approx(10 / 60)


def test_longest_silence_counts_the_wait_before_the_first_word() -> None:
    heard = answer(said("hello there", start=4.5), said("bye", start=6.0), duration=7.0)
    facts = delivery_facts("q-one", heard, 60)
    assert facts.longest_silence == pytest.approx(4.5)


def test_longest_silence_between_words() -> None:
    heard = answer(said("one two", start=0.5), said("three", start=5.0), duration=6.0)
    assert delivery_facts("q", heard, 60).longest_silence == pytest.approx(3.5)


def test_share_of_time_used_is_capped_at_one() -> None:
    heard = answer(said("a long answer"), duration=90.0)
    assert delivery_facts("q", heard, 60).share_of_time_used == 1.0


def test_a_silent_answer_has_no_rate() -> None:
    facts = delivery_facts("q", answer(duration=12.0), 60)
    assert (facts.words, facts.speaking_seconds, facts.words_per_minute) == (0, 0.0, None)
    assert facts.longest_silence == pytest.approx(12.0)
    assert facts.share_of_time_used == pytest.approx(0.2)
