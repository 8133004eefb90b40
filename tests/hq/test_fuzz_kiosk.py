"""One enrolled kiosk's key in hostile hands, fuzzed (issue 13, "Prove it").

Hypothesis draws what such a kiosk can send: records of every kind with every field of
the clear index and of the sealed content valid, odd-but-valid or junk; revisions; tus
uploads with their headers; erasure confirmations; signed bundles carried to `kiosk-hq
import`. Every request is correctly signed and goes over HTTP to a real HQ process, on
SQLite and on PostgreSQL. After each batch: retention runs, the fairness report, both
exports (the dashboard's CSV and JSON, `kiosk-hq export-csv`), and every dashboard page of
every stored session, its recordings and its access archive. Nothing may answer 500, no job
may stop or skip a row, and every stored row must be one the protocol allows.

IK_FUZZ_EXAMPLES sets the number of batches per database (default 25, for `make test`);
`IK_FUZZ_EXAMPLES=300 pytest tests/hq/test_fuzz_kiosk.py` is the long run.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import io
import json
import os
import string
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from hq import accounts
from hq.audit import HqAudit
from hq.blobs import FileBlobStore
from hq.cli import main as hq_main
from hq.privacy import retention_run
from hq.storage import HqStorage, items, sessions
from kiosk.vault import Recipient, seal_bytes
from sync import protocol
from sync.bundle import EntrySpec, write_bundle
from sync.client import HqClient, enroll
from tests.hq.conftest import HQ_PASSPHRASE, HqServer, _postgres_schema_url
from tests.hq.forge import follow_up, session_content, session_meta, transcript_content
from tests.hq.web import Dashboard

EXAMPLES = int(os.environ.get("IK_FUZZ_EXAMPLES", "25"))
PASSWORD = "correct horse battery staple"
SESSION_IDS = ("sessA00001", "sessB00002", "sessC00003", "sessD00004", "sessE00005")
QUESTION_IDS = ("intro", "teamwork", "q-2_b", "a", "z" * 64)
# What transcripts and recordings name: a question's answer, or its follow-up's.
ANSWER_KEYS = (*QUESTION_IDS, "intro.probe", "teamwork.probe", "z" * 64 + ".probe")
OUTCOMES = ("asked", "not_needed", "needs_review", "no_consent", "no_time", "limit",
            "not_ready")


@dataclass
class Arena:
    """A running HQ, the kiosk key in the attacker's hands, and an admin's browser."""

    hq: HqServer
    storage: HqStorage
    device_id: str
    key: ed25519.Ed25519PrivateKey
    recipient: Recipient
    admin: Dashboard
    work: Path

    def client(self) -> HqClient:
        return HqClient(self.hq.url, self.device_id, self.key)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def arena(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    root = tmp_path_factory.mktemp("fuzz")
    urls = (iter([f"sqlite:///{root / 'hq.sqlite3'}"]) if request.param == "sqlite"
            else _postgres_schema_url())
    db = next(urls)
    secret = root / "hq-passphrase"
    secret.write_text(HQ_PASSPHRASE)
    (root / "hq").mkdir()
    hq = HqServer(root / "hq", db, secret, extra=("--rate-limit", "1000"))
    hq.cli("init", "--passphrase-file", str(secret))
    storage = HqStorage(db)
    accounts.add_user(storage, "asha", "admin", PASSWORD)
    hq.start()
    try:
        key = ed25519.Ed25519PrivateKey.generate()
        enrolled = enroll(hq.url, hq.enroll_code(), "Fuzzed kiosk", key.public_key())
        yield Arena(hq, storage, enrolled.device_id, key,
                    Recipient.from_text(enrolled.hq_recipient),
                    Dashboard(hq.port).sign_in("asha", PASSWORD), root)
    finally:
        hq.stop()
        storage.dispose()
        with contextlib.suppress(StopIteration):
            next(urls)  # drops the PostgreSQL schema


# --- what gets drawn --------------------------------------------------------------------------

texts = st.text(max_size=40) | st.sampled_from([
    "", "<script>alert(1)</script>", "=HYPERLINK(\"http://x\")", "../../../../etc/passwd",
    "\u202eevil", "\x00", "\ud800", "हिन्दी उत्तर", "a" * 300, "\r\n", "NaN", "1e309"])
junk = st.recursive(st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70)
                    | st.floats(allow_nan=True, allow_infinity=True) | texts,
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(texts, inner, max_size=3), max_leaves=6)
_NOW = datetime.now(UTC)
# Mostly the last few days (so sessions stay and pages have something to show), sometimes
# any time at all, sometimes no time.
times = (st.integers(0, 5 * 86400).map(lambda s: (_NOW - timedelta(seconds=s)).isoformat())
         | st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2110, 1, 1),
                        timezones=st.just(UTC)).map(lambda t: t.isoformat())
         | st.sampled_from(["2026-11-30T09:00:00", "=1+1", "2026-13-01"]))
retention_days = st.integers(30, 3650) | st.integers(1, 3650)


@st.composite
def mutated(draw: st.DrawFn, doc: Any, depth: int = 0) -> Any:
    """`doc` with one spot (or none) changed: replaced, dropped, or given a new member."""
    action = draw(st.sampled_from(["keep", "keep", "descend", "descend", "replace", "drop",
                                   "add"]))
    if action == "replace" or (action == "descend" and not isinstance(doc, dict | list)):
        return draw(junk | times)
    if isinstance(doc, dict) and doc:
        key = draw(st.sampled_from(sorted(doc)))
        if action == "descend" and depth < 8:
            return {**doc, key: draw(mutated(doc[key], depth + 1))}
        if action == "drop":
            return {k: v for k, v in doc.items() if k != key}
        if action == "add":
            return {**doc, draw(texts): draw(junk)}
    if isinstance(doc, list) and doc and action == "descend" and depth < 8:
        index = draw(st.integers(0, len(doc) - 1))
        return [*doc[:index], draw(mutated(doc[index], depth + 1)), *doc[index + 1:]]
    return doc


@st.composite
def valid_session(draw: st.DrawFn, recipient: Recipient, reference: str,
                  ) -> dict[str, Any]:
    """A well-formed session document with odd but allowed contents."""
    questions = tuple(draw(st.lists(st.sampled_from(QUESTION_IDS), min_size=1, max_size=4,
                                    unique=True)))
    content = session_content(recipient, reference, questions)
    card = content["scorecard"]
    for question in card["questions"]:
        question["prompt"] = draw(st.text(st.characters(exclude_categories=("Cs", "Cc")),
                                          max_size=60))
        question["seconds"] = draw(st.floats(0, 600))
    for question in card["questions"]:
        if draw(st.booleans()):
            question["follow_up"] = draw(follow_up_entry())
            if question["follow_up"].get("answered") and draw(st.booleans()):
                card["competencies"][0]["suggestion"]["evidence"].append(
                    {"question_id": question["id"] + ".probe", "start": 0.5, "end": 2.0,
                     "text": draw(st.sampled_from(["we sold every ticket", "<b>sold</b>",
                                                   "=SUM(A1)", "हिन्दी उत्तर"])),
                     "indicator": "Describes the result", "phrase": "in the end"})
    card["flags"] = draw(st.lists(st.sampled_from(["<b>check</b>", "=SUM(A1)", "ok"]),
                                  max_size=3))
    content["candidate"]["name"] = draw(st.sampled_from(
        ["Meera Iyer", "<img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0", "", "ज़ोया"]))
    return content


@st.composite
def follow_up_entry(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed follow-up of a question (docs/scorecard.md), with odd but allowed
    prompts: any outcome, asked ones answered or not, typed or transcribed."""
    outcome = draw(st.sampled_from(OUTCOMES))
    answered = draw(st.booleans())
    entry = follow_up(outcome, answered, prompt=draw(st.sampled_from(
        ["What happened in the end?", "<script>alert(1)</script>", "=HYPERLINK(\"x\")",
         "क्या आप थोड़ा और बता सकते हैं?", "a" * 300])))
    if outcome == "asked" and answered and draw(st.booleans()):
        del entry["transcript"], entry["recording"]
        entry.update(mode="text", typed_excerpt=draw(st.sampled_from(
            ["We sold every ticket", "<b>typed</b>", ""])))
    return entry


