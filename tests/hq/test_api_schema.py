"""HQ's API against its own OpenAPI schema: generated requests never get a server error.

Schemathesis draws requests from the app's schema, valid ones and invalid ones, and sends
them to the app in this process (ASGI): unsigned, every signed-only route answers 401; signed
by an enrolled kiosk, they reach the parsers. Either way no answer is a 5xx, and every refusal
is a 4xx JSON `{"error": ..., "message": ...}`. Hypothesis then sends what the schema cannot
describe (random JSON and bytes to enrollment, random records under a valid signature) and
counts the stored items: a refused record leaves nothing behind.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests
import schemathesis
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient, get_client, shutdown_lifespans
from starlette.datastructures import URL

from hq import devices
from hq.api import create_app
from hq.server import build_context
from hq.storage import HqStorage, items, uploads
from kiosk import keys
from sync import protocol
from sync.signing import sign
from tests.hq.conftest import FAST, HQ_PASSPHRASE

SIGNED_ROUTES = {("PUT", "/v1/items/{item_id}"), ("GET", "/v1/config"),
                 ("PUT", "/v1/erasures/{order_id}"),
                 ("POST", "/v1/uploads"), ("HEAD", "/v1/uploads/{upload}"),
                 ("PATCH", "/v1/uploads/{upload}"), ("POST", "/v1/heartbeat")}
UNSIGNED_ROUTES = {("POST", "/v1/enroll"), ("OPTIONS", "/v1/uploads")}
# Only these have parameters or a body that a negative case can break.
NEGATABLE = {("POST", "/v1/enroll"), ("PUT", "/v1/items/{item_id}"),
             ("POST", "/v1/heartbeat")}
CASES = [(method, path, mode) for method, path in sorted(SIGNED_ROUTES | UNSIGNED_ROUTES)
         for mode in schemathesis.GenerationMode
         if mode is schemathesis.GenerationMode.POSITIVE or (method, path) in NEGATABLE]
QUICK = settings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


@dataclass
class Hq:
    """An HQ in this process, a client that reaches it, and one kiosk enrolled with it."""

    app: FastAPI
    storage: HqStorage
    session: ASGIClient
    device_id: str
    device_key: ed25519.Ed25519PrivateKey

    def stored(self, table: sa.Table = items) -> int:
        """How many items (or rows of `table`) HQ holds."""
        with self.storage.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def send(self, method: str, path: str, body: bytes = b"",
             headers: dict[str, str] | None = None, signed: bool = True) -> requests.Response:
        """One request, signed by the enrolled kiosk unless told otherwise."""
        auth = DeviceSignature(self) if signed else None
        return self.session.request(method, path, data=body, headers=headers, auth=auth)


class DeviceSignature(requests.auth.AuthBase):
    """Signs each request as it leaves, over the exact bytes and the path HQ will see."""

    def __init__(self, hq: Hq) -> None:
        self.hq = hq

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        assert isinstance(body, bytes) and request.method and request.url
        request.headers.update(sign(request.method, verified_path(str(request.url)), body,
                                    self.hq.device_key, self.hq.device_id,
                                    headers=dict(request.headers)))
        return request


def verified_path(url: str) -> str:
    """The path HQ checks a signature against: Starlette's `request.url.path`."""
    scope = {"type": "http", "path": unquote(urlsplit(url).path), "headers": [],
             "server": ("testserver", 80)}
    return URL(scope=scope).path


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hq]:
    directory: Path = tmp_path_factory.mktemp("hq")
    keys.init_keys(directory, HQ_PASSPHRASE, FAST)
    storage = HqStorage(f"sqlite:///{directory / 'hq.sqlite3'}")
    storage.migrate()
    # Limits high enough that fuzzing reaches the parsers instead of the rate limiters.
    context = build_context(directory, storage, keys.unlock(directory, HQ_PASSPHRASE),
                            device_rate=1e6, enroll_rate=1e6)
    key = ed25519.Ed25519PrivateKey.generate()
    code, _ = devices.new_enroll_code(storage)
    device_id = devices.enroll(storage, protocol.EnrollRequest(
        code, "Fuzz kiosk", key.public_key().public_bytes_raw()))
    app = create_app(context)
    # Schemathesis's ASGI client, not Starlette's TestClient: it passes header bytes through
    # as Latin-1 as a real server does (TestClient re-encodes "²" as UTF-8 "Â²"), and it
    # raises what the app raises, so a crash fails the test with its traceback.
    with get_client(app) as session:
        yield Hq(app, storage, session, device_id, key)
    shutdown_lifespans()
    storage.dispose()


