"""What a real HQ refuses: each with its status and code, and nothing stored.

The tests share the module's HQ (one per backend), each with a device of its own, and look
only at what that device sent."""

from __future__ import annotations

import base64
import http.client
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync import protocol
from sync.client import HqClient, HqRefusedError
from sync.signing import sign
from tests.hq.conftest import HqServer, Kiosk
from tests.hq.test_hq_sync import finished_session

RECORD = protocol.Record("0123456789abcdef/session", "session", "0123456789abcdef", {
    "reference": "ABCD-2345", "interview_id": "sync-drive", "template_sha256": "0" * 64,
    "language": "en", "status": "completed", "started_at": "2026-11-30T09:00:00+00:00",
    "ended_at": "2026-11-30T09:20:00+00:00", "decision": None, "needs_review": False,
    "questions": 3, "answered": 3, "scores": {"communication": {"suggested": 3,
                                                                 "reviewer": None}},
    "retention_days": 180, "rejected_retention_days": None},
    b"sealed bytes stand in here")


def raw(hq: HqServer, method: str, path: str, body: bytes,
        headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", hq.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, protocol.loads(answer.read()) if answer.status >= 400 else {}
    finally:
        conn.close()


@pytest.fixture
def enrolled(shared_hq: HqServer) -> tuple[str, ed25519.Ed25519PrivateKey]:
    key = ed25519.Ed25519PrivateKey.generate()
    return shared_hq.enroll_device(key), key


def test_a_clock_six_minutes_off_is_refused(shared_hq: HqServer, enrolled: tuple) -> None:
    device, key = enrolled
    client = HqClient(shared_hq.url, device, key, clock=lambda: time.time() + 360)
    with client, pytest.raises(HqRefusedError) as refused:
        client.put_record(RECORD)
    assert refused.value.code == "stale_request"
    assert shared_hq.sessions(device) == []


def test_a_replayed_request_is_refused(shared_hq: HqServer, enrolled: tuple) -> None:
    device, key = enrolled
    path = f"{protocol.ITEMS_PATH}/{RECORD.item_id}"
    body = protocol.record_body(RECORD)
    headers = {"Content-Type": "application/json",
               **sign("PUT", path, body, key, device,
                      headers={"Content-Type": "application/json"})}
    assert raw(shared_hq, "PUT", path, body, headers)[0] == 201
    status, error = raw(shared_hq, "PUT", path, body, headers)
    assert (status, error["error"]) == (401, "replayed_request")
    assert len(shared_hq.sessions(device)) == 1


def test_a_tampered_body_is_refused(shared_hq: HqServer, enrolled: tuple) -> None:
    device, key = enrolled
    path = f"{protocol.ITEMS_PATH}/{RECORD.item_id}"
    body = protocol.record_body(RECORD)
    headers = {"Content-Type": "application/json",
               **sign("PUT", path, body, key, device,
                      headers={"Content-Type": "application/json"})}
    tampered = body.replace(b'"suggested":3', b'"suggested":5')
    status, error = raw(shared_hq, "PUT", path, tampered, headers)
    assert (status, error["error"]) == (401, "bad_signature")
    # The digest may be recomputed by the attacker; then the signature fails instead.
    headers["Content-Digest"] = sign("PUT", path, tampered, key, device)["Content-Digest"]
    status, error = raw(shared_hq, "PUT", path, tampered, headers)
    assert (status, error["error"]) == (401, "bad_signature")
    assert shared_hq.sessions(device) == []


def test_an_unknown_device_is_refused(shared_hq: HqServer) -> None:
    device = "k-0000000000000000"
    stranger = HqClient(shared_hq.url, device, ed25519.Ed25519PrivateKey.generate())
    with stranger, pytest.raises(HqRefusedError) as refused:
        stranger.put_record(RECORD)
    assert refused.value.code == "unknown_device"
    assert shared_hq.sessions(device) == []


def test_a_device_cannot_pose_as_another(shared_hq: HqServer, enrolled: tuple) -> None:
    device, _ = enrolled
    impostor = HqClient(shared_hq.url, device, ed25519.Ed25519PrivateKey.generate())
    with impostor, pytest.raises(HqRefusedError) as refused:
        impostor.put_record(RECORD)
    assert refused.value.code == "bad_signature"
    assert shared_hq.sessions(device) == []


def test_a_revoked_device_gets_403(shared_hq: HqServer, enrolled: tuple) -> None:
    device, key = enrolled
    shared_hq.cli("devices", "revoke", device)
    path = f"{protocol.ITEMS_PATH}/{RECORD.item_id}"
    body = protocol.record_body(RECORD)
    status, error = raw(shared_hq, "PUT", path, body, sign("PUT", path, body, key, device))
    assert (status, error["error"]) == (403, "revoked_device")
    assert shared_hq.sessions(device) == []


def test_enrollment_codes_work_once(shared_hq: HqServer) -> None:
    code = shared_hq.enroll_code()
    body = protocol.dumps({"code": code, "name": "Kiosk A", "public_key": base64.b64encode(
        ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()})
    assert raw(shared_hq, "POST", protocol.ENROLL_PATH, body, {})[0] == 201
    status, error = raw(shared_hq, "POST", protocol.ENROLL_PATH, body, {})
    assert (status, error["error"]) == (403, "bad_enroll_code")


def test_oversized_and_malformed_records_are_refused(shared_hq: HqServer, enrolled: tuple) -> None:
    device, key = enrolled
    path = f"{protocol.ITEMS_PATH}/x/session"
    huge = b"{" + b" " * (protocol.MAX_RECORD_BODY + 8192) + b"}"
    # HQ answers an over-limit Content-Length at once and closes, without reading a byte
    # (hq/bodylimit.py); a client still pushing the body may then see its pipe break instead
    # of the answer. So the headers go alone, and the answer is read before any body.
    conn = http.client.HTTPConnection("127.0.0.1", shared_hq.port, timeout=30)
    try:
        conn.putrequest("PUT", path)
        for name, value in {**sign("PUT", path, huge, key, device),
                            "Content-Length": str(len(huge))}.items():
            conn.putheader(name, value)
        conn.endheaders()
        answer = conn.getresponse()
        status, error = answer.status, protocol.loads(answer.read())
    finally:
        conn.close()
    assert (status, error["error"]) == (413, "too_large")
    bad = protocol.dumps({"kind": "session", "session_id": "0123456789abcdef",
                          "meta": {"status": "completed"}, "sealed": "AAAA"})
    status, error = raw(shared_hq, "PUT", path, bad, sign("PUT", path, bad, key, device))
    assert (status, error["error"]) == (422, "bad_request")
    assert shared_hq.sessions(device) == []


def test_the_hq_log_names_routes_and_devices_never_candidates(shared_hq: HqServer,
                                                                     kiosk: Kiosk) -> None:
    link = kiosk.enroll(shared_hq)
    finished_session(kiosk, name="Zubair Candidate")
    from tests.hq.test_hq_sync import service

    assert service(kiosk).run_pass().stopped_by is None
    text = (shared_hq.data_dir / "server.log").read_text()
    assert "Zubair" not in text and "ABCD" not in text
    entries = shared_hq.log()
    assert {"/v1/config", "/v1/items/{item_id:path}"} <= {
        e["route"] for e in entries if e["device"] == link.device_id}
    assert all(set(e) == {"event", "method", "route", "status", "device", "ms"}
               for e in entries)


def test_the_openapi_schema_is_served(shared_hq: HqServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", shared_hq.port, timeout=30)
    conn.request("GET", "/openapi.json")
    schema = protocol.loads(conn.getresponse().read(), limit=1 << 20)
    conn.close()
    assert {protocol.ENROLL_PATH, protocol.UPLOADS_PATH} <= set(schema["paths"])
