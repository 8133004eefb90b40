"""What is sealed inside records, checked after HQ opens them, as strictly as the clear index.

A record's content is ciphertext until HQ opens it with its key, so the request parsers in
`sync.protocol` cannot look inside. Every reader at HQ (a reviewer's page, the access
archive, the fairness report, recordings) opens records through these parsers instead of
`json.loads`, and gets back a new document that holds only the members listed here, each
typed and bounded, or a ProtocolError naming the first field that is wrong. A kiosk
(or anyone holding its key) can then put nothing in a sealed record that a page, a zip
entry name or a report would trip over.

The shapes are those `kiosk.uplink.items` writes; docs/sync-protocol.md and
docs/scorecard.md describe them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from sync import fields
from sync.fields import ANSWER_KEY, ANSWER_KEY_LENGTH, QUESTION_ID, ProtocolError

SCORECARD_SCHEMA = "interview-kiosk/scorecard"
SCORECARD_VERSIONS = (1,)
MAX_CONTENT_BYTES = 8 * 1024 * 1024   # opened; the sealed form is at most 2 MiB
_TEXT = 20_000                        # a typed answer, a note, a transcript excerpt
_EVIDENCE_METHODS = ("phrases", "meaning")  # kiosk.scoring.evidence.EVIDENCE_METHODS
_LINE = 500                           # a flag, a label, an explanation's sentence
_NAME = 200
_SECONDS = 86_400.0                   # no answer, pause or time offset exceeds a day
_WORD = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ENDED_BY = re.compile(r"[a-z][a-z_]{0,39}")
_MODES = ("video", "audio", "text")
_STATUSES = ("completed", "interrupted", "in_progress")
_DECISIONS = ("advance", "hold", "reject")
_LEVEL_KEYS = ("1", "2", "3", "4", "5")
# What the kiosk decided about a question's follow-up probe (kiosk.session.FollowUpOutcome):
# asked; or not, because the answer showed what the probes look for, its transcript needs a
# person, the candidate declined AI-assisted processing, time or the maximum ran out, or the
# decision came too late.
FOLLOW_UP_OUTCOMES = ("asked", "not_needed", "needs_review", "no_consent", "no_time", "limit",
                      "not_ready")


def load(raw: bytes, what: str) -> dict[str, Any]:
    """The opened bytes as one strict JSON object (bounded, no NaN, no repeated member)."""
    return fields.json_object(raw, f"the {what}", MAX_CONTENT_BYTES)


def _seconds(value: object, where: str) -> float:
    return fields.number(value, where, -_SECONDS, _SECONDS)


def _texts(value: object, where: str, limit: int, each: int) -> list[str]:
    return [fields.text(item, f"{where}[{n}]", each, empty=True)
            for n, item in enumerate(fields.array(value, where, limit))]


# --- the session record: scorecard, candidate, adjustments, typed answers, rubric, keys -----

_SESSION_KEYS = ("scorecard", "candidate", "accommodations", "typed_answers", "rubric",
                 "session_keys")


def session_content(raw: bytes, reference: str | None = None) -> dict[str, Any]:
    """A session record's opened content. With `reference`, its scorecard must name the
    same reference code as the clear index it arrived under."""
    doc = fields.obj(load(raw, "session record"), "session", _SESSION_KEYS,
                     ("scorecard", "candidate", "session_keys"))
    candidate = fields.obj(doc["candidate"], "candidate", ("name", "contact"),
                           ("name", "contact"))
    keys_hex = fields.text(doc["session_keys"], "session_keys", 64 * 1024,
                           re.compile(r"(?:[0-9a-f]{2})+"))
    card = scorecard(doc["scorecard"])
    if reference is not None and card["candidate"]["reference"] != reference:
        raise ProtocolError("scorecard.candidate.reference differs from the record's index")
    typed = fields.mapping(doc.get("typed_answers", {}), "typed_answers", 400, ANSWER_KEY)
    return {
        "scorecard": card,
        "candidate": {"name": fields.text(candidate["name"], "candidate.name", _NAME,
                                          empty=True),
                      "contact": fields.text(candidate["contact"], "candidate.contact",
                                             _NAME, empty=True)},
        "accommodations": _accommodations(doc.get("accommodations", {})),
        "typed_answers": {qid: fields.text(answer, f"typed_answers.{qid}", _TEXT, empty=True)
                          for qid, answer in typed.items()},
        "rubric": _rubric(doc.get("rubric", {})),
        "session_keys": bytes.fromhex(keys_hex),
    }


def _accommodations(value: object) -> dict[str, Any]:
    names = ("extra_time", "extra_retakes", "text_answers", "break_multiplier")
    doc = fields.obj(value, "accommodations", names)
    return {"extra_time": fields.number(doc.get("extra_time", 1.0),
                                        "accommodations.extra_time", 1.0, 4.0),
            "extra_retakes": fields.integer(doc.get("extra_retakes", 0),
                                            "accommodations.extra_retakes", 0, 10),
            "text_answers": fields.boolean(doc.get("text_answers", False),
                                           "accommodations.text_answers"),
            "break_multiplier": fields.number(doc.get("break_multiplier", 1.0),
                                              "accommodations.break_multiplier", 1.0, 4.0)}


def _rubric(value: object) -> dict[str, dict[str, Any]]:
    result = {}
    for cid, entry in fields.mapping(value, "rubric", 50, QUESTION_ID).items():
        where = f"rubric.{cid}"
        entry = fields.obj(entry, where, ("name", "description", "levels"),
                           ("name", "description", "levels"))
        levels = fields.mapping(entry["levels"], f"{where}.levels", 5, re.compile("[1-5]"))
        result[cid] = {
            "name": fields.text(entry["name"], f"{where}.name", _NAME),
            "description": fields.text(entry["description"], f"{where}.description", _TEXT,
                                       empty=True),
            "levels": {key: fields.text(levels[key], f"{where}.levels.{key}", _TEXT,
                                        empty=True)
                       for key in _LEVEL_KEYS if key in levels}}
    return result


_CARD_KEYS = ("schema", "version", "generated_at", "interview", "candidate", "session",
              "consents", "accommodations", "ai_scoring", "retention_days", "questions",
              "competencies", "review", "flags")


def scorecard(value: object) -> dict[str, Any]:
    """A scorecard (docs/scorecard.md), every member checked; question ids unique, and every
    highlight and piece of evidence pointing at one of them, or at the answer to one's
    follow-up where the scorecard shows that follow-up asked and answered."""
    card = fields.obj(value, "scorecard", _CARD_KEYS, _CARD_KEYS)
    if card["schema"] != SCORECARD_SCHEMA or card["version"] not in SCORECARD_VERSIONS \
            or type(card["version"]) is not int:
        raise ProtocolError("scorecard is not of a schema and version HQ reads")
    where = "scorecard.interview"
    interview = fields.obj(card["interview"], where,
                           ("id", "role", "title", "template_sha256"),
                           ("id", "role", "title", "template_sha256"))
    candidate = fields.obj(card["candidate"], "scorecard.candidate", ("reference", "language"),
                           ("reference", "language"))
    session = fields.obj(card["session"], "scorecard.session",
                         ("status", "started_at", "ended_at", "breaks_taken"),
                         ("status", "started_at", "ended_at", "breaks_taken"))
    consents = fields.obj(card["consents"], "scorecard.consents",
                          ("recording", "retention", "ai_scoring", "notice_version",
                           "given_at"),
                          ("recording", "retention", "ai_scoring", "given_at"))
    ai = fields.obj(card["ai_scoring"], "scorecard.ai_scoring",
                    ("enabled_by_interview", "consented", "label"),
                    ("enabled_by_interview", "consented", "label"))
    questions = [_question(q, f"scorecard.questions[{n}]") for n, q in
                 enumerate(fields.array(card["questions"], "scorecard.questions", 200))]
    ids = [q["id"] for q in questions]
    if len(set(ids)) != len(ids):
        raise ProtocolError("scorecard.questions names one question twice")
    answers = set(ids) | {q["id"] + fields.FOLLOW_UP_SUFFIX for q in questions
                          if q.get("follow_up", {}).get("answered")}
    competencies = [_competency(c, f"scorecard.competencies[{n}]", answers) for n, c in
                    enumerate(fields.array(card["competencies"], "scorecard.competencies", 50))]
    for question in questions:
        follow_up = question.get("follow_up", {})
        for highlight in [*question["highlights"], *follow_up.get("highlights", [])]:
            if highlight["competency"] not in {c["id"] for c in competencies}:
                raise ProtocolError(f"a highlight of question {question['number']} names a "
                                    "competency the scorecard does not have")
    return {
        "schema": SCORECARD_SCHEMA, "version": card["version"],
        "generated_at": fields.timestamp(card["generated_at"], "scorecard.generated_at"),
        "interview": {
            "id": fields.text(interview["id"], f"{where}.id", 64, QUESTION_ID),
            "role": fields.text(interview["role"], f"{where}.role", _LINE, empty=True),
            "title": fields.text(interview["title"], f"{where}.title", _LINE, empty=True),
            "template_sha256": fields.text(interview["template_sha256"],
                                           f"{where}.template_sha256", 64, fields.SHA256_HEX)},
        "candidate": {
            "reference": fields.text(candidate["reference"], "scorecard.candidate.reference",
                                     9, fields.REFERENCE),
            "language": fields.text(candidate["language"], "scorecard.candidate.language", 3,
                                    fields.LANGUAGE)},
        "session": {
            "status": fields.choice(session["status"], "scorecard.session.status", _STATUSES),
            "started_at": fields.timestamp(session["started_at"],
                                           "scorecard.session.started_at"),
            "ended_at": fields.optional_timestamp(session["ended_at"],
                                                  "scorecard.session.ended_at"),
            "breaks_taken": fields.integer(session["breaks_taken"],
                                           "scorecard.session.breaks_taken", 0, 1000)},
        "consents": {
            "recording": fields.boolean(consents["recording"], "scorecard.consents.recording"),
            "retention": fields.boolean(consents["retention"], "scorecard.consents.retention"),
            "ai_scoring": fields.boolean(consents["ai_scoring"],
                                         "scorecard.consents.ai_scoring"),
            "notice_version": fields.text(consents.get("notice_version", ""),
                                          "scorecard.consents.notice_version", _NAME,
                                          empty=True),
            "given_at": fields.timestamp(consents["given_at"], "scorecard.consents.given_at")},
        "accommodations": _texts(card["accommodations"], "scorecard.accommodations", 10, 60),
        "ai_scoring": {
            "enabled_by_interview": fields.boolean(ai["enabled_by_interview"],
                                                   "scorecard.ai_scoring.enabled_by_interview"),
            "consented": fields.boolean(ai["consented"], "scorecard.ai_scoring.consented"),
            "label": fields.text(ai["label"], "scorecard.ai_scoring.label", _LINE,
                                 empty=True)},
        "retention_days": fields.optional_integer(card["retention_days"],
                                                  "scorecard.retention_days", 1, 3650),
        "questions": questions,
        "competencies": competencies,
        "review": _review(card["review"]),
        "flags": _texts(card["flags"], "scorecard.flags", 500, _TEXT),
    }


_ANSWER_KEYS = ("mode", "take", "takes", "seconds", "ended_by", "recording", "typed_excerpt",
                "transcript")
_QUESTION_KEYS = ("id", "number", "prompt", "answered", *_ANSWER_KEYS, "delivery",
                  "highlights", "follow_up")


def _question(value: object, where: str) -> dict[str, Any]:
    doc = fields.obj(value, where, _QUESTION_KEYS,
                     ("id", "number", "prompt", "answered", "highlights"))
    question: dict[str, Any] = {
        "id": fields.text(doc["id"], f"{where}.id", 64, QUESTION_ID),
        "number": fields.integer(doc["number"], f"{where}.number", 1, 200),
        "prompt": fields.text(doc["prompt"], f"{where}.prompt", _TEXT, empty=True),
        "answered": fields.boolean(doc["answered"], f"{where}.answered"),
    }
    question.update(_answer(doc, where, question["answered"]))
    if "delivery" in doc:
        question["delivery"] = _delivery(doc["delivery"], f"{where}.delivery", question["id"])
    question["highlights"] = _highlights(doc["highlights"], f"{where}.highlights")
    if "follow_up" in doc:
        question["follow_up"] = _follow_up(doc["follow_up"], f"{where}.follow_up",
                                           question["id"])
    return question


def _answer(doc: dict[str, Any], where: str, answered: bool) -> dict[str, Any]:
    """The members an answer has, a question's or a follow-up's: the take that was kept,
    its recording's facts, and its typed or transcribed excerpt."""
    answer: dict[str, Any] = {}
    if answered:
        for key in ("mode", "take", "takes", "seconds", "ended_by"):
            if key not in doc:
                raise ProtocolError(f"{where}.{key} is missing")
        answer.update(
            mode=fields.choice(doc["mode"], f"{where}.mode", _MODES),
            take=fields.integer(doc["take"], f"{where}.take", 1, 100),
            takes=fields.integer(doc["takes"], f"{where}.takes", 1, 100),
            seconds=fields.number(doc["seconds"], f"{where}.seconds", 0.0, _SECONDS),
            ended_by=fields.text(doc["ended_by"], f"{where}.ended_by", 40, _ENDED_BY))
    if "recording" in doc:
        answer["recording"] = _capture(doc["recording"], f"{where}.recording")
    if "typed_excerpt" in doc:
        answer["typed_excerpt"] = fields.text(doc["typed_excerpt"], f"{where}.typed_excerpt",
                                              _TEXT, empty=True)
    if "transcript" in doc:
        answer["transcript"] = None if doc["transcript"] is None else _excerpt(
            doc["transcript"], f"{where}.transcript")
    return answer


