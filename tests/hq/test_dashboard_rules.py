"""The dashboard's rules, held against a real HQ process on SQLite and on PostgreSQL.

Each test is a regression for a finding of the security test of issue 13: reviews of
erased sessions, the score-before-you-see-the-others rule on every page and export, empty
reviews, recordings taken without an audit entry or cut short, the CSV's reviewer
columns, erasure requests left open, clear refusals instead of server errors, the API
docs pages, the favicon and interview titles.

A test that reviews, erases, views a recording as audited, or counts what others did has a
desk of its own (`desk`); the tests that are only refused, or only read, share one desk per
backend (`shared_desk`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

import hq.review as review_errors
from hq.accounts import User
from hq.review import submit_review
from hq.storage import erasure_orders, now_text, reviews, sessions, users
from tests.hq.conftest import HqServer, Kiosk, make_kiosk
from tests.hq.desk import RECORDING_SIZE, Desk, open_desk
from tests.hq.test_hq_sync import service
from tests.hq.webclient import WebClient, signed_in


@pytest.fixture
def desk(hq: HqServer, kiosk: Kiosk) -> Desk:
    return open_desk(hq, kiosk)


@pytest.fixture(scope="module")
def shared_desk(shared_hq: HqServer, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Desk]:
    """One desk for the tests that change nothing another of them looks at."""
    kiosk = make_kiosk(tmp_path_factory.mktemp("desk-kiosk"))
    try:
        yield open_desk(shared_hq, kiosk)
    finally:
        kiosk.store.close()


def review_rows(desk: Desk, session: str | None = None) -> list[dict[str, object]]:
    """Every review HQ holds (of one session), with its reviewer's name."""
    storage = desk.storage()
    try:
        with storage.read() as conn:
            query = sa.select(reviews, users.c.name).join(users,
                                                          users.c.id == reviews.c.user_id)
            if session:
                query = query.where(reviews.c.session_id == session)
            return [dict(r) for r in conn.execute(query).mappings()]
    finally:
        storage.dispose()


def audit_entries(desk: Desk, action: str) -> list[dict[str, object]]:
    lines = desk.hq.cli("audit", "list").stdout.splitlines()
    found = []
    for line in lines:
        parts = line.split(None, 4)
        if len(parts) == 5 and parts[3] == action:
            found.append({"actor": parts[2], **json.loads(parts[4])})
    return found


def review(client: WebClient, desk: Desk, session: str, **fields: str) -> int:
    return client.submit(desk.path(session) + "/review", fields).status


def csv_rows(text: str) -> dict[str, dict[str, str]]:
    return {row["session_id"]: row for row in csv.DictReader(io.StringIO(text))}


# --- 9: score before you see the others ------------------------------------------------------

def test_an_empty_review_is_refused_and_unlocks_nothing(desk: Desk) -> None:
    meena = signed_in(desk.hq.port, "meena")
    assert review(meena, desk, desk.meera, **{"score:communication": "4",
                                              "decision": "advance", "note": "Clear."}) == 303
    ravi = signed_in(desk.hq.port, "ravi")
    empty = ravi.submit(desk.path(desk.meera) + "/review", {"note": "", "decision": ""})
    assert empty.status == 400
    assert "empty review" in empty.text and 'data-testid="others-hidden"' in empty.text
    assert "Clear." not in empty.text and "advance</label>" in empty.text
    # A note alone is not a review either, and what was typed comes back to be finished.
    note_only = ravi.submit(desk.path(desk.meera) + "/review", {"note": "Good eye contact"})
    assert note_only.status == 400 and "Good eye contact</textarea>" in note_only.text
    page = ravi.get(desk.path(desk.meera))
    assert 'data-testid="others-hidden"' in page.text and "meena" not in page.text
    assert [r["name"] for r in review_rows(desk)] == ["meena"]


