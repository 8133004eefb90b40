"""Signed requests: only the right device, body, path, time and a fresh nonce get through."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync.signing import (
    MAX_SKEW_SECONDS,
    BadSignatureError,
    MalformedSignatureError,
    NonceCache,
    ReplayedRequestError,
    StaleRequestError,
    content_digest,
    sign,
    verify,
)

DEVICE = ed25519.Ed25519PrivateKey.generate()
NOW = 1_800_000_000.0
BODY = b'{"scorecard": 1}'


def keys(key_id: str) -> ed25519.Ed25519PublicKey | None:
    return DEVICE.public_key() if key_id == "kiosk-7" else None


def signed() -> dict[str, str]:
    return sign("POST", "/v1/scorecards", BODY, DEVICE, "kiosk-7", now=NOW)


def check(headers: dict[str, str], *, method: str = "POST", path: str = "/v1/scorecards",
          body: bytes = BODY, now: float = NOW, nonces: NonceCache | None = None) -> str:
    return verify(method, path, headers, body, keys, nonces or NonceCache(), now=now).key_id


def test_a_signed_request_verifies() -> None:
    headers = signed()
    assert headers["Content-Digest"] == content_digest(BODY)
    assert headers["Signature-Input"].startswith('sig1=("@method" "@path" "content-digest")')
    assert check(headers) == "kiosk-7"
    assert check({k.lower(): v for k, v in headers.items()}) == "kiosk-7"  # any header case


@pytest.mark.parametrize(("change", "error"), [
    ({"body": b'{"scorecard": 2}'}, "Content-Digest"),
    ({"path": "/v1/recordings"}, "does not verify"),
    ({"method": "PUT"}, "does not verify"),
])
def test_any_change_to_what_was_signed_is_refused(change: dict[str, object], error: str) -> None:
    with pytest.raises(BadSignatureError, match=error):
        check(signed(), **change)  # type: ignore[arg-type]


def test_a_body_and_digest_swapped_together_still_fail_the_signature() -> None:
    headers = signed()
    other = b'{"scorecard": 99}'
    headers["Content-Digest"] = content_digest(other)
    with pytest.raises(BadSignatureError, match="does not verify"):
        check(headers, body=other)


def test_another_devices_key_or_an_unknown_device() -> None:
    forged = sign("POST", "/v1/scorecards", BODY, ed25519.Ed25519PrivateKey.generate(),
                  "kiosk-7", now=NOW)
    with pytest.raises(BadSignatureError, match="does not verify"):
        check(forged)
    stranger = sign("POST", "/v1/scorecards", BODY, DEVICE, "kiosk-99", now=NOW)
    with pytest.raises(BadSignatureError, match="unknown or revoked device"):
        check(stranger)


@pytest.mark.parametrize("offset", [MAX_SKEW_SECONDS + 1, -(MAX_SKEW_SECONDS + 1)])
def test_requests_too_far_from_now_are_refused(offset: float) -> None:
    with pytest.raises(StaleRequestError, match="check the clock"):
        check(signed(), now=NOW + offset)
    assert check(signed(), now=NOW + offset / abs(offset) * MAX_SKEW_SECONDS) == "kiosk-7"


def test_a_replayed_request_is_refused_but_a_forgery_burns_no_nonce() -> None:
    nonces = NonceCache()
    headers = signed()
    tampered = dict(headers, Signature="sig1=:" + "A" * 86 + "==:")
    with pytest.raises(BadSignatureError):
        check(tampered, nonces=nonces)
    assert check(headers, nonces=nonces) == "kiosk-7"  # the forgery did not use it up
    with pytest.raises(ReplayedRequestError):
        check(headers, nonces=nonces)


@pytest.mark.parametrize("header", ["Signature", "Signature-Input", "Content-Digest"])
def test_missing_headers(header: str) -> None:
    headers = signed()
    del headers[header]
    with pytest.raises(MalformedSignatureError, match="missing"):
        check(headers)


@pytest.mark.parametrize(("header", "value"), [
    ("Signature-Input", 'sig1=("@method" "@path");created=1;keyid="k";nonce="x";alg="ed25519"'),
    ("Signature-Input", 'sig1=("@method" "@path" "content-digest");created=1800000000;'
                        'keyid="kiosk-7";nonce="aaaaaaaaaaaaaaaa";alg="hmac-sha256"'),
    ("Signature", "sig1=:not base64!:"),
    ("Content-Digest", "sha-512=:abc:"),
])
def test_other_profiles_are_refused_not_negotiated(header: str, value: str) -> None:
    headers = signed()
    headers[header] = value
    with pytest.raises(MalformedSignatureError):
        check(headers)
