"""A man in the middle between a kiosk and HQ, without TLS (issue 13, findings 5 and 6): he
can read and change every byte, replay what he saw, and answer in HQ's place. What he
changes is refused; what he replays is refused; what he answers is not believed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hq.storage import HqStorage, items
from kiosk.store import outbox
from kiosk.uplink import enrollment
from sync import protocol
from sync.client import HqRejectedError, UnverifiedAnswerError
from tests.hq.conftest import HqServer, Kiosk, make_kiosk, sync_template
from tests.hq.mitm import Answer, Exchange, Mitm
from tests.hq.test_hq_sync import finished_session, service


@pytest.fixture
def hq_db(tmp_path: Path) -> str:
    """What a man in the middle changes is refused by signatures and receipts before
    storage: SQLite only here (what HQ stores is tested on both, tests/hq/conftest.py)."""
    return f"sqlite:///{tmp_path / 'hq.sqlite3'}"


@pytest.fixture
def storage(hq: HqServer) -> Iterator[HqStorage]:
    opened = HqStorage(hq.db)
    yield opened
    opened.dispose()


def _tus_pairs(header: str) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, _, value in
            (part.partition(" ") for part in header.split(","))}


def _stored_recordings(storage: HqStorage) -> list[dict[str, object]]:
    with storage.read() as conn:
        return [json.loads(row.meta) for row in conn.execute(
            sa.select(items.c.meta).where(items.c.kind == "recording"))]


def test_swapped_upload_metadata_is_refused(hq: HqServer, kiosk: Kiosk,
                                            storage: HqStorage) -> None:
    kiosk.enroll(hq)
    finished_session(kiosk, recording_bytes=30_000)

    def swap(exchange: Exchange) -> None:
        if exchange.method == "POST" and exchange.path == protocol.UPLOADS_PATH:
            pairs = _tus_pairs(exchange.headers["Upload-Metadata"])
            meta = json.loads(pairs["meta"])
            pairs["meta"] = json.dumps({**meta, "take": 2})   # another take, same bytes
            exchange.headers["Upload-Metadata"] = protocol.tus_metadata(pairs)

    with Mitm(hq.port, on_request=swap) as mitm:  # type: ignore[arg-type]
        result = service(kiosk, link_url=mitm.url).run_pass()
    assert result.sent == {"session": 1, "transcript": 1}
    assert result.rejected == 0 and result.stopped_by and "HQ refused" in result.stopped_by
    refused = [answer for exchange, answer in mitm.seen
               if exchange.path == protocol.UPLOADS_PATH]
    assert [a.status for a in refused] == [401]
    assert json.loads(refused[0].body)["error"] == "bad_signature"
    assert _stored_recordings(storage) == []
    # Without him, the same entry goes up under its own metadata.
    assert service(kiosk).run_pass().sent == {"recording": 1}
    [meta] = _stored_recordings(storage)
    assert meta["take"] == 1 and meta["question_id"] == "introduce-yourself"


@pytest.mark.parametrize("change", ["offset", "checksum dropped", "header twice",
                                    "content type"])
def test_changed_chunk_headers_are_refused(hq: HqServer, kiosk: Kiosk, storage: HqStorage,
                                           change: str) -> None:
    kiosk.enroll(hq)
    finished_session(kiosk, recording_bytes=100_000)
    assert service(kiosk, chunk=64 * 1024).run_pass().sent == {"session": 1, "transcript": 1,
                                                                "recording": 1}
    sid = finished_session(kiosk, recording_bytes=100_000, name="Second Candidate")

    def tamper(exchange: Exchange) -> None:
        if exchange.method != "PATCH":
            return
        if change == "offset":
            exchange.headers["Upload-Offset"] = "0"
        elif change == "checksum dropped":
            exchange.headers.pop("Upload-Checksum")
        elif change == "header twice":  # HQ must not act on one and check the other
            exchange.repeated.append(("Upload-Offset", "0"))
        else:
            exchange.headers["Content-Type"] = "application/offset+octet-stream; x=1"

    with Mitm(hq.port, on_request=tamper) as mitm:  # type: ignore[arg-type]
        result = service(kiosk, link_url=mitm.url, chunk=64 * 1024).run_pass()
    statuses = [a.status for e, a in mitm.seen if e.method == "PATCH"]
    assert statuses and statuses[-1] == 401 and set(statuses) <= {204, 401}, statuses
    assert result.stopped_by is not None and "HQ refused" in result.stopped_by
    assert len(_stored_recordings(storage)) == 1
    assert not outbox.fully_sent(kiosk.store, sid)


def test_a_forged_stored_answer_marks_nothing_sent(hq: HqServer, kiosk: Kiosk,
                                                   storage: HqStorage) -> None:
    kiosk.enroll(hq)
    sid = finished_session(kiosk)

    def answer_for_hq(exchange: Exchange) -> Answer | None:
        if exchange.path.startswith(protocol.ITEMS_PATH):  # HQ never hears of it
            return Answer(200, {"Content-Type": "application/json"},
                          protocol.dumps({"stored": "already"}))
        return None

    with Mitm(hq.port, on_request=answer_for_hq) as mitm:
        result = service(kiosk, link_url=mitm.url).run_pass()
    assert result.total == 0 and result.transient
    assert UnverifiedAnswerError.__name__ in (outbox.status(kiosk.store).last_error or "")
    assert not outbox.fully_sent(kiosk.store, sid)
    assert hq.sessions() == []
    # A receipt of another answer (replayed from an earlier one) is not believed either.
    receipts: list[str] = []

    def replay_receipt(exchange: Exchange, answer: Answer) -> Answer:
        if exchange.path.startswith(protocol.ITEMS_PATH):
            receipts.append(answer.headers.get("Hq-Receipt", ""))
            return Answer(answer.status, {**answer.headers, "Hq-Receipt": receipts[0]},
                          protocol.dumps({"stored": "already"}))
        return answer

    with Mitm(hq.port, on_answer=replay_receipt) as mitm:
        assert service(kiosk, link_url=mitm.url).run_pass().total == 0
    assert service(kiosk).run_pass().sent == {"session": 1, "transcript": 1}
    assert outbox.fully_sent(kiosk.store, sid)


def _publish(hq: HqServer, retention: int, leave: bool) -> None:
    text = sync_template(leave).text.replace("retention_days = 3650",
                                             f"retention_days = {retention}")
    path = hq.data_dir / f"sync-drive-{retention}.toml"
    path.write_text(text)
    hq.cli("templates", "publish", str(path))


def test_an_old_configuration_replayed_to_a_kiosk_is_refused(hq: HqServer, kiosk: Kiosk,
                                                             tmp_path: object) -> None:
    from kiosk.templates import find_template

    link = kiosk.enroll(hq)
    captured: list[Answer] = []

    def keep(exchange: Exchange, answer: Answer) -> Answer:
        if exchange.path == protocol.CONFIG_PATH:
            captured.append(answer)
        return answer

    _publish(hq, retention=180, leave=True)
    with Mitm(hq.port, on_answer=keep) as mitm:
        assert service(kiosk, link_url=mitm.url).run_pass().templates == ["sync-drive"]
    old = captured[-1]
    _publish(hq, retention=30, leave=False)
    assert service(kiosk).run_pass().templates == ["sync-drive"]

    def policy() -> tuple[int, bool]:
        found = find_template("sync-drive", kiosk.data_dir)
        return found.policy.retention_days, found.policy.recordings_leave_kiosk

    assert policy() == (30, False)
    # Replayed as is, the old answer fails its receipt; with a receipt made for the new
    # request it could not have; straight into the kiosk, its number is too low.
    with Mitm(hq.port, on_answer=lambda e, a: old if e.path == protocol.CONFIG_PATH else a
              ) as mitm:
        assert service(kiosk, link_url=mitm.url).run_pass().stopped_by is not None
    link = enrollment.require_link(kiosk.data_dir)
    signature = {k.lower(): v for k, v in old.headers.items()}["hq-signature"]
    with pytest.raises(HqRejectedError) as refused:
        enrollment.apply_config(kiosk.data_dir, link, old.body, signature)
    assert refused.value.code == "stale_config"
    assert policy() == (30, False)


def test_another_kiosks_configuration_and_a_withheld_erasure_are_refused(
        hq: HqServer, kiosk: Kiosk, tmp_path: object, storage: HqStorage) -> None:
    from pathlib import Path

    from hq.audit import HqAudit
    from hq.blobs import FileBlobStore
    from hq.privacy import erase_session

    kiosk.enroll(hq)
    other = make_kiosk(Path(str(tmp_path)) / "other-kiosk")
    other_link = other.enroll(hq, "Other kiosk")
    sid = finished_session(kiosk)
    assert service(kiosk).run_pass().stopped_by is None
    link = enrollment.require_link(kiosk.data_dir)
    with service(other).client as client:
        body, signature = client.config()
    with pytest.raises(HqRejectedError) as refused:   # signed by HQ, but for the other one
        enrollment.apply_config(kiosk.data_dir, link, body, signature)
    assert refused.value.code == "foreign_config"
    other.store.close()
    assert other_link.device_id != link.device_id
    # The configuration before the erasure order, kept by someone, replayed after it.
    with service(kiosk).client as client:
        before_order = client.config()
    [row] = hq.sessions()
    erase_session(storage, FileBlobStore(hq.data_dir / "blobs"),
                  HqAudit(storage, hq.data_dir / "audit.head"), str(row["device_id"]), sid,
                  "asha", "request")
    with service(kiosk).client as client:
        with_order = client.config()
    assert protocol.parse_config(with_order[0]).erasures
    enrollment.apply_config(kiosk.data_dir, link, *with_order)  # the kiosk heard of it ...
    with pytest.raises(HqRejectedError) as refused:           # ... so the older one is refused
        enrollment.apply_config(kiosk.data_dir, enrollment.require_link(kiosk.data_dir),
                             *before_order)
    assert refused.value.code == "stale_config"
    result = service(kiosk).run_pass()  # the order comes in every configuration until done
    assert result.erased == 1 and kiosk.store.find(sid) is None


def test_an_erasure_order_once_received_cannot_be_held_back(
        hq: HqServer, kiosk: Kiosk, storage: HqStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    from hq.audit import HqAudit
    from hq.blobs import FileBlobStore
    from hq.privacy import erase_session
    from kiosk.store import Store

    link = kiosk.enroll(hq)
    sid = finished_session(kiosk)
    assert service(kiosk).run_pass().stopped_by is None
    erase_session(storage, FileBlobStore(hq.data_dir / "blobs"),
                  HqAudit(storage, hq.data_dir / "audit.head"), link.device_id, sid, "asha",
                  "request")
    real_erase = Store.erase

    def busy_disk(store: Store, reference: str, actor: str = "staff") -> object:
        raise OSError(16, "Device or resource busy")

    monkeypatch.setattr(Store, "erase", busy_disk)
    assert service(kiosk).run_pass().erased == 0        # the order came; erasing failed
    monkeypatch.setattr(Store, "erase", real_erase)
    # From now on he answers every request in HQ's place: no configuration reaches the kiosk.
    with Mitm(hq.port, on_request=lambda e: Answer(503, {}, b"")) as mitm:
        result = service(kiosk, link_url=mitm.url).run_pass()
    assert result.transient and result.erased == 1
    assert kiosk.store.find(sid) is None                # erased all the same


def test_the_same_number_with_other_contents_is_refused(kiosk: Kiosk) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from hq.config import sign_config

    hq_key = ed25519.Ed25519PrivateKey.generate()
    link = enrollment.HqLink(
        url="http://hq.invalid", device_id="k-1", hq_recipient=kiosk.unlocked.identity
        .recipient.to_text(), hq_signing_key=base64.b64encode(
            hq_key.public_key().public_bytes_raw()).decode(), enrolled_at="2026-11-30")
    enrollment.save_link(kiosk.data_dir, link)

    def document(version: int, orders: list[dict[str, str]]) -> tuple[bytes, str]:
        body = protocol.dumps({"device_id": "k-1", "version": version, "templates": {},
                               "issued_at": "2026-11-30T10:00:00+00:00", "erasures": orders})
        return body, sign_config(hq_key, body)

    order = [{"order_id": "a" * 32, "session_id": "sess0001abcd"}]
    enrollment.apply_config(kiosk.data_dir, link, *document(7, order))
    held = enrollment.require_link(kiosk.data_dir)
    assert held.config_version == 7 and held.erasures == (("a" * 32, "sess0001abcd"),)
    assert enrollment.apply_config(kiosk.data_dir, held, *document(7, order)) == ([], [
        ("a" * 32, "sess0001abcd")])                     # the same document again: fine
    with pytest.raises(HqRejectedError) as refused:      # number 7, without the order
        enrollment.apply_config(kiosk.data_dir, held, *document(7, []))
    assert refused.value.code == "stale_config"
    assert enrollment.require_link(kiosk.data_dir).erasures == held.erasures
