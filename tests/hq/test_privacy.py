"""Candidates' rights and retention, at HQ and on the kiosk, through the real sync channel."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from hq.audit import HqAudit
from hq.blobs import FileBlobStore
from hq.privacy import (
    access_archive,
    erase_session,
    find,
    list_requests,
    open_request,
    retention_run,
)
from hq.storage import HqStorage
from kiosk import keys
from kiosk.errors import TemplateError
from kiosk.privacy import retention
from kiosk.privacy.compliance import problems, profiles
from kiosk.store import outbox
from kiosk.store.results import set_decision
from kiosk.templates import parse_template
from tests.hq.conftest import HQ_PASSPHRASE, HqServer, Kiosk, sync_template
from tests.hq.test_dashboard_browser import record_answer
from tests.hq.test_hq_sync import finished_session, service


def hq_side(hq: HqServer) -> tuple[HqStorage, FileBlobStore, HqAudit, keys.UnlockedKeys]:
    storage = HqStorage(hq.db)
    return (storage, FileBlobStore(hq.data_dir / "blobs"),
            HqAudit(storage, hq.data_dir / "audit.head"), keys.unlock(hq.data_dir,
                                                                      HQ_PASSPHRASE))


def test_an_erasure_at_hq_reaches_the_kiosk_through_sync(hq: HqServer, kiosk: Kiosk) -> None:
    kiosk.enroll(hq)
    sid = finished_session(kiosk, recording_bytes=20_000, name="Farah Khan")
    assert service(kiosk).run_pass().stopped_by is None
    reference = hq.sessions()[0]["reference"]
    storage, blobs, audit, _ = hq_side(hq)
    try:
        [(device, session)] = find(storage, str(reference).lower())  # typed as it comes
        assert erase_session(storage, blobs, audit, device, session, "asha", "request") == 3
        assert hq.sessions() == [] and not list((hq.data_dir / "blobs").glob("??/*"))
        result = service(kiosk).run_pass()
        assert result.erased == 1 and result.stopped_by is None
        assert kiosk.store.find(sid) is None
        assert not (kiosk.store.media_root / sid).exists()
        # The order is confirmed; the next pass has nothing to do.
        assert service(kiosk).run_pass().erased == 0
        listed = hq.cli("audit", "list").stdout
        assert "session.erased" in listed and "Farah" not in listed
        assert str(reference) not in listed
    finally:
        storage.dispose()


def test_an_erased_session_is_not_taken_in_again(hq: HqServer, kiosk: Kiosk) -> None:
    kiosk.enroll(hq)
    finished_session(kiosk)
    assert service(kiosk).run_pass().stopped_by is None
    storage, blobs, audit, _ = hq_side(hq)
    try:
        [(device, session)] = find(storage, str(hq.sessions()[0]["reference"]))
        erase_session(storage, blobs, audit, device, session, "asha", "request")
        # The kiosk had exported a bundle before it heard: importing it brings nothing back.
        from kiosk.uplink.export import export_bundle

        stick = hq.data_dir.parent / "usb"
        stick.mkdir()
        bundle, _ = export_bundle(kiosk.store, kiosk.unlocked, stick)
        refused = hq.cli("import", str(bundle), check=False)
        assert refused.returncode == 1 and "erased" in refused.stderr
        assert hq.sessions() == []
    finally:
        storage.dispose()


def test_access_export_holds_everything_readable(hq: HqServer, kiosk: Kiosk) -> None:
    kiosk.enroll(hq)
    sid = finished_session(kiosk, name="Farah Khan")
    record_answer(kiosk, sid, "introduce-yourself", seconds=2.0)
    assert service(kiosk).run_pass().stopped_by is None
    storage, blobs, _, unlocked = hq_side(hq)
    try:
        [(device, session)] = find(storage, str(hq.sessions()[0]["reference"]))
        archive = zipfile.ZipFile(io.BytesIO(access_archive(storage, blobs,
                                                            unlocked.identity, device,
                                                            session)))
        names = set(archive.namelist())
        assert {"README.txt", "you.json", "scorecard.json", "reviews.json",
                "answers/introduce-yourself-transcript.txt",
                "answers/introduce-yourself-video.mp4"} <= names
        you = json.loads(archive.read("you.json"))
        assert you["name"] == "Farah Khan" and you["consents"]["recording"] is True
        assert "accommodations" in you
        assert b"college fest" in archive.read("answers/introduce-yourself-transcript.txt")
        video = archive.read("answers/introduce-yourself-video.mp4")
        with av.open(io.BytesIO(video)) as container:  # a real, playable recording
            assert container.streams.video[0].codec_context.name == "h264"
    finally:
        storage.dispose()


def test_retention_erases_rejected_sooner_at_hq_and_on_the_kiosk(hq: HqServer,
                                                                  kiosk: Kiosk) -> None:
    kiosk.enroll(hq)
    kept = finished_session(kiosk, name="Kept Candidate")
    rejected = finished_session(kiosk, name="Rejected Candidate")
    set_decision(kiosk.store, rejected, "reject")
    assert service(kiosk).run_pass().stopped_by is None
    # The kiosk's own run after the pass: HQ has it all, and 3 days have passed.
    assert kiosk.store.find(rejected) is None and kiosk.store.find(kept) is not None
    storage, blobs, audit, _ = hq_side(hq)
    try:
        assert retention_run(storage, blobs, audit).erased == 1   # the rejected one
        assert [s["session_id"] for s in hq.sessions()] == [kept]
        assert retention_run(storage, blobs, audit,
                             datetime.now(UTC) + timedelta(days=3650)).erased == 1
        assert hq.sessions() == []
        assert service(kiosk).run_pass().erased == 1               # the kept one, by order
        assert kiosk.store.find(kept) is None
        from hq.privacy import pending_orders

        assert pending_orders(storage, kiosk_device(hq)) == []     # both confirmed
    finally:
        storage.dispose()


def kiosk_device(hq: HqServer) -> str:
    return str(json.loads(hq.cli("devices", "list", "--json").stdout)[0]["id"])


def test_kiosk_retention_waits_until_hq_has_everything(hq: HqServer, kiosk: Kiosk) -> None:
    kiosk.enroll(hq)
    sid = finished_session(kiosk)
    far = datetime.now(UTC) + timedelta(days=4000)
    first = retention.run(kiosk.store, far)
    assert first.erased == [] and first.waiting_for_hq == [sid]
    assert service(kiosk).run_pass().stopped_by is None
    assert outbox.fully_sent(kiosk.store, sid)
    assert retention.run(kiosk.store, far).erased == [sid]
    assert kiosk.store.find(sid) is None


def test_a_kiosk_never_enrolled_erases_on_time(kiosk: Kiosk) -> None:
    sid = finished_session(kiosk)
    assert retention.run(kiosk.store, datetime.now(UTC)).erased == []
    assert retention.run(kiosk.store, datetime.now(UTC) + timedelta(days=4000),
                         dry_run=True).erased == [sid]
    assert kiosk.store.find(sid) is not None  # a dry run erases nothing


def test_requests_have_a_thirty_day_deadline(tmp_path: Path) -> None:
    storage = HqStorage(f"sqlite:///{tmp_path / 'hq.sqlite3'}")
    storage.migrate()
    late = open_request(storage, "erasure", "abcd 2345",
                        datetime.now(UTC) - timedelta(days=31))
    fresh = open_request(storage, "access", "WXYZ-6789")
    listed = {r.id: r for r in list_requests(storage)}
    assert listed[late].overdue and listed[late].reference == "ABCD-2345"
    assert not listed[fresh].overdue
    with pytest.raises(ValueError, match="reference code"):
        open_request(storage, "access", "12345")
    storage.dispose()


@pytest.mark.parametrize("profile", ["gdpr", "dpdp", "illinois", "nyc"])
def test_each_shipped_profile_loads_and_bounds_retention(profile: str) -> None:
    loaded = profiles()[profile]
    assert loaded.request_deadline_days <= 30
    assert "{days}" not in loaded.notice_text("en", 90) and "90" in loaded.notice_text("en", 90)
    assert problems(profile, loaded.max_retention_days + 1, None, False, ("en",))


def test_a_template_breaking_its_profile_is_refused() -> None:
    text = sync_template().text.replace("retention_days = 3650",
                                        'retention_days = 400\ncompliance = "gdpr"')
    with pytest.raises(TemplateError) as refused:
        parse_template(text.encode(), "too-long.toml")
    assert any("at most 180 days" in str(p) for p in refused.value.problems)
    ok = parse_template(sync_template().text.replace(
        "retention_days = 3650\nrejected_retention_days = 3",
        'retention_days = 120\ncompliance = "gdpr"').encode(), "ok.toml")
    assert ok.policy.compliance == "gdpr" and ok.policy.rejected_retention_days == 90
    assert ok.policy.retention_for("reject") == 90 and ok.policy.retention_for(None) == 120


def test_self_identification_feeds_only_the_adverse_impact_report(hq: HqServer,
                                                                   kiosk: Kiosk) -> None:
    from hq.fairness import adverse_impact
    from hq.reports import scorecards_csv
    from hq.review import open_session
    from kiosk.privacy import self_id

    kiosk.enroll(hq)
    template = parse_template(sync_template().text.replace(
        "recordings_leave_kiosk = true", 'recordings_leave_kiosk = true\ncompliance = "dpdp"')
        .replace("rejected_retention_days = 3", "rejected_retention_days = 90")
        .replace("retention_days = 3650", "retention_days = 365").encode(), "fair.toml")
    outcomes = [("woman", "advance"), ("woman", "reject"), ("woman", "reject"),
                ("man", "advance"), ("man", "advance"), ("man", "advance")]
    for gender, decision in outcomes:
        sid = finished_session(kiosk, template=template)
        self_id.save(kiosk.store, template, sid, {"gender": gender})
        set_decision(kiosk.store, sid, decision)
    assert service(kiosk).run_pass().sent["selfid"] == 6
    storage, _, _, unlocked = hq_side(hq)
    try:
        rates = {r.group: r for r in adverse_impact(storage, unlocked.identity)}
        assert (rates["man"].rate, rates["woman"].rate) == (1.0, 0.333)
        assert rates["woman"].flagged and rates["woman"].small and not rates["man"].flagged
        # Kept apart: not in exports, not on a reviewer's page.
        assert "woman" not in scorecards_csv(storage)
        device, session = find(storage, str(hq.sessions()[0]["reference"]))[0]
        opened = open_session(storage, unlocked.identity, device, session)
        assert "woman" not in json.dumps(opened.card) and "selfid" not in opened.recordings
    finally:
        storage.dispose()