def reference_for(session_id: str) -> str:
    return "ABCD-" + "".join(c for c in hashlib.sha256(session_id.encode()).hexdigest().upper()
                             if c in "0123456789ABCDEFGHJKMNPQRSTVWXYZ")[:4]


@st.composite
def record(draw: st.DrawFn, recipient: Recipient) -> tuple[str, bytes]:
    """(item id, body) of a record of any kind, valid or not in any field."""
    kind = draw(st.sampled_from(["session", "session", "transcript", "selfid"]))
    session_id = draw(st.sampled_from(SESSION_IDS) | st.from_regex(
        r"[A-Za-z0-9_-]{8,12}", fullmatch=True))
    reference = reference_for(session_id)
    if kind == "session":
        meta: Any = session_meta(reference, started_at=draw(times), ended_at=None,
                                 decision=draw(st.sampled_from([None, "advance", "reject"])),
                                 retention_days=draw(retention_days))
        content: Any = draw(valid_session(recipient, reference))
        part = ""
    elif kind == "transcript":
        question = draw(st.sampled_from(ANSWER_KEYS))
        meta, content, part = ({"question_id": question, "needs_review": draw(st.booleans())},
                               transcript_content(question), question)
    else:
        meta, part = {}, ""
        content = {"answers": draw(st.dictionaries(
            st.sampled_from(["gender", "disability", "race_ethnicity", "x"]),
            st.sampled_from(["woman", "man", "yes", "no", "Asian", "=1+1"]), max_size=3))}
    if draw(st.integers(0, 3)) == 0:
        meta = draw(mutated(meta))
    if draw(st.integers(0, 2)) == 0:
        content = draw(mutated(content))
    raw = (json.dumps(content, allow_nan=True).encode() if draw(st.integers(0, 9))
           else draw(st.binary(max_size=64)))
    doc: Any = {"kind": kind, "session_id": session_id, "meta": meta,
                "revision": draw(st.integers(1, 50)),
                "sealed": base64.b64encode(seal_bytes(raw, [recipient])).decode()}
    if draw(st.integers(0, 5)) == 0:
        doc = draw(mutated(doc))
    item = protocol.item_id(session_id, kind, part) if draw(st.integers(0, 5)) else draw(
        st.from_regex(r"[A-Za-z0-9._:/-]{1,60}", fullmatch=True))
    return item, json.dumps(doc, allow_nan=True).encode()


