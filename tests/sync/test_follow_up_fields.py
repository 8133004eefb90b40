"""Follow-up probes at the edge: answer keys wherever a record names an answer, and a
question's `follow_up` checked as strictly as the question itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kiosk.session import FollowUpOutcome, follow_up_key
from sync import fields, protocol, records
from sync.fields import ProtocolError
from tests.hq.forge import changed, follow_up, scorecard, with_follow_up

FOLLOW_UP = ("questions", 0, "follow_up")
PIECES = ("competencies", 0, "suggestion", "evidence")


def test_the_outcomes_are_the_kiosks() -> None:
    assert tuple(o.value for o in FollowUpOutcome) == records.FOLLOW_UP_OUTCOMES
    assert follow_up_key("intro") == "intro" + fields.FOLLOW_UP_SUFFIX


@pytest.mark.parametrize("key", ["intro", "intro.probe", "q-2_b.probe", "z" * 64 + ".probe"])
def test_an_answer_key_is_a_question_id_or_one_with_probe(key: str) -> None:
    assert fields.ANSWER_KEY.fullmatch(key)
    assert protocol.transcript_meta({"question_id": key, "needs_review": False}
                                    )["question_id"] == key
    meta = {"question_id": key, "take": 1, "media": "audio", "size": 10, "sha256": "0" * 64}
    assert protocol.check_item(f"sess0001abcd/recording/{key}/1/audio", "recording",
                               "sess0001abcd", meta) == meta
    assert fields.asked_question(key) == key.removesuffix(".probe")


@pytest.mark.parametrize("key", ["intro.probe.probe", "intro.other", ".probe", "intro.",
                                 "Intro.probe", "intro/probe", "z" * 65 + ".probe",
                                 "../x.probe"])
def test_any_other_answer_key_is_refused_naming_the_field(key: str) -> None:
    with pytest.raises(ProtocolError, match="meta.question_id"):
        protocol.transcript_meta({"question_id": key, "needs_review": False})
    with pytest.raises(ProtocolError, match="meta.question_id"):
        protocol.recording_meta({"question_id": key, "take": 1, "media": "audio", "size": 10,
                                 "sha256": "0" * 64})


def test_the_tus_request_of_a_follow_ups_recording_is_taken() -> None:
    meta = {"question_id": "intro.probe", "take": 2, "media": "video", "size": 5,
            "sha256": "a" * 64}
    header = protocol.tus_metadata({"item_id": "sess0001abcd/recording/intro.probe/2/video",
                                    "session_id": "sess0001abcd", "meta": json.dumps(meta)})
    assert protocol.parse_upload_request("5", header).meta == meta
    # Its item id must name the same answer as its meta.
    header = protocol.tus_metadata({"item_id": "sess0001abcd/recording/intro/2/video",
                                    "session_id": "sess0001abcd", "meta": json.dumps(meta)})
    with pytest.raises(ProtocolError, match="item id"):
        protocol.parse_upload_request("5", header)


def test_the_kiosks_own_scorecard_with_a_follow_up_reads_back_whole() -> None:
    card = json.loads((Path(__file__).parent / "follow_up_scorecard.json").read_text())
    checked = records.scorecard(card)
    assert checked["questions"][1]["follow_up"] == card["questions"][1]["follow_up"]
    evidence = [e["question_id"] for c in checked["competencies"]
                for e in c["suggestion"]["evidence"]]
    assert "something-you-learned-recently.probe" in evidence


@pytest.mark.parametrize("outcome", [o.value for o in FollowUpOutcome if o.value != "asked"])
def test_a_follow_up_not_asked_is_its_decision_alone(outcome: str) -> None:
    checked = records.scorecard(with_follow_up(scorecard(), follow_up(outcome),
                                               evidence=False))
    assert checked["questions"][0]["follow_up"]["outcome"] == outcome


def test_an_asked_follow_up_not_answered_has_no_answer() -> None:
    checked = records.scorecard(with_follow_up(scorecard(), follow_up(answered=False),
                                               evidence=False))
    assert checked["questions"][0]["follow_up"]["answered"] is False
    assert "transcript" not in checked["questions"][0]["follow_up"]


def test_typed_answers_may_be_a_follow_ups() -> None:
    doc = {"scorecard": scorecard(), "candidate": {"name": "A", "contact": "b"},
           "typed_answers": {"teamwork.probe": "We split the work."},
           "session_keys": "00"}
    assert records.session_content(json.dumps(doc).encode())["typed_answers"] == {
        "teamwork.probe": "We split the work."}
    doc["typed_answers"] = {"teamwork.follow": "x"}
    with pytest.raises(ProtocolError, match="typed_answers"):
        records.session_content(json.dumps(doc).encode())


DELIVERY = {"question_id": "intro.probe", "speaking_seconds": 9.0, "words": 20,
            "words_per_minute": 133.3, "longest_silence": 0.8, "share_of_time_used": 0.3}


def test_an_answered_follow_up_may_carry_delivery_facts_under_its_key() -> None:
    checked = records.scorecard(changed(_asked(), (*FOLLOW_UP, "delivery"), DELIVERY))
    assert checked["questions"][0]["follow_up"]["delivery"]["question_id"] == "intro.probe"


def _asked() -> dict[str, Any]:
    return with_follow_up(scorecard())


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("a bad outcome", changed(_asked(), (*FOLLOW_UP, "outcome"), "maybe"),
     "scorecard.questions[0].follow_up.outcome must be one of"),
    ("an outcome of another type", changed(_asked(), (*FOLLOW_UP, "outcome"), 1),
     "follow_up.outcome"),
    ("an oversize prompt", changed(_asked(), (*FOLLOW_UP, "prompt"), "x" * 20_001),
     "follow_up.prompt must be text of 1 to 20000"),
    ("an empty prompt", changed(_asked(), (*FOLLOW_UP, "prompt"), ""), "follow_up.prompt"),
    ("a prompt with a control character", changed(_asked(), (*FOLLOW_UP, "prompt"), "a\x00"),
     "follow_up.prompt"),
    ("an oversize explanation", changed(_asked(), (*FOLLOW_UP, "explanation"), "x" * 501),
     "follow_up.explanation"),
    ("a probe id of a bad form", changed(_asked(), (*FOLLOW_UP, "probe_id"), "../x"),
     "follow_up.probe_id"),
    ("an asked follow-up naming no probe", changed(_asked(), (*FOLLOW_UP, "probe_id"), None),
     "follow_up.probe_id names a probe exactly when one was asked"),
    ("a probe named where none was asked",
     with_follow_up(scorecard(), {**follow_up("not_needed"), "probe_id": "result"},
                    evidence=False), "follow_up.probe_id"),
    ("a prompt where none was asked",
     with_follow_up(scorecard(), {**follow_up("no_time"), "prompt": "Why?"}, evidence=False),
     "follow_up has a member only an asked follow-up has"),
    ("an asked follow-up without its reason",
     with_follow_up(scorecard(), {k: v for k, v in follow_up().items() if k != "because"}),
     "follow_up.because is missing"),
    ("an answer without its take",
     with_follow_up(scorecard(), {k: v for k, v in follow_up().items() if k != "take"}),
     "follow_up.take is missing"),
    ("a take out of range", changed(_asked(), (*FOLLOW_UP, "take"), 0), "follow_up.take"),
    ("seconds as text", changed(_asked(), (*FOLLOW_UP, "seconds"), "12"),
     "follow_up.seconds"),
    ("a mode the kiosk has not", changed(_asked(), (*FOLLOW_UP, "mode"), "hologram"),
     "follow_up.mode"),
    ("answered as a number", changed(_asked(), (*FOLLOW_UP, "answered"), 1),
     "follow_up.answered"),
    ("an answer where none was given",
     with_follow_up(scorecard(), {**follow_up(answered=False), "seconds": 3.0},
                    evidence=False), "follow_up has an answer, but says it was not answered"),
    ("a member the protocol does not know", changed(_asked(), (*FOLLOW_UP, "mood"), "happy"),
     "follow_up has a member the protocol does not know"),
    ("delivery facts of the question's answer",
     changed(_asked(), (*FOLLOW_UP, "delivery"), {**DELIVERY, "question_id": "intro"}),
     "follow_up.delivery.question_id is not its answer's key"),
    ("delivery facts of a follow-up not answered",
     with_follow_up(scorecard(), {**follow_up(answered=False), "delivery": DELIVERY},
                    evidence=False), "follow_up has an answer, but says it was not answered"),
    ("a highlight with a text time",
     changed(_asked(), (*FOLLOW_UP, "highlights", 0, "start"), "0.5"),
     "follow_up.highlights[0].start"),
    ("a highlight of a competency the scorecard has not",
     changed(_asked(), (*FOLLOW_UP, "highlights", 0, "competency"), "charisma"),
     "names a competency the scorecard does not have"),
    ("a follow-up that is not an object", changed(_asked(), FOLLOW_UP, "asked"),
     "follow_up must be a JSON object"),
    ("evidence in a follow-up that was not asked",
     with_follow_up(scorecard(), follow_up("not_needed")),
     "evidence[1].question_id names a follow-up the scorecard does not show asked"),
    ("evidence in a follow-up asked but not answered",
     with_follow_up(scorecard(), follow_up(answered=False)),
     "names a follow-up the scorecard does not show asked and answered"),
    ("evidence in a follow-up of no question",
     changed(_asked(), (*PIECES, 1, "question_id"), "nowhere.probe"),
     "names a follow-up the scorecard does not show"),
    ("evidence in another question's follow-up",
     changed(_asked(), (*PIECES, 1, "question_id"), "teamwork.probe"),
     "names a follow-up the scorecard does not show"),
    ("evidence under a key of another form",
     changed(_asked(), (*PIECES, 1, "question_id"), "intro.probe.probe"),
     "evidence[1].question_id has characters or a form"),
]


@pytest.mark.parametrize(("what", "card", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_tampered_follow_up_is_refused_naming_the_field(what: str, card: dict[str, Any],
                                                          message: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        records.scorecard(card)
    assert message in str(refused.value), (what, str(refused.value))
    # A refusal never echoes the value it refused.
    assert "hologram" not in str(refused.value) and "charisma" not in str(refused.value)


def test_an_asked_and_answered_follow_up_with_its_evidence_is_taken() -> None:
    checked = records.scorecard(_asked())
    entry = checked["questions"][0]["follow_up"]
    assert (entry["outcome"], entry["probe_id"], entry["answered"]) == ("asked", "result", True)
    assert checked["competencies"][0]["suggestion"]["evidence"][1]["question_id"] == \
        "intro.probe"
