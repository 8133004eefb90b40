"""What a holder of one kiosk's key can send: any record, correctly signed, with any content
sealed to HQ's key. Valid documents to start from (the shapes `kiosk.uplink.items` writes),
and a client that sends whatever it is given."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from kiosk.store.cipher import SessionKeys
from kiosk.vault import Recipient, seal_bytes
from sync import protocol
from sync.client import HqClient, Response

NOW = "2026-11-30T09:00:00+00:00"
LABEL = "Suggestions for a human reviewer. They are not decisions."


def session_meta(reference: str = "ABCD-2345", **change: Any) -> dict[str, Any]:
    """A valid clear index of a session."""
    return {"reference": reference, "interview_id": "sync-drive", "template_sha256": "0" * 64,
            "language": "en", "status": "completed", "started_at": NOW,
            "ended_at": "2026-11-30T09:20:00+00:00", "decision": None, "needs_review": False,
            "questions": 2, "answered": 2,
            "scores": {"communication": {"suggested": 3, "reviewer": None}},
            "retention_days": 180, "rejected_retention_days": None, **change}


def scorecard(reference: str = "ABCD-2345",
              questions: tuple[str, ...] = ("intro", "teamwork")) -> dict[str, Any]:
    """A valid scorecard (docs/scorecard.md) with a transcript, a typed answer, evidence."""
    entries = []
    for number, qid in enumerate(questions, start=1):
        entry: dict[str, Any] = {
            "id": qid, "number": number, "prompt": f"Question {number}?", "answered": True,
            "mode": "video" if number == 1 else "text", "take": 1, "takes": 1,
            "seconds": 30.5, "ended_by": "candidate", "highlights": []}
        if number == 1:
            entry["transcript"] = {"excerpt": "I ran the college fest", "language": "en",
                                   "needs_review": False, "review_reasons": []}
            entry["delivery"] = {"question_id": qid, "speaking_seconds": 20.0, "words": 40,
                                 "words_per_minute": 120.0, "longest_silence": 1.5,
                                 "share_of_time_used": 0.5}
            entry["recording"] = {"frames": 750, "dropped_frames": 0, "audio_gaps": 0,
                                  "drift": 0.01, "ended_by": "stop"}
            entry["highlights"] = [{"start": 1.0, "end": 2.0, "text": "college fest",
                                    "competency": "communication"}]
        else:
            entry["typed_excerpt"] = "We shared the work"
        entries.append(entry)
    return {
        "schema": "interview-kiosk/scorecard", "version": 1, "generated_at": NOW,
        "interview": {"id": "sync-drive", "role": "Graduate", "title": "Campus drive",
                      "template_sha256": "0" * 64},
        "candidate": {"reference": reference, "language": "en"},
        "session": {"status": "completed", "started_at": NOW,
                    "ended_at": "2026-11-30T09:20:00+00:00", "breaks_taken": 0},
        "consents": {"recording": True, "retention": True, "ai_scoring": True,
                     "notice_version": "kiosk-notice-1", "given_at": NOW},
        "accommodations": [],
        "ai_scoring": {"enabled_by_interview": True, "consented": True, "label": LABEL},
        "retention_days": 180,
        "questions": entries,
        "competencies": [{
            "id": "communication", "name": "Communication", "weight": 1.0,
            "suggestion": {"level": 3, "explanation": "Suggested 3 of 5.", "withheld": None,
                           "evidence": [{"question_id": questions[0], "start": 1.0, "end": 2.0,
                                         "text": "college fest", "indicator": "Example",
                                         "phrase": "for example"}]},
            "reviewer_score": None, "overrides_suggestion": False}],
        "review": {"decision": None, "notes": []},
        "flags": [],
    }


def follow_up(outcome: str = "asked", answered: bool = True,
              prompt: str = "What happened in the end?") -> dict[str, Any]:
    """A valid `follow_up` of a question (docs/scorecard.md): the decision, and for an asked
    probe its prompt, why, and (answered) its answer with a transcript excerpt."""
    entry: dict[str, Any] = {"outcome": outcome,
                             "probe_id": "result" if outcome == "asked" else None,
                             "explanation": "Follow-up asked" if outcome == "asked"
                             else "No follow-up: the answer showed what its follow-ups look for"}
    if outcome != "asked":
        return entry
    entry.update(prompt=prompt, because="no result was described", answered=answered,
                 highlights=[])
    if answered:
        entry.update(mode="video", take=1, takes=1, seconds=12.0, ended_by="candidate",
                     recording={"frames": 300, "dropped_frames": 0, "audio_gaps": 0,
                                "drift": 0.0, "ended_by": "stop"},
                     transcript={"excerpt": "In the end we sold every ticket",
                                 "language": "en", "needs_review": False,
                                 "review_reasons": []},
                     highlights=[{"start": 0.5, "end": 2.0, "text": "we sold every ticket",
                                  "competency": "communication"}])
    return entry


def with_follow_up(card: dict[str, Any], entry: dict[str, Any] | None = None,
                   evidence: bool = True) -> dict[str, Any]:
    """`card` (a copy) whose first question has `entry` as its follow-up (an asked and
    answered one by default) and, with `evidence`, evidence in the follow-up's answer."""
    result = copy.deepcopy(card)
    first = result["questions"][0]
    first["follow_up"] = follow_up() if entry is None else entry
    if evidence:
        result["competencies"][0]["suggestion"]["evidence"].append(
            {"question_id": f"{first['id']}.probe", "start": 0.5, "end": 2.0,
             "text": "we sold every ticket", "indicator": "Describes the result",
             "phrase": "in the end"})
    return result