@st.composite
def upload(draw: st.DrawFn) -> tuple[dict[str, str], bytes]:
    """tus creation headers (valid, or with any field changed) and the file's bytes."""
    data = draw(st.binary(min_size=1, max_size=2048))
    session_id = draw(st.sampled_from(SESSION_IDS))
    meta: Any = {"question_id": draw(st.sampled_from(ANSWER_KEYS)), "take": 1,
                 "media": draw(st.sampled_from(["video", "audio"])), "size": len(data),
                 "sha256": hashlib.sha256(data).hexdigest()}
    if draw(st.integers(0, 3)) == 0:
        meta = draw(mutated(meta))
    item = (protocol.item_id(session_id, "recording",
                             f"{meta.get('question_id')}/{meta.get('take')}/{meta.get('media')}")
            if isinstance(meta, dict) else "x")
    # A lone surrogate drawn into the meta cannot be UTF-8 in a header at all (the meta's
    # JSON escapes it); the item id carries a stand-in, as any client's encoder would.
    item = item.encode("utf-8", "replace").decode("utf-8")
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
               "Upload-Metadata": protocol.tus_metadata({
                   "item_id": item, "session_id": session_id,
                   "meta": json.dumps(meta, allow_nan=True)})}
    if draw(st.integers(0, 4)) == 0:
        name = draw(st.sampled_from(sorted(headers)))
        headers[name] = draw(st.text(string.printable.strip(), max_size=30))
    return headers, data


