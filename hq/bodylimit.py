"""Every request body is limited while it streams, before anything buffers it.

`BodyLimit` wraps the whole HQ application (kiosk API and dashboard alike). It looks up the
route's limit from the method and path alone, so it runs before routing, signatures or
sign-in: an over-limit `Content-Length` is answered 413 at once, without reading a byte,
and a body sent without one (chunked) is counted as it arrives and cut off at the first
byte past the limit. A handler reading the body therefore never holds more than its
route's limit, whoever sends it. The 413 closes the connection, and so does any answer
given before the body was read (a redirect to sign in), so a client still pushing a huge
body is not drained for nothing.

The limits, largest first: a tus PATCH carries one chunk of a recording; a record is one
sealed scorecard or transcript; a pasted drive roster is a roster file; a heartbeat is a
kiosk's short health report; any other dashboard form is a review with its note at most; the
sign-in form is a name and a password; every other request has no body at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hq.roster import MAX_FILE_BYTES
from sync import protocol

FORM_LIMIT = 64 * 1024          # a review: five levels, a decision, a 5,000-character note
SIGN_IN_LIMIT = 16 * 1024       # a name and a (long) passphrase
RECORD_LIMIT = protocol.MAX_RECORD_BYTES + 4096   # the sealed record and its JSON envelope
ENROLL_LIMIT = 4096
HEARTBEAT_LIMIT = 16 * 1024     # a kiosk's health report (sync.heartbeat.MAX_BODY)
# A pasted roster: its file's limit, percent-encoded (three bytes for each one at worst).
ROSTER_FORM_LIMIT = 3 * MAX_FILE_BYTES + 4096

# Matched against the decoded path before routing, so a pattern covers everything under its
# prefix (a path may hold any character, newlines included): which of those paths exist
# is the router's business, answered with 404 after the body's limit was kept.
_LIMITS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("PATCH", re.compile(re.escape(protocol.UPLOADS_PATH) + "/.*", re.S),
     protocol.MAX_CHUNK_BYTES),
    ("PUT", re.compile(re.escape(protocol.ITEMS_PATH) + "/.*", re.S), RECORD_LIMIT),
    ("POST", re.compile(re.escape(protocol.ENROLL_PATH)), ENROLL_LIMIT),
    ("POST", re.compile(re.escape(protocol.HEARTBEAT_PATH)), HEARTBEAT_LIMIT),
    ("POST", re.compile("/login"), SIGN_IN_LIMIT),
    ("POST", re.compile(r"/drives/[^/]{1,40}/roster"), ROSTER_FORM_LIMIT),
    # Every dashboard form (the API's own POSTs are listed above or carry no body).
    ("POST", re.compile(r"/(?!v1(?:/|$)).*", re.S), FORM_LIMIT),
)
_LENGTH = re.compile(r"[0-9]{1,19}")

Refusal = Callable[[str, int, str], tuple[list[tuple[bytes, bytes]], bytes]]
"""(path, status, message) -> (headers, body): how the route's part of HQ says no."""


def limit_for(method: str, path: str) -> int:
    """The most bytes of body a request to `path` may carry (0: none at all)."""
    for route_method, pattern, limit in _LIMITS:
        if method == route_method and pattern.fullmatch(path):
            return limit
    return 0


class BodyTooLargeError(Exception):
    """Raised into the application from `receive` when the body passes its limit."""


class BodyLimit:
    """ASGI middleware: 413 for a body over its route's limit, declared or streamed."""

    def __init__(self, app: ASGIApp, refusal: Refusal) -> None:
        self.app = app
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = limit_for(scope["method"], path)
        declared = [value for name, value in scope["headers"] if name == b"content-length"]
        if declared:
            text = declared[0].decode("latin-1")
            if len(declared) > 1 or not _LENGTH.fullmatch(text):
                await self._refuse(send, path, 400, "the Content-Length header is malformed")
                return
            if int(text) > limit:
                await self._refuse(send, path, 413, _too_large(limit))
                return
        received = 0
        exceeded = False
        started = False
        # A body is coming unless the head says there is none.
        unread = bool(declared and declared[0] != b"0") or any(
            name == b"transfer-encoding" for name, _ in scope["headers"])

        async def counted() -> Message:
            nonlocal received, exceeded, unread
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLargeError(_too_large(limit))
                unread = unread and message.get("more_body", False)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if unread:
                    # Answered without reading the body (a redirect to sign in, a 404):
                    # close rather than let the server drain whatever the client still sends.
                    message = {**message, "headers": [
                        *message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            # The application may wrap our exception (a task group's ExceptionGroup), so the
            # flag, not the exception's type, says whether this was the limit.
            if not exceeded:
                raise
            if not started:
                await self._refuse(send, path, 413, _too_large(limit))
            # Else the response was already under way: the server ends the connection.

    async def _refuse(self, send: Send, path: str, status: int, message: str) -> None:
        headers, body = self.refusal(path, status, message)
        await send({"type": "http.response.start", "status": status, "headers": [
            *headers, (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _too_large(limit: int) -> str:
    if limit == 0:
        return "this request takes no body"
    return f"the body may be at most {limit} bytes"
