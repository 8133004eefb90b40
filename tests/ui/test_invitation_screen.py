"""The invitation screen of a kiosk at a campus drive, in a real window: a phone held up to
the camera (synthetic phone-screen frames through the camera's interface) lets the invited
candidate in with their details to confirm; a typed code does too; refusals are polite."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from kiosk import keys
from kiosk.clock import FakeClock
from kiosk.drives.desk import InvitationDesk, open_desk
from kiosk.drives.held import load_drives, save_drives
from kiosk.errors import InvitationError
from kiosk.flow import CandidateFlow, FlowTimings, Step
from kiosk.session import SessionStatus
from kiosk.store import Store
from kiosk.templates import find_template
from kiosk.uplink.status import KioskStatus
from kiosk.vault import seal_bytes
from sync import invites
from sync.drive_config import DriveConfig, RosterEntry, roster_bytes
from tests.kiosk.drives.phone_frames import PhoneScreenSource
from tests.ui.test_journey import Kiosk
from ui import i18n
from ui.invitations import InvitationReader
from ui.runtime import Runtime
from ui.window import KioskWindow

PASS = "correct horse battery staple"
DRIVE = "d-00000000cc"
EXPIRES = "2098-12-31T23:59:59-12:00"
ASHA = RosterEntry("i-00000000000000a1", invites.new_code(), "Asha Rao", "asha@example.edu",
                   "21CS001")


class DriveKiosk(Kiosk):
    """A window at a drive without walk-ins, whose camera sees `camera_sees` held up (its
    `screen` and `click` are the journey's kiosk's)."""

    def __init__(self, qtbot, data_dir: Path, camera_sees: str | None, *,
                 camera: bool = True, lose_after: float | None = None) -> None:
        keys.init_keys(data_dir, PASS, keys.KdfParams(8192, 1, 1))
        unlocked = keys.unlock(data_dir, PASS)
        self.store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
        self.hq = ed25519.Ed25519PrivateKey.generate()
        sealed = seal_bytes(roster_bytes(DRIVE, [ASHA]), [unlocked.identity.recipient])
        save_drives(data_dir, (DriveConfig(DRIVE, "Campus day", "demo", None, None, False,
                                           EXPIRES, sealed),))
        desk = open_desk(self.store, data_dir, [unlocked.identity], self.hq.public_key(), "demo")
        assert desk is not None
        self.token = invites.sign(self.hq, DRIVE, ASHA.invite, EXPIRES)
        shown = self.token if camera_sees == "token" else camera_sees
        self.reader = InvitationReader(desk, (lambda: PhoneScreenSource(
            shown, appear_after=0.3, lose_after=lose_after)) if camera else None)
        self.flow = CandidateFlow(find_template("demo"), clock=FakeClock(), archive=self.store,
                                  timings=FlowTimings(), drive=DRIVE, walk_ins=False)
        self.runtime = Runtime(self.store, sample_media=True, decider=lambda flow: None,
                               invitations=self.reader)
        self.window = KioskWindow(self.flow, self.runtime, kiosk_mode=False)
        qtbot.addWidget(self.window)
        self.window.resize(1280, 800)
        self.window.show()
        self.qtbot = qtbot
        self.closed = False
        _OPEN.append(self)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.window.tear_down()
            self.store.close()


_OPEN: list[DriveKiosk] = []


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("en")
    while _OPEN:  # a failed test's kiosk too: its camera and store are let go
        _OPEN.pop().close()


def test_a_phone_held_up_lets_the_invited_candidate_in_to_confirm_their_details(
        qtbot, tmp_path: Path) -> None:
    kiosk = DriveKiosk(qtbot, tmp_path, "token")
    welcome = kiosk.screen
    assert welcome.scan.isVisible() and not welcome.start.isVisible()  # no walk-ins here
    kiosk.click(welcome.scan)
    assert kiosk.flow.step is Step.INVITATION
    assert kiosk.screen.preview.isVisible()
    kiosk.qtbot.waitUntil(lambda: kiosk.flow.step is not Step.INVITATION, timeout=20_000)
    identify = kiosk.screen
    assert kiosk.flow.step in (Step.LANGUAGE, Step.IDENTIFY)
    assert (identify.name.text(), identify.contact.text()) == ("Asha Rao", "asha@example.edu")
    assert identify.confirm.isVisible()
    assert kiosk.reader._scanner is None  # the camera was let go on leaving the screen
    kiosk.close()


def test_a_typed_code_works_and_a_wrong_one_is_refused_politely(qtbot, tmp_path: Path) -> None:
    kiosk = DriveKiosk(qtbot, tmp_path, None, camera=False)
    kiosk.click(kiosk.screen.scan)
    screen = kiosk.screen
    assert not screen.preview.isVisible()
    assert "no camera" in screen.explain.text()
    wrong = ASHA.code[:3] + ("0" if ASHA.code[3] != "0" else "1") + ASHA.code[4:]
    kiosk.qtbot.keyClicks(screen.code, wrong)
    kiosk.click(screen.use_code)
    assert kiosk.flow.step is Step.INVITATION
    assert screen.problem.text() == i18n.tr("invitation_refused.mistyped")
    screen.code.clear()
    kiosk.qtbot.keyClicks(screen.code, invites.display_code(ASHA.code).lower())
    kiosk.qtbot.keyClick(screen.code, Qt.Key.Key_Return)
    assert kiosk.flow.step in (Step.LANGUAGE, Step.IDENTIFY)
    assert kiosk.screen.name.text() == "Asha Rao"
    kiosk.close()


def test_a_qr_code_that_is_not_an_invitation_gets_a_polite_no(qtbot, tmp_path: Path) -> None:
    kiosk = DriveKiosk(qtbot, tmp_path, "https://example.com/some/payment/page/123456789"
                                        "0123456789")
    kiosk.click(kiosk.screen.scan)
    screen = kiosk.screen
    expected = i18n.tr("invitation_refused.malformed")
    kiosk.qtbot.waitUntil(lambda: screen.problem.text() == expected, timeout=20_000)
    assert kiosk.flow.step is Step.INVITATION
    kiosk.click(screen.back)
    assert kiosk.flow.step is Step.WELCOME
    kiosk.close()


def test_a_camera_lost_while_scanning_leaves_the_typed_code(qtbot, tmp_path: Path) -> None:
    kiosk = DriveKiosk(qtbot, tmp_path, None, lose_after=0.3)
    kiosk.reader.status = status = KioskStatus()
    kiosk.click(kiosk.screen.scan)
    screen = kiosk.screen
    kiosk.qtbot.waitUntil(lambda: not screen.preview.isVisible(), timeout=20_000)
    assert "no camera" in screen.explain.text() and screen.code.isVisible()
    reported = status.snapshot()  # what the next heartbeat tells HQ's fleet board
    assert reported.camera.state == "lost" and reported.last_error is not None
    assert reported.last_error[1] == "camera.lost"
    kiosk.close()


def test_staff_let_a_completed_invitation_in_once_more_and_it_is_audited(
        qtbot, tmp_path: Path) -> None:
    kiosk = DriveKiosk(qtbot, tmp_path, None, camera=False)
    kiosk.click(kiosk.screen.scan)
    kiosk.qtbot.keyClicks(kiosk.screen.code, ASHA.code)
    kiosk.click(kiosk.screen.use_code)
    kiosk.flow.identify("Asha Rao", "asha@example.edu")
    kiosk.flow.give_consent(recording=True, retention=True, ai_scoring=False)
    session = kiosk.flow.session()
    assert session is not None and session.invite == ASHA.invite
    kiosk.flow.abort()
    kept = kiosk.store.find(session.id)
    kept.status = SessionStatus.COMPLETED  # as if answered to the end
    kiosk.store.save(kept)

    kiosk.click(kiosk.screen.scan)
    kiosk.qtbot.keyClicks(kiosk.screen.code, ASHA.code)
    kiosk.click(kiosk.screen.use_code)
    assert kiosk.screen.problem.text() == i18n.tr("invitation_refused.used")
    kiosk.click(kiosk.screen.back)

    console = kiosk.window.console
    assert not console.allow_invite.isHidden()  # shown at a drive (the console is not open)
    console.ask_invite_code = lambda: invites.display_code(ASHA.code)
    console.allow_invitation_again()
    assert console.message.text().startswith("Allowed")
    kiosk.click(kiosk.screen.scan)
    kiosk.qtbot.keyClicks(kiosk.screen.code, ASHA.code)
    kiosk.click(kiosk.screen.use_code)
    assert kiosk.flow.step in (Step.LANGUAGE, Step.IDENTIFY)
    actions = [e.action for e in kiosk.store.audit.entries()]
    assert [a for a in actions if a.startswith("invite.")] == [
        "invite.refused", "invite.override_granted", "invite.override_used"]
    kiosk.close()


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_drive_screens_fit_at_1280_by_800(qtbot, tmp_path: Path, language: str) -> None:
    from ui.fit import misfits
    from ui.theme import stylesheet

    app = QApplication.instance()
    before = app.styleSheet()
    app.setStyleSheet(stylesheet())  # the kiosk's own look: sizes depend on it
    try:
        kiosk = DriveKiosk(qtbot, tmp_path, None)  # the camera's preview takes its room
        kiosk.flow.choose_language(language)
        i18n.set_language(language)
        problems = []
        for stop in ("welcome", "invitation", "details"):
            if stop == "invitation":
                kiosk.flow.scan_invitation()  # with the longest refusal showing
                kiosk.screen.problem.setText(i18n.tr("invitation_refused.no_roster"))
            elif stop == "details":
                kiosk.flow.accept_invitation(kiosk.reader.check(ASHA.code))
            qtbot.wait(50)
            problems += [f"{stop}: {p}" for p in misfits(kiosk.window)]
        assert problems == []
        kiosk.close()
    finally:
        app.setStyleSheet(before)


def test_a_roster_that_arrives_during_the_day_is_used_at_the_next_check(
        qtbot, tmp_path: Path) -> None:
    """A kiosk whose roster had not arrived takes scanned invitations only; once the sync
    thread keeps the drive again with its roster, typed codes work and details prefill."""
    kiosk = DriveKiosk(qtbot, tmp_path, None, camera=False)
    unlocked = keys.unlock(tmp_path, PASS)
    held = load_drives(tmp_path)[0]

    def reopen() -> InvitationDesk | None:
        return open_desk(kiosk.store, tmp_path, [unlocked.identity], kiosk.hq.public_key(),
                         "demo")

    save_drives(tmp_path, (replace(held, roster=None),))
    reader = InvitationReader(reopen(), None, reopen)  # type: ignore[arg-type]
    with pytest.raises(InvitationError) as refused:
        reader.check(ASHA.code)
    assert refused.value.reason == "no_roster"
    save_drives(tmp_path, (held,))  # what the next sync pass writes
    assert reader.check(ASHA.code).name == "Asha Rao"
    kiosk.close()
