"""Background jobs go row by row (issue 13, findings 1 and 3): one bad row is logged,
audited and skipped, and never stops the job; nothing large is read before it is measured."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ed25519

from hq import devices
from hq.audit import HqAudit
from hq.blobs import FileBlobStore
from hq.importer import import_bundle
from hq.storage import MIGRATIONS, HqStorage, migrations, now_text, sessions
from kiosk.privacy import retention
from kiosk.store import Store
from sync import protocol
from sync.bundle import EntrySpec, write_bundle
from tests.hq.conftest import HqServer, Kiosk
from tests.hq.test_hq_sync import finished_session, service

FAR = datetime.now(UTC) + timedelta(days=4000)


def kiosk_audit(store: Store, action: str) -> list[dict[str, object]]:
    return [json.loads(details) for (details,) in store.connection.execute(
        "SELECT details FROM audit WHERE action = ?", (action,))]


@pytest.mark.parametrize("bad", ['=HYPERLINK("x")', "2026-11-30T09:00:00"])
def test_kiosk_retention_erases_past_a_session_it_cannot_read(kiosk: Kiosk, bad: str) -> None:
    broken = finished_session(kiosk, name="Broken Times")
    fine = finished_session(kiosk, name="Fine Times")
    with kiosk.store.transaction() as db:
        db.execute("UPDATE sessions SET started_at = ?, updated_at = ?, ended_at = ? "
                   "WHERE id = ?", (bad, bad, bad, broken))
    result = retention.run(kiosk.store, FAR)
    assert result.erased == [fine] and result.skipped == [broken]
    assert [sid for (sid,) in kiosk.store.connection.execute("SELECT id FROM sessions")] == [
        broken]
    [skipped] = kiosk_audit(kiosk.store, "job.row_skipped")
    assert skipped == {"job": "retention", "session_id": broken,
                       "reason": skipped["reason"]}
    assert "HYPERLINK" not in str(skipped["reason"])


def test_one_erasure_order_that_fails_leaves_the_others_done(hq: HqServer, kiosk: Kiosk,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    from hq.privacy import erase_session, pending_orders

    link = kiosk.enroll(hq)
    first, second = finished_session(kiosk), finished_session(kiosk, name="Second")
    assert service(kiosk).run_pass().stopped_by is None
    storage = HqStorage(hq.db)
    try:
        audit = HqAudit(storage, hq.data_dir / "audit.head")
        for sid in (first, second):
            erase_session(storage, FileBlobStore(hq.data_dir / "blobs"), audit,
                          link.device_id, sid, "asha", "request")
        real_erase = Store.erase

        def disk_fault(store: Store, reference: str, actor: str = "staff") -> object:
            if reference == first:
                raise OSError(5, "Input/output error")
            return real_erase(store, reference, actor)

        monkeypatch.setattr(Store, "erase", disk_fault)
        result = service(kiosk).run_pass()
        assert result.erased == 1 and result.stopped_by is None
        assert kiosk.store.find(second) is None and kiosk.store.find(first) is not None
        assert [o["session_id"] for o in pending_orders(storage, link.device_id)] == [first]
        assert kiosk_audit(kiosk.store, "job.row_skipped")[0]["job"] == "erasure_order"
        monkeypatch.setattr(Store, "erase", real_erase)  # the disk is replaced
        assert service(kiosk).run_pass().erased == 1
        assert pending_orders(storage, link.device_id) == []
    finally:
        storage.dispose()


def test_rows_from_before_the_strict_parser_are_repaired_then_kept_by_retention(
        hq_db: str, tmp_path: Path) -> None:
    storage = HqStorage(hq_db)
    try:
        with storage.write() as conn:  # an HQ database as 0004 left it
            migrations.create(conn)
            for name, step in MIGRATIONS[:4]:
                step(conn)
                conn.execute(migrations.insert().values(name=name, applied_at=now_text()))
            # 0001 builds today's items table; one made before 0006 had no revision column.
            conn.execute(sa.text("ALTER TABLE items DROP COLUMN revision"))
        code, _ = devices.new_enroll_code(storage)
        device = devices.enroll(storage, protocol.EnrollRequest(
            code, "Old kiosk", ed25519.Ed25519PrivateKey.generate().public_key()
            .public_bytes_raw()))
        received = "2020-03-01T10:00:00.000+00:00"
        rows = {"sess0001abcd": '=HYPERLINK("http://evil.example","x")',
                "sess0002abcd": "2020-02-01T09:00:00",           # no time zone
                "sess0003abcd": "2020-02-01T09:00:00+05:30",     # fine, not yet UTC
                "sess0004abcd": "2099-12-31T00:00:00+00:00"}     # later than HQ got it
        with storage.write() as conn:
            for sid, started in rows.items():
                conn.execute(sessions.insert().values(
                    device_id=device, session_id=sid, reference="ABCD-2345",
                    interview_id="sync-drive", template_sha256="0" * 64, language="en",
                    status="completed", started_at=started, ended_at=started,
                    decision=None, needs_review=False, questions=1, answered=1, scores="{}",
                    received_at=received, retention_days=30))
        applied = storage.migrate()  # and every later one, which these rows must survive
        assert applied[:2] == ["0005_request_erasures", "0006_revisions"]
        assert applied == [name for name, _ in MIGRATIONS[4:]]
        with storage.read() as conn:
            repaired = {r.session_id: (r.started_at, r.ended_at)
                        for r in conn.execute(sa.select(sessions))}
        as_utc = "2020-03-01T10:00:00+00:00"  # the time HQ received them, normalised
        assert repaired["sess0001abcd"] == (as_utc, None)
        assert repaired["sess0002abcd"] == (as_utc, None)
        assert repaired["sess0003abcd"] == ("2020-02-01T03:30:00+00:00",) * 2
        from hq.privacy import retention_run

        run = retention_run(storage, FileBlobStore(tmp_path / "blobs"),
                            HqAudit(storage, tmp_path / "audit.head"))
        assert (run.erased, run.skipped) == (4, 0)
    finally:
        storage.dispose()


def test_a_huge_record_in_a_bundle_is_refused_before_it_is_read(hq_db: str,
                                                                tmp_path: Path) -> None:
    storage = HqStorage(hq_db)
    storage.migrate()
    try:
        key = ed25519.Ed25519PrivateKey.generate()
        code, _ = devices.new_enroll_code(storage)
        device = devices.enroll(storage, protocol.EnrollRequest(
            code, "Kiosk", key.public_key().public_bytes_raw()))
        huge = tmp_path / "huge-record"
        with open(huge, "wb") as out:   # 48 MiB of JSON-ish bytes: 20 times the record limit
            out.write(b'{"kind":"session","sealed":"')
            for _ in range(48):
                out.write(b"A" * (1024 * 1024))
            out.write(b'"}')
        bundle = write_bundle(tmp_path, device, key, [
            EntrySpec("sess0001abcd/session", "session", {"session_id": "sess0001abcd"},
                      huge)])
        tracemalloc.start()
        try:
            result = import_bundle(storage, FileBlobStore(tmp_path / "blobs"), bundle)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert [(n, kind) for n, kind, _ in result.skipped] == [(1, "session")]
        assert "more than its kind may have" in result.skipped[0][2]
        assert peak < 8 * 1024 * 1024, f"{peak / 2 ** 20:.1f} MiB held while importing"
    finally:
        storage.dispose()


def test_hq_refusing_one_confirmation_does_not_stop_the_pass(hq: HqServer, kiosk: Kiosk
                                                            ) -> None:
    from hq.privacy import erase_session
    from tests.hq.mitm import Answer, Exchange, Mitm

    link = kiosk.enroll(hq)
    erased = finished_session(kiosk)
    assert service(kiosk).run_pass().stopped_by is None
    storage = HqStorage(hq.db)
    try:
        erase_session(storage, FileBlobStore(hq.data_dir / "blobs"),
                      HqAudit(storage, hq.data_dir / "audit.head"), link.device_id, erased,
                      "asha", "request")
    finally:
        storage.dispose()
    waiting = finished_session(kiosk, name="Next Candidate")

    def no_such_order(exchange: Exchange) -> Answer | None:
        if exchange.path.startswith(protocol.ERASURES_PATH):
            return Answer(404, {"Content-Type": "application/json"},
                          protocol.error_body("no_order", "no such order"))
        return None

    with Mitm(hq.port, on_request=no_such_order) as mitm:
        result = service(kiosk, link_url=mitm.url).run_pass()
    assert result.erased == 1 and result.stopped_by is None
    assert result.sent == {"session": 1, "transcript": 1}
    assert [s["session_id"] for s in hq.sessions()] == [waiting]
    assert kiosk_audit(kiosk.store, "job.row_skipped")[0]["job"] == "erasure_order"