def _highlights(value: object, where: str) -> list[dict[str, Any]]:
    return [_highlight(h, f"{where}[{n}]") for n, h in
            enumerate(fields.array(value, where, 1000))]


_ASKED_KEYS = ("prompt", "because", "answered", "highlights")
_FOLLOW_UP_KEYS = ("outcome", "probe_id", "explanation", *_ASKED_KEYS, *_ANSWER_KEYS,
                   "delivery")


def _follow_up(value: object, where: str, question_id: str) -> dict[str, Any]:
    """A question's follow-up (docs/scorecard.md): the decision, and for an asked probe its
    prompt, why it was asked and its answer. A probe is named exactly when one was asked; only
    an asked one has a prompt, and only an answered one has an answer, highlights or delivery
    facts (which name the follow-up's answer key)."""
    doc = fields.obj(value, where, _FOLLOW_UP_KEYS, ("outcome", "probe_id", "explanation"))
    outcome = fields.choice(doc["outcome"], f"{where}.outcome", FOLLOW_UP_OUTCOMES)
    follow_up: dict[str, Any] = {
        "outcome": outcome,
        "probe_id": None if doc["probe_id"] is None else fields.text(
            doc["probe_id"], f"{where}.probe_id", 64, QUESTION_ID),
        "explanation": fields.text(doc["explanation"], f"{where}.explanation", _LINE)}
    asked = outcome == "asked"
    if asked != (follow_up["probe_id"] is not None):
        raise ProtocolError(f"{where}.probe_id names a probe exactly when one was asked")
    if not asked:
        if any(key in doc for key in (*_ASKED_KEYS, *_ANSWER_KEYS, "delivery")):
            raise ProtocolError(f"{where} has a member only an asked follow-up has")
        return follow_up
    for key in _ASKED_KEYS:
        if key not in doc:
            raise ProtocolError(f"{where}.{key} is missing")
    answered = fields.boolean(doc["answered"], f"{where}.answered")
    follow_up.update(
        prompt=fields.text(doc["prompt"], f"{where}.prompt", _TEXT),
        because=fields.text(doc["because"], f"{where}.because", _TEXT),
        answered=answered, highlights=_highlights(doc["highlights"], f"{where}.highlights"))
    if not answered and (follow_up["highlights"]
                         or any(key in doc for key in (*_ANSWER_KEYS, "delivery"))):
        raise ProtocolError(f"{where} has an answer, but says it was not answered")
    follow_up.update(_answer(doc, where, answered))
    if "delivery" in doc:
        follow_up["delivery"] = _delivery(doc["delivery"], f"{where}.delivery",
                                          question_id + fields.FOLLOW_UP_SUFFIX)
    return follow_up