# --- sending -----------------------------------------------------------------------------------

def expect_no_server_error(answer: Any, what: str) -> None:
    assert answer.status < 500, (what, answer.status, answer.body[:300])
    if answer.status >= 400 and answer.body:
        doc = json.loads(answer.body)
        assert set(doc) == {"error", "message"}, doc


def send_upload(arena: Arena, headers: dict[str, str], data: bytes) -> None:
    with arena.client() as client:
        created = client.signed("POST", protocol.UPLOADS_PATH, b"", headers)
        expect_no_server_error(created, "tus creation")
        location = created.headers.get("location", "")
        if created.status != 201 or not location:
            return
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        chunk = client.signed("PATCH", location, data, {
            "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": f"sha256 {checksum}"})
        expect_no_server_error(chunk, "tus chunk")
        expect_no_server_error(client.signed("HEAD", location, b"",
                                             {"Tus-Resumable": "1.0.0"}), "tus offset")


def import_bundle(arena: Arena, entries: list[EntrySpec]) -> None:
    directory = arena.work / f"stick-{len(list(arena.work.glob('stick-*')))}"
    directory.mkdir()
    try:
        path = write_bundle(directory, arena.device_id, arena.key, entries)
    except ValueError:
        return  # the writer itself refuses it (an item id outside the format)
    status, out = kiosk_hq(arena, "import", str(path))
    assert status in (0, 1), out


def kiosk_hq(arena: Arena, *args: str) -> tuple[int, str]:
    """`kiosk-hq ARGS` on the arena's HQ, in this process (its code, without a Python start
    each time): the exit status and what it printed."""
    out = io.StringIO()
    with warnings.catch_warnings():
        # The command leaves its database engine to the end of the process; here that is
        # the garbage collector, whose complaint about open connections is no finding.
        warnings.simplefilter("ignore", ResourceWarning)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = hq_main(["--data-dir", str(arena.hq.data_dir), "--db", arena.hq.db,
                              *args])
        gc.collect()
    return status, out.getvalue()


# --- after each batch -------------------------------------------------------------------------

def check_stored_rows(arena: Arena) -> None:
    """Every row is one the protocol allows: its index re-parses to itself."""
    with arena.storage.read() as conn:
        stored = conn.execute(sa.select(items.c.item_id, items.c.kind, items.c.session_id,
                                        items.c.meta, items.c.revision, items.c.sealed,
                                        items.c.blob)).all()
        indexed = conn.execute(sa.select(sessions)).mappings().all()
    for row in stored:
        meta = json.loads(row.meta)
        assert protocol.check_item(row.item_id, row.kind, row.session_id, meta) == meta
        if row.kind == "recording":
            assert row.blob and row.sealed is None
        else:
            assert row.sealed and 1 <= row.revision <= protocol.MAX_REVISION
    for session in indexed:
        meta = {key: session[key] for key in ("reference", "interview_id", "template_sha256",
                                              "language", "status", "started_at",
                                              "ended_at", "decision", "questions",
                                              "answered", "retention_days",
                                              "rejected_retention_days")}
        meta.update(needs_review=bool(session["needs_review"]),
                    scores=json.loads(session["scores"]))
        assert protocol.session_meta(meta) == meta


