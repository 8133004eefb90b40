"""What the flow decides alone about a follow-up probe, before the answer is looked at.

A probe is never asked of a candidate who declined AI-assisted processing, once the
interview's maximum has been asked, or when it would run the interview past its time (the
probe's longest think and answer time, and the questions still ahead, all after extra time).
"""

from __future__ import annotations

from datetime import datetime

from kiosk.session import Accommodations, FollowUpOutcome, Session
from kiosk.templates import InterviewTemplate, Question

# What only the flow decides; the answer's decision (the runtime's) is one of the others.
DECIDED_BY_FLOW = frozenset({FollowUpOutcome.NO_CONSENT, FollowUpOutcome.LIMIT,
                             FollowUpOutcome.NO_TIME, FollowUpOutcome.NOT_READY})


def gate(template: InterviewTemplate, question: Question, session: Session,
         accommodations: Accommodations, now: datetime) -> FollowUpOutcome | None:
    """The flow's own decision for `question`'s kept answer, or None: the answer decides."""
    if not (template.policy.ai_scoring and session.consents.ai_scoring):
        return FollowUpOutcome.NO_CONSENT
    asked = sum(1 for f in session.follow_ups.values() if f.outcome is FollowUpOutcome.ASKED)
    if asked >= template.follow_ups.max_per_interview:
        return FollowUpOutcome.LIMIT
    minutes = template.follow_ups.interview_minutes
    if minutes is not None:
        extra = accommodations.extra_time
        probe = max(p.think_seconds + p.answer_seconds for p in question.probes)
        index = template.questions.index(question)
        ahead = sum(q.think_seconds + q.answer_seconds for q in template.questions[index + 1:]
                    if q.id not in session.answers)
        elapsed = (now - session.started_at).total_seconds()
        if elapsed + (probe + ahead) * extra > minutes * 60 * extra:
            return FollowUpOutcome.NO_TIME
    return None