def _capture(value: object, where: str) -> dict[str, Any]:
    names = ("frames", "dropped_frames", "audio_gaps", "drift", "ended_by")
    doc = fields.obj(value, where, names, names)
    return {"frames": fields.integer(doc["frames"], f"{where}.frames", 0, 10 ** 9),
            "dropped_frames": fields.integer(doc["dropped_frames"], f"{where}.dropped_frames",
                                             0, 10 ** 9),
            "audio_gaps": fields.integer(doc["audio_gaps"], f"{where}.audio_gaps", 0, 10 ** 9),
            "drift": _seconds(doc["drift"], f"{where}.drift"),
            "ended_by": fields.text(doc["ended_by"], f"{where}.ended_by", 40, _ENDED_BY)}


def _excerpt(value: object, where: str) -> dict[str, Any]:
    names = ("excerpt", "language", "needs_review", "review_reasons")
    doc = fields.obj(value, where, names, names)
    return {"excerpt": fields.text(doc["excerpt"], f"{where}.excerpt", _TEXT, empty=True),
            "language": fields.text(doc["language"], f"{where}.language", 16, empty=True),
            "needs_review": fields.boolean(doc["needs_review"], f"{where}.needs_review"),
            "review_reasons": _texts(doc["review_reasons"], f"{where}.review_reasons", 20,
                                     _LINE)}


