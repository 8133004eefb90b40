"""What the store knows about campus-drive invites: which sessions each invite started, and
staff's permissions to use a completed invite once more (one invite gives one completed
session; staff may override that, and every override is audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kiosk.session import SessionStatus
from kiosk.store.database import Store


@dataclass(frozen=True)
class InviteSession:
    """A session started with an invite (no candidate data: ids, status, when)."""

    session_id: str
    reference: str
    template_id: str
    status: SessionStatus
    started_at: str


def sessions_of(store: Store, invite: str) -> list[InviteSession]:
    """The sessions started with `invite`, newest first."""
    rows = store.connection.execute(
        "SELECT s.id, s.reference, s.template_id, s.status, s.started_at FROM sessions s "
        "JOIN drive_sessions d ON d.session_id = s.id WHERE d.invite = ? "
        "ORDER BY s.started_at DESC", (invite,)).fetchall()
    return [InviteSession(sid, reference, template, SessionStatus(status), started)
            for sid, reference, template, status, started in rows]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def grant_override(store: Store, invite: str, actor: str = "staff") -> None:
    """Let `invite` start one more session although it completed one (audited)."""
    with store.transaction() as db:
        db.execute("INSERT OR REPLACE INTO invite_overrides VALUES (?, ?, NULL)",
                   (invite, _now()))
        store.audit.append("invite.override_granted", {"invite": invite}, actor)


def take_override(store: Store, invite: str) -> bool:
    """Spend the open override of `invite`, if there is one (audited); whether there was."""
    with store.transaction() as db:
        spent = db.execute("UPDATE invite_overrides SET used_at = ? WHERE invite = ? AND "
                           "used_at IS NULL", (_now(), invite)).rowcount
        if spent:
            store.audit.append("invite.override_used", {"invite": invite}, "kiosk")
    return bool(spent)