@pytest.fixture(scope="module")
def api(hq: Hq) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", hq.app)


def routing_miss(response: requests.Response | schemathesis.Response) -> bool:
    """A path or method no route matches: refused in HQ's shape before any signature check."""
    if response.status_code not in (404, 405) or not response.content:  # HEAD has no body
        return False
    assert_refusal(response.status_code, response.content)
    return json.loads(response.content)["error"] in ("not_found", "method_not_allowed")


def assert_refusal(status: int, body: bytes) -> None:
    """A refusal: 4xx, and the JSON shape every HQ refusal has."""
    assert 400 <= status < 500, (status, body[:300])
    doc = json.loads(body)
    assert set(doc) == {"error", "message"}, doc
    assert isinstance(doc["error"], str) and isinstance(doc["message"], str), doc


def test_the_schema_names_every_route(api: schemathesis.BaseSchema) -> None:
    assert {(method.upper(), path) for path, methods in api.items()
            for method in methods} == SIGNED_ROUTES | UNSIGNED_ROUTES


# Schemathesis's own `from_fixture` + `parametrize` fails under pytest 9 (it reads
# `Function._nodeid`), so each route's cases are drawn inside an ordinary Hypothesis test.
@pytest.mark.parametrize(("method", "path", "mode"), CASES)
@QUICK
@given(data=st.data())
def test_generated_unsigned_requests_never_get_a_server_error(
        hq: Hq, api: schemathesis.BaseSchema, method: str, path: str,
        mode: schemathesis.GenerationMode, data: st.DataObject) -> None:
    case = data.draw(api[path][method.lower()].as_strategy(mode), label="case")
    response = case.call(session=hq.session)
    case.validate_response(response, checks=[not_a_server_error])
    if routing_miss(response):
        return
    if (method, path) in SIGNED_ROUTES:
        # A chunk of the wrong type is turned away before its body is read, signed or not.
        wrong_chunk = method == "PATCH" and response.status_code == 415
        assert response.status_code == 401 or wrong_chunk, response.content[:300]
    if response.status_code >= 400 and method != "HEAD":
        assert_refusal(response.status_code, response.content)


@pytest.mark.parametrize(("method", "path", "mode"),
                         [case for case in CASES if case[:2] in SIGNED_ROUTES])
@QUICK
@given(data=st.data())
def test_generated_signed_requests_never_get_a_server_error(
        hq: Hq, api: schemathesis.BaseSchema, method: str, path: str,
        mode: schemathesis.GenerationMode, data: st.DataObject) -> None:
    case = data.draw(api[path][method.lower()].as_strategy(mode), label="case")
    before = hq.stored()
    response = case.call(session=hq.session, auth=DeviceSignature(hq))
    case.validate_response(response, checks=[not_a_server_error])
    if routing_miss(response):
        return
    assert response.status_code not in (401, 403), response.content[:300]  # it is signed
    if response.status_code >= 400:
        if method != "HEAD":
            assert_refusal(response.status_code, response.content)
        assert hq.stored() == before


# --- what the schema cannot describe --------------------------------------------------------

def _containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                         max_size=4)


json_values = st.recursive(st.none() | st.booleans() | st.integers()
                           | st.floats(allow_nan=False) | st.text(max_size=30),
                           _containers, max_leaves=12)
enroll_docs = st.fixed_dictionaries({}, optional={
    "code": st.from_regex(protocol.ENROLL_CODE, fullmatch=True) | json_values,
    "name": st.text(max_size=90) | json_values,
    "public_key": st.binary(min_size=30, max_size=34).map(
        lambda raw: base64.b64encode(raw).decode()) | json_values})