def test_others_results_are_hidden_on_lists_exports_and_the_funnel(desk: Desk) -> None:
    ravi = signed_in(desk.hq.port, "ravi")
    before = csv_rows(ravi.get("/export/scorecards.csv").text)
    # Nothing to hide yet for Meera; Arjun's kiosk staff already scored and decided.
    assert before[desk.meera]["results_hidden"] == "False"
    assert before[desk.arjun]["results_hidden"] == "True"
    assert before[desk.arjun]["decision"] == before[desk.arjun]["reviewer_mean"] == ""
    meena = signed_in(desk.hq.port, "meena")
    assert review(meena, desk, desk.meera, **{"score:communication": "5",
                                              "score:self-reflection": "4",
                                              "decision": "advance"}) == 303
    listing = ravi.get("/interviews/sync-drive")
    assert listing.status == 200
    assert listing.text.count('data-testid="results-hidden"') == 2   # meena's, and the kiosk's
    assert "advance" not in listing.text and "hold" not in listing.text
    assert "4.5" not in listing.text
    by_score = ravi.get("/interviews/sync-drive?sort=reviewer_score")
    assert "4.5" not in by_score.text and "advance" not in by_score.text
    exported = csv_rows(ravi.get("/export/scorecards.csv").text)
    for session in (desk.meera, desk.arjun):
        row = exported[session]
        assert row["results_hidden"] == "True"
        assert row["reviewer_mean"] == row["decision"] == ""
        assert row["communication_reviewer"] == row["communication_kiosk_reviewer"] == ""
        assert row["communication_suggested"] != "" or session == desk.arjun
    assert exported[desk.meera]["reviews"] == "1"
    as_json = {r["session_id"]: r for r in json.loads(ravi.get(
        "/export/scorecards.json").body)}
    assert as_json[desk.meera]["reviewer_mean"] is None
    assert as_json[desk.meera]["decision"] is None
    assert as_json[desk.arjun]["decision"] is None
    assert as_json[desk.arjun]["scores"]["communication"]["reviewer"] is None
    funnel = re.search(r'aria-label="Funnel: ([^"]+)"', ravi.get("/").text)
    assert funnel and "Advanced 0" in funnel[1]
    # A viewer cannot review, so never sees reviewers' results.
    vik = signed_in(desk.hq.port, "vik")
    assert "advance" not in vik.get("/interviews/sync-drive").text
    assert 'data-testid="others-hidden"' in vik.get(desk.path(desk.meera)).text
    # An admin sees everything; so does the reviewer once they have submitted.
    asha = signed_in(desk.hq.port, "asha")
    full = csv_rows(asha.get("/export/scorecards.csv").text)
    assert full[desk.meera]["reviewer_mean"] == "4.5"
    assert full[desk.meera]["decision"] == "advance"
    assert full[desk.arjun]["decision"] == "hold"
    assert "Advanced 1" in asha.get("/").text
    assert review(ravi, desk, desk.meera, **{"score:communication": "3"}) == 303
    after = csv_rows(ravi.get("/export/scorecards.csv").text)
    assert after[desk.meera]["reviewer_mean"] == "4" and after[desk.meera]["results_hidden"] \
        == "False"
    assert after[desk.arjun]["results_hidden"] == "True"      # still not reviewed by ravi
    assert "meena" in ravi.get(desk.path(desk.meera)).text


# --- the CSV's reviewer columns --------------------------------------------------------------

def test_the_csv_has_each_competencys_reviewer_mean_from_the_web_and_the_cli(
        desk: Desk) -> None:
    for name, level in (("meena", "4"), ("ravi", "5")):
        client = signed_in(desk.hq.port, name)
        assert review(client, desk, desk.meera, **{"score:communication": level}) == 303
    asha = signed_in(desk.hq.port, "asha")
    web = asha.get("/export/scorecards.csv").text
    assert web.replace("\r\n", "\n") == desk.hq.cli("export-csv").stdout
    rows = csv_rows(web)
    assert rows[desk.meera]["reviewer_mean"] == "4.5"
    assert rows[desk.meera]["communication_reviewer"] == "4.5"
    assert rows[desk.meera]["self-reflection_reviewer"] == ""
    assert rows[desk.arjun]["communication_kiosk_reviewer"] == "2"


