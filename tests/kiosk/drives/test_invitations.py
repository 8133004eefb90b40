"""The kiosk's invitation desk and the flow of an invited candidate, on a real store with
a real HQ signing key and a roster sealed to the kiosk's own vault key."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from kiosk.clock import FakeClock
from kiosk.drives.desk import InvitationDesk, open_desk
from kiosk.drives.held import DRIVES_FILE, drive_for, load_drives, save_drives
from kiosk.errors import InvalidInput, InvitationError
from kiosk.flow import CandidateFlow, Step
from kiosk.session import Invited, SessionStatus
from kiosk.store import Store
from kiosk.store import invites as used
from kiosk.vault import Identity, seal_bytes
from sync import invites
from sync.drive_config import DriveConfig, RosterEntry, roster_bytes
from tests.kiosk.conftest import TIMINGS, small_template

DRIVE = "d-00000000aa"
ASHA = RosterEntry("i-00000000000000a1", invites.new_code(), "Asha Rao", "asha@example.edu",
                   "21CS001")
VIKRAM = RosterEntry("i-00000000000000b2", invites.new_code(), "Vikram Rao", "+91 98765 43210",
                     None)
EXPIRES = "2098-12-31T23:59:59-12:00"


@pytest.fixture
def hq_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture
def kiosk_key() -> Identity:
    return Identity.generate()


@pytest.fixture
def store(tmp_path: Path, kiosk_key: Identity) -> Store:
    opened = Store(tmp_path, [kiosk_key.recipient], [kiosk_key])
    yield opened
    opened.close()


def _drive(kiosk_key: Identity | None, *, walk_ins: bool = False, drive: str = DRIVE,
           expires: str = EXPIRES) -> DriveConfig:
    sealed = None if kiosk_key is None else seal_bytes(
        roster_bytes(drive, [ASHA, VIKRAM]), [kiosk_key.recipient])
    return DriveConfig(drive, "Campus day", "small-test", "2026-12-01", "2026-12-04", walk_ins,
                       expires, sealed)


def _desk(store: Store, hq_key: ed25519.Ed25519PrivateKey, kiosk_key: Identity,
          *, roster: bool = True, now: datetime | None = None) -> InvitationDesk:
    save_drives(store.data_dir, (_drive(kiosk_key if roster else None),))
    desk = open_desk(store, store.data_dir, [kiosk_key], hq_key.public_key(), "small-test",
                     date(2026, 12, 2))
    assert desk is not None
    if now is not None:
        desk._now = lambda: now
    return desk


def _token(hq_key: ed25519.Ed25519PrivateKey, entry: RosterEntry = ASHA,
           drive: str = DRIVE, expires: str = EXPIRES) -> str:
    return invites.sign(hq_key, drive, entry.invite, expires)


def _refusals(store: Store) -> list[dict[str, object]]:
    return [dict(e.details) for e in store.audit.entries() if e.action == "invite.refused"]


def test_a_scanned_invitation_admits_its_candidate_with_the_rosters_details(
        store: Store, hq_key: ed25519.Ed25519PrivateKey, kiosk_key: Identity) -> None:
    desk = _desk(store, hq_key, kiosk_key)
    assert desk.check(_token(hq_key)) == Invited(DRIVE, ASHA.invite, "Asha Rao",
                                                 "asha@example.edu")
    typed = invites.display_code(VIKRAM.code).lower().replace("-", " ")
    assert desk.check(typed) == Invited(DRIVE, VIKRAM.invite, "Vikram Rao", "+91 98765 43210")


def test_without_the_roster_a_token_still_admits_and_a_typed_code_cannot(
        store: Store, hq_key: ed25519.Ed25519PrivateKey, kiosk_key: Identity) -> None:
    desk = _desk(store, hq_key, kiosk_key, roster=False)
    assert desk.check(_token(hq_key)) == Invited(DRIVE, ASHA.invite)
    with pytest.raises(InvitationError) as refused:
        desk.check(ASHA.code)
    assert refused.value.reason == "no_roster"


@pytest.mark.parametrize(("make", "reason"), [
    (lambda key: _token(key)[:-3] + ("AAA" if _token(key)[-3:] != "AAA" else "BBB"),
     "tampered"),
    (lambda key: _token(ed25519.Ed25519PrivateKey.generate()), "tampered"),
    (lambda key: _token(key, drive="d-00000000bb"), "other_drive"),
    (lambda key: _token(key, expires="2026-12-01T23:59:59-12:00"), "expired"),
    (lambda key: "https://example.com/pay?x=1" * 3, "malformed"),
])
def test_a_bad_token_is_refused_with_its_reason_and_audited(
        store: Store, hq_key: ed25519.Ed25519PrivateKey, kiosk_key: Identity, make,
        reason: str) -> None:
    desk = _desk(store, hq_key, kiosk_key, now=datetime(2026, 12, 3, tzinfo=UTC))
    with pytest.raises(InvitationError) as refused:
        desk.check(make(hq_key))
    assert refused.value.reason == reason
    assert "staff" in str(refused.value) or "invitation" in str(refused.value)
    audited = _refusals(store)
    assert audited == ([{"reason": reason, "invite": None}] if reason != "malformed" else [])


def test_typed_codes_forgive_form_and_catch_mistakes(
        store: Store, hq_key: ed25519.Ed25519PrivateKey, kiosk_key: Identity) -> None:
    desk = _desk(store, hq_key, kiosk_key)
    wrong = ASHA.code[:3] + ("0" if ASHA.code[3] != "0" else "1") + ASHA.code[4:]
    for text, reason in ((wrong, "mistyped"), ("hello", "malformed"),
                         (invites.new_code(), "not_on_roster")):
        with pytest.raises(InvitationError) as refused:
            desk.check(text)
        assert refused.value.reason == reason, text


def test_one_invite_gives_one_completed_session_unless_staff_allow_another(
        store: Store, hq_key: ed25519.Ed25519PrivateKey, kiosk_key: Identity) -> None:
    desk = _desk(store, hq_key, kiosk_key)
    flow = CandidateFlow(small_template(), clock=FakeClock(), archive=store, timings=TIMINGS,
                         drive=DRIVE, walk_ins=False)
    flow.scan_invitation()
    flow.accept_invitation(desk.check(_token(hq_key)))
    assert flow.prefill == ("Asha Rao", "asha@example.edu")
    flow.choose_language("en")
    flow.identify("Asha R.", "asha@example.edu")  # corrected on the kiosk
    flow.give_consent(recording=True, retention=True)
    session = flow.session()
    assert session is not None and (session.drive, session.invite) == (DRIVE, ASHA.invite)
    flow.abort()  # walks away mid-interview

    # A second scan resumes the unfinished session, not a new one.
    again = desk.check(_token(hq_key))
    assert again.resume == session.reference
    flow.accept_invitation(again)
    assert flow.step is Step.DEVICE_CHECK and flow.session().id == session.id

    flow.abort()
    kept = store.find(session.id)
    assert kept is not None
    kept.status = SessionStatus.COMPLETED  # as if answered to the end
    store.save(kept)
    with pytest.raises(InvitationError) as refused:
        desk.check(ASHA.code)
    assert refused.value.reason == "used" and "already completed" in str(refused.value)
    assert _refusals(store)[-1] == {"reason": "used", "invite": ASHA.invite}

    used.grant_override(store, ASHA.invite)
    assert desk.check(_token(hq_key)) == Invited(DRIVE, ASHA.invite, "Asha Rao",
                                                 "asha@example.edu")
    with pytest.raises(InvitationError):  # the override is spent by that one admission
        desk.check(_token(hq_key))
    actions = [e.action for e in store.audit.entries()]
    assert actions.count("invite.override_granted") == 1
    assert actions.count("invite.override_used") == 1


def test_a_drive_without_walk_ins_refuses_start_and_walk_ins_name_the_drive(
        tmp_path: Path, kiosk_key: Identity) -> None:
    store = Store(tmp_path, [kiosk_key.recipient], [kiosk_key])
    closed = CandidateFlow(small_template(), clock=FakeClock(), archive=store, drive=DRIVE,
                           walk_ins=False)
    with pytest.raises(InvalidInput) as refused:
        closed.start()
    assert refused.value.field == "invitation" and closed.step is Step.WELCOME
    with pytest.raises(InvalidInput):  # an invitation to another drive is not this one's
        closed.accept_invitation(Invited("d-00000000bb", ASHA.invite))

    open_ = CandidateFlow(small_template(), clock=FakeClock(), archive=store, drive=DRIVE,
                          walk_ins=True)
    open_.start()
    assert open_.prefill is None
    open_.choose_language("en")
    open_.identify("Walk In", "walk@example.com")
    open_.give_consent(recording=True, retention=True)
    kept = store.find(open_.session().id)
    assert kept is not None and (kept.drive, kept.invite) == (DRIVE, None)
    store.close()


def test_the_kiosk_keeps_only_the_drives_of_its_latest_configuration(
        tmp_path: Path, kiosk_key: Identity) -> None:
    drive = _drive(kiosk_key)
    save_drives(tmp_path, (drive,))
    text = (tmp_path / DRIVES_FILE).read_text()
    assert "Asha" not in text and "asha@" not in text  # the roster stays sealed at rest
    (loaded,) = load_drives(tmp_path)
    assert (loaded.id, loaded.roster, loaded.walk_ins) == (drive.id, drive.roster, False)
    assert drive_for((drive,), "small-test", date(2026, 12, 2)) == drive
    assert drive_for((drive,), "small-test", date(2026, 12, 5)) is None  # the drive is over
    assert drive_for((drive,), "other", date(2026, 12, 2)) is None
    save_drives(tmp_path, ())
    assert not (tmp_path / DRIVES_FILE).exists() and load_drives(tmp_path) == ()
    (tmp_path / DRIVES_FILE).write_text(json.dumps([{"id": "d-1"}]))
    assert load_drives(tmp_path) == ()  # damaged: nothing, and the next config rewrites it


def test_a_roster_sealed_to_another_kiosk_is_left_aside(
        store: Store, hq_key: ed25519.Ed25519PrivateKey, kiosk_key: Identity) -> None:
    save_drives(store.data_dir, (_drive(Identity.generate()),))
    desk = open_desk(store, store.data_dir, [kiosk_key], hq_key.public_key(), "small-test",
                     date(2026, 12, 2))
    assert desk is not None and not desk.has_roster
    assert desk.check(_token(hq_key)).name is None


def test_an_invitation_checked_after_its_expiry_by_code_is_refused(
        store: Store, hq_key: ed25519.Ed25519PrivateKey, kiosk_key: Identity) -> None:
    save_drives(store.data_dir, (_drive(kiosk_key, expires="2026-12-02T23:59:59-12:00"),))
    desk = open_desk(store, store.data_dir, [kiosk_key], hq_key.public_key(), "small-test",
                     date(2026, 12, 2))
    assert desk is not None
    desk._now = lambda: datetime(2026, 12, 2, 12, tzinfo=UTC) + timedelta(days=2)
    with pytest.raises(InvitationError) as refused:
        desk.check(ASHA.code)
    assert refused.value.reason == "expired"
