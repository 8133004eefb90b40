"""What a holder of one kiosk's key sent to a real HQ in the outside test (issue 13), and
what HQ does with it now: refuses it at the edge, or leaves it out of one page or one report
row, never a 500 and never a stopped job. On SQLite and on PostgreSQL.

Most tests share the module's HQ (`shared_hq`), each with a device of its own, and look only
at that device's sessions; the retention job and the fairness report run over every session,
so their tests have an HQ each."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ed25519

from hq.audit import HqAudit
from hq.privacy import access_archive
from hq.review import ReviewError
from hq.storage import HqStorage, items, sessions
from kiosk import keys
from kiosk.vault import Recipient
from sync import protocol
from tests.hq.conftest import HQ_PASSPHRASE, HqServer, Kiosk
from tests.hq.forge import (
    Forger,
    changed,
    session_content,
    session_meta,
    transcript_content,
)
from tests.hq.web import Dashboard

PASSWORD = "correct horse battery staple"


@pytest.fixture
def forger(hq: HqServer, kiosk: Kiosk) -> Forger:
    link = kiosk.enroll(hq, "Attacked kiosk")
    return Forger(hq.url, link.device_id, kiosk.unlocked.signing,
                  Recipient.from_text(link.hq_recipient))


@pytest.fixture
def attacker(shared_hq: HqServer) -> Forger:
    """A device of this test's own on the module's HQ, its key in an attacker's hands."""
    key = ed25519.Ed25519PrivateKey.generate()
    return Forger(shared_hq.url, shared_hq.enroll_device(key, "Attacked kiosk"), key,
                  shared_hq.recipient())


def add_admin(hq: HqServer) -> None:
    password = hq.data_dir / "admin-password"
    password.write_text(PASSWORD)
    hq.cli("users", "add", "asha", "--role", "admin", "--password-file", str(password))


@pytest.fixture
def admin(hq: HqServer) -> Dashboard:
    add_admin(hq)
    return Dashboard(hq.port).sign_in("asha", PASSWORD)


@pytest.fixture(scope="module")
def _shared_admin_account(shared_hq: HqServer) -> None:
    add_admin(shared_hq)


@pytest.fixture
def shared_admin(shared_hq: HqServer, _shared_admin_account: None) -> Dashboard:
    return Dashboard(shared_hq.port).sign_in("asha", PASSWORD)


@pytest.fixture
def storage(hq: HqServer) -> Iterator[HqStorage]:
    opened = HqStorage(hq.db)
    yield opened
    opened.dispose()


@pytest.fixture
def shared_storage(shared_hq: HqServer) -> Iterator[HqStorage]:
    opened = HqStorage(shared_hq.db)
    yield opened
    opened.dispose()


def refusal(answer: object) -> tuple[int, str, str]:
    status = answer.status  # type: ignore[attr-defined]
    doc = json.loads(answer.body)  # type: ignore[attr-defined]
    return status, doc["error"], doc["message"]


@pytest.mark.parametrize("started_at", [
    '=HYPERLINK("http://evil.example","open me")',   # what the attack stored
    "2026-11-30T09:00:00",                            # a time without a time zone
    "2026-11-30",                                     # a date alone
    "2026-02-30T09:00:00+00:00",                      # no such day
    "2026-11-30T09:00:00+00:00\ud800",                # a lone surrogate (PostgreSQL: 500)
    "9999-12-31T23:59:59+00:00",                      # outside 2000-2100
])
def test_a_session_time_that_is_not_iso_with_an_offset_is_refused_at_the_edge(
        shared_hq: HqServer, attacker: Forger, started_at: str) -> None:
    answer = attacker.put("session", "sess0001abcd", session_meta(started_at=started_at),
                          session_content(attacker.hq))
    status, code, message = refusal(answer)
    assert (status, code) == (422, "bad_request")
    assert "meta.started_at" in message or "lone surrogate" in message, message
    assert shared_hq.sessions(attacker.device_id) == []
    # The same record with an offset is taken, and its times are kept as UTC.
    answer = attacker.put("session", "sess0001abcd",
                          session_meta(started_at="2026-11-30T14:30:00+05:30"),
                          session_content(attacker.hq))
    assert answer.status == 201, answer.body
    assert [s["started_at"] for s in shared_hq.sessions(attacker.device_id)] == [
        "2026-11-30T09:00:00+00:00"]


