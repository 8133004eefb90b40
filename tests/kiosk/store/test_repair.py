"""Recordings cut off by a crash are made whole, keeping every authentic segment."""

from __future__ import annotations

from pathlib import Path

from kiosk import keys
from kiosk.store import Store
from kiosk.store.repair import repair_media
from kiosk.vault import VaultReader, create
from tests.kiosk.conftest import take_demo_interview


def test_an_unfinished_recording_is_mended_in_place(tmp_path: Path) -> None:
    keys.init_keys(tmp_path, "repair test passphrase",
                   keys.KdfParams(memory_kib=8192, iterations=1, lanes=1))
    unlocked = keys.unlock(tmp_path, "repair test passphrase")
    store = Store(tmp_path, keys.recipients(tmp_path), [unlocked.identity])
    session = take_demo_interview(store)
    cut = store.video_path(session.id, "introduce-yourself", 1)
    writer = create(cut, store.media_recipients(session.id), segment_size=1024)
    writer.write(b"R" * 5000)
    writer.abandon()  # the power went
    whole = store.video_path(session.id, "introduce-yourself", 2)
    with create(whole, store.media_recipients(session.id)) as done:
        done.write(b"fine")
    before = whole.read_bytes()

    repaired = repair_media(store)

    assert [(r.name, r.plaintext_bytes) for r in repaired] == [(cut.name, 4096)]
    identity = store.session_identity(session.id)
    with cut.open("rb") as source, VaultReader(source, [identity]) as reader:
        assert reader.read() == b"R" * 4096  # four complete segments, now a finished file
    assert whole.read_bytes() == before  # finished files are left alone
    assert repair_media(store) == []  # nothing left to mend
    store.close()
