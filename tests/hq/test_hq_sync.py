"""Kiosks syncing with a real HQ server on loopback, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kiosk.demo.scripted_candidate import take_demo_interview
from kiosk.scoring.service import score_session
from kiosk.store import jobs, outbox
from kiosk.store.results import save_transcript
from kiosk.templates import InterviewTemplate
from kiosk.transcription.transcript import Segment, Transcript, Word
from kiosk.uplink import sender
from sync.client import HqClient
from tests.hq.conftest import HqServer, Kiosk, add_recording, sync_template


def spoken(text: str) -> Transcript:
    words = tuple(Word(1 + i * 0.4, 1.4 + i * 0.4, w, 0.9) for i, w in enumerate(text.split()))
    return Transcript(text=text, language="en", duration=20.0,
                      segments=(Segment(1.0, words[-1].end, text, words),))


def finished_session(kiosk: Kiosk, leave: bool = True, recording_bytes: int = 0,
                     name: str = "Meera Iyer", template: InterviewTemplate | None = None) -> str:
    """A completed, transcribed and scored session; returns its id."""
    template = template or sync_template(leave)
    kiosk.store.keep_template(template)
    session = take_demo_interview(kiosk.store, template=template, name=name)
    with kiosk.store.transaction():
        save_transcript(kiosk.store, session.id, "introduce-yourself", 1,
                        spoken("I am a student and for example I ran the college fest"))
    # What the worker does: run the queued scoring job and mark it done.
    while (job := jobs.claim(kiosk.store)) is not None:
        with kiosk.store.transaction():
            score_session(kiosk.store, job.session_id)
            jobs.mark_done(kiosk.store, job)
    if recording_bytes:
        add_recording(kiosk.store, session.id, "introduce-yourself", recording_bytes)
    return session.id


def service(kiosk: Kiosk, link_url: str | None = None, chunk: int = 1024 * 1024,
            on_progress: object = None) -> sender.SyncService:
    from kiosk.uplink.enrollment import require_link

    link = require_link(kiosk.data_dir)
    client = HqClient(link_url or link.url, link.device_id, kiosk.unlocked.signing,
                      hq_key=link.verify_key)
    return sender.SyncService(kiosk.store, link, client, chunk_size=chunk,
                               on_progress=on_progress)  # type: ignore[arg-type]


def blob_bytes(hq: HqServer, sha256: str) -> bytes:
    return (hq.data_dir / "blobs" / sha256[:2] / sha256[2:]).read_bytes()


def test_sessions_reach_hq_once_in_priority_order(hq: HqServer, kiosk: Kiosk) -> None:
    link = kiosk.enroll(hq)
    ids = [finished_session(kiosk, recording_bytes=50_000, name=f"Candidate {n}")
           for n in range(3)]
    result = service(kiosk).run_pass()
    assert result.stopped_by is None, result.stopped_by
    assert result.sent == {"session": 3, "transcript": 3, "recording": 3}
    sessions = hq.sessions()
    assert sorted(s["session_id"] for s in sessions) == sorted(ids)
    assert {s["device_id"] for s in sessions} == {link.device_id}
    assert all(s["arrived"] == 3 and s["interview_id"] == "sync-drive" for s in sessions)
    # The order on the wire: every session before any transcript, transcripts before files.
    routes = [e["route"] for e in hq.log() if e.get("status") in (200, 201, 204)]
    items = [r for r in routes if r.startswith("/v1/items") or r.startswith("/v1/uploads")]
    assert items.index("/v1/uploads") > max(i for i, r in enumerate(items)
                                            if r.startswith("/v1/items"))
    # Nothing is left waiting, and a second pass sends nothing at all.
    assert outbox.status(kiosk.store).waiting == {}
    assert service(kiosk).run_pass().total == 0
    # The recording at HQ is the kiosk's vault file, byte for byte.
    local = kiosk.store.video_path(ids[0], "introduce-yourself", 1).read_bytes()
    assert blob_bytes(hq, hashlib.sha256(local).hexdigest()) == local
    # No name in HQ's database or logs: the record content is sealed to HQ's key.
    for path in hq.data_dir.rglob("*"):
        if path.is_file():
            assert b"Candidate 0" not in path.read_bytes(), path


def test_demo_sessions_never_leave_the_kiosk(hq: HqServer, kiosk: Kiosk) -> None:
    kiosk.enroll(hq)
    from kiosk.templates import find_template

    kiosk.store.keep_template(find_template("demo"))
    take_demo_interview(kiosk.store)
    assert outbox.status(kiosk.store).demo_kept == 1 and outbox.pending(kiosk.store) == []
    result = service(kiosk).run_pass()
    assert result.total == 0 and hq.sessions() == []


def test_recordings_stay_when_the_interview_keeps_them(hq: HqServer, kiosk: Kiosk) -> None:
    kiosk.enroll(hq)
    finished_session(kiosk, leave=False, recording_bytes=10_000)
    result = service(kiosk).run_pass()
    assert result.sent == {"session": 1, "transcript": 1}
    assert not any((hq.data_dir / "blobs").glob("??/*"))


def test_an_upload_cut_by_a_killed_server_resumes_byte_identical(hq: HqServer,
                                                                 kiosk: Kiosk) -> None:
    kiosk.enroll(hq)
    sid = finished_session(kiosk, recording_bytes=600_000)
    acknowledged: list[int] = []

    def kill_midway(_item: str, done: int, total: int) -> None:
        acknowledged.append(done)
        if len(acknowledged) == 3:
            hq.kill()

    first = service(kiosk, chunk=64 * 1024, on_progress=kill_midway).run_pass()
    assert first.transient and first.sent == {"session": 1, "transcript": 1}
    hq.start()
    resumed: list[int] = []
    second = service(kiosk, chunk=64 * 1024,
                     on_progress=lambda _i, done, _t: resumed.append(done)).run_pass()
    assert second.stopped_by is None and second.sent == {"recording": 1}
    # It went on from the last offset HQ acknowledged, not from zero.
    assert resumed[0] == acknowledged[2] + 64 * 1024
    local = kiosk.store.video_path(sid, "introduce-yourself", 1).read_bytes()
    assert blob_bytes(hq, hashlib.sha256(local).hexdigest()) == local


def test_a_dropped_answer_is_retried_and_stored_once(hq: HqServer, kiosk: Kiosk,
                                                     tmp_path: Path) -> None:
    from tests.hq.proxy import DroppingProxy

    kiosk.enroll(hq)
    finished_session(kiosk)
    with DroppingProxy(hq.port, drop_first=1) as proxy:
        first = service(kiosk, link_url=proxy.url).run_pass()
        assert first.transient and first.total == 0  # HQ stored it; the kiosk never heard
        assert len(hq.sessions()) == 1
        second = service(kiosk, link_url=proxy.url).run_pass()
    assert second.stopped_by is None and second.sent == {"session": 1, "transcript": 1}
    rows = hq.sessions()
    assert len(rows) == 1 and rows[0]["arrived"] == 2
    assert outbox.status(kiosk.store).waiting == {}


def test_templates_flow_down_signed(hq: HqServer, kiosk: Kiosk, tmp_path: Path) -> None:
    from kiosk.templates import find_template

    kiosk.enroll(hq)
    published = tmp_path / "campus-2027.toml"
    published.write_text(sync_template(template_id="campus-2027").text)
    hq.cli("templates", "publish", str(published))
    result = service(kiosk).run_pass()
    assert result.templates == ["campus-2027"]
    assert find_template("campus-2027", kiosk.data_dir).id == "campus-2027"
    assert service(kiosk).run_pass().templates == []  # same version: nothing to install


def test_a_revoked_kiosk_is_refused_and_keeps_everything(hq: HqServer, kiosk: Kiosk) -> None:
    link = kiosk.enroll(hq)
    finished_session(kiosk)
    hq.cli("devices", "revoke", link.device_id)
    result = service(kiosk).run_pass()
    assert not result.transient and "revoked" in (result.stopped_by or "")
    assert hq.sessions() == []
    assert outbox.status(kiosk.store).waiting == {"session": 1, "transcript": 1}
    listed = json.loads(hq.cli("devices", "list", "--json").stdout)
    assert listed[0]["revoked_at"] is not None


def test_bundles_import_once_and_overlap_with_sync(hq: HqServer, kiosk: Kiosk,
                                                   tmp_path: Path) -> None:
    from kiosk.uplink.export import export_bundle

    kiosk.enroll(hq)
    finished_session(kiosk, recording_bytes=30_000)
    stick = tmp_path / "usb"
    stick.mkdir()
    bundle, count = export_bundle(kiosk.store, kiosk.unlocked, stick)
    assert count == 1
    first = hq.cli("import", str(bundle))
    assert "3 new" in first.stdout
    again = hq.cli("import", str(bundle))
    assert "0 new" in again.stdout and "3 already" in again.stdout
    # The online sync later offers the same items: HQ already has them all.
    result = service(kiosk).run_pass()
    assert result.stopped_by is None and result.total == 3
    rows = hq.sessions()
    assert len(rows) == 1 and rows[0]["arrived"] == 3


def test_a_damaged_or_foreign_bundle_imports_nothing(hq: HqServer, kiosk: Kiosk,
                                                     tmp_path: Path) -> None:
    from kiosk.uplink.export import export_bundle
    from tests.hq.conftest import make_kiosk

    kiosk.enroll(hq)
    finished_session(kiosk)
    stick = tmp_path / "usb"
    stick.mkdir()
    bundle, _ = export_bundle(kiosk.store, kiosk.unlocked, stick)
    damaged = tmp_path / "damaged.ikbundle"
    data = bytearray(bundle.read_bytes())
    data[len(data) // 3] ^= 0x01
    damaged.write_bytes(bytes(data))
    refused = hq.cli("import", str(damaged), check=False)
    assert refused.returncode == 1 and "damaged" in refused.stderr.lower()
    assert hq.sessions() == []
    # A kiosk HQ never enrolled signs its own bundle: refused whole.
    other = make_kiosk(tmp_path / "other")
    other.enroll(hq)
    finished_session(other)
    foreign, _ = export_bundle(other.store, other.unlocked, stick)
    hq.cli("devices", "revoke", json.loads(hq.cli("devices", "list", "--json").stdout)[1]["id"])
    refused = hq.cli("import", str(foreign), check=False)
    assert refused.returncode == 1 and hq.sessions() == []
    other.store.close()


def test_an_abandoned_session_reaches_hq_for_the_funnel(hq: HqServer, kiosk: Kiosk) -> None:
    from hq.results import funnel
    from hq.storage import HqStorage
    from kiosk.clock import FakeClock
    from kiosk.flow import CandidateFlow

    kiosk.enroll(hq)
    template = sync_template()
    kiosk.store.keep_template(template)
    clock = FakeClock()
    flow = CandidateFlow(template, clock=clock, archive=kiosk.store)
    take_demo_interview(kiosk.store, template=template)   # one who finishes
    flow.start()
    flow.choose_language("en")
    flow.identify("Walked Away", "walked@example.com")
    flow.give_consent(recording=True, retention=True, ai_scoring=False)
    flow.set_accommodations()
    flow.report_devices(camera=True, microphone=True)
    flow.devices_ready()
    flow.skip_practice()
    flow.abort()                                           # staff end it at question 1
    while (job := jobs.claim(kiosk.store)) is not None:
        with kiosk.store.transaction():
            score_session(kiosk.store, job.session_id)
            jobs.mark_done(kiosk.store, job)
    assert service(kiosk).run_pass().sent["session"] == 2
    storage = HqStorage(hq.db)
    try:
        [entry] = funnel(storage)
        assert (entry["started"], entry["completed"], entry["abandoned"]) == (2, 1, 1)
        assert entry["abandoned_at"] == {"question 1": 1}
    finally:
        storage.dispose()