@pytest.mark.parametrize(("path", "value", "field"), [
    (("session_id",), "../../etc", "session_id"),
    (("meta", "question_id"), "../../../../../tmp/zipslip_poc", "meta.question_id"),
    (("meta", "needs_review"), 1, "meta.needs_review"),
    (("meta", "extra"), "smuggled", "meta"),
    (("revision",), 0, "revision"),
    (("revision",), True, "revision"),
    (("smuggled",), 1, "the record"),
])
def test_every_field_of_a_transcript_record_is_checked(attacker: Forger,
                                                       path: tuple[str, ...], value: object,
                                                       field: str) -> None:
    import base64

    doc = {"kind": "transcript", "session_id": "sess0001abcd",
           "meta": {"question_id": "intro", "needs_review": False}, "revision": 1,
           "sealed": base64.b64encode(attacker.seal(transcript_content())).decode()}
    body = protocol.dumps(changed(doc, path, value))
    with attacker.client() as client:
        answer = client.signed("PUT", f"{protocol.ITEMS_PATH}/sess0001abcd/transcript/intro",
                               body, {"Content-Type": "application/json"})
    status, code, message = refusal(answer)
    assert (status, code) == (422, "bad_request") and field in message, message


def test_an_item_id_must_be_the_one_its_record_names(attacker: Forger) -> None:
    import base64

    body = protocol.dumps({"kind": "session", "session_id": "sess0001abcd",
                           "meta": session_meta(), "revision": 1,
                           "sealed": base64.b64encode(b"x").decode()})
    with attacker.client() as client:
        answer = client.signed("PUT", f"{protocol.ITEMS_PATH}/sess9999zzzz/session", body,
                               {"Content-Type": "application/json"})
    assert refusal(answer)[:2] == (422, "bad_request")


def test_retention_erases_past_a_bad_row_and_audits_it(hq: HqServer, forger: Forger,
                                                       storage: HqStorage) -> None:
    for sid in ("sess0001abcd", "sess0002abcd"):
        assert forger.put("session", sid, session_meta(
            started_at="2020-01-01T09:00:00+00:00", ended_at=None, retention_days=30),
            session_content(forger.hq)).status == 201
    # A row no parser would let in today (a database edited by hand, a restore gone wrong).
    with storage.write() as conn:
        conn.execute(sessions.update().where(sessions.c.session_id == "sess0001abcd")
                     .values(started_at='=HYPERLINK("x")', received_at="yesterday"))
    result = hq.cli("retention", "run")
    assert "erased 1 sessions" in result.stdout and "skipped 1" in result.stderr
    assert [s["session_id"] for s in hq.sessions()] == ["sess0001abcd"]
    entries = [e for e in HqAudit(storage).entries() if e.action == "job.row_skipped"]
    assert entries and entries[0].details["session_id"] == "sess0001abcd"
    assert "HYPERLINK" not in json.dumps(entries[0].details)


def test_a_malformed_self_id_leaves_the_fairness_report_standing(
        hq: HqServer, forger: Forger, admin: Dashboard, storage: HqStorage) -> None:
    def session(sid: str, reference: str) -> None:
        assert forger.put("session", sid, session_meta(reference=reference,
                                                       decision="advance"),
                          session_content(forger.hq, reference)).status == 201

    session("sess0001abcd", "ABCD-2345")
    session("sess0002abcd", "ABCD-2346")
    session("sess0003abcd", "ABCD-2347")
    assert forger.put("selfid", "sess0001abcd", {}, {"answers": {"gender": "woman"}}
                      ).status == 201
    assert forger.put("selfid", "sess0002abcd", {}, {"not_answers": 1}).status == 201
    assert forger.put("selfid", "sess0003abcd", {}, {"answers": {"gender": "=cmd|' /C calc'!A0"}}
                      ).status == 201
    page = admin.get("/reports/fairness")
    assert page.status == 200, page.text[:500]
    assert "woman" in page.text and "calc" not in page.text
    skipped = [e.details for e in HqAudit(storage).entries() if e.action == "job.row_skipped"]
    assert {d["session_id"] for d in skipped if d["job"] == "fairness"} == {
        "sess0002abcd", "sess0003abcd"}


