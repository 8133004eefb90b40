"""The local store: sessions round-trip encrypted; erasure leaves nothing readable anywhere."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, Step
from kiosk.session import Accommodations, SessionStatus
from kiosk.store import (
    MIGRATIONS,
    ColumnError,
    LockedError,
    SessionNotFoundError,
    Store,
)
from kiosk.vault import Identity, NotARecipientError, VaultReader, create
from tests.kiosk.conftest import TIMINGS, Harness, small_template

NAME, EMAIL, TYPED = "Zubeida Quennell", "zubeida.q@example.org", "I would calm the customer"
KIOSK = Identity.generate()
HQ = Identity.generate()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path, [KIOSK.recipient, HQ.recipient], [KIOSK], notice_version="n-1")
    yield opened
    opened.close()


def take_interview(store: Store, finish: bool = True) -> str:
    clock = FakeClock()
    flow = CandidateFlow(small_template(), clock=clock, archive=store, timings=TIMINGS)
    harness = Harness(flow, clock, store)  # type: ignore[arg-type]
    flow.start()
    flow.choose_language("hi")
    flow.identify(NAME, EMAIL)
    flow.give_consent(recording=True, retention=True)
    flow.set_accommodations(Accommodations(extra_time=1.5, text_answers=True))
    flow.devices_ready()
    flow.skip_practice()
    reference = flow.reference or ""
    harness.answer_current()
    if finish:
        flow.begin_question()
        flow.ready()
        flow.update_text(TYPED)
        flow.finish_answer()
        flow.submit()
        harness.answer_current()
        assert flow.step is Step.FINISHED
    return reference


def test_a_session_round_trips_through_a_reopened_store(tmp_path: Path, store: Store) -> None:
    reference = take_interview(store)
    before = store.find(reference)
    store.close()
    again = Store(tmp_path, [KIOSK.recipient], [KIOSK])
    after = again.find(reference)
    again.close()
    assert after == before
    assert after is not None
    assert after.candidate.name == NAME and after.language == "hi"
    assert after.status is SessionStatus.COMPLETED
    assert after.accommodations == Accommodations(extra_time=1.5, text_answers=True)
    assert after.answers["q-two"].chosen_take.text == TYPED
    assert after.consents.notice_version == "kiosk-notice-2"


def test_candidate_columns_are_ciphertext(tmp_path: Path, store: Store) -> None:
    take_interview(store)
    store.close()
    raw = sqlite3.connect(tmp_path / "kiosk.db")
    dump = "\n".join(raw.iterdump())
    raw.close()
    for secret in (NAME, EMAIL, TYPED, "extra_time"):
        assert secret not in dump
    assert "completed" in dump  # statuses stay queryable


def test_new_sessions_need_only_public_keys_but_reading_needs_unlocking(tmp_path: Path) -> None:
    locked = Store(tmp_path, [KIOSK.recipient])
    reference = take_interview(locked)  # saving works while locked
    fresh = Store(tmp_path, [KIOSK.recipient])
    with pytest.raises(LockedError, match="unlock"):
        fresh.find(reference)
    fresh.unlock([KIOSK])
    found = fresh.find(reference)
    assert found is not None and found.candidate.contact == EMAIL
    with pytest.raises(NotARecipientError):
        Store(tmp_path, [KIOSK.recipient], [Identity.generate()]).find(reference)
    locked.close()
    fresh.close()


def test_hq_can_open_the_session_keys_too(store: Store) -> None:
    reference = take_interview(store)
    store._keys.clear()
    store.unlock([HQ])
    found = store.find(reference)
    assert found is not None and found.candidate.name == NAME


def test_the_outbox_entry_arrives_with_completion(store: Store) -> None:
    reference = take_interview(store, finish=False)
    assert store.db["outbox"].count == 0
    found = store.find(reference)
    assert found is not None and found.status is SessionStatus.IN_PROGRESS
    take_interview(store)
    assert [row["kind"] for row in store.db["outbox"].rows] == ["session"]


def test_an_encrypted_value_moved_to_another_row_does_not_decrypt(store: Store) -> None:
    first, second = take_interview(store), take_interview(store)
    db = store._db
    name = db.execute("SELECT name_enc FROM sessions WHERE reference = ?", (first,)).fetchone()[0]
    db.execute("UPDATE sessions SET name_enc = ? WHERE reference = ?", (name, second))
    store._keys.clear()
    with pytest.raises(ColumnError, match="sessions.name"):
        store.find(second)


def test_migrations_are_recorded_and_applied_once(tmp_path: Path, store: Store) -> None:
    assert store.migrations_applied == [name for name, _ in MIGRATIONS]
    again = Store(tmp_path, [KIOSK.recipient])
    assert again.migrations_applied == []
    again.close()


@pytest.mark.parametrize("done", range(len(MIGRATIONS)))
def test_every_earlier_schema_is_upgraded(tmp_path: Path, done: int) -> None:
    """A database left at any earlier version gets exactly the missing migrations."""
    db = sqlite3.connect(tmp_path / "kiosk.db", isolation_level=None)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, step in MIGRATIONS[:done]:
        step(db)
        db.execute("INSERT INTO migrations VALUES (?, 'earlier')", (name,))
    db.close()
    store = Store(tmp_path, [KIOSK.recipient], [KIOSK])
    assert store.migrations_applied == [name for name, _ in MIGRATIONS[done:]]
    reference = take_interview(store)  # and the upgraded database works
    found = store.find(reference)
    assert found is not None and found.candidate.name == NAME
    store.close()


def test_a_database_from_a_newer_kiosk_is_refused(tmp_path: Path, store: Store) -> None:
    store._db.execute("INSERT INTO migrations VALUES ('9999_future', 'x')")
    with pytest.raises(RuntimeError, match="newer kiosk"):
        Store(tmp_path, [KIOSK.recipient])


def all_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def test_erasure_leaves_nothing_readable_anywhere(tmp_path: Path, store: Store) -> None:
    reference = take_interview(store)
    session = store.find(reference)
    assert session is not None
    recording = store.media_dir(session.id) / "q-one-1.vault"
    with create(recording, store.media_recipients(session.id)) as writer:
        writer.write(f"transcript: my name is {NAME}".encode())
    copy = recording.read_bytes()  # a copy that escaped, e.g. on a USB stick
    sealed_keys = store._db.execute("SELECT sealed FROM session_keys WHERE session_id = ?",
                                    (session.id,)).fetchone()[0]

    erasure = store.erase(reference)

    assert (erasure.session_id, erasure.files) == (session.id, 1)
    assert not recording.exists()
    assert store.find(reference) is None
    everything = all_bytes(tmp_path)  # database, WAL, shared memory, media, audit head
    for secret in (NAME, EMAIL, TYPED, reference):
        assert secret.encode() not in everything
    assert sealed_keys not in everything
    assert sealed_keys[200:264] not in everything  # not even a fragment of the sealed keys
    # The escaped copy: the kiosk's own key was never a recipient, and the session key is gone.
    with pytest.raises(NotARecipientError):
        VaultReader(__import__("io").BytesIO(copy), [KIOSK])


def test_erasure_is_audited_without_saying_who(store: Store) -> None:
    reference = take_interview(store)
    erasure = store.erase(reference, actor="staff")
    (entry,) = [e for e in store.audit.entries() if e.action == "session.erased"]
    assert entry.details == {"session_id": erasure.session_id, "rows": erasure.rows,
                             "files": 0}
    assert reference not in str(entry) and NAME not in str(entry)
    assert store.audit.verify().intact


def test_erasing_an_unknown_session(store: Store) -> None:
    with pytest.raises(SessionNotFoundError):
        store.erase("ABCD-2345")


def test_other_sessions_survive_an_erasure(store: Store) -> None:
    keep, erase = take_interview(store), take_interview(store)
    store.erase(erase)
    store._keys.clear()
    kept = store.find(keep)
    assert kept is not None and kept.candidate.name == NAME


def test_a_finished_take_is_committed_before_it_is_used_and_its_text_is_encrypted(
        tmp_path: Path) -> None:
    store = Store(tmp_path, [KIOSK.recipient, HQ.recipient], [KIOSK])
    flow = CandidateFlow(small_template(mode="text"), clock=FakeClock(), archive=store)
    flow.start()
    flow.choose_language("en")
    flow.identify("Test Candidate", "test@example.com")
    flow.give_consent(recording=True, retention=True)
    flow.set_accommodations(Accommodations())
    flow.report_devices(camera=True, microphone=True)
    flow.devices_ready()
    flow.skip_practice()
    flow.begin_question()
    flow.ready()
    flow.update_text("Quartermaster of the stockroom")
    flow.finish_answer()
    assert flow.step is Step.REVIEW
    store.close()  # as if the kiosk died here: only what was committed is left
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("kiosk.db*"))
    assert b"Quartermaster" not in raw
    again = Store(tmp_path, [KIOSK.recipient, HQ.recipient], [KIOSK])
    stored = again.find(flow.reference or "")
    assert stored is not None and not stored.answers
    [take] = stored.recorded["q-one"]
    assert take.text == "Quartermaster of the stockroom"
    again.close()


def test_a_write_wakes_the_paused_process_that_holds_the_lock(store: Store,
                                                              tmp_path: Path) -> None:
    """The kiosk pauses its worker (SIGSTOP) while an answer is recorded; paused inside a
    transaction, it held the write lock and the take's row failed with 'database is locked'
    (found by bench/window_soak.py). A write now wakes it and waits again."""
    import signal
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import os, signal, sqlite3, sys\n"
         "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "db.execute('BEGIN IMMEDIATE')\n"
         "print('holding', flush=True)\n"
         "os.kill(os.getpid(), signal.SIGSTOP)\n"
         "db.execute('COMMIT')\n", str(tmp_path / "kiosk.db")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    woken: list[bool] = []

    def wake() -> None:
        woken.append(True)
        holder.send_signal(signal.SIGCONT)

    store.on_locked = wake
    take_interview(store, finish=False)  # writes the session while the lock is held
    assert woken == [True]
    assert holder.wait(timeout=30) == 0
    holder.stdout.close()