def session_content(hq: Recipient, reference: str = "ABCD-2345",
                    questions: tuple[str, ...] = ("intro", "teamwork")) -> dict[str, Any]:
    """A valid sealed session document: scorecard, candidate, keys sealed to HQ."""
    return {"scorecard": scorecard(reference, questions),
            "candidate": {"name": "Forged Candidate", "contact": "forged@example.org"},
            "accommodations": {"extra_time": 1.0, "extra_retakes": 0, "text_answers": False,
                               "break_multiplier": 1.0},
            "typed_answers": {questions[-1]: "We shared the work, and I kept the minutes."},
            "rubric": {"communication": {"name": "Communication", "description": "Clear.",
                                         "levels": {"1": "Unclear", "5": "Clear"}}},
            "session_keys": SessionKeys.generate().seal([hq]).hex()}


def transcript_content(question_id: str = "intro") -> dict[str, Any]:
    """A valid sealed transcript document."""
    return {"question_id": question_id, "transcript": {
        "text": "I ran the college fest", "language": "en", "language_probability": 0.99,
        "duration": 5.0, "needs_review": False, "review_reasons": [], "model": "tiny.en",
        "segments": [{"start": 0.5, "end": 3.0, "text": "I ran the college fest",
                      "avg_logprob": -0.2, "no_speech_prob": 0.01,
                      "words": [{"start": 0.5 + i * 0.5, "end": 0.9 + i * 0.5, "word": word,
                                 "probability": 0.9}
                                for i, word in enumerate(["I", "ran", "the", "college",
                                                          "fest"])]}]}}


def changed(doc: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `doc` with the member at `path` set to `value`."""
    result = copy.deepcopy(doc)
    target: Any = result
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return result


@dataclass
class Forger:
    """One enrolled kiosk's key in someone's hands: signed requests with any content."""

    url: str
    device_id: str
    key: ed25519.Ed25519PrivateKey
    hq: Recipient

    def client(self) -> HqClient:
        return HqClient(self.url, self.device_id, self.key)

    def seal(self, content: dict[str, Any] | bytes) -> bytes:
        raw = content if isinstance(content, bytes) else json.dumps(content).encode()
        return seal_bytes(raw, [self.hq])

    def put(self, kind: str, session_id: str, meta: dict[str, Any],
            content: dict[str, Any] | bytes, revision: int = 1, part: str = "",
            sealed: bytes | None = None) -> Response:
        """PUT one record, signed; the raw answer (no exception on a refusal)."""
        item = protocol.item_id(session_id, kind, part)
        # ASCII escapes: a lone surrogate travels as \ud800, as an attacker would send it.
        body = json.dumps({"kind": kind, "session_id": session_id, "meta": meta,
                           "revision": revision, "sealed": base64.b64encode(
                               sealed if sealed is not None else self.seal(content)).decode()
                           }).encode()
        with self.client() as client:
            return client.signed("PUT", f"{protocol.ITEMS_PATH}/{item}", body,
                                 {"Content-Type": "application/json"})