def _delivery(value: object, where: str, question_id: str) -> dict[str, Any]:
    names = ("question_id", "speaking_seconds", "words", "words_per_minute",
             "longest_silence", "share_of_time_used")
    doc = fields.obj(value, where, names, names)
    if doc["question_id"] != question_id:
        raise ProtocolError(f"{where}.question_id is not its answer's key")
    return {"question_id": question_id,
            "speaking_seconds": fields.number(doc["speaking_seconds"],
                                              f"{where}.speaking_seconds", 0.0, _SECONDS),
            "words": fields.integer(doc["words"], f"{where}.words", 0, 10 ** 6),
            "words_per_minute": fields.optional_number(doc["words_per_minute"],
                                                       f"{where}.words_per_minute", 0.0, 1e7),
            "longest_silence": fields.number(doc["longest_silence"],
                                             f"{where}.longest_silence", -_SECONDS, _SECONDS),
            "share_of_time_used": fields.number(doc["share_of_time_used"],
                                                f"{where}.share_of_time_used", 0.0, 1.0)}


def _highlight(value: object, where: str) -> dict[str, Any]:
    names = ("start", "end", "text", "competency")
    doc = fields.obj(value, where, names, names)
    return {"start": _seconds(doc["start"], f"{where}.start"),
            "end": _seconds(doc["end"], f"{where}.end"),
            "text": fields.text(doc["text"], f"{where}.text", _TEXT, empty=True),
            "competency": fields.text(doc["competency"], f"{where}.competency", 64,
                                      QUESTION_ID)}