@QUICK
@given(body=st.binary(max_size=300) | json_values | enroll_docs, real_code=st.booleans(),
       content_type=st.sampled_from(["application/json", "text/plain", None]))
def test_enrollment_answers_junk_with_a_refusal(hq: Hq, body: object, real_code: bool,
                                                content_type: str | None) -> None:
    if isinstance(body, dict) and real_code:
        body["code"], _ = devices.new_enroll_code(hq.storage)  # reach past the code check
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = hq.send("POST", protocol.ENROLL_PATH, raw, signed=False,
                     headers={"Content-Type": content_type} if content_type else {})
    if answer.status_code == 201:
        enrollment = protocol.parse_enrollment(answer.content)
        assert devices.public_key(hq.storage, enrollment.device_id) is not None
        return
    assert_refusal(answer.status_code, answer.content)


SESSION_META = {
    "reference": "ABCD-2345", "interview_id": "sync-drive", "template_sha256": "0" * 64,
    "language": "en", "status": "completed", "started_at": "2026-11-30T09:00:00+00:00",
    "ended_at": "2026-11-30T09:20:00+00:00", "decision": None, "needs_review": False,
    "questions": 3, "answered": 3, "scores": {"communication": {"suggested": 3,
                                                                 "reviewer": None}}}
item_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,40}", fullmatch=True)


@st.composite
def records(draw: st.DrawFn) -> dict[str, object]:
    """A session record: valid, or with one field (or one meta field) replaced by junk."""
    doc: dict[str, object] = {
        "kind": "session",
        "session_id": draw(st.from_regex(r"[A-Za-z0-9_-]{8,20}", fullmatch=True)),
        "meta": dict(SESSION_META),
        "sealed": base64.b64encode(draw(st.binary(min_size=1, max_size=40))).decode(),
        "revision": draw(st.integers(1, 2 ** 53 - 1))}
    where = draw(st.sampled_from([None, "kind", "session_id", "meta", "sealed", "revision",
                                  *SESSION_META]))
    junk = draw(json_values | st.sampled_from(["transcript", "recording", "", "=", "AA=="]))
    if where in SESSION_META:
        doc["meta"] = {**SESSION_META, where: junk}
    elif where is not None:
        doc[where] = junk
    return doc


@QUICK
@given(item=item_ids, doc=records(), body=json_values.map(lambda value: json.dumps(value)
                                                           .encode()) | st.binary(max_size=300),
       which=st.sampled_from(["record", "record under its own id", "junk"]))
def test_a_signed_record_is_stored_whole_or_refused(hq: Hq, item: str, doc: dict[str, object],
                                                    body: bytes, which: str) -> None:
    if which != "junk":
        body = json.dumps(doc).encode()
    if which == "record under its own id" and isinstance(doc["session_id"], str):
        item = f"{doc['session_id']}/session"  # the one id HQ takes a session record under
    before = hq.stored()
    where = (items.c.device_id == hq.device_id) & (items.c.item_id == item)
    with hq.storage.read() as conn:  # an earlier example may have stored this id already
        earlier = conn.execute(sa.select(items).where(where)).one_or_none()
    answer = hq.send("PUT", f"{protocol.ITEMS_PATH}/{item}", body,
                     {"Content-Type": "application/json"})
    if answer.status_code >= 300:
        assert_refusal(answer.status_code, answer.content)
        assert hq.stored() == before  # nothing half-stored
        return
    assert answer.status_code in (200, 201), answer.content
    record = protocol.parse_record(item, body)  # only what the strict parser takes is stored
    with hq.storage.read() as conn:
        row = conn.execute(sa.select(items).where(where)).one()
    if earlier is not None and earlier.revision >= record.revision:
        # A version no newer than the one held never replaces it (docs/sync-protocol.md).
        assert (row.sealed, row.revision, row.meta) == (earlier.sealed, earlier.revision,
                                                        earlier.meta)
    else:
        assert (row.kind, row.session_id, row.sealed) == (record.kind, record.session_id,
                                                          record.sealed)
        assert json.loads(row.meta) == record.meta
    assert hq.stored() == before + (answer.status_code == 201)


