"""Voluntary self-identification after the interview, for the adverse-impact report only.

Offered on the finished screen when the interview has a compliance profile with self-ID
questions; every question can be skipped ("prefer not to say" is the default). The answers
are encrypted under the session's key in their own table, go to HQ as their own record
sealed to HQ's key, and are never part of a scorecard, an export or a reviewer's page: HQ
only counts them, for selection rates by group.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from kiosk.privacy.compliance import Profile, check_self_id, profiles
from kiosk.store import Store
from kiosk.store.outbox import PRIORITY
from kiosk.templates import InterviewTemplate

KIND = "selfid"


def questions(template: InterviewTemplate) -> dict[str, tuple[str, ...]]:
    """The self-ID questions the interview's profile offers (none without a profile)."""
    profile: Profile | None = profiles().get(template.policy.compliance or "")
    return dict(profile.self_id) if profile else {}


def save(store: Store, template: InterviewTemplate, session_id: str,
         answers: dict[str, str]) -> dict[str, str]:
    """Keep the chosen answers (nothing at all if every one was skipped); return them."""
    profile = profiles().get(template.policy.compliance or "")
    kept = check_self_id(profile, answers) if profile else {}
    with store.transaction() as db:
        db.execute("DELETE FROM self_ids WHERE session_id = ?", (session_id,))
        if not kept:
            return kept
        blob = store.session_keys(session_id).encrypt(json.dumps(kept, sort_keys=True),
                                                      f"self_ids.answers:{session_id}")
        db.execute("INSERT INTO self_ids VALUES (?, ?, ?)",
                   (session_id, blob, datetime.now(UTC).isoformat()))
        if db.execute("SELECT 1 FROM outbox WHERE session_id = ? AND kind = ?",
                      (session_id, KIND)).fetchone() is None:
            db.execute("INSERT INTO outbox (session_id, kind, priority, created_at) "
                       "VALUES (?, ?, ?, ?)", (session_id, KIND, PRIORITY[KIND],
                                               datetime.now(UTC).isoformat()))
    return kept


def load(store: Store, session_id: str) -> dict[str, str] | None:
    """The stored answers, or None."""
    row = store.connection.execute("SELECT answers_enc FROM self_ids WHERE session_id = ?",
                                   (session_id,)).fetchone()
    if row is None:
        return None
    answers: dict[str, str] = json.loads(store.session_keys(session_id).decrypt(
        row[0], f"self_ids.answers:{session_id}"))
    return answers
