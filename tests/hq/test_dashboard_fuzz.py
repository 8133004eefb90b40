"""Every dashboard form and page fuzzed over the real ASGI app: never a server error.

A real kiosk syncs two sessions to a real HQ (SQLite, then PostgreSQL); the HQ process is
stopped and the same data directory and database are served in this process, so each
request reaches the app as a browser's would (Schemathesis's ASGI client raises whatever
the app raises, so a crash fails the test with its traceback). Hypothesis draws each
form's fields (missing, empty, huge numbers, other scripts' digits, control characters,
any text), the CSRF token (right, wrong, missing), the account, the encoding of the body
and the query values of each page. Every answer must be a page, a redirect or a refusal
(2xx, 3xx, 4xx), never a 5xx.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from schemathesis.python.asgi import get_client

from hq import accounts
from hq.accounts import User
from hq.api import create_app
from hq.dashboard import COOKIE, LOGIN_COOKIE
from hq.server import build_context
from hq.storage import HqStorage, reviews
from kiosk import keys
from tests.hq.conftest import HQ_PASSPHRASE, HqServer, _postgres_schema_url, make_kiosk
from tests.hq.desk import TEAM, Desk, open_desk

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.filter_too_much])


@dataclass
class Fuzzed:
    """The app in this process, its desk, and a signed-in session per account."""

    client: requests.Session
    desk: Desk
    storage: HqStorage
    sessions: dict[str, tuple[str, str]]   # name -> (cookie token, CSRF token)

    def send(self, method: str, path: str, body: bytes = b"", headers: dict[str, str]
             | None = None, who: str | None = None) -> requests.Response:
        cookies = {}
        if who is not None:
            cookies[COOKIE] = self.sessions[who][0]
        answer = self.client.request(method, path, data=body, headers={
            **(headers or {}), **({"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
                                  if cookies else {})}, allow_redirects=False)
        assert answer.status_code < 500, (method, path, answer.status_code, answer.text[:500])
        kind = "/".join(part for part in path.split("?")[0].split("/")[:2])
        event(f"{method} {kind} {path.rsplit('/', 1)[-1][:8] if method == 'POST' else ''}"
              f" -> {answer.status_code}")
        return answer


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    root = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{root / 'hq.sqlite3'}"])
    else:
        urls = _postgres_schema_url()
    db = next(urls)
    try:
        yield from _serve_in_process(root, db)
    finally:
        for _ in urls:  # let the PostgreSQL schema be dropped
            pass


def _serve_in_process(root: Path, db: str) -> Iterator[Fuzzed]:
    (root / "hq").mkdir()
    secret = root / "hq-passphrase"
    secret.write_text(HQ_PASSPHRASE)
    hq = HqServer(root / "hq", db, secret)
    hq.cli("init", "--passphrase-file", str(secret))
    hq.start()
    kiosk = make_kiosk(root / "kiosk")
    try:
        desk = open_desk(hq, kiosk)
    finally:
        hq.stop()
        kiosk.store.close()
    storage = HqStorage(db)
    context = build_context(hq.data_dir, storage, keys.unlock(hq.data_dir, HQ_PASSPHRASE))
    signed = {}
    for user in accounts.list_users(storage):
        signed[str(user["name"])] = accounts.start_session(
            storage, User(int(str(user["id"])), str(user["name"]), str(user["role"])))
    with get_client(create_app(context)) as client:
        yield Fuzzed(client, desk, storage, signed)
    storage.dispose()


# --- what a form field may hold ---------------------------------------------------------------

odd_digits = st.sampled_from(["\u00b2", "\u0663", "\uff13", "\u096a", "\u00bd", "\u2167"])
huge_numbers = st.integers(min_value=10 ** 18, max_value=10 ** 40).map(str) | st.just(
    "9" * 5000) | st.just("-1") | st.just("1e9") | st.just("0x10")
dates = st.dates().map(lambda d: d.isoformat()) | st.sampled_from(
    ["9999-12-31", "0001-01-01", "2026-02-30", "2026-13-01", "20260101", "2026-01-01T00:00"])
values = (st.text(max_size=40) | st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
          | st.sampled_from(["", "1", "5", "advance", "hold", "reject", "on", "erase",
                             "access", "erasure", "admin", "recruiter", "viewer",
                             "ABCD-2345", "\x00", "\r\n", "<script>", "' OR 1=1 --"])
          | odd_digits | huge_numbers | dates | st.just("x" * 6000))


def form_for(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    """Each named field maybe present with any value, plus maybe a field of a random name."""
    return st.fixed_dictionaries({}, optional={name: values for name in names}).flatmap(
        lambda fields: st.dictionaries(st.text(max_size=12), values, max_size=2).map(
            lambda extra: {**extra, **fields}))


def encode(draw: st.DrawFn, fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The body as a browser sends it, mostly; sometimes bytes or a type no form has."""
    how = draw(st.sampled_from(["form", "form", "form", "raw", "json", "duplicate"]))
    if how == "raw":
        return draw(st.binary(max_size=200)), {"Content-Type": draw(st.sampled_from([
            "application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]))}
    if how == "json":
        return json.dumps(fields).encode(), {"Content-Type": "application/json"}
    pairs = list(fields.items())
    if how == "duplicate" and pairs:
        pairs.append(pairs[0])
    return (urllib.parse.urlencode(pairs).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})


request_numbers = st.sampled_from(["1", "0", "99999999999999999999999", "%C2%B2", "-1", "1e3"])


@st.composite
def posts(draw: st.DrawFn, fuzzed: Fuzzed) -> tuple[str, bytes, dict[str, str], str | None]:
    desk = fuzzed.desk
    session = draw(st.sampled_from([desk.meera, desk.arjun] * 4 + [
        "NoSuchSession01", "x", "..%2F..", "\u0663" * 9, "%00" * 9]))
    device = draw(st.sampled_from([desk.device] * 6 + ["k-0000000000000000", "%00", "a" * 80]))
    path, names = draw(st.sampled_from([
        (f"/sessions/{device}/{session}/review",
         ["score:communication", "score:self-reflection", "score:nonexistent", "decision",
          "note"]),
        ("/admin/users", ["name", "role", "password"]),
        ("/admin/blind", ["blind"]),
        ("/admin/requests", ["kind", "reference", "received"]),
        (f"/admin/requests/{draw(request_numbers)}/done", []),
        (f"/admin/sessions/{device}/{session}/access", []),
    ]))
    fields = draw(form_for(names))
    csrf = draw(st.sampled_from(["right", "right", "right", "wrong", "missing"]))
    who = draw(st.sampled_from(["asha", "ravi", "meena", "asha", "ravi", "vik", None]))
    if csrf == "right" and who is not None:
        fields["csrf"] = fuzzed.sessions[who][1]
    elif csrf == "wrong":
        fields["csrf"] = draw(values)
    body, headers = encode(draw, fields)
    return path, body, headers, who


@FUZZ
@given(data=st.data())
def test_every_dashboard_form_answers_without_a_server_error(fuzzed: Fuzzed,
                                                              data: st.DataObject) -> None:
    path, body, headers, who = data.draw(posts(fuzzed), label="post")
    fuzzed.send("POST", path, body, headers, who)
    # Whatever got through is a review: a level from 1 to 5 for the interview's own
    # competencies, or a decision; never an empty one.
    with fuzzed.storage.read() as conn:
        for row in conn.execute(sa.select(reviews.c.scores, reviews.c.decision)):
            scores = json.loads(row.scores)
            assert scores or row.decision in ("advance", "hold", "reject"), row
            assert set(scores) <= {"communication", "self-reflection"}, row
            assert all(type(level) is int and 1 <= level <= 5 for level in scores.values())


@FUZZ
@given(fields=form_for(["name", "password", "next", "csrf"]), use_cookie=st.booleans(),
       data=st.data())
def test_sign_in_answers_without_a_server_error(fuzzed: Fuzzed, fields: dict[str, str],
                                                use_cookie: bool, data: st.DataObject) -> None:
    token = "login-token-from-the-page"
    if use_cookie and data.draw(st.booleans(), label="matching csrf"):
        fields["csrf"] = token
    body, headers = encode(data.draw, fields)
    if use_cookie:
        headers["Cookie"] = f"{LOGIN_COOKIE}={token}"
    answer = fuzzed.send("POST", "/login", body, headers)
    assert answer.status_code in (303, 400, 403, 413, 429), answer.status_code


@FUZZ
@given(data=st.data())
def test_every_page_answers_without_a_server_error(fuzzed: Fuzzed, data: st.DataObject) -> None:
    desk = fuzzed.desk
    query = data.draw(st.dictionaries(st.sampled_from(
        ["sort", "needs_review", "kiosk", "interview", "reference", "next", "failed",
         "erased", data.draw(st.text(max_size=8))]), values, max_size=4), label="query")
    path = data.draw(st.sampled_from([
        "/", "/interviews/sync-drive", "/interviews/sync-drive/follow-ups",
        f"/interviews/{urllib.parse.quote(data.draw(values), safe='')}",
        f"/interviews/{urllib.parse.quote(data.draw(values), safe='')}/follow-ups",
        desk.path(desk.meera), desk.path("NoSuchSession01"), desk.media(desk.meera),
        desk.media(desk.meera, "no-such-question"),
        desk.media(desk.meera, "introduce-yourself.probe"), "/export/scorecards.csv",
        "/export/scorecards.json", "/export/scorecards.xml", "/admin", "/admin/requests",
        "/reports/fairness", "/login", "/favicon.ico", "/docs"]), label="path")
    who = data.draw(st.sampled_from([name for name, _ in TEAM] + [None]), label="who")
    headers = {}
    if path.startswith("/media") and data.draw(st.booleans()):
        headers["Range"] = data.draw(st.sampled_from(["bytes=0-", "bytes=1-", "bytes=-5",
                                                      "bytes=5-1", "bytes=9999999999-",
                                                      "bytes=\u00b2-", "bytes=0-1,5-9",
                                                      "items=0-1", "bytes=" + "9" * 40 + "-"]))
    target = path + ("?" + urllib.parse.urlencode(query) if query else "")
    fuzzed.send("GET", target, headers={k: v.encode("utf-8").decode("latin-1")
                                        for k, v in headers.items()}, who=who)


@FUZZ
@given(data=st.data())
def test_erasing_and_signing_out_answer_without_a_server_error(fuzzed: Fuzzed,
                                                               data: st.DataObject) -> None:
    desk = fuzzed.desk
    session = data.draw(st.sampled_from([desk.meera, desk.arjun, "NoSuchSession01", "%00"]))
    fields = data.draw(form_for(["confirm"]))
    who = data.draw(st.sampled_from(["asha", "ravi", None]))
    if who is not None and data.draw(st.booleans()):
        fields["csrf"] = fuzzed.sessions[who][1]
    body, headers = encode(data.draw, fields)
    fuzzed.send("POST", f"/admin/sessions/{desk.device}/{session}/erase", body, headers, who)
    # Signing out ends the session used: each example signs out a fresh one of its own.
    user = next(u for u in accounts.list_users(fuzzed.storage) if u["name"] == "vik")
    token, csrf = accounts.start_session(fuzzed.storage, User(int(str(user["id"])), "vik",
                                                              "viewer"))
    fields = data.draw(form_for(["csrf"]))
    if data.draw(st.booleans()):
        fields["csrf"] = csrf
    body, headers = encode(data.draw, fields)
    fuzzed.sessions["vik-out"] = (token, csrf)
    fuzzed.send("POST", "/logout", body, headers, "vik-out")
