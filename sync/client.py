"""The kiosk's HTTP client for HQ: signed requests, records, resumable uploads (tus 1.0).

Every request but enrollment is signed with the device key (`sync.signing`). Failures are
sorted by what the caller should do about them:

    SyncError                   talking to HQ did not work
    ├── TransientSyncError      try again later (backoff): HQ unreachable, busy or failing
    │   ├── HqUnreachableError  no connection, a dropped connection, a timeout
    │   ├── HqBusyError         HQ answered 429 or 5xx (retry_after when it said)
    │   └── UnverifiedAnswerError  a success without HQ's valid receipt (altered on the way)
    ├── HqRefusedError          HQ refuses this device or request (401/403): needs staff
    └── HqRejectedError         HQ refuses this item (4xx): retrying the same bytes won't help

Every success HQ answers carries a receipt signed with HQ's key over the request's nonce
and the answer (`sync.signing.verify_receipt`). Given HQ's key, the client believes no
success without one, so nobody between kiosk and HQ can make the kiosk think an item was
stored (and later let retention delete the only copy).

Uploads follow tus 1.0 (core, creation and checksum), written here rather than with
`tuspy` because every PATCH must carry its own signature over its own chunk's digest,
which tuspy's fixed per-client headers cannot express. Creation is idempotent: the upload
for one item is the same upload however often it is created, so a kiosk that crashed
before it learned the upload's address simply creates it again and resumes.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import ssl
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from sync import protocol
from sync.signing import SigningError, request_nonce, sign, verify_receipt

DEFAULT_TIMEOUT = 30.0
DEFAULT_CHUNK = 1024 * 1024
USER_AGENT = "interview-kiosk-sync/1"


class SyncError(Exception):
    """Talking to HQ did not work."""


class TransientSyncError(SyncError):
    """Worth trying again later."""

    retry_after: float | None = None


class HqUnreachableError(TransientSyncError):
    """No connection to HQ, or it dropped, or it timed out."""


class HqBusyError(TransientSyncError):
    """HQ answered that it is overloaded or failing."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnverifiedAnswerError(TransientSyncError):
    """HQ's success answer has no valid receipt: it was altered on the way, or is not
    HQ's. Nothing is marked sent; the next pass tries again."""


class HqRefusedError(SyncError):
    """HQ refuses this device or this request's signature; staff must act."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class HqRejectedError(SyncError):
    """HQ refuses this item; sending the same bytes again will not help."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Response:
    """What HQ answered."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def _hq_message(body: bytes, fallback: str) -> tuple[str, str]:
    try:
        doc = protocol.loads(body, limit=64 * 1024)
        return str(doc.get("error", "unknown")), str(doc.get("message", fallback))[:300]
    except protocol.ProtocolError:
        return "unknown", fallback


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class HqConnection:
    """One kept-alive HTTP(S) connection to HQ's base URL."""

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"HQ's address must be an http:// or https:// URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout,
                    context=ssl.create_default_context())
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port,
                                                        timeout=self._timeout)
        return self._conn

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def path(self, path: str) -> str:
        """The full request path for a protocol path (HQ may live under a prefix)."""
        return self._prefix + path

    def request(self, method: str, path: str, body: bytes = b"",
                headers: Mapping[str, str] | None = None) -> Response:
        """Send one request; network trouble becomes HqUnreachableError."""
        all_headers = {"User-Agent": USER_AGENT, "Content-Length": str(len(body)),
                       **(headers or {})}
        try:
            conn = self._connection()
            conn.request(method, path, body=body, headers=all_headers)
            answer = conn.getresponse()
            data = answer.read()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            self.close()
            raise HqUnreachableError(f"cannot reach HQ at {self.base_url} "
                                     f"({type(exc).__name__})") from exc
        if answer.getheader("Connection", "").lower() == "close":
            self.close()
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data)


def check(response: Response, what: str) -> Response:
    """`response` if it is a success; otherwise the matching SyncError."""
    if response.status < 300:
        return response
    code, message = _hq_message(response.body, f"HQ answered {response.status}")
    if response.status == 429 or response.status >= 500:
        raise HqBusyError(f"{what}: HQ is busy or failing ({response.status}: {message})",
                          _retry_after(response.headers.get("retry-after")))
    if response.status in (401, 403):
        raise HqRefusedError(f"{what}: HQ refused this kiosk ({message})", code)
    raise HqRejectedError(f"{what}: HQ rejected it ({message})", code)


def enroll(base_url: str, code: str, name: str,
           public_key: ed25519.Ed25519PublicKey) -> protocol.Enrollment:
    """Present a one-time enrollment code and this kiosk's public key; learn who we are."""
    conn = HqConnection(base_url)
    try:
        body = protocol.dumps({"code": code, "name": name, "public_key": base64.b64encode(
            public_key.public_bytes_raw()).decode()})
        response = check(conn.request("POST", conn.path(protocol.ENROLL_PATH), body,
                                      {"Content-Type": "application/json"}), "enrollment")
    finally:
        conn.close()
    try:
        return protocol.parse_enrollment(response.body)
    except protocol.ProtocolError as exc:
        raise HqRejectedError(f"HQ's enrollment answer is malformed ({exc})",
                              "bad_answer") from None


