"""Signed requests from kiosk to HQ: HTTP Message Signatures (RFC 9421) with Ed25519.

Every request carries a `Content-Digest` of its body (RFC 9530, sha-256) and a signature
over the method, the path, that digest, every header HQ acts on that the request carries
(Content-Type and tus's headers), a creation time and a fresh nonce. HQ refuses a request
whose signature does not verify, whose time is more than five minutes off, whose nonce it
has seen before, or whose body does not match its digest. Only this one profile is produced
and accepted; anything else in the headers is an error, not a negotiation. HQ answers a
signed request with a receipt, signed with its own key over the request's nonce and the
answer, so nobody on the way can tell a kiosk that HQ stored what it never received.

    SigningError                    a request's signature headers cannot be trusted
    ├── MalformedSignatureError     missing or unparsable headers, another profile
    │   └── OutdatedProtocolError   the profile of protocol 1 (a kiosk to update)
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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

COMPONENTS = ("@method", "@path", "content-digest")
# Every request header HQ acts on. Whichever of them a request carries is a covered component
# of its signature, in this order; one that is present but not covered, or covered but
# absent, or sent twice, makes the request malformed. So nobody on the way can add, drop or
# change what HQ does with a request: tus's length, metadata, offset and checksum included.
SIGNED_HEADERS = ("content-type", "tus-resumable", "upload-length", "upload-metadata",
                  "upload-offset", "upload-checksum")
PROFILE_TAG = "interview-kiosk-sync/2"
MAX_SKEW_SECONDS = 300
LABEL = "sig1"
_COMPONENT_LIST = r'\(("[a-z@-]{1,40}"(?: "[a-z@-]{1,40}"){0,15})\)'
_PARAMS = re.compile(
    r'sig1=' + _COMPONENT_LIST + r';created=([0-9]{1,12});'
    r'keyid="([A-Za-z0-9._-]{1,128})";nonce="([A-Za-z0-9_-]{16,64})";alg="ed25519";'
    r'tag="([A-Za-z0-9./-]{1,40})"')
# What kiosks of protocol 1 sent: told apart so that staff learn to update, not to debug.
_PROFILE_1 = re.compile(r'sig1=\("@method" "@path" "content-digest"\);created=[0-9]+;'
                        r'keyid="[^"]*";nonce="[^"]*";alg="ed25519"')
_SIGNATURE = re.compile(r"sig1=:([A-Za-z0-9+/]{85}[AQgw]==):")  # 64 bytes, canonical
_DIGEST = re.compile(r"sha-256=:([A-Za-z0-9+/=]{44}):")


class SigningError(Exception):
    """A request's signature headers cannot be trusted."""


class MalformedSignatureError(SigningError):
    """The signature headers are missing, unparsable or of another profile."""


class BadSignatureError(SigningError):
    """The signature or the content digest does not verify."""


class OutdatedProtocolError(MalformedSignatureError):
    """The request is signed in the profile of an older protocol (update the kiosk)."""


class StaleRequestError(SigningError):
    """The request was created too far from now."""


class ReplayedRequestError(SigningError):
    """The request's nonce was used before."""


def content_digest(body: bytes) -> str:
    """The `Content-Digest` header value for `body`."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def _params(components: tuple[str, ...], created: int, key_id: str, nonce: str) -> str:
    listed = " ".join(f'"{name}"' for name in components)
    return (f'({listed});created={created};keyid="{key_id}";nonce="{nonce}";'
            f'alg="ed25519";tag="{PROFILE_TAG}"')


def _base(components: tuple[str, ...], values: Mapping[str, str], params: str) -> bytes:
    lines = [f'"{name}": {values[name]}' for name in components]
    return "\n".join([*lines, f'"@signature-params": {params}']).encode()


def _header_values(headers: Mapping[str, str] | Iterable[tuple[str, str]]
                   ) -> dict[str, list[str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        found.setdefault(name.lower(), []).append(value.strip())
    return found


def sign(method: str, path: str, body: bytes, key: ed25519.Ed25519PrivateKey, key_id: str,
         now: float | None = None, headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers that sign this request: its method, path and body, and every header of
    `headers` that HQ acts on (`SIGNED_HEADERS`)."""
    created = int(time.time() if now is None else now)
    nonce = secrets.token_urlsafe(24)
    digest = content_digest(body)
    present = {name.lower(): value.strip() for name, value in (headers or {}).items()}
    covered = tuple(name for name in SIGNED_HEADERS if name in present)
    components = (*COMPONENTS, *covered)
    values = {"@method": method.upper(), "@path": path, "content-digest": digest,
              **{name: present[name] for name in covered}}
    params = _params(components, created, key_id, nonce)
    signature = key.sign(_base(components, values, params))
    return {"Content-Digest": digest, "Signature-Input": f"{LABEL}={params}",
            "Signature": f"{LABEL}=:{base64.b64encode(signature).decode()}:"}


@dataclass(frozen=True)
class Verified:
    """Who signed a request, when, and with which nonce (HQ's receipt names it)."""

    key_id: str
    created: int
    nonce: str = ""


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


