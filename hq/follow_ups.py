"""How often each follow-up probe of an interview was asked: a probe asked of most
candidates points at a badly worded question, one whose answers mostly miss what the question
is there to find.

Counted per question over the interview's completed sessions, from their scorecards' follow-up
decisions. The rate is over the answers the kiosk's rule judged (`asked`, `not_needed`,
`needs_review`); answers it never judged (the candidate declined AI-assisted processing, the
time or the maximum ran out, the decision came too late) are counted apart, since they say
nothing about the question's wording. Scorecards are opened in memory with HQ's key and
checked as they open (`hq.sealed`); one that does not check out is logged, audited and left
out, never the report. Nothing is shown per candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hq import sealed
from hq.audit import HqAudit
from hq.storage import HqStorage, items, sessions
from kiosk.vault import Identity

JUDGED = ("asked", "not_needed", "needs_review")   # what the kiosk's rule decides
MOST = 0.5          # asked of more than half the judged answers: look at the question
SMALL = 5           # fewer judged answers than this say little


@dataclass(frozen=True)
class ProbeRate:
    """How often one probe was asked of one question's judged answers."""

    probe_id: str
    prompt: str
    asked: int
    judged: int

    @property
    def share(self) -> float:
        """Asked over judged (0 to 1)."""
        return self.asked / self.judged if self.judged else 0.0

    @property
    def most(self) -> bool:
        """Asked of most candidates, over enough of them to say so."""
        return self.judged >= SMALL and self.share > MOST

    def sentence(self) -> str:
        """'next-step asked in 14 of 20 (70%)'."""
        return (f"{self.probe_id} asked in {self.asked} of {self.judged} "
                f"({round(100 * self.share)}%)")


@dataclass
class QuestionRates:
    """One question's follow-up decisions over the completed sessions."""

    question_id: str
    number: int
    prompt: str
    judged: int = 0
    not_judged: dict[str, int] = field(default_factory=dict)   # outcome -> sessions
    asked: dict[str, int] = field(default_factory=dict)        # probe id -> sessions
    prompts: dict[str, str] = field(default_factory=dict)      # probe id -> its prompt

    @property
    def probes(self) -> list[ProbeRate]:
        """Each probe asked at least once, the most asked first."""
        return sorted((ProbeRate(probe, self.prompts.get(probe, ""), count, self.judged)
                       for probe, count in self.asked.items()),
                      key=lambda rate: (-rate.asked, rate.probe_id))

    @property
    def small(self) -> bool:
        """Too few judged answers to judge the question by."""
        return self.judged < SMALL

    def as_json(self) -> dict[str, Any]:
        """What `kiosk-hq`'s and the page's readers get."""
        return {"question_id": self.question_id, "number": self.number,
                "judged": self.judged, "not_judged": dict(sorted(self.not_judged.items())),
                "probes": [{"probe_id": r.probe_id, "asked": r.asked,
                            "share": round(r.share, 3), "most": r.most}
                           for r in self.probes]}


def probe_rates(storage: HqStorage, hq: Identity, interview_id: str,
                audit: HqAudit | None = None) -> list[QuestionRates]:
    """Per question of `interview_id` that has follow-up decisions, in question order: how
    many completed sessions' answers the rule judged, and how many were asked each probe."""
    with storage.read() as conn:
        rows = conn.execute(
            sa.select(items.c.device_id, items.c.session_id, items.c.sealed)
            .join(sessions, (sessions.c.device_id == items.c.device_id)
                  & (sessions.c.session_id == items.c.session_id))
            .where(items.c.kind == "session", sessions.c.interview_id == interview_id,
                   sessions.c.status == "completed")
            .order_by(sessions.c.started_at.desc(), sessions.c.session_id)).all()
    found: dict[str, QuestionRates] = {}
    for row in rows:
        try:
            card = sealed.session(row.sealed, hq)["scorecard"]
        except sealed.SealedRecordError as exc:
            from hq.privacy import skip_row

            skip_row(audit, "follow_ups", row.device_id, row.session_id, str(exc))
            continue
        for question in card["questions"]:
            follow_up = question.get("follow_up")
            if follow_up is None:
                continue
            # The newest session's number and wording stand for the question.
            rates = found.setdefault(question["id"], QuestionRates(
                question["id"], question["number"], question["prompt"]))
            outcome = follow_up["outcome"]
            if outcome not in JUDGED:
                rates.not_judged[outcome] = rates.not_judged.get(outcome, 0) + 1
                continue
            rates.judged += 1
            if outcome == "asked":
                probe = follow_up["probe_id"]
                rates.asked[probe] = rates.asked.get(probe, 0) + 1
                rates.prompts.setdefault(probe, follow_up["prompt"])
    return sorted(found.values(), key=lambda rates: (rates.number, rates.question_id))


NOT_JUDGED = {  # for the page: why the rule never saw an answer
    "no_consent": "declined AI-assisted processing",
    "no_time": "out of time",
    "limit": "the interview's maximum reached",
    "not_ready": "decided too late",
}