class HqClient:
    """Signed requests from one enrolled kiosk."""

    def __init__(self, base_url: str, device_id: str, key: ed25519.Ed25519PrivateKey,
                 timeout: float = DEFAULT_TIMEOUT,
                 clock: Callable[[], float] | None = None,
                 hq_key: ed25519.Ed25519PublicKey | None = None) -> None:
        self.connection = HqConnection(base_url, timeout)
        self.device_id = device_id
        self._key = key
        self._clock = clock
        self._hq_key = hq_key  # with it, every success must carry HQ's receipt

    def close(self) -> None:
        """Drop the connection."""
        self.connection.close()

    def __enter__(self) -> HqClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def signed(self, method: str, path: str, body: bytes = b"",
               headers: Mapping[str, str] | None = None) -> Response:
        """One request signed with the device key (fresh nonce and time every attempt),
        covering the headers HQ acts on; a success is checked against HQ's receipt."""
        full = self.connection.path(path)
        now = self._clock() if self._clock else None
        signature = sign(method, full, body, self._key, self.device_id, now=now,
                         headers=headers)
        response = self.connection.request(method, full, body,
                                           {**(headers or {}), **signature})
        if self._hq_key is not None and response.status < 300:
            try:
                verify_receipt(self._hq_key, response.headers.get("hq-receipt", ""),
                               request_nonce(signature["Signature-Input"]), response.status,
                               response.headers, response.body)
            except SigningError:
                self.connection.close()
                raise UnverifiedAnswerError("HQ's answer did not carry HQ's valid receipt "
                                            "(was it altered on the way?); nothing was "
                                            "marked sent") from None
        return response

    def put_record(self, record: protocol.Record) -> str:
        """Send a record; HQ's answer says whether it was new, a revision, already there,
        or stale (HQ holds a newer revision: nothing to do either)."""
        response = check(self.signed("PUT", f"{protocol.ITEMS_PATH}/{record.item_id}",
                                     protocol.record_body(record),
                                     {"Content-Type": "application/json"}),
                         f"sending {record.kind}")
        try:
            return protocol.parse_stored(response.body)
        except protocol.ProtocolError as exc:
            raise HqRejectedError(f"HQ's answer is malformed ({exc})", "bad_answer") from None

    def config(self) -> tuple[bytes, str]:
        """HQ's configuration document (templates) and HQ's signature over it."""
        response = check(self.signed("GET", protocol.CONFIG_PATH), "fetching configuration")
        return response.body, response.headers.get("hq-signature", "")

    def heartbeat(self, body: bytes) -> None:
        """Send a heartbeat (`sync.heartbeat.heartbeat_body`); HQ keeps the latest."""
        check(self.signed("POST", protocol.HEARTBEAT_PATH, body,
                          {"Content-Type": "application/json"}), "sending a heartbeat")

    def confirm_erasure(self, order_id: str) -> None:
        """Tell HQ an erasure order was carried out."""
        check(self.signed("PUT", f"{protocol.ERASURES_PATH}/{order_id}"),
              "confirming an erasure")

    def upload(self, item: str, session_id: str, meta: Mapping[str, Any], path: Path,
               chunk_size: int = DEFAULT_CHUNK,
               progress: Callable[[int, int], None] | None = None) -> int:
        """Upload a file resumably; return the offset it resumed from (0 for a fresh one).

        Returns only after HQ has verified the whole file's SHA-256 and stored it durably.
        """
        size = meta["size"]
        create = check(self.signed("POST", protocol.UPLOADS_PATH, b"", {
            "Tus-Resumable": protocol.TUS_VERSION, "Upload-Length": str(size),
            "Upload-Metadata": protocol.tus_metadata({
                "item_id": item, "session_id": session_id,
                "meta": protocol.dumps(meta).decode()})}), "starting an upload")
        location = create.headers.get("location", "")
        if not location.startswith(self.connection.path(protocol.UPLOADS_PATH) + "/"):
            raise HqRejectedError("HQ's upload address is malformed", "bad_answer")
        upload_path = location[len(self.connection.path("")):]
        offset = self._offset(upload_path, size)
        resumed_from = offset
        with open(path, "rb") as source:
            while offset < size:
                source.seek(offset)
                chunk = source.read(min(chunk_size, protocol.MAX_CHUNK_BYTES))
                if not chunk:
                    raise HqRejectedError("the file is shorter than its recorded size",
                                          "short_file")
                checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
                response = self.signed("PATCH", upload_path, chunk, {
                    "Tus-Resumable": protocol.TUS_VERSION, "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Checksum": f"sha256 {checksum}"})
                if response.status == 409:  # HQ has a different offset: ask, then go on
                    offset = self._offset(upload_path, size)
                    continue
                check(response, "uploading a recording")
                offset = self._answered_offset(response, size)
                if progress:
                    progress(offset, size)
        return resumed_from

    def _offset(self, upload_path: str, size: int) -> int:
        response = check(self.signed("HEAD", upload_path, b"",
                                     {"Tus-Resumable": protocol.TUS_VERSION}),
                         "asking how much HQ has")
        return self._answered_offset(response, size)

    @staticmethod
    def _answered_offset(response: Response, size: int) -> int:
        """HQ's Upload-Offset: ASCII digits, 0 to the file's size."""
        try:
            offset = protocol.count(response.headers.get("upload-offset", ""), "Upload-Offset")
        except protocol.ProtocolError:
            offset = -1
        if not 0 <= offset <= size:
            raise HqRejectedError("HQ did not say how much of the upload it has",
                                  "bad_answer")
        return offset


def file_sha256(path: Path) -> tuple[int, str]:
    """Size and SHA-256 (hex) of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(1024 * 1024):
            digest.update(block)
    return os.path.getsize(path), digest.hexdigest()
