"""A revision never replaces a newer one, whichever way each came (issue 13, finding 7):
by sync or by bundle, in any order, at the same time, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from hq.storage import HqStorage, items
from kiosk.store.results import set_decision
from kiosk.uplink.export import export_bundle
from kiosk.vault import Recipient
from tests.hq.conftest import HqServer, Kiosk
from tests.hq.forge import Forger, session_content, session_meta
from tests.hq.test_hq_sync import finished_session, service


@pytest.fixture
def storage(hq: HqServer) -> Iterator[HqStorage]:
    opened = HqStorage(hq.db)
    yield opened
    opened.dispose()


def stored(storage: HqStorage, item_id: str) -> tuple[int, int]:
    """(revision, how many versions HQ stored) of one item."""
    with storage.read() as conn:
        row = conn.execute(sa.select(items.c.revision, items.c.revisions).where(
            items.c.item_id == item_id)).one()
    return int(row.revision), int(row.revisions)


def test_an_earlier_bundle_does_not_roll_back_a_later_decision(
        hq: HqServer, kiosk: Kiosk, storage: HqStorage) -> None:
    kiosk.enroll(hq)
    sid = finished_session(kiosk)
    first_stick, second_stick = hq.data_dir.parent / "usb1", hq.data_dir.parent / "usb2"
    first_stick.mkdir()
    second_stick.mkdir()
    earlier, _ = export_bundle(kiosk.store, kiosk.unlocked, first_stick)  # no decision yet
    assert "2 new" in hq.cli("import", str(earlier)).stdout
    set_decision(kiosk.store, sid, "advance")                         # then staff decide
    assert service(kiosk).run_pass().sent.get("session") == 1        # it goes again
    [row] = hq.sessions()
    assert row["decision"] == "advance"
    before = stored(storage, f"{sid}/session")
    # The earlier bundle again (a second stick, a colleague's copy): it is older.
    again = hq.cli("import", str(earlier))
    assert "2 older than what HQ holds" in again.stdout, again.stdout  # both went by sync
    assert [r["decision"] for r in hq.sessions()] == ["advance"]
    assert stored(storage, f"{sid}/session") == before
    # And the other way round: a later bundle after an earlier sync is taken.
    set_decision(kiosk.store, sid, "hold")
    later, _ = export_bundle(kiosk.store, kiosk.unlocked, second_stick)
    assert "updated" in hq.cli("import", str(later)).stdout
    assert [r["decision"] for r in hq.sessions()] == ["hold"]
    assert service(kiosk).run_pass().stopped_by is None   # its sync copy is now older: stale
    assert [r["decision"] for r in hq.sessions()] == ["hold"]


def test_the_same_revision_twice_is_idempotent_whatever_the_order(
        hq: HqServer, kiosk: Kiosk, storage: HqStorage) -> None:
    link = kiosk.enroll(hq)
    forger = Forger(hq.url, link.device_id, kiosk.unlocked.signing,
                    Recipient.from_text(link.hq_recipient))
    # Two different versions under one revision (only a broken or forged kiosk sends that):
    # the higher SHA-256 wins, whichever came first, so every HQ ends the same.
    sealed = sorted((forger.seal(session_content(forger.hq)) for _ in range(2)),
                    key=lambda blob: hashlib.sha256(blob).hexdigest())
    answers = [forger.put("session", "sess0001abcd", session_meta(), b"", 5, sealed=blob)
               for blob in (sealed[1], sealed[0], sealed[1])]
    assert [a.status for a in answers] == [201, 200, 200]
    assert [json.loads(a.body)["stored"] for a in answers] == ["new", "stale", "already"]
    assert forger.put("session", "sess0001abcd", session_meta(), b"", 4,
                      sealed=sealed[1]).body == b'{"stored":"already"}'
    assert json.loads(forger.put(
        "session", "sess0001abcd", session_meta(decision="reject"), b"", 4,
        sealed=sealed[0]).body)["stored"] == "stale"
    assert [r["decision"] for r in hq.sessions()] == [None]


def test_racing_revisions_end_with_the_highest(hq: HqServer, kiosk: Kiosk,
                                               storage: HqStorage) -> None:
    link = kiosk.enroll(hq)
    forger = Forger(hq.url, link.device_id, kiosk.unlocked.signing,
                    Recipient.from_text(link.hq_recipient))
    decisions = ["advance", "hold", "reject"]
    versions = [(revision, decisions[revision % 3], forger.seal(session_content(forger.hq)))
                for revision in range(1, 13)]
    random.Random(7).shuffle(versions)  # noqa: S311 - an order, not a secret
    start = threading.Barrier(len(versions))
    statuses: list[int] = []

    def send(revision: int, decision: str, blob: bytes) -> None:
        start.wait()
        answer = forger.put("session", "sess0001abcd", session_meta(decision=decision), b"",
                            revision, sealed=blob)
        statuses.append(answer.status)

    threads = [threading.Thread(target=send, args=version) for version in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) and all(s in (200, 201) for s in statuses), statuses
    assert stored(storage, "sess0001abcd/session")[0] == 12
    assert [r["decision"] for r in hq.sessions()] == [decisions[12 % 3]]
