"""The adverse-impact report: selection rates by voluntarily self-reported group.

Only candidates who chose to self-identify count, and only once reviewers have decided.
For each question (gender, disability, sex, race/ethnicity) and each answer, the selection
rate is advanced / decided; the impact ratio is that rate over the highest group's rate. A
ratio under 0.8 (the "four-fifths rule") is flagged for a closer look. It is not proof
of discrimination, and with few candidates it means little, so small groups are marked.
Self-identification is decrypted here in memory, counted, and never shown per person. Each
record is checked as it opens (`hq.sealed`): only answers the compliance profiles offer
count, and a record that does not check out is logged, audited and left out, never the
report.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from hq import sealed
from hq.audit import HqAudit
from hq.storage import HqStorage, items, reviews, sessions
from kiosk.privacy.compliance import profiles
from kiosk.vault import Identity

FOUR_FIFTHS = 0.8
SMALL_GROUP = 5


@dataclass(frozen=True)
class GroupRate:
    """One answer's counts."""

    question: str
    group: str
    decided: int
    advanced: int
    rate: float | None
    impact_ratio: float | None

    @property
    def flagged(self) -> bool:
        """Below four-fifths of the best group's rate."""
        return self.impact_ratio is not None and self.impact_ratio < FOUR_FIFTHS

    @property
    def small(self) -> bool:
        """Too few to judge."""
        return self.decided < SMALL_GROUP


@functools.cache
def offered_answers() -> Mapping[str, Collection[str]]:
    """Every self-ID question any compliance profile asks, with the answers it offers."""
    offered: dict[str, set[str]] = {}
    for profile in profiles().values():
        for question, answers in profile.self_id.items():
            offered.setdefault(question, set()).update(answers)
    return offered


def adverse_impact(storage: HqStorage, hq: Identity, interview_id: str | None = None,
                   audit: HqAudit | None = None) -> list[GroupRate]:
    """Rates per question and group, over the sessions with a decision. A self-ID record
    that does not open or check out is left out (logged, and audited when `audit` is
    given)."""
    with storage.read() as conn:
        query = sa.select(items.c.device_id, items.c.session_id, items.c.sealed,
                          sessions.c.decision).join(sessions, (
                              sessions.c.device_id == items.c.device_id)
                              & (sessions.c.session_id == items.c.session_id)).where(
            items.c.kind == "selfid")
        if interview_id:
            query = query.where(sessions.c.interview_id == interview_id)
        rows = conn.execute(query).all()
        reviewed = {(r.device_id, r.session_id): r.decision for r in conn.execute(
            sa.select(reviews.c.device_id, reviews.c.session_id, reviews.c.decision)
            .order_by(reviews.c.submitted_at)) if r.decision}
    counts: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        decision = reviewed.get((row.device_id, row.session_id), row.decision)
        if decision is None:
            continue
        try:
            answers = sealed.self_id(row.sealed, hq, offered_answers())
        except sealed.SealedRecordError as exc:
            from hq.privacy import skip_row

            skip_row(audit, "fairness", row.device_id, row.session_id, str(exc))
            continue
        for question, group in answers.items():
            tally = counts.setdefault((question, group), [0, 0])
            tally[0] += 1
            tally[1] += decision == "advance"
    best: dict[str, float] = {}
    for (question, _), (decided, advanced) in counts.items():
        best[question] = max(best.get(question, 0.0), advanced / decided)
    result = []
    for (question, group), (decided, advanced) in sorted(counts.items()):
        rate = advanced / decided
        top = best[question]
        result.append(GroupRate(question, group, decided, advanced, round(rate, 3),
                                round(rate / top, 3) if top else None))
    return result