def _single(values: dict[str, list[str]], name: str) -> str:
    found = values.get(name)
    if not found:
        raise MalformedSignatureError(f"the {name} header is missing")
    if len(found) > 1:
        raise MalformedSignatureError(f"the {name} header is sent more than once")
    return found[0]


def verify(method: str, path: str, headers: Mapping[str, str] | Iterable[tuple[str, str]],
           body: bytes, public_key_for: Callable[[str], ed25519.Ed25519PublicKey | None],
           nonces: NonceCache, now: float | None = None) -> Verified:
    """Check a request's signature, digest, covered headers, time and nonce; return who
    signed it. `headers` are all of the request's headers (pairs, to see repeats)."""
    values = _header_values(headers)
    now = time.time() if now is None else now
    signature_input = _single(values, "signature-input")
    signature_match = _SIGNATURE.fullmatch(_single(values, "signature"))
    digest = _single(values, "content-digest")
    params_match = _PARAMS.fullmatch(signature_input)
    if params_match is None and _PROFILE_1.fullmatch(signature_input):
        raise OutdatedProtocolError(
            "this kiosk speaks sync protocol 1 and HQ speaks protocol 2 (signatures now cover "
            "the upload headers): update the kiosk's software")
    if not params_match or not signature_match or not _DIGEST.fullmatch(digest) \
            or params_match[5] != PROFILE_TAG:
        raise MalformedSignatureError("the signature headers are not of the kiosk's profile "
                                      f"(RFC 9421, ed25519, tag {PROFILE_TAG})")
    components = tuple(name.strip('"') for name in params_match[1].split(" "))
    expected = (*COMPONENTS, *(name for name in SIGNED_HEADERS if name in values))
    if components != expected:
        raise MalformedSignatureError(
            "the signature does not cover exactly the method, the path, the digest and the "
            f"request's headers among {', '.join(SIGNED_HEADERS)}")
    covered = {name: _single(values, name) for name in components[len(COMPONENTS):]}
    created, key_id, nonce = int(params_match[2]), params_match[3], params_match[4]
    if abs(now - created) > MAX_SKEW_SECONDS:
        raise StaleRequestError(f"the request was created {int(now - created)} s from now; "
                                f"at most {MAX_SKEW_SECONDS} s is accepted (check the clock)")
    if digest != content_digest(body):
        raise BadSignatureError("the body does not match its Content-Digest")
    public_key = public_key_for(key_id)
    if public_key is None:
        raise BadSignatureError(f"unknown or revoked device {key_id!r}")
    params = _params(components, created, key_id, nonce)
    base = _base(components, {"@method": method.upper(), "@path": path,
                              "content-digest": digest, **covered}, params)
    try:
        public_key.verify(base64.b64decode(signature_match[1]), base)
    except (InvalidSignature, ValueError):
        raise BadSignatureError("the signature does not verify") from None
    nonces.check_and_add(nonce, now)  # only after it verifies: forgeries cannot burn nonces
    return Verified(key_id, created, nonce)


# What HQ sends down (configuration, erasure orders, receipts) is signed by HQ's own Ed25519
# key, which the kiosk learned at enrollment. Each kind of document has its own context
# prefix, so a signature over one can never be passed off as another.
CONFIG_CONTEXT = b"interview-kiosk hq config v2\n"
RECEIPT_CONTEXT = b"interview-kiosk hq receipt v1\n"
RECEIPT_HEADERS = ("location", "upload-length", "upload-offset")


def verify_from_hq(context: bytes, body: bytes, signature: str,
                   hq_key: ed25519.Ed25519PublicKey) -> None:
    """Raise BadSignatureError unless HQ signed `body` under `context`."""
    try:
        hq_key.verify(base64.b64decode(signature, validate=True), context + body)
    except (InvalidSignature, ValueError):
        raise BadSignatureError("HQ's signature on what it sent does not verify") from None


def _receipt_message(nonce: str, status: int, headers: Mapping[str, str], body: bytes) -> bytes:
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    lines = [nonce, str(status), *(f"{name}: {lowered.get(name, '')}"
                                   for name in RECEIPT_HEADERS),
             hashlib.sha256(body).hexdigest()]
    return RECEIPT_CONTEXT + "\n".join(lines).encode()


def sign_receipt(key: ed25519.Ed25519PrivateKey, nonce: str, status: int,
                 headers: Mapping[str, str], body: bytes) -> str:
    """HQ's `Hq-Receipt` for its answer to the request that carried `nonce`: the status,
    the tus headers it answers with (`RECEIPT_HEADERS`) and the body."""
    return base64.b64encode(key.sign(_receipt_message(nonce, status, headers, body))).decode()


def verify_receipt(hq_key: ed25519.Ed25519PublicKey, receipt: str, nonce: str, status: int,
                   headers: Mapping[str, str], body: bytes) -> None:
    """Raise BadSignatureError unless HQ answered exactly this to the request with `nonce`."""
    verify_from_hq(b"", _receipt_message(nonce, status, headers, body), receipt, hq_key)


def request_nonce(signature_input: str) -> str:
    """The nonce of a Signature-Input header this module made."""
    found = re.search(r';nonce="([A-Za-z0-9_-]{16,64})";', signature_input)
    return found[1] if found else ""