def _competency(value: object, where: str, answers: Collection[str]) -> dict[str, Any]:
    names = ("id", "name", "weight", "suggestion", "reviewer_score", "overrides_suggestion")
    doc = fields.obj(value, where, names, names)
    suggestion = None
    if doc["suggestion"] is not None:
        inner = f"{where}.suggestion"
        raw = fields.obj(doc["suggestion"], inner,
                         ("level", "explanation", "withheld", "evidence"),
                         ("level", "explanation", "withheld", "evidence"))
        suggestion = {
            "level": fields.level(raw["level"], f"{inner}.level"),
            "explanation": fields.text(raw["explanation"], f"{inner}.explanation", _TEXT,
                                       empty=True),
            "withheld": fields.optional_text(raw["withheld"], f"{inner}.withheld", _LINE),
            "evidence": [_evidence(e, f"{inner}.evidence[{n}]", answers) for n, e in
                         enumerate(fields.array(raw["evidence"], f"{inner}.evidence", 500))]}
    return {"id": fields.text(doc["id"], f"{where}.id", 64, QUESTION_ID),
            "name": fields.text(doc["name"], f"{where}.name", _LINE, empty=True),
            "weight": fields.number(doc["weight"], f"{where}.weight", 0.0, 1e6),
            "suggestion": suggestion,
            "reviewer_score": fields.level(doc["reviewer_score"], f"{where}.reviewer_score"),
            "overrides_suggestion": fields.boolean(doc["overrides_suggestion"],
                                                   f"{where}.overrides_suggestion")}


