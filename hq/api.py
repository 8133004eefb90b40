"""HQ's HTTP API for kiosks (FastAPI): enrollment, signed records, resumable uploads, config.

Every route but enrollment needs a request signed by an enrolled, unrevoked device
(`sync.signing`). Bodies are read with a hard size limit before anything else, signature
and nonce checks run off the event loop, and each device has its own rate limit. Refusals
are JSON `{"error": code, "message": sentence}` with these statuses:

    401 malformed_signature | outdated_protocol | bad_signature | unknown_device
        | stale_request | replayed_request
    403 revoked_device
    404 no_upload | no_order                409 offset_mismatch | item_conflict
    410 erased              412 tus_version  413 too_large   415 bad_content_type
    422 bad_request         429 rate_limited
    460 checksum_mismatch (tus: the finished file is not as declared)

Every 2xx answer to a signed request carries `Hq-Receipt`, HQ's signature over the
request's nonce and the answer (`sync.signing.sign_receipt`), so a kiosk believes only HQ
when it hears that something was stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hq import accounts, devices, ingest
from hq.audit import HqAudit
from hq.blobs import BlobStore
from hq.bodylimit import BodyLimit
from hq.config import config_document, sign_config
from hq.ratelimit import RateLimiter
from hq.storage import HqStorage
from kiosk.keys import UnlockedKeys
from sync import protocol, signing

access_log = logging.getLogger("hq.access")

_ITEM_SCHEMA = {"type": "object",
                "required": ["kind", "session_id", "meta", "sealed", "revision"],
                "properties": {"kind": {"enum": ["session", "transcript", "selfid"]},
                               "session_id": {"type": "string"},
                               "meta": {"type": "object"},
                               "sealed": {"type": "string", "format": "byte"},
                               "revision": {"type": "integer", "minimum": 1}}}
_STATE = {"enum": ["ok", "lost", "absent", "unknown"]}
_HEARTBEAT_SCHEMA = {   # the shape only: sync.heartbeat checks every value
    "type": "object", "additionalProperties": False,
    "required": ["sent_at", "app_version", "interview_id", "drive", "last_candidate_at",
                 "transcription_backlog", "outbox_backlog", "recording_minutes_left",
                 "camera", "camera_since", "microphone", "microphone_since", "last_error",
                 "recipient"],
    "properties": {"sent_at": {"type": "string"}, "app_version": {"type": "string"},
                   "interview_id": {"type": ["string", "null"]},
                   "drive": {"type": ["string", "null"]},
                   "last_candidate_at": {"type": ["string", "null"]},
                   "transcription_backlog": {"type": "integer", "minimum": 0},
                   "outbox_backlog": {"type": "integer", "minimum": 0},
                   "recording_minutes_left": {"type": ["integer", "null"], "minimum": 0},
                   "camera": _STATE, "camera_since": {"type": ["string", "null"]},
                   "microphone": _STATE, "microphone_since": {"type": ["string", "null"]},
                   "last_error": {"type": ["object", "null"]},
                   "recipient": {"type": "string"}}}
_ENROLL_SCHEMA = {"type": "object", "required": ["code", "name", "public_key"],
                  "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                 "public_key": {"type": "string", "format": "byte"}}}


class Refused(Exception):
    """A request HQ will not serve: carries the status and the stable error code."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


@dataclass
class HqContext:
    """Everything a request handler needs."""

    storage: HqStorage
    blobs: BlobStore
    uploads: ingest.Uploads
    keys: UnlockedKeys
    device_rate: float = 50.0
    device_burst: int = 200
    enroll_rate: float = 0.2
    session_ttl: timedelta = accounts.SESSION_TTL
    audit_head: Path | None = None
    secure_cookies: bool = True   # False only for `serve --plain-http` (a local trial)

    def __post_init__(self) -> None:
        self.audit = HqAudit(self.storage, self.audit_head)
        self.nonces = devices.DatabaseNonces(self.storage)
        self.device_limits = RateLimiter(self.device_rate, self.device_burst)
        self.enroll_limits = RateLimiter(self.enroll_rate, 10)