def test_a_question_id_never_climbs_out_of_the_access_archive(
        shared_hq: HqServer, attacker: Forger, shared_admin: Dashboard,
        shared_storage: HqStorage) -> None:
    slip = "../../../../../tmp/zipslip_poc"
    content = session_content(attacker.hq, questions=("intro", slip))
    assert attacker.put("session", "sess0001abcd", session_meta(), content).status == 201
    [row] = shared_hq.sessions(attacker.device_id)
    unlocked = keys.unlock(shared_hq.data_dir, HQ_PASSPHRASE)
    with pytest.raises(ReviewError, match="scorecard.questions"):
        access_archive(shared_storage, None, unlocked.identity, str(row["device_id"]),  # type: ignore[arg-type]
                       "sess0001abcd")
    shared_admin.get(f"/sessions/{row['device_id']}/sess0001abcd")
    page = shared_admin.post(f"/admin/sessions/{row['device_id']}/sess0001abcd/access", {})
    assert page.status == 403 and "malformed" in page.text
    assert "zipslip" not in page.text
    # A well-formed session of the same kiosk still exports, every name under answers/.
    assert attacker.put("session", "sess0002abcd", session_meta(reference="ABCD-2346"),
                        session_content(attacker.hq, "ABCD-2346")).status == 201
    assert attacker.put("transcript", "sess0002abcd",
                        {"question_id": "intro", "needs_review": False},
                        transcript_content(), part="intro").status == 201
    shared_admin.get(f"/sessions/{row['device_id']}/sess0002abcd")
    page = shared_admin.post(f"/admin/sessions/{row['device_id']}/sess0002abcd/access", {})
    assert page.status == 200, page.text[:300]
    names = zipfile.ZipFile(io.BytesIO(page.body)).namelist()
    assert "answers/intro-transcript.txt" in names
    assert "answers/teamwork-typed.txt" in names
    assert all(".." not in name and not name.startswith("/") for name in names)


@pytest.mark.parametrize(("what", "content"), [
    ("not JSON", b"\xff\xfe not json"),
    ("a list", b"[]"),
    ("keys that are not hex", None),
    ("a scorecard of another schema", "schema"),
    ("a highlight with a text time", "highlight"),
])
def test_a_malformed_session_record_gives_a_clear_page_not_a_500(
        shared_hq: HqServer, attacker: Forger, shared_admin: Dashboard, what: str,
        content: bytes | str | None) -> None:
    good = session_content(attacker.hq)
    doc: dict[str, object] | bytes
    if content is None:
        doc = changed(good, ("session_keys",), "zz")
    elif content == "schema":
        doc = changed(good, ("scorecard", "schema"), "something/else")
    elif content == "highlight":
        doc = changed(good, ("scorecard", "questions", 0, "highlights", 0, "start"), "1.0")
    else:
        doc = content  # type: ignore[assignment]
    assert attacker.put("session", "sess0001abcd", session_meta(), doc).status == 201
    [row] = shared_hq.sessions(attacker.device_id)
    page = shared_admin.get(f"/sessions/{row['device_id']}/sess0001abcd")
    assert page.status == 403 and "malformed" in page.text, (what, page.status)
    for path in ("/", "/interviews/sync-drive", "/export/scorecards.csv",
                 "/export/scorecards.json", f"/media/{row['device_id']}/sess0001abcd/intro/video"):
        assert shared_admin.get(path).status < 500, path


def test_a_malformed_transcript_is_left_out_of_its_page(shared_hq: HqServer, attacker: Forger,
                                                        shared_admin: Dashboard) -> None:
    assert attacker.put("session", "sess0001abcd", session_meta(),
                        session_content(attacker.hq)).status == 201
    bad = changed(transcript_content("intro"),
                  ("transcript", "segments", 0, "words", 0, "start"), "soon")
    assert attacker.put("transcript", "sess0001abcd",
                        {"question_id": "intro", "needs_review": False}, bad,
                        part="intro").status == 201
    assert attacker.put("transcript", "sess0001abcd",
                        {"question_id": "teamwork", "needs_review": False},
                        transcript_content("intro"), part="teamwork").status == 201  # mislabelled
    [row] = shared_hq.sessions(attacker.device_id)
    page = shared_admin.get(f"/sessions/{row['device_id']}/sess0001abcd")
    assert page.status == 200, page.text[:500]
    assert 'class="transcript"' not in page.text  # both transcripts were left out


def test_a_recording_that_is_not_a_vault_file_is_refused_when_played(
        shared_hq: HqServer, attacker: Forger, shared_admin: Dashboard,
        shared_storage: HqStorage, tmp_path: Path) -> None:
    import hashlib

    assert attacker.put("session", "sess0001abcd", session_meta(),
                        session_content(attacker.hq)).status == 201
    junk = b"not a vault file at all " * 40
    meta = {"question_id": "intro", "take": 1, "media": "video", "size": len(junk),
            "sha256": hashlib.sha256(junk).hexdigest()}
    path = tmp_path / "junk.bin"
    path.write_bytes(junk)
    with attacker.client() as client:
        client.upload("sess0001abcd/recording/intro/1/video", "sess0001abcd", meta, path)
    with shared_storage.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(items).where(
            items.c.kind == "recording", items.c.device_id == attacker.device_id)).scalar() == 1
    [row] = shared_hq.sessions(attacker.device_id)
    answer = shared_admin.get(f"/media/{row['device_id']}/sess0001abcd/intro/video")
    assert answer.status == 403, answer.status