def _evidence(value: object, where: str, answers: Collection[str]) -> dict[str, Any]:
    """One piece of evidence, in an answer of the scorecard: a question's, or the answer to
    a follow-up the scorecard shows asked and answered."""
    names = ("question_id", "start", "end", "text", "indicator", "phrase", "score", "method")
    doc = fields.obj(value, where, names, ("question_id", "start", "end", "text"))
    question_id = fields.text(doc["question_id"], f"{where}.question_id", ANSWER_KEY_LENGTH,
                              ANSWER_KEY)
    if question_id not in answers:
        if question_id.endswith(fields.FOLLOW_UP_SUFFIX):
            raise ProtocolError(f"{where}.question_id names a follow-up the scorecard does "
                                "not show asked and answered")
        raise ProtocolError(f"{where}.question_id is not a question of the scorecard")
    return {"question_id": question_id,
            "start": _seconds(doc["start"], f"{where}.start"),
            "end": _seconds(doc["end"], f"{where}.end"),
            "text": fields.text(doc["text"], f"{where}.text", _TEXT, empty=True),
            "indicator": fields.text(doc.get("indicator", ""), f"{where}.indicator", _TEXT,
                                     empty=True),
            "phrase": fields.text(doc.get("phrase", ""), f"{where}.phrase", _TEXT,
                                  empty=True),
            "score": fields.number(doc.get("score", 1.0), f"{where}.score", 0.0, 1.0),
            "method": fields.choice(doc.get("method", "phrases"), f"{where}.method",
                                    _EVIDENCE_METHODS)}


def _review(value: object) -> dict[str, Any]:
    doc = fields.obj(value, "scorecard.review", ("decision", "notes"), ("decision", "notes"))
    notes = []
    for n, note in enumerate(fields.array(doc["notes"], "scorecard.review.notes", 200)):
        where = f"scorecard.review.notes[{n}]"
        note = fields.obj(note, where, ("at", "text"), ("at", "text"))
        notes.append({"at": fields.timestamp(note["at"], f"{where}.at"),
                      "text": fields.text(note["text"], f"{where}.text", _TEXT, empty=True)})
    return {"decision": fields.optional_choice(doc["decision"], "scorecard.review.decision",
                                               _DECISIONS),
            "notes": notes}


# --- transcripts -----------------------------------------------------------------------------