# --- 8: erased sessions take no reviews and keep none ----------------------------------------

def test_a_review_of_an_erased_session_is_refused_and_erasure_removes_reviews(
        desk: Desk) -> None:
    ravi = signed_in(desk.hq.port, "ravi")
    assert review(ravi, desk, desk.meera, **{"score:communication": "4"}) == 303
    assert len(review_rows(desk, desk.meera)) == 1
    asha = signed_in(desk.hq.port, "asha")
    erased = asha.submit(f"/admin/sessions/{desk.device}/{desk.meera}/erase",
                         {"confirm": "erase"})
    assert erased.status == 303
    assert review_rows(desk, desk.meera) == []
    late = ravi.submit(desk.path(desk.meera) + "/review", {"score:communication": "2",
                                                            "decision": "reject"})
    assert late.status == 410 and "erased" in late.text
    assert review_rows(desk, desk.meera) == []
    assert ravi.get(desk.path(desk.meera)).status == 410
    assert ravi.get(desk.media(desk.meera)).status == 410
    again = asha.submit(f"/admin/sessions/{desk.device}/{desk.meera}/erase",
                        {"confirm": "erase"})
    assert again.status == 410
    never = asha.submit(f"/admin/sessions/{desk.device}/NeverArrived01/erase",
                        {"confirm": "erase"})
    assert never.status == 404


# --- the erasure request is answered, and each kiosk's confirmation shown ---------------------

def test_erasing_answers_the_request_and_shows_each_kiosks_confirmation(desk: Desk) -> None:
    asha = signed_in(desk.hq.port, "asha")
    reference = desk.reference(desk.meera)
    assert asha.submit("/admin/requests", {"kind": "erasure",
                                           "reference": reference.lower()}).status == 303
    assert asha.submit("/admin/requests", {"kind": "access", "reference": reference}
                       ).status == 303
    erased = asha.submit(f"/admin/sessions/{desk.device}/{desk.meera}/erase",
                         {"confirm": "erase"})
    assert erased.headers["location"] == "/admin/requests?erased=1"
    page = asha.get("/admin/requests?erased=1").text
    assert 'data-testid="erased-banner"' in page
    states = re.findall(r'data-testid="request-state">(.*?)</td>', page, re.S)
    erasure = next(s for s in states if "erased at HQ" in s)
    assert erasure.strip().startswith("answered") and "waiting for its next sync" in erasure
    assert any(s.strip().startswith("open") for s in states)   # the access request stays
    assert service(desk.kiosk).run_pass().erased == 1
    page = asha.get("/admin/requests").text
    erasure = next(s for s in re.findall(r'data-testid="request-state">(.*?)</td>', page,
                                         re.S) if "erased at HQ" in s)
    assert "kiosk Campus kiosk 3: confirmed" in erasure and "waiting" not in erasure


# --- 4 and the recruiter's report: recordings ----------------------------------------------

