"""The scorecard: one versioned JSON document per session, the thing that goes to HQ.

It names the candidate by reference code only. For each question it carries a transcript
excerpt and the highlighted evidence; for each competency the suggestion (if any) with its
evidence, and the reviewer's score beside it; delivery facts as facts; flags for a person;
and a summary of consents and adjustments. The schema is described in docs/scorecard.md.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from kiosk.scoring import delivery_facts, mmss
from kiosk.scoring.probes import because
from kiosk.scoring.service import answer_transcripts, template_of
from kiosk.session import FollowUp, FollowUpOutcome, Session, follow_up_key
from kiosk.store import SessionNotFoundError, Store
from kiosk.store.results import decision, notes, scores
from kiosk.templates import Question
from kiosk.transcription.transcript import Transcript

SCHEMA = "interview-kiosk/scorecard"
VERSION = 1
EXCERPT_WORDS = 40
EVIDENCE_SHOWN = 3  # per competency in the terminal table; the console and HQ list them all
SUGGESTION_LABEL = ("Suggestions for a human reviewer, made by matching the transcript "
                    "against the rubric. They are not decisions.")


def build(store: Store, session_id: str) -> dict[str, Any]:
    """The scorecard of a stored session (needs the kiosk unlocked)."""
    session = store.find(session_id)
    if session is None:
        raise SessionNotFoundError("no session has that reference code")
    template = template_of(store, session.template_id, session.template_sha256)
    heard = answer_transcripts(store, session.id)
    recorded = store.recording_stats(session.id)
    stored = scores(store, session.id)
    flags = []
    if session.interruption:
        flags.append(f"interrupted ({session.interruption}) at {session.stopped_at_step}")
    questions = []
    for number, question in enumerate(template.questions, start=1):
        answer = session.answers.get(question.id)
        entry: dict[str, Any] = {"id": question.id, "number": number,
                                 "prompt": question.prompt.get(session.language),
                                 "answered": answer is not None}
        if answer is not None:
            take = answer.chosen_take
            entry.update(mode=take.mode.value, take=answer.chosen, takes=len(answer.takes),
                         seconds=round(take.seconds, 1), ended_by=take.ended_by)
            capture = recorded.get((question.id, answer.chosen))
            if capture is not None:
                entry["recording"] = {key: capture[key] for key in (
                    "frames", "dropped_frames", "audio_gaps", "drift", "ended_by")}
                if capture["dropped_frames"] or capture["audio_gaps"]:
                    flags.append(f"question {number}: the recording dropped "
                                 f"{capture['dropped_frames']} frames and had "
                                 f"{capture['audio_gaps']} gaps in the sound")
        transcript = heard.get(question.id)
        typed = answer is not None and answer.chosen_take.mode.value == "text"
        if typed and transcript is not None:
            entry["typed_excerpt"] = _excerpt(transcript.text)
        elif transcript is not None:
            entry["transcript"] = {
                "excerpt": _excerpt(transcript.text),
                "language": transcript.language, "needs_review": transcript.needs_review,
                "review_reasons": list(transcript.review_reasons),
            }
            allowed = question.answer_seconds * session.accommodations.extra_time
            entry["delivery"] = asdict(delivery_facts(question.id, transcript, allowed))
            if transcript.needs_review:
                flags.append(f"question {number}: a person should check the transcript "
                             f"({'; '.join(transcript.review_reasons)})")
        elif answer is not None and not typed:
            entry["transcript"] = None
            flags.append(f"question {number}: not transcribed yet")
        entry["highlights"] = []
        decided = session.follow_ups.get(question.id)
        if decided is not None:
            entry["follow_up"] = _follow_up(question, decided, session, heard, recorded)
            if decided.outcome is FollowUpOutcome.NOT_READY:
                flags.append(f"question {number}: the follow-up decision was not ready in "
                             "time, so none was asked")
        questions.append(entry)
    by_id = {q["id"]: q for q in questions}
    for entry in questions:  # a follow-up's evidence is highlighted in its own answer
        if "follow_up" in entry:
            by_id[follow_up_key(entry["id"])] = entry["follow_up"]
    competencies = []
    for competency in template.competencies:
        record = stored.get(competency.id, {})
        detail = record.get("evidence") or {}
        suggestion = None
        if record.get("suggested") is not None or detail.get("withheld"):
            suggestion = {"level": record.get("suggested"), "explanation": detail["explanation"],
                          "withheld": detail.get("withheld"), "evidence": detail["evidence"]}
            for item in detail["evidence"]:
                by_id[item["question_id"]]["highlights"].append(
                    {"start": item["start"], "end": item["end"], "text": item["text"],
                     "competency": competency.id})
        reviewer = record.get("reviewer")
        competencies.append({
            "id": competency.id, "name": competency.name, "weight": competency.weight,
            "suggestion": suggestion, "reviewer_score": reviewer,
            "overrides_suggestion": (reviewer is not None and suggestion is not None
                                     and suggestion["level"] not in (None, reviewer)),
        })
    return {
        "schema": SCHEMA, "version": VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "interview": {"id": template.id, "role": template.role,
                      "title": template.title.get(template.default_language),
                      "template_sha256": session.template_sha256},
        "candidate": {"reference": session.reference, "language": session.language},
        "session": {"status": session.status.value,
                    "started_at": session.started_at.isoformat(),
                    "ended_at": session.ended_at.isoformat() if session.ended_at else None,
                    "breaks_taken": session.breaks_taken},
        "consents": {"recording": session.consents.recording,
                     "retention": session.consents.retention,
                     "ai_scoring": session.consents.ai_scoring,
                     "notice_version": session.consents.notice_version,
                     "given_at": session.consents.given_at.isoformat()},
        "accommodations": session.accommodations.names(),
        "ai_scoring": {"enabled_by_interview": template.policy.ai_scoring,
                       "consented": session.consents.ai_scoring,
                       "label": SUGGESTION_LABEL},
        "retention_days": template.policy.retention_days,
        "questions": questions,
        "competencies": competencies,
        "review": {"decision": decision(store, session.id),
                   "notes": [{"at": at, "text": text} for at, text in notes(store, session.id)]},
        "flags": flags,
    }


def _follow_up(question: Question, decided: FollowUp, session: Session,
               heard: dict[str, Transcript], recorded: dict[tuple[str, int], dict[str, Any]]
               ) -> dict[str, Any]:
    """What was decided about the question's follow-up and, if one was asked, the probe, why,
    and its answer (no content in the decision itself: the probe's words are the template's)."""
    entry: dict[str, Any] = {"outcome": decided.outcome.value, "probe_id": decided.probe_id,
                             "explanation": FOLLOW_UP_EXPLANATIONS[decided.outcome]}
    probe = next((p for p in question.probes if p.id == decided.probe_id), None)
    if probe is None:
        return entry
    key = follow_up_key(question.id)
    entry.update(prompt=probe.prompt.get(session.language), because=because(probe),
                 answered=key in session.answers, highlights=[])
    answer = session.answers.get(key)
    if answer is None:
        return entry
    take = answer.chosen_take
    entry.update(mode=take.mode.value, take=answer.chosen, takes=len(answer.takes),
                 seconds=round(take.seconds, 1), ended_by=take.ended_by)
    capture = recorded.get((key, answer.chosen))
    if capture is not None:
        entry["recording"] = {name: capture[name] for name in (
            "frames", "dropped_frames", "audio_gaps", "drift", "ended_by")}
    transcript = heard.get(key)
    if take.mode.value == "text" and transcript is not None:
        entry["typed_excerpt"] = _excerpt(transcript.text)
    elif transcript is not None:
        entry["transcript"] = {"excerpt": _excerpt(transcript.text),
                               "language": transcript.language,
                               "needs_review": transcript.needs_review,
                               "review_reasons": list(transcript.review_reasons)}
    else:
        entry["transcript"] = None
    return entry


# For reviewers: what each decision about a follow-up means.
FOLLOW_UP_EXPLANATIONS = {
    FollowUpOutcome.ASKED: "Follow-up asked",
    FollowUpOutcome.NOT_NEEDED: "No follow-up: the answer showed what its follow-ups look for",
    FollowUpOutcome.NEEDS_REVIEW: "No follow-up: the transcript needs a person to check it, "
                                  "and unclear speech never costs a candidate anything",
    FollowUpOutcome.NO_CONSENT: "No follow-up: the candidate declined AI-assisted processing",
    FollowUpOutcome.NO_TIME: "No follow-up: it would have run the interview past its time",
    FollowUpOutcome.LIMIT: "No follow-up: the interview's maximum had been asked",
    FollowUpOutcome.NOT_READY: "No follow-up: the decision was not ready in time, and the "
                               "interview went on",
}


def _excerpt(text: str) -> str:
    words = text.split()
    return " ".join(words[:EXCERPT_WORDS]) + (" …" if len(words) > EXCERPT_WORDS else "")


def how_found(item: dict[str, Any]) -> str:
    """How a piece of evidence was found, for a reviewer: by phrase, or by meaning and how
    strongly (evidence from older kiosks has neither field and was found by phrases)."""
    if item.get("method", "phrases") == "meaning":
        return f"found by meaning (score {float(item.get('score', 1.0)):.2f})"
    phrase = item.get("phrase")
    return f"found by the phrase \"{phrase}\"" if phrase else "found by a phrase"


def _render_follow_up(follow_up: dict[str, Any]) -> list[str]:
    if follow_up["outcome"] != FollowUpOutcome.ASKED.value or "prompt" not in follow_up:
        return [f"      {follow_up['explanation']}."]
    lines = [f"      Follow-up asked: \"{follow_up['prompt']}\" because {follow_up['because']}"]
    heard = follow_up.get("transcript")
    if not follow_up.get("answered"):
        lines.append("        (not answered)")
    elif heard and heard["excerpt"]:
        lines.append(f"        \"{heard['excerpt']}\""
                     + ("  ** needs a person to check **" if heard["needs_review"] else ""))
    elif follow_up.get("typed_excerpt"):
        lines.append(f"        typed: \"{follow_up['typed_excerpt']}\"")
    elif heard is None:
        lines.append("        (not transcribed yet)")
    else:
        lines.append("        (no transcript: no words were recognised)")
    return lines


def render(card: dict[str, Any]) -> str:
    """A readable table of a scorecard, for the terminal."""
    lines = [f"Scorecard: {card['interview']['title']} ({card['interview']['id']}), "
             f"reference {card['candidate']['reference']}, {card['session']['status']}"]
    for question in card["questions"]:
        heard = question.get("transcript")
        delivery = question.get("delivery")
        facts = (f"  [{delivery['speaking_seconds']:.0f} s speaking, "
                 f"{delivery['words']} words, longest pause {delivery['longest_silence']:.0f} s]"
                 if delivery else "")
        lines.append(f"  Q{question['number']} {question['id']}"
                     + (f" ({question['mode']}, take {question['take']} of {question['takes']})"
                        if question["answered"] else " (not answered)") + facts)
        if heard and heard["excerpt"]:
            lines.append(f"      \"{heard['excerpt']}\""
                         + ("  ** needs a person to check **" if heard["needs_review"] else ""))
        elif heard:  # nothing kept to quote (silence, or a language the model cannot read)
            reasons = "; ".join(heard["review_reasons"]) or "no words were recognised"
            lines.append(f"      (no transcript: {reasons})  ** needs a person to check **")
        elif question.get("typed_excerpt"):
            lines.append(f"      typed: \"{question['typed_excerpt']}\"")
        if "follow_up" in question:
            lines.extend(_render_follow_up(question["follow_up"]))
    lines.append("  Competencies" + ("" if card["ai_scoring"]["enabled_by_interview"]
                                     and card["ai_scoring"]["consented"]
                                     else " (no suggestions: AI-assisted scoring is off or "
                                          "was declined)"))
    for competency in card["competencies"]:
        suggestion = competency["suggestion"]
        level = ("-" if suggestion is None or suggestion["level"] is None
                 else f"{suggestion['level']}/5 suggested")
        reviewer = (f", reviewer {competency['reviewer_score']}/5"
                    if competency["reviewer_score"] is not None else "")
        lines.append(f"    {competency['name']:28} {level}{reviewer}")
        if suggestion:
            lines.append(f"        {suggestion['explanation']}")
            numbers = {q["id"]: f"Q{q['number']}" for q in card["questions"]}
            numbers.update({follow_up_key(q["id"]): f"Q{q['number']} follow-up"
                            for q in card["questions"]})
            for item in suggestion["evidence"][:EVIDENCE_SHOWN]:
                lines.append(f"        - {numbers.get(item['question_id'], '?')} at "
                             f"{mmss(item['start'])}: \"{item['text']}\"")
                lines.append(f"          {item.get('indicator') or 'evidence'}; "
                             f"{how_found(item)}")
    review = card["review"]
    lines.append(f"  Decision: {review['decision'] or 'none yet'}")
    for note in review["notes"]:
        lines.append(f"  Note ({note['at'][:16]}): {note['text']}")
    for flag in card["flags"]:
        lines.append(f"  ! {flag}")
    lines.append(f"  {card['ai_scoring']['label']}")
    return "\n".join(lines)