# --- bugs fuzzing found, kept as regressions -------------------------------------------------
# Each input below once crashed HQ (a 500) or was stored malformed.

def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _tus_metadata(meta: str, item: str = "fuzz0001/recording/q1") -> str:
    return f"item_id {_b64(item)},session_id {_b64('fuzz0001')},meta {_b64(meta)}"


RECORDING_META = json.dumps({"question_id": "q1", "take": 1, "media": "video", "size": 10,
                             "sha256": "0" * 64})
BIG_INT = "1" * 4301  # past CPython's int-from-text limit: int() raises ValueError


def _record(**change: object) -> bytes:
    doc: dict[str, object] = {"kind": "session", "session_id": "fuzz0001",
                              "meta": SESSION_META, "sealed": "AAAA", "revision": 1, **change}
    return json.dumps(doc).encode()


def bug(reason: str, *values: object) -> object:
    """A fixed bug: `reason` says what it was."""
    return pytest.param(*values)


@pytest.mark.parametrize(("method", "path", "body", "headers"), [
    bug("hq/api.py create_upload: isdigit() takes '²', then int() raises: 500",
        "POST", "/v1/uploads", b"", {"Upload-Length": "\u00b2",
                                     "Upload-Metadata": _tus_metadata(RECORDING_META)}),
    bug("hq/api.py create_upload: int() of a 4,301-digit Upload-Length raises: 500",
        "POST", "/v1/uploads", b"", {"Upload-Length": BIG_INT,
                                     "Upload-Metadata": _tus_metadata(RECORDING_META)}),
    bug("hq/api.py upload_chunk: isdigit() takes '³', then int() raises: 500",
        "PATCH", "/v1/uploads/0", b"", {"Upload-Offset": "\u00b3",
                                        "Content-Type": "application/offset+octet-stream"}),
    bug("hq/api.py create_upload: json.loads of deeply nested meta: RecursionError, 500",
        "POST", "/v1/uploads", b"", {"Upload-Length": "10",
                                     "Upload-Metadata": _tus_metadata("[" * 1200)}),
    bug("hq/api.py create_upload: json.loads of a 4,301-digit number: ValueError, 500",
        "POST", "/v1/uploads", b"", {"Upload-Length": "10",
                                     "Upload-Metadata": _tus_metadata(BIG_INT)}),
    bug("sync/protocol.py loads: a 4,301-digit number's ValueError escapes: 500",
        "PUT", "/v1/items/fuzz-big-int", f'{{"kind": {BIG_INT}}}'.encode(), {}),
    bug("sync/protocol.py SESSION_ID: `$` matches before a final newline; stored",
        "PUT", "/v1/items/fuzz-newline", _record(session_id="fuzz0001\n"), {}),
    bug("sync/protocol.py ITEM_ID: `$`; an upload's item id keeps a final newline",
        "POST", "/v1/uploads", b"", {"Upload-Length": "10", "Upload-Metadata": _tus_metadata(
            RECORDING_META, item="fuzz0001/recording/q9\n")}),
    bug("hq/api.py create_app: Starlette's own 404 is {'detail': ...}",
        "PUT", "/v1/items/new%0Aline", _record(), {}),
    bug("hq/api.py create_app: Starlette's own 405 is {'detail': ...}",
        "DELETE", "/v1/items/fuzz", b"", {}),
], ids=["latin1-length", "huge-length", "latin1-offset", "deep-meta", "huge-int-meta",
        "huge-int-record", "newline-session", "newline-upload-item", "404-shape", "405-shape"])
def test_known_bad_inputs_are_refused_not_crashed_or_stored(
        hq: Hq, method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
    before = hq.stored(), hq.stored(uploads)
    answer = hq.send(method, path, body, {"Content-Type": "application/json",
                                          "Tus-Resumable": "1.0.0", **headers})
    assert_refusal(answer.status_code, answer.content)
    assert (hq.stored(), hq.stored(uploads)) == before