def raw_get(port: int, path: str, cookie: str, extra: str = "") -> tuple[bytes, bytes]:
    """A GET read to the end of the connection: (head, body), whatever Content-Length
    says, so a short or long body shows."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                     f"Connection: close\r\n{extra}\r\n".encode())
        received = bytearray()
        while chunk := sock.recv(1 << 16):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    return head, body


def header(head: bytes, name: str) -> str | None:
    found = re.search(rb"\r\n" + name.encode() + rb": ([^\r]*)", head, re.I)
    return found[1].decode() if found else None


def test_a_recording_without_a_range_is_sent_whole(shared_desk: Desk) -> None:
    ravi = signed_in(shared_desk.hq.port, "ravi")
    cookie = "; ".join(f"{k}={v}" for k, v in ravi.cookies.items())
    head, body = raw_get(shared_desk.hq.port, shared_desk.media(shared_desk.meera), cookie)
    assert head.startswith(b"HTTP/1.1 200")
    assert header(head, "content-length") == str(RECORDING_SIZE)
    assert len(body) == RECORDING_SIZE and body == shared_desk.recording
    # Ranges anywhere in the file are exact slices of the same plaintext.
    for first, last in ((1, None), (262_144, 600_000), (RECORDING_SIZE - 10, None)):
        spec = f"bytes={first}-{'' if last is None else last}"
        head, body = raw_get(shared_desk.hq.port, shared_desk.media(shared_desk.meera), cookie,
                             f"Range: {spec}\r\n")
        end = RECORDING_SIZE - 1 if last is None else last
        assert head.startswith(b"HTTP/1.1 206"), head
        assert header(head, "content-range") == f"bytes {first}-{end}/{RECORDING_SIZE}"
        assert body == shared_desk.recording[first:end + 1]
    head, _ = raw_get(shared_desk.hq.port, shared_desk.media(shared_desk.meera), cookie,
                      f"Range: bytes={RECORDING_SIZE}-\r\n")
    assert head.startswith(b"HTTP/1.1 416")
    # A Range this server does not take is ignored: the whole file, as RFC 9110 allows.
    head, body = raw_get(shared_desk.hq.port, shared_desk.media(shared_desk.meera), cookie,
                         "Range: bytes=\u00b2-\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == shared_desk.recording


def test_every_view_of_a_recording_is_audited_whatever_the_range(desk: Desk) -> None:
    ravi = signed_in(desk.hq.port, "ravi")
    answer = ravi.get(desk.media(desk.meera), {"Range": "bytes=1-"})
    assert answer.status == 206 and answer.body == desk.recording[1:]
    [entry] = audit_entries(desk, "recording.viewed")
    assert entry["actor"] == "ravi" and entry["session_id"] == desk.meera
    # The same sitting (more ranges within the window) is one entry ...
    ravi.get(desk.media(desk.meera), {"Range": "bytes=500000-"})
    assert len(audit_entries(desk, "recording.viewed")) == 1
    # ... another viewer is another entry, and so is a suffix range from someone else.
    meena = signed_in(desk.hq.port, "meena")
    assert meena.get(desk.media(desk.meera), {"Range": "bytes=-1000"}).status == 206
    assert [e["actor"] for e in audit_entries(desk, "recording.viewed")] == ["ravi", "meena"]
    # A restart forgets the window: the next range is audited again (never fewer entries).
    desk.hq.stop()
    desk.hq.start()
    assert ravi.get(desk.media(desk.meera), {"Range": "bytes=9-99"}).status == 206
    assert [e["actor"] for e in audit_entries(desk, "recording.viewed")] == [
        "ravi", "meena", "ravi"]


# --- 11: clear refusals, not server errors --------------------------------------------------

@pytest.mark.parametrize(("level", "why"), [("\u00b2", "1, 2, 3, 4 or 5"),
                                            ("9" * 5000, "1, 2, 3, 4 or 5"),
                                            ("6", "1, 2, 3, 4 or 5"), (" 3", "1, 2, 3")])
def test_a_strange_level_is_refused_with_a_reason(shared_desk: Desk, level: str,
                                                  why: str) -> None:
    ravi = signed_in(shared_desk.hq.port, "ravi")
    answer = ravi.submit(shared_desk.path(shared_desk.meera) + "/review",
                         {"score:communication": level})
    assert answer.status == 400 and why in answer.text
    assert review_rows(shared_desk) == []


def test_strange_requests_and_paths_are_refused_with_a_reason(shared_desk: Desk) -> None:
    asha = signed_in(shared_desk.hq.port, "asha")
    reference = shared_desk.reference(shared_desk.meera)
    for day in ("9999-12-31", "0001-01-01", "2026-02-30", "yesterday",
                "\u0662\u0660\u0662\u0666-01-01"):
        answer = asha.submit("/admin/requests", {"kind": "erasure", "reference": reference,
                                                 "received": day})
        assert answer.status == 400 and "day the request came in" in answer.text, day
    assert asha.submit("/admin/requests", {"kind": "other", "reference": reference}
                       ).status == 400
    assert asha.submit("/admin/requests/99999999999999999999999/done", {}).status == 404
    assert asha.submit("/admin/requests/%C2%B2/done", {}).status == 404
    assert asha.submit("/admin/requests/4242/done", {}).status == 404
    assert asha.get("/sessions/x/..%2F..%2Fetc").status == 404
    assert asha.get("/interviews/sync-drive?sort=%00").status == 400
    assert asha.get("/interviews/sync-drive?kiosk=a%00b").status == 400
    assert asha.get(f"/media/{shared_desk.device}/{shared_desk.meera}/introduce-yourself/subtitles"
                    ).status == 404
    assert asha.get("/no/such/page").status == 404
    # Sign-in with a name no account can have, NUL included (PostgreSQL refuses NUL in text).
    anonymous = WebClient(shared_desk.hq.port)
    token = anonymous.csrf("/login")
    answer = anonymous.post("/login", {"csrf": token, "name": "a\x00b", "password": "x"})
    assert answer.status == 303 and "failed=1" in answer.headers["location"]


# --- 12 and the small things -----------------------------------------------------------------

def test_api_docs_pages_are_off_and_the_schema_names_only_the_kiosk_api(shared_desk: Desk) -> None:
    client = WebClient(shared_desk.hq.port)
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        answer = client.get(path)
        assert answer.status == 404 and "cdn" not in answer.text.lower()
        assert "default-src 'self'" in answer.headers["content-security-policy"]
    schema = client.get("/openapi.json")
    assert schema.status == 200 and schema.headers["x-content-type-options"] == "nosniff"
    assert all(path.startswith("/v1/") for path in json.loads(schema.body)["paths"])


def test_interviews_show_their_titles_and_the_favicon_is_served(shared_desk: Desk) -> None:
    ravi = signed_in(shared_desk.hq.port, "ravi")
    overview = ravi.get("/").text
    assert ">Try the kiosk</a>" in overview       # the published template's title
    assert "Try the kiosk: candidates" in ravi.get("/interviews/sync-drive").text
    icon = WebClient(shared_desk.hq.port).get("/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.body[:4] == b"\x00\x00\x01\x00"


def test_a_review_racing_an_erasure_is_refused_not_orphaned(desk: Desk) -> None:
    """A review sent while an erasure's transaction is open waits for it, then is refused:
    it neither slips in before the erasure deletes the reviews nor outlives it."""
    eraser, reviewer = desk.storage(), desk.storage()
    with eraser.read() as conn:
        ravi_id = conn.execute(sa.select(users.c.id).where(users.c.name == "ravi")).scalar()
    ravi = User(int(ravi_id), "ravi", "recruiter")
    outcome: list[BaseException | None] = []

    def send_review() -> None:
        try:
            submit_review(reviewer, ravi, desk.device, desk.meera, {"communication": 3}, "",
                          "advance", None)
        except review_errors.ReviewError as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    racing = threading.Thread(target=send_review)
    try:
        with eraser.write() as conn:      # an erasure, half done, its transaction open
            conn.execute(sessions.delete().where(sessions.c.device_id == desk.device,
                                                 sessions.c.session_id == desk.meera))
            racing.start()
            racing.join(timeout=1.0)      # the review waits for the erasure to finish
            conn.execute(reviews.delete().where(reviews.c.session_id == desk.meera))
            conn.execute(erasure_orders.insert().values(
                order_id="0" * 32, device_id=desk.device, session_id=desk.meera,
                reason="request", issued_at=now_text()))
        racing.join()
        assert len(outcome) == 1 and isinstance(outcome[0], review_errors.SessionErasedError)
        assert review_rows(desk, desk.meera) == []
    finally:
        eraser.dispose()
        reviewer.dispose()