def run_jobs_and_pages(arena: Arena) -> None:
    run = retention_run(arena.storage, FileBlobStore(arena.hq.data_dir / "blobs"),
                        HqAudit(arena.storage, arena.hq.data_dir / "audit.head"))
    assert run.skipped == 0
    admin = arena.admin
    for path in ("/", "/reports/fairness", "/export/scorecards.csv",
                 "/export/scorecards.json", "/admin/requests"):
        page = admin.get(path)
        assert page.status == 200, (path, page.status, page.text[:300])
    status, out = kiosk_hq(arena, "export-csv")
    assert status == 0 and out.startswith("reference,"), out[:300]
    with arena.storage.read() as conn:
        listed = conn.execute(sa.select(sessions.c.device_id, sessions.c.session_id,
                                        sessions.c.interview_id, sessions.c.reference)).all()
        recordings = conn.execute(sa.select(items.c.session_id, items.c.meta).where(
            items.c.kind == "recording")).all()
    for interview in {row.interview_id for row in listed}:
        assert admin.get(f"/interviews/{interview}").status == 200
        assert admin.get(f"/interviews/{interview}/follow-ups").status == 200
    for row in listed:
        page = admin.get(f"/sessions/{row.device_id}/{row.session_id}")
        assert page.status in (200, 403), (row.session_id, page.status, page.text[:300])
        event(f"candidate page {page.status}")
        archive = admin.post(f"/admin/sessions/{row.device_id}/{row.session_id}/access", {})
        assert archive.status in (200, 403), (archive.status, archive.text[:300])
        if archive.status == 200:
            names = zipfile.ZipFile(io.BytesIO(archive.body)).namelist()
            assert all(n.startswith("answers/") or "/" not in n for n in names), names
            assert all(".." not in n for n in names), names
        assert admin.get(f"/admin/requests?reference={row.reference}").status == 200
    for row in recordings:
        meta = json.loads(row.meta)
        media = admin.get(f"/media/{arena.device_id}/{row.session_id}/"
                          f"{meta['question_id']}/{meta['media']}")
        assert media.status < 500, media.status


@pytest.mark.timeout(max(300, 30 * EXAMPLES))  # the whole run is one test call
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
@given(data=st.data())
def test_a_kiosk_key_in_hostile_hands_cannot_break_hq(arena: Arena, data: st.DataObject
                                                      ) -> None:
    actions = data.draw(st.lists(st.sampled_from(
        ["record", "record", "record", "upload", "bundle", "erasure", "config"]),
        min_size=1, max_size=6), label="actions")
    for action in actions:
        if action == "record":
            item, body = data.draw(record(arena.recipient), label="record")
            with arena.client() as client:
                answer = client.signed("PUT", f"{protocol.ITEMS_PATH}/{item}", body,
                                       {"Content-Type": "application/json"})
            expect_no_server_error(answer, "record")
            event(f"record answered {answer.status}")
        elif action == "upload":
            send_upload(arena, *data.draw(upload(), label="upload"))
        elif action == "bundle":
            entries = []
            for _ in range(data.draw(st.integers(1, 3), label="entries")):
                item, body = data.draw(record(arena.recipient), label="bundled record")
                doc = json.loads(body) if body[:1] == b"{" else {}
                kind = doc.get("kind") if doc.get("kind") in protocol.KINDS else "session"
                entries.append(EntrySpec(item, kind if kind != "recording" else "session",
                                         {"session_id": doc.get("session_id")}, body))
            if data.draw(st.integers(0, 2), label="with a recording") == 0:
                headers, blob = data.draw(upload(), label="bundled recording")
                with contextlib.suppress(ValueError, KeyError):  # a header drawn as junk
                    pairs = dict(part.partition(" ")[::2] for part in
                                 headers["Upload-Metadata"].split(","))
                    decoded = {k: base64.b64decode(v).decode() for k, v in pairs.items()}
                    entries.append(EntrySpec(decoded["item_id"], "recording", {
                        "session_id": decoded["session_id"],
                        "meta": json.loads(decoded["meta"])}, blob))
            unique = {entry.item_id: entry for entry in entries}
            import_bundle(arena, list(unique.values()))
        elif action == "erasure":
            order = data.draw(st.from_regex(r"[0-9a-f]{32}", fullmatch=True) | st.text(
                string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@%", min_size=1,
                max_size=40), label="order")
            with arena.client() as client:
                expect_no_server_error(client.signed("PUT", f"{protocol.ERASURES_PATH}/{order}"),
                                       "erasure confirmation")
        else:
            with arena.client() as client:
                answer = client.signed("GET", protocol.CONFIG_PATH)
            assert answer.status == 200
            protocol.parse_config(answer.body)
    check_stored_rows(arena)
    run_jobs_and_pages(arena)
    with arena.storage.read() as conn:
        held = conn.execute(sa.select(sa.func.count()).select_from(sessions)).scalar()
    event(f"sessions held: {held}")