def transcript_content(raw: bytes, question_id: str) -> dict[str, Any]:
    """A transcript record's opened content: the transcript of `question_id` (the question
    its clear index names), words with times and confidences."""
    doc = fields.obj(load(raw, "transcript record"), "transcript",
                     ("question_id", "transcript"), ("question_id", "transcript"))
    if doc["question_id"] != question_id:
        raise ProtocolError("the transcript is of another question than its index says")
    return {"question_id": question_id, "transcript": transcript(doc["transcript"])}


_TRANSCRIPT_KEYS = ("text", "language", "language_probability", "duration", "needs_review",
                    "review_reasons", "model", "segments")


def transcript(value: object) -> dict[str, Any]:
    """`kiosk.transcription.transcript.Transcript.to_json()`'s shape, bounded."""
    where = "transcript"
    doc = fields.obj(value, where, _TRANSCRIPT_KEYS,
                     ("text", "language", "duration", "needs_review", "review_reasons",
                      "segments"))
    segments = []
    words_seen = 0
    for n, segment in enumerate(fields.array(doc["segments"], f"{where}.segments", 20_000)):
        inner = f"{where}.segments[{n}]"
        segment = fields.obj(segment, inner, ("start", "end", "text", "avg_logprob",
                                              "no_speech_prob", "words"),
                             ("start", "end", "text", "words"))
        words = []
        for m, word in enumerate(fields.array(segment["words"], f"{inner}.words", 20_000)):
            spot = f"{inner}.words[{m}]"
            word = fields.obj(word, spot, ("start", "end", "word", "probability"),
                              ("start", "end", "word", "probability"))
            words.append({"start": _seconds(word["start"], f"{spot}.start"),
                          "end": _seconds(word["end"], f"{spot}.end"),
                          "word": fields.text(word["word"], f"{spot}.word", _NAME, empty=True),
                          "probability": fields.number(word["probability"],
                                                       f"{spot}.probability", 0.0, 1.0)})
        words_seen += len(words)
        if words_seen > 200_000:
            raise ProtocolError(f"{where} has more than 200000 words")
        segments.append({
            "start": _seconds(segment["start"], f"{inner}.start"),
            "end": _seconds(segment["end"], f"{inner}.end"),
            "text": fields.text(segment["text"], f"{inner}.text", _TEXT, empty=True),
            "avg_logprob": fields.number(segment.get("avg_logprob", 0.0),
                                         f"{inner}.avg_logprob", -1e6, 1e6),
            "no_speech_prob": fields.number(segment.get("no_speech_prob", 0.0),
                                            f"{inner}.no_speech_prob", 0.0, 1.0),
            "words": words})
    return {
        "text": fields.text(doc["text"], f"{where}.text", 1_000_000, empty=True),
        "language": fields.text(doc["language"], f"{where}.language", 16, empty=True),
        "language_probability": fields.number(doc.get("language_probability", 1.0),
                                              f"{where}.language_probability", 0.0, 1.0),
        "duration": fields.number(doc["duration"], f"{where}.duration", 0.0, _SECONDS),
        "needs_review": fields.boolean(doc["needs_review"], f"{where}.needs_review"),
        "review_reasons": _texts(doc["review_reasons"], f"{where}.review_reasons", 20, _LINE),
        "model": fields.text(doc.get("model", ""), f"{where}.model", _NAME, empty=True),
        "segments": segments,
    }


# --- voluntary self-identification ----------------------------------------------------------

def self_id_content(raw: bytes,
                    offered: Mapping[str, Collection[str]] | None = None) -> dict[str, str]:
    """A self-ID record's answers: question -> answer. With `offered` (the questions and
    answers the compliance profiles ask), only offered answers to offered questions pass."""
    doc = fields.obj(load(raw, "self-identification record"), "selfid", ("answers",),
                     ("answers",))
    answers = fields.mapping(doc["answers"], "answers", 20, _WORD)
    result = {}
    for question, answer in answers.items():
        text = fields.text(answer, f"answers.{question}", 80)
        if offered is not None and text not in offered.get(question, ()):
            raise ProtocolError(f"answers.{question} is not an answer the kiosk offers")
        result[question] = text
    return result
