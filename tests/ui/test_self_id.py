"""The optional self-identification on the finished screen: separate, skippable, stored
apart from the scorecard, and offered only where the interview's compliance profile has it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import keys
from kiosk.clock import FakeClock
from kiosk.demo.scripted_candidate import answer_everything
from kiosk.flow import CandidateFlow, Step
from kiosk.privacy import self_id
from kiosk.privacy.compliance import profiles
from kiosk.scoring.scorecard import build
from kiosk.store import Store, outbox
from kiosk.templates import find_template, parse_template
from ui import i18n
from ui.runtime import Runtime
from ui.window import KioskWindow

PASS = "self id test passphrase"


def finished_window(qtbot, data_dir: Path, compliance: bool = True):
    keys.init_keys(data_dir, PASS, keys.KdfParams(8192, 1, 1))
    unlocked = keys.unlock(data_dir, PASS)
    store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
    text = find_template("demo").text.replace('id = "demo"', 'id = "fair-drive"', 1)
    if compliance:
        text = text.replace("recordings_leave_kiosk = false",
                            'recordings_leave_kiosk = false\ncompliance = "dpdp"')
    template = parse_template(text.encode(), "fair-drive.toml")
    store.keep_template(template)
    clock = FakeClock()
    flow = CandidateFlow(template, clock=clock, archive=store)
    window = KioskWindow(flow, Runtime(store), kiosk_mode=False, staff_check=lambda _: False)
    qtbot.addWidget(window)
    window.show()
    session = answer_everything(flow, clock)
    assert flow.step is Step.FINISHED
    return window, store, session.id


def test_self_id_is_optional_and_kept_apart(qtbot, tmp_path: Path) -> None:
    window, store, session_id = finished_window(qtbot, tmp_path)
    screen = window.current
    assert screen.self_id.isVisible() and set(screen.choices) == {"gender", "disability"}
    assert screen.choices["gender"].currentText() == "Prefer not to say"
    screen.choices["gender"].setCurrentIndex(screen.choices["gender"].findData("woman"))
    screen.save_self_id.click()
    assert screen.save_self_id.text() == "Saved. Thank you." and not screen.save_self_id.isEnabled()
    assert self_id.load(store, session_id) == {"gender": "woman"}  # disability was skipped
    assert "selfid" in {e.kind for e in outbox.pending(store, limit=100)} | {
        row[0] for row in store.connection.execute("SELECT kind FROM outbox")}
    assert "woman" not in str(build(store, session_id))  # never in the scorecard
    store.erase(session_id)
    assert store.connection.execute("SELECT COUNT(*) FROM self_ids").fetchone()[0] == 0
    store.close()


def test_skipping_everything_keeps_nothing(qtbot, tmp_path: Path) -> None:
    window, store, session_id = finished_window(qtbot, tmp_path)
    window.current.save_self_id.click()
    assert self_id.load(store, session_id) is None
    assert store.connection.execute(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'selfid'").fetchone()[0] == 0
    store.close()


def test_no_profile_no_questions(qtbot, tmp_path: Path) -> None:
    window, store, _ = finished_window(qtbot, tmp_path, compliance=False)
    assert not window.current.self_id.isVisible()
    store.close()


def test_the_consent_screen_shows_the_profiles_notice(qtbot, tmp_path: Path) -> None:
    keys.init_keys(tmp_path, PASS, keys.KdfParams(8192, 1, 1))
    store = Store(tmp_path, keys.recipients(tmp_path), [keys.unlock(tmp_path, PASS).identity])
    text = find_template("demo").text.replace('id = "demo"', 'id = "fair-drive"', 1).replace(
        "recordings_leave_kiosk = false", 'recordings_leave_kiosk = false\ncompliance = "dpdp"')
    flow = CandidateFlow(parse_template(text.encode(), "fair.toml"), clock=FakeClock(),
                         archive=store)
    window = KioskWindow(flow, Runtime(store), kiosk_mode=False, staff_check=lambda _: False)
    qtbot.addWidget(window)
    window.show()
    flow.start()
    if flow.step is Step.LANGUAGE:
        flow.choose_language("en")
    flow.identify("Kavya Menon", "kavya@example.com")
    assert flow.step is Step.CONSENT
    details = window.current.details.text()
    assert "Grievance Officer" in details and "at most 7 days" in details
    store.close()


def test_self_id_reads_in_the_candidates_language_and_keeps_the_profiles_word(
        qtbot, tmp_path: Path) -> None:
    window, store, session_id = finished_window(qtbot, tmp_path)
    screen = window.current
    i18n.set_language("hi")
    try:
        assert screen.questions["gender"].text() == "लिंग"
        assert screen.choices["gender"].accessibleName() == "लिंग"
        gender = screen.choices["gender"]
        assert [gender.itemText(i) for i in range(gender.count())] == [
            "नहीं बताना चाहते", "महिला", "पुरुष", "ट्रांसजेंडर", "कोई अन्य लिंग"]
        gender.setCurrentIndex(gender.findData("another gender"))
        screen.save_self_id.click()
    finally:
        i18n.set_language("en")
    assert screen.questions["gender"].text() == "Gender"
    assert self_id.load(store, session_id) == {"gender": "another gender"}
    store.close()


@pytest.mark.parametrize("language", ["en", "hi"])
def test_every_profiles_self_id_has_words_in_every_kiosk_language(language: str) -> None:
    missing = [f"{kind}.{word}" for profile in profiles().values()
               for question, answers in profile.self_id.items()
               for kind, word in [("question", question), *(("answer", a) for a in answers)]
               if f"self_id_{kind}.{word}" not in i18n.catalog(language)]
    assert not missing, f"{language}.toml lacks {missing}"