_SIGNING_ERRORS: dict[type[signing.SigningError], str] = {
    signing.MalformedSignatureError: "malformed_signature",
    signing.OutdatedProtocolError: "outdated_protocol",
    signing.BadSignatureError: "bad_signature",
    signing.StaleRequestError: "stale_request",
    signing.ReplayedRequestError: "replayed_request",
}


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not protocol.COUNT.fullmatch(declared)
                                 or int(declared) > limit):
        raise Refused(413, "too_large", f"the body may be at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Refused(413, "too_large", f"the body may be at most {limit} bytes")
    return bytes(body)


def _verify(ctx: HqContext, request: Request, body: bytes) -> str:
    """The id of the device that signed this request (blocking: run in a thread)."""

    signer: list[str] = []

    def key_for(device_id: str) -> ed25519.Ed25519PublicKey | None:
        found = devices.lookup(ctx.storage, device_id)
        if found is None:
            raise Refused(401, "unknown_device", "HQ does not know this kiosk; enroll it")
        key, revoked = found
        if revoked:
            raise Refused(403, "revoked_device", "this kiosk's enrollment was revoked")
        signer.append(device_id)
        return key

    class RateThenNonce:
        """Runs once the signature verified: the rate limit comes before the nonce is
        written, so a kiosk over its limit costs HQ no database write."""

        @staticmethod
        def check_and_add(nonce: str, now: float) -> None:
            if not ctx.device_limits.allow(signer[0]):
                raise Refused(429, "rate_limited", "too many requests from this kiosk; "
                              "slow down", {"Retry-After": "1"})
            ctx.nonces.check_and_add(nonce, now)

    try:
        verified = signing.verify(request.method, request.url.path, request.headers.items(),
                                  body, key_for, RateThenNonce)  # type: ignore[arg-type]
    except signing.SigningError as exc:
        raise Refused(401, _SIGNING_ERRORS.get(type(exc), "bad_signature"), str(exc)) from None
    request.state.device = verified.key_id
    request.state.nonce = verified.nonce
    return verified.key_id


async def _signed(ctx: HqContext, request: Request, limit: int) -> tuple[str, bytes]:
    body = await _body(request, limit)
    device = await run_in_threadpool(_verify, ctx, request, body)
    return device, body


def _tus(request: Request) -> None:
    """tus requests name the protocol version; HQ speaks only 1.0.0 (tus answers 412)."""
    if request.headers.get("tus-resumable") != protocol.TUS_VERSION:
        raise Refused(412, "tus_version", f"HQ speaks tus {protocol.TUS_VERSION} only",
                      {"Tus-Version": protocol.TUS_VERSION})


def _upload_id(value: str) -> str:
    if not protocol.UPLOAD_ID.fullmatch(value):
        raise ingest.UploadError("no such upload", 404, "no_upload")
    return value


def _receipted(ctx: HqContext, request: Request, response: Response) -> Response:
    """`response` with HQ's receipt for the signed request it answers."""
    response.headers["Hq-Receipt"] = signing.sign_receipt(
        ctx.keys.signing, request.state.nonce, response.status_code, response.headers,
        bytes(response.body))
    return response


def _tus_headers(upload: ingest.Upload) -> dict[str, str]:
    return {"Tus-Resumable": protocol.TUS_VERSION, "Upload-Offset": str(upload.received),
            "Upload-Length": str(upload.length), "Cache-Control": "no-store"}


def _refusal(status: int, code: str, message: str,
             headers: dict[str, str] | None = None) -> Response:
    return Response(protocol.error_body(code, message), status, headers,
                    media_type="application/json")


def create_app(ctx: HqContext) -> FastAPI:
    """The API application over `ctx`."""
    # No /docs or /redoc: they would serve pages loading scripts from a CDN on the
    # dashboard's origin. The schema itself stays (docs/sync-protocol.md says why).
    app = FastAPI(title="Interview Kiosk HQ", version="1", docs_url=None, redoc_url=None,
                  description="What kiosks send to HQ. See docs/sync-protocol.md.")
    app.state.ctx = ctx

    @app.exception_handler(Refused)
    async def _refused(_request: Request, exc: Refused) -> Response:
        return _refusal(exc.status, exc.code, str(exc), exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(protocol.API):
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "refused")
            return _refusal(exc.status_code, code, str(exc.detail))
        from hq.dashboard import page

        message = {404: "there is no such page", 405: "that page does not take this kind "
                   "of request"}.get(exc.status_code, str(exc.detail))
        return page("error.html", exc.status_code, message=message, code=exc.status_code)

    @app.exception_handler(protocol.ProtocolError)
    async def _malformed(_request: Request, exc: protocol.ProtocolError) -> Response:
        return _refusal(422, "bad_request", str(exc))

    @app.exception_handler(ingest.UploadError)
    async def _upload(_request: Request, exc: ingest.UploadError) -> Response:
        return _refusal(exc.status, exc.code, str(exc), {"Tus-Resumable": protocol.TUS_VERSION})

    @app.post(protocol.ENROLL_PATH, status_code=201, summary="Enroll a kiosk with a code",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": _ENROLL_SCHEMA}}}})
    async def enroll(request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        if not ctx.enroll_limits.allow(client):
            raise Refused(429, "rate_limited", "too many enrollment attempts; wait a minute",
                          {"Retry-After": "10"})
        parsed = protocol.parse_enroll_request(await _body(request, 4096))
        try:
            device_id = await run_in_threadpool(devices.enroll, ctx.storage, parsed)
        except devices.EnrollmentError as exc:
            raise Refused(403, "bad_enroll_code", str(exc)) from None
        await run_in_threadpool(ctx.audit.record, "device.enrolled", "kiosk",
                                {"device_id": device_id})
        return Response(protocol.dumps({
            "device_id": device_id,
            "hq_recipient": ctx.keys.identity.recipient.to_text(),
            "hq_signing_key": base64.b64encode(
                ctx.keys.signing.public_key().public_bytes_raw()).decode()}), 201,
            media_type="application/json")

    @app.put(protocol.ITEMS_PATH + "/{item_id:path}", summary="Store a record, idempotently",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": _ITEM_SCHEMA}}}})
    async def put_item(item_id: str, request: Request) -> Response:
        body = await _body(request, protocol.MAX_RECORD_BODY)

        def verify_and_store() -> str:  # one trip to a worker thread, not two
            device = _verify(ctx, request, body)
            return ingest.store_record(ctx.storage, device,
                                       protocol.parse_record(item_id, body))

        stored = await run_in_threadpool(verify_and_store)
        return _receipted(ctx, request, Response(
            protocol.dumps({"stored": stored}), 201 if stored == "new" else 200,
            media_type="application/json"))

    @app.get(protocol.CONFIG_PATH, summary="Interview templates assigned to kiosks")
    async def get_config(request: Request) -> Response:
        device, _ = await _signed(ctx, request, 0)
        await run_in_threadpool(devices.touch, ctx.storage, device)
        body = await run_in_threadpool(config_document, ctx.storage, device,
                                       ctx.keys.identity)
        return _receipted(ctx, request, Response(
            body, 200, {"Hq-Signature": sign_config(ctx.keys.signing, body)},
            media_type="application/json"))

    @app.post(protocol.HEARTBEAT_PATH, summary="A kiosk reports its health (each sync pass)",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": _HEARTBEAT_SCHEMA}}}})
    async def heartbeat(request: Request) -> Response:
        from hq.fleet import record_heartbeat
        from sync.heartbeat import MAX_BODY, parse_heartbeat

        device, body = await _signed(ctx, request, MAX_BODY)
        received = await run_in_threadpool(record_heartbeat, ctx.storage, device,
                                           parse_heartbeat(body))
        return _receipted(ctx, request, Response(
            protocol.dumps({"received": received}), 200, media_type="application/json"))

    @app.put(protocol.ERASURES_PATH + "/{order_id}", summary="A kiosk confirms an erasure")
    async def confirm_erasure(order_id: str, request: Request) -> Response:
        device, _ = await _signed(ctx, request, 0)
        from hq.privacy import confirm_order

        if not protocol.ORDER_ID.fullmatch(order_id) or not await run_in_threadpool(
                confirm_order, ctx.storage, device, order_id):
            raise Refused(404, "no_order", "this kiosk has no such erasure order")
        return _receipted(ctx, request, Response(
            protocol.dumps({"confirmed": order_id}), 200, media_type="application/json"))

    @app.exception_handler(ingest.ErasedError)
    async def _erased(_request: Request, exc: ingest.ErasedError) -> Response:
        return _refusal(410, "erased", str(exc))

    @app.exception_handler(ingest.ItemConflictError)
    async def _conflict(_request: Request, exc: ingest.ItemConflictError) -> Response:
        return _refusal(409, "item_conflict", str(exc))

    @app.options(protocol.UPLOADS_PATH, summary="tus capabilities")
    async def tus_options() -> Response:
        return Response(status_code=204, headers={
            "Tus-Resumable": protocol.TUS_VERSION, "Tus-Version": protocol.TUS_VERSION,
            "Tus-Extension": "creation,checksum", "Tus-Checksum-Algorithm": "sha256",
            "Tus-Max-Size": str(protocol.MAX_RECORDING_BYTES)})

    @app.post(protocol.UPLOADS_PATH, status_code=201, summary="Create (or find) an upload")
    async def create_upload(request: Request) -> Response:
        device, _ = await _signed(ctx, request, 0)
        _tus(request)
        asked = protocol.parse_upload_request(request.headers.get("upload-length", ""),
                                              request.headers.get("upload-metadata", ""))
        upload = await run_in_threadpool(ctx.uploads.create, device, asked)
        return _receipted(ctx, request, Response(status_code=201, headers={
            **_tus_headers(upload), "Location": f"{protocol.UPLOADS_PATH}/{upload.upload_id}"}))

    @app.head(protocol.UPLOADS_PATH + "/{upload}", summary="How much of an upload HQ has")
    async def upload_offset(upload: str, request: Request) -> Response:
        device, _ = await _signed(ctx, request, 0)
        _tus(request)
        found = await run_in_threadpool(ctx.uploads.get, device, _upload_id(upload))
        return _receipted(ctx, request, Response(status_code=200, headers=_tus_headers(found)))

    @app.patch(protocol.UPLOADS_PATH + "/{upload}", summary="Append a chunk to an upload")
    async def upload_chunk(upload: str, request: Request) -> Response:
        device, body = await _signed(ctx, request, protocol.MAX_CHUNK_BYTES)
        _tus(request)
        _upload_id(upload)
        if request.headers.get("content-type") != "application/offset+octet-stream":
            raise Refused(415, "bad_content_type",
                          "a chunk is sent as application/offset+octet-stream")
        offset = protocol.count(request.headers.get("upload-offset", ""), "Upload-Offset")
        checksum = request.headers.get("upload-checksum")
        if checksum is not None:
            algorithm, _, value = checksum.partition(" ")
            if algorithm != "sha256":
                raise Refused(400, "bad_checksum_algorithm", "tus checksums here are sha256")
            if value != base64.b64encode(hashlib.sha256(body).digest()).decode():
                raise Refused(460, "checksum_mismatch", "the chunk does not match its checksum")
        found = await run_in_threadpool(ctx.uploads.append, device, upload, offset, body)
        return _receipted(ctx, request, Response(status_code=204, headers=_tus_headers(found)))

    from hq import dashboard

    dashboard.register(app, ctx)
    app.add_middleware(BodyLimit, refusal=_body_refusal)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    return app


def _body_refusal(path: str, status: int, message: str) -> tuple[list[tuple[bytes, bytes]],
                                                                  bytes]:
    """A refusal made before routing: JSON for the kiosk API, a page for the dashboard."""
    if path.startswith(protocol.API + "/") or path == protocol.API:
        code = "too_large" if status == 413 else "bad_request"
        return ([(b"content-type", b"application/json")],
                protocol.error_body(code, message))
    from hq.dashboard import error_page

    return error_page(status, message)


class SecurityHeaders:
    """Every answer is `nosniff`, and one that set no policy of its own (JSON, a refusal,
    a static file) gets a policy that lets it run nothing and be framed nowhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy",
                                    b"default-src 'none'; frame-ancestors 'none'"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class AccessLog:
    """One JSON line per request: method, route template, status, device, time. Never a
    path's ids, a body or a header (a plain ASGI wrapper: cheaper than BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def remember(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember)
        finally:
            route = scope.get("route")
            state = scope.get("state") or {}
            access_log.info(json.dumps({
                "event": "hq.request", "method": scope["method"],
                "route": getattr(route, "path", "unmatched"), "status": status[0],
                "device": state.get("device"),
                "ms": round((time.perf_counter() - started) * 1000, 1)}))
