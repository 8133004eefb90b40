"""The kiosk's invitation desk: what a scanned QR code or a typed invite code lets in.

A token is checked offline against HQ's signing key (`sync.invites.verify`); a typed code
is looked up in the drive's roster, which HQ sealed to this kiosk's key. Either way the
invite then meets what this kiosk's store knows of it: one invite gives one completed
session, so an unfinished session is resumed and a completed one is refused politely,
unless staff allowed one more (`kiosk.store.invites.grant_override`, audited).

What this kiosk cannot know offline is what another kiosk did with the same invite: HQ
counts every session of an invite, and its funnel shows an invite used twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from kiosk.drives.held import drive_for, load_drives
from kiosk.errors import InvitationError
from kiosk.logs import get_logger, log_event
from kiosk.session import Invited, SessionStatus
from kiosk.store import Store
from kiosk.store import invites as used
from kiosk.vault import Identity, VaultError, open_bytes
from sync import invites
from sync.drive_config import DriveConfig, RosterEntry, parse_roster
from sync.fields import ProtocolError

_log = get_logger("drives")

# Sentences a candidate reads (the screen shows its own translation for each reason).
MESSAGES = {
    "malformed": "That is not an invitation from us. Please show the QR code on your "
                 "invitation, or type the code printed under it.",
    "mistyped": "That invite code has a typing mistake. Please check it and try again.",
    "tampered": "This invitation could not be checked. Please ask a member of staff.",
    "other_drive": "This invitation is for another event. Please ask a member of staff.",
    "expired": "This invitation has expired. Please ask a member of staff.",
    "not_on_roster": "That code is not on this event's list. Please check it, or ask a "
                     "member of staff.",
    "no_roster": "Typed codes cannot be checked at this kiosk yet. Please scan the QR code "
                 "on your invitation, or ask a member of staff.",
    "used": "You have already completed this interview. Thank you! If you think this is "
            "a mistake, please ask a member of staff.",
}


def _refuse(store: Store, reason: str, invite: str | None = None) -> InvitationError:
    """The refusal for `reason`; the genuine ones are audited (no name: the invite's id)."""
    log_event(_log, "drives.invitation_refused", reason=reason)
    if reason in ("tampered", "other_drive", "expired", "used"):
        with store.transaction():
            store.audit.append("invite.refused", {"reason": reason, "invite": invite},
                               "kiosk")
    return InvitationError(reason, MESSAGES[reason])


class _Refusal(Exception):
    """Why an invitation is not valid here (`reason`, a key of MESSAGES), before auditing."""

    def __init__(self, reason: str, invite: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.invite = reason, invite


class InvitationDesk:
    """Checks invitations to one drive at one kiosk."""

    def __init__(self, store: Store, drive: DriveConfig, roster: dict[str, RosterEntry] | None,
                 hq_key: ed25519.Ed25519PublicKey, template_id: str,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.drive = drive
        self._by_code = roster
        self._by_invite = {e.invite: e for e in roster.values()} if roster else {}
        self._hq_key = hq_key
        self._template_id = template_id
        self._now = now

    @property
    def walk_ins(self) -> bool:
        """Whether candidates without an invitation may take the interview here."""
        return self.drive.walk_ins

    @property
    def has_roster(self) -> bool:
        """Whether this kiosk holds the drive's roster (typed codes and prefilling need it)."""
        return self._by_code is not None

    def check(self, text: str) -> Invited:
        """The candidate a scanned token or a typed code admits; InvitationError if none."""
        try:
            invite = self._invite(text)
        except _Refusal as refusal:
            raise _refuse(self.store, refusal.reason, refusal.invite) from None
        return self._admit(invite)

    def invite_of(self, text: str) -> str:
        """The invite id a token or a typed code names, checked as `check` checks it but
        whatever was done with it (for staff's override; nothing audited here)."""
        try:
            return self._invite(text)
        except _Refusal as refusal:
            raise InvitationError(refusal.reason, MESSAGES[refusal.reason]) from None

    def _invite(self, text: str) -> str:
        """The invite a token or a typed code names, if it is valid here now; else _Refusal."""
        text = text.strip() if isinstance(text, str) else ""
        if text.startswith(f"{invites.PREFIX}."):
            try:
                return invites.verify(text, self._hq_key, {self.drive.id}, self._now()).invite
            except invites.InviteError as exc:
                raise _Refusal(exc.reason) from None
        if len(text) > 40:  # a QR code that is not ours (a web address, a payment code)
            raise _Refusal("malformed")
        if self._by_code is None:
            raise _Refusal("no_roster")
        try:
            code = invites.normalize_code(text)
        except invites.MalformedInviteError as exc:
            raise _Refusal("mistyped" if "mistake" in str(exc) else "malformed") from None
        entry = self._by_code.get(code)
        if entry is None:
            raise _Refusal("not_on_roster")
        if datetime.fromisoformat(self.drive.expires_at) <= self._now():
            raise _Refusal("expired", entry.invite)
        return entry.invite

    def _admit(self, invite: str) -> Invited:
        entry = self._by_invite.get(invite)
        name, contact = (entry.name, entry.contact) if entry else (None, None)
        sessions = used.sessions_of(self.store, invite)
        if any(s.status is SessionStatus.COMPLETED for s in sessions):
            if not used.take_override(self.store, invite):
                raise _refuse(self.store, "used", invite)
            log_event(_log, "drives.invitation_admitted", outcome="override")
            return Invited(self.drive.id, invite, name, contact)
        unfinished = [s for s in sessions if s.template_id == self._template_id]
        if unfinished:
            log_event(_log, "drives.invitation_admitted", outcome="resume")
            return Invited(self.drive.id, invite, name, contact, resume=unfinished[0].reference)
        log_event(_log, "drives.invitation_admitted", outcome="new")
        return Invited(self.drive.id, invite, name, contact)


def open_desk(store: Store, data_dir: Path, identities: Sequence[Identity],
              hq_key: ed25519.Ed25519PublicKey, template_id: str,
              today: date | None = None) -> InvitationDesk | None:
    """The desk for the drive this kiosk serves today with `template_id`, or None if it
    serves none. A roster that does not open or check out is left aside (logged): the desk
    still takes scanned invitations, and names are typed."""
    drive = drive_for(load_drives(data_dir), template_id, today or datetime.now(UTC).date())
    if drive is None:
        return None
    roster = None
    if drive.roster is not None:
        try:
            roster = parse_roster(open_bytes(drive.roster, identities), drive.id)
        except (VaultError, ProtocolError) as exc:
            log_event(_log, "drives.roster_unreadable", error_type=type(exc).__name__)
    return InvitationDesk(store, drive, roster, hq_key, template_id)
