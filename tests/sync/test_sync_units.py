"""The sync worker's parts on their own: backoff, the loop, rate limits, the outbox, config."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from hq.config import sign_config
from hq.ratelimit import RateLimiter
from kiosk.demo.scripted_candidate import take_demo_interview
from kiosk.store import jobs, outbox
from kiosk.uplink import enrollment, sender
from sync import protocol
from sync.client import HqBusyError, HqClient, HqRejectedError
from tests.hq.conftest import HqServer, Kiosk, sync_template
from tests.hq.test_hq_refusals import RECORD


def test_backoff_is_full_jitter_under_a_growing_cap() -> None:
    assert sender.backoff_delay(0, rng=lambda: 1.0) == sender.BASE_DELAY
    assert sender.backoff_delay(3, rng=lambda: 1.0) == sender.BASE_DELAY * 8
    assert sender.backoff_delay(40, rng=lambda: 1.0) == sender.MAX_DELAY
    assert sender.backoff_delay(5, rng=lambda: 0.0) == 0.0
    waits = {sender.backoff_delay(4) for _ in range(50)}
    assert len(waits) > 40 and all(0 <= w <= sender.BASE_DELAY * 16 for w in waits)


class FakeService:
    def __init__(self, results: list[sender.PassResult]) -> None:
        self.results = results

    def run_pass(self) -> sender.PassResult:
        return self.results.pop(0)


def test_the_loop_backs_off_after_failures_and_honours_retry_after() -> None:
    busy = sender.PassResult(stopped_by="HQ down", transient=True)
    told = sender.PassResult(stopped_by="busy", transient=True, retry_after=400.0)
    fine = sender.PassResult()
    refused = sender.PassResult(stopped_by="revoked")
    waits: list[float] = []
    loop = sender.SyncLoop(FakeService([busy, busy, told, fine, refused]),  # type: ignore[arg-type]
                            interval=60.0, sleep=lambda s: waits.append(s) or len(waits) == 5)
    loop.run()
    assert waits[0] <= sender.BASE_DELAY and waits[1] <= 2 * sender.BASE_DELAY
    assert waits[2] >= 400.0           # HQ said when to come back
    assert waits[3] == 60.0            # all went well: the normal interval
    assert waits[4] == sender.MAX_DELAY  # refused: staff must act; try now and then


def test_rate_limiter_allows_bursts_then_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.allow("k") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("other")  # each kiosk has its own bucket
    now[0] += 0.5
    assert limiter.allow("k") and not limiter.allow("k")


def test_a_kiosk_over_its_rate_gets_429_with_retry_after(tmp_path: Path, kiosk: Kiosk) -> None:
    secret = tmp_path / "pass"
    secret.write_text("hq admin test passphrase")
    (tmp_path / "hq").mkdir()
    hq = HqServer(tmp_path / "hq", f"sqlite:///{tmp_path / 'hq.sqlite3'}", secret,
                  extra=("--rate-limit", "0.5"))
    hq.cli("init", "--passphrase-file", str(secret))
    hq.start()
    try:
        link = kiosk.enroll(hq)
        records = [protocol.Record(f"0123456789abcdef/transcript/q{n}", "transcript",
                                   "0123456789abcdef",
                                   {"question_id": f"q{n}", "needs_review": False}, b"sealed")
                   for n in range(3)]
        with HqClient(hq.url, link.device_id, kiosk.unlocked.signing) as client:
            # Enrollment's config fetch is not counted here: a burst of 2 is allowed at 0.5/s.
            assert [client.put_record(r) for r in records[:2]] == ["new", "new"]
            with pytest.raises(HqBusyError) as busy:
                client.put_record(records[2])
        assert busy.value.retry_after == 1.0
    finally:
        hq.stop()


def test_a_session_waits_for_its_scoring_job(kiosk: Kiosk) -> None:
    template = sync_template()
    kiosk.store.keep_template(template)
    session = take_demo_interview(kiosk.store, template=template)
    assert [e.kind for e in outbox.pending(kiosk.store)] == []
    assert outbox.status(kiosk.store).waiting_for_scoring == 1
    job = jobs.claim(kiosk.store)
    assert job is not None and job.kind == jobs.SCORE
    with kiosk.store.transaction():
        jobs.mark_done(kiosk.store, job)
    pending = outbox.pending(kiosk.store)
    assert [(e.session_id, e.kind) for e in pending] == [(session.id, "session")]
    assert not outbox.fully_sent(kiosk.store, session.id)
    outbox.mark_sent(kiosk.store, pending[0], ["recording:q1:1:video"])
    assert [e.kind for e in outbox.pending(kiosk.store)] == ["recording:q1:1:video"]
    outbox.mark_rejected(kiosk.store, outbox.pending(kiosk.store)[0], "item_conflict")
    state = outbox.status(kiosk.store)
    assert state.waiting == {} and state.rejected[0][0] == "recording"
    assert outbox.fully_sent(kiosk.store, session.id) is False  # refused is not received


def test_config_with_a_wrong_signature_installs_nothing(kiosk: Kiosk) -> None:
    hq_key = ed25519.Ed25519PrivateKey.generate()
    link = enrollment.HqLink(
        url="http://hq.invalid", device_id="k-1", hq_recipient=kiosk.unlocked.identity
        .recipient.to_text(), hq_signing_key=base64.b64encode(
            hq_key.public_key().public_bytes_raw()).decode(), enrolled_at="2026-11-30")
    body = protocol.dumps({"device_id": "k-1", "version": 5,
                           "issued_at": "2026-11-30T10:00:00+00:00", "erasures": [],
                           "templates": {"sync-drive": sync_template().text}})
    forged = sign_config(ed25519.Ed25519PrivateKey.generate(), body)
    with pytest.raises(HqRejectedError, match="signature"):
        enrollment.apply_config(kiosk.data_dir, link, body, forged)
    assert not (kiosk.data_dir / "templates-from-hq").exists()
    # Signed by HQ but not a valid template: skipped and named, never half used.
    bad = protocol.dumps({"device_id": "k-1", "version": 6,
                          "issued_at": "2026-11-30T11:00:00+00:00", "erasures": [],
                          "templates": {"broken": "id = 'broken'"}})
    with pytest.raises(HqRejectedError, match="broken"):
        enrollment.apply_config(kiosk.data_dir, link, bad, sign_config(hq_key, bad))
    assert list((kiosk.data_dir / "templates-from-hq").glob("*.toml")) == []


def test_the_record_in_the_refusal_tests_is_itself_valid() -> None:
    body = protocol.record_body(RECORD)
    assert protocol.parse_record(RECORD.item_id, body) == RECORD


def test_the_app_s_background_sync_sends_and_stops(tmp_path: Path, kiosk: Kiosk) -> None:
    import time

    from tests.hq.test_hq_sync import finished_session

    secret = tmp_path / "pass"
    secret.write_text("hq admin test passphrase")
    (tmp_path / "hq").mkdir()
    hq = HqServer(tmp_path / "hq", f"sqlite:///{tmp_path / 'hq.sqlite3'}", secret)
    hq.cli("init", "--passphrase-file", str(secret))
    hq.start()
    try:
        kiosk.enroll(hq)
        finished_session(kiosk)
        background = sender.BackgroundSync(kiosk.data_dir, kiosk.unlocked, interval=0.2)
        background.start()
        deadline = time.monotonic() + 600  # a hang guard: a busy machine is waited for
        while not hq.sessions() and time.monotonic() < deadline:
            time.sleep(0.3)
        background.stop()
        assert len(hq.sessions()) == 1
        assert background.last is not None and background.last.stopped_by is None
    finally:
        hq.stop()


@pytest.mark.parametrize(("target", "kept"), [
    ("/interviews/x", "/interviews/x"), ("//evil.example", "/"), ("/\\evil.example", "/"),
    ("https://evil.example", "/"), ("", "/")])
def test_sign_in_only_ever_redirects_within_hq(target: str, kept: str) -> None:
    from hq.dashboard import _local_path

    assert _local_path(target) == kept


def test_a_paused_service_sends_nothing_until_resumed(tmp_path: Path, kiosk: Kiosk) -> None:
    import threading
    import time

    from tests.hq.test_hq_sync import finished_session, service

    secret = tmp_path / "pass"
    secret.write_text("hq admin test passphrase")
    (tmp_path / "hq").mkdir()
    hq = HqServer(tmp_path / "hq", f"sqlite:///{tmp_path / 'hq.sqlite3'}", secret)
    hq.cli("init", "--passphrase-file", str(secret))
    hq.start()
    try:
        kiosk.enroll(hq)
        finished_session(kiosk)
        paused = service(kiosk)
        paused.gate.clear()             # a candidate is recording
        seen_while_paused: list[object] = []

        def take_ends() -> None:
            time.sleep(1.5)
            seen_while_paused.extend(hq.sessions())
            paused.gate.set()

        # The store belongs to this thread, so the pass runs here and the take ends there.
        ending = threading.Thread(target=take_ends)
        ending.start()
        result = paused.run_pass()
        ending.join()
        assert seen_while_paused == []
        assert result.sent == {"session": 1, "transcript": 1}
    finally:
        hq.stop()


def test_a_full_disk_at_hq_loses_no_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    import errno
    import hashlib
    import os

    from hq.blobs import FileBlobStore
    from hq.ingest import Uploads
    from hq.storage import HqStorage

    storage = HqStorage(f"sqlite:///{tmp_path / 'hq.sqlite3'}")
    storage.migrate()
    uploads = Uploads(storage, FileBlobStore(tmp_path / "blobs"), tmp_path / "uploads")
    data = os.urandom(300_000)
    meta = {"question_id": "q1", "take": 1, "media": "video", "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}
    upload = uploads.create("k-1", protocol.UploadRequest(
        "0123456789abcdef/recording/q1/1/video", "0123456789abcdef", meta, len(data)))
    uploads.append("k-1", upload.upload_id, 0, data[:100_000])
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        uploads.append("k-1", upload.upload_id, 100_000, data[100_000:200_000])
    monkeypatch.setattr(os, "fsync", real_fsync)  # space freed
    # HQ still says 100 000 bytes: the failed chunk was never acknowledged, so it comes again.
    assert uploads.get("k-1", upload.upload_id).received == 100_000
    uploads.append("k-1", upload.upload_id, 100_000, data[100_000:200_000])
    done = uploads.append("k-1", upload.upload_id, 200_000, data[200_000:])
    assert done.complete
    assert (tmp_path / "blobs" / meta["sha256"][:2] / meta["sha256"][2:]).read_bytes() == data
    storage.dispose()


def test_a_full_stick_says_so_and_leaves_no_half_bundle(tmp_path: Path, kiosk: Kiosk,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    import errno
    import os

    from kiosk.errors import KioskError
    from kiosk.uplink.export import export_bundle
    from tests.hq.test_hq_sync import finished_session

    enrollment.save_link(kiosk.data_dir, enrollment.HqLink(
        url="https://hq.invalid", device_id="k-test",
        hq_recipient=kiosk.unlocked.identity.recipient.to_text(),
        hq_signing_key=base64.b64encode(bytes(32)).decode(), enrolled_at="2026-11-30"))
    finished_session(kiosk)
    stick = tmp_path / "usb"
    stick.mkdir()
    real_fsync = os.fsync

    def full(fd: int) -> None:  # the stick is full; the kiosk's own disk is not
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(stick)):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(KioskError, match="stick full"):
        export_bundle(kiosk.store, kiosk.unlocked, stick)
    assert list(stick.iterdir()) == []
