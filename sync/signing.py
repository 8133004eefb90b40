"""Signed requests from kiosk to HQ: HTTP Message Signatures (RFC 9421) with Ed25519.

Every request carries a `Content-Digest` of its body (RFC 9530, sha-256) and a signature
over the method, the path, that digest, a creation time and a fresh nonce. HQ refuses a
request whose signature does not verify, whose time is more than five minutes off, whose
nonce it has seen before, or whose body does not match its digest. Only this one profile is
produced and accepted; anything else in the headers is an error, not a negotiation.

    SigningError                    a request's signature headers cannot be trusted
    ├── MalformedSignatureError     missing or unparsable headers, another profile
    ├── BadSignatureError           the signature or the digest does not verify
    ├── StaleRequestError           created more than the allowed skew away from now
    └── ReplayedRequestError        this nonce was seen before
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

COMPONENTS = ("@method", "@path", "content-digest")
MAX_SKEW_SECONDS = 300
LABEL = "sig1"
_PARAMS = re.compile(
    r'^sig1=\("@method" "@path" "content-digest"\);created=([0-9]{1,12});'
    r'keyid="([A-Za-z0-9._-]{1,128})";nonce="([A-Za-z0-9_-]{16,64})";alg="ed25519"$')
_SIGNATURE = re.compile(r"^sig1=:([A-Za-z0-9+/]{85}[AQgw]==):$")  # 64 bytes, canonical
_DIGEST = re.compile(r"^sha-256=:([A-Za-z0-9+/=]{44}):$")


class SigningError(Exception):
    """A request's signature headers cannot be trusted."""


class MalformedSignatureError(SigningError):
    """The signature headers are missing, unparsable or of another profile."""


class BadSignatureError(SigningError):
    """The signature or the content digest does not verify."""


class StaleRequestError(SigningError):
    """The request was created too far from now."""


class ReplayedRequestError(SigningError):
    """The request's nonce was used before."""


def content_digest(body: bytes) -> str:
    """The `Content-Digest` header value for `body`."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def _params(created: int, key_id: str, nonce: str) -> str:
    return (f'("@method" "@path" "content-digest");created={created};keyid="{key_id}";'
            f'nonce="{nonce}";alg="ed25519"')


def _base(method: str, path: str, digest: str, params: str) -> bytes:
    return (f'"@method": {method.upper()}\n"@path": {path}\n"content-digest": {digest}\n'
            f'"@signature-params": {params}').encode()


def sign(method: str, path: str, body: bytes, key: ed25519.Ed25519PrivateKey, key_id: str,
         now: float | None = None) -> dict[str, str]:
    """The headers that sign this request."""
    created = int(time.time() if now is None else now)
    nonce = secrets.token_urlsafe(24)
    digest = content_digest(body)
    params = _params(created, key_id, nonce)
    signature = key.sign(_base(method, path, digest, params))
    return {"Content-Digest": digest, "Signature-Input": f"{LABEL}={params}",
            "Signature": f"{LABEL}=:{base64.b64encode(signature).decode()}:"}


@dataclass(frozen=True)
class Verified:
    """Who signed a request, and when."""

    key_id: str
    created: int


class NonceCache:
    """Nonces seen within the skew window; older ones cannot be replayed anyway."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def check_and_add(self, nonce: str, now: float) -> None:
        """Refuse a nonce seen before; remember this one."""
        for old, at in list(self._seen.items()):
            if now - at > 2 * MAX_SKEW_SECONDS:
                del self._seen[old]
        if nonce in self._seen:
            raise ReplayedRequestError("this request was already received (its nonce repeats)")
        self._seen[nonce] = now


def verify(method: str, path: str, headers: Mapping[str, str], body: bytes,
           public_key_for: Callable[[str], ed25519.Ed25519PublicKey | None],
           nonces: NonceCache, now: float | None = None) -> Verified:
    """Check a request's signature, digest, time and nonce; return who signed it."""
    lowered = {name.lower(): value for name, value in headers.items()}
    now = time.time() if now is None else now
    try:
        params_match = _PARAMS.fullmatch(lowered["signature-input"].strip())
        signature_match = _SIGNATURE.fullmatch(lowered["signature"].strip())
        digest = lowered["content-digest"].strip()
    except KeyError as missing:
        raise MalformedSignatureError(f"the {missing} header is missing") from None
    if not params_match or not signature_match or not _DIGEST.fullmatch(digest):
        raise MalformedSignatureError("the signature headers are not of the kiosk's profile "
                                      "(RFC 9421, ed25519, method/path/content-digest)")
    created, key_id, nonce = int(params_match[1]), params_match[2], params_match[3]
    if abs(now - created) > MAX_SKEW_SECONDS:
        raise StaleRequestError(f"the request was created {int(now - created)} s from now; "
                                f"at most {MAX_SKEW_SECONDS} s is accepted (check the clock)")
    if digest != content_digest(body):
        raise BadSignatureError("the body does not match its Content-Digest")
    public_key = public_key_for(key_id)
    if public_key is None:
        raise BadSignatureError(f"unknown or revoked device {key_id!r}")
    params = _params(created, key_id, nonce)
    try:
        public_key.verify(base64.b64decode(signature_match[1]),
                          _base(method, path, digest, params))
    except (InvalidSignature, ValueError):
        raise BadSignatureError("the signature does not verify") from None
    nonces.check_and_add(nonce, now)  # only after it verifies: forgeries cannot burn nonces
    return Verified(key_id, created)


# What HQ sends down (configuration, erasure orders) is signed by HQ's own Ed25519 key,
# which the kiosk learned at enrollment. Each kind of document has its own context prefix,
# so a signature over one can never be passed off as another.
CONFIG_CONTEXT = b"interview-kiosk hq config v1\n"


def verify_from_hq(context: bytes, body: bytes, signature: str,
                   hq_key: ed25519.Ed25519PublicKey) -> None:
    """Raise BadSignatureError unless HQ signed `body` under `context`."""
    try:
        hq_key.verify(base64.b64decode(signature, validate=True), context + body)
    except (InvalidSignature, ValueError):
        raise BadSignatureError("HQ's signature on what it sent does not verify") from None
