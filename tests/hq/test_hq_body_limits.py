"""Every body is limited while it streams: a real `kiosk-hq serve` process, real sockets.

The memory check sends 400 MB to the sign-in form and to kiosk routes, with no sign-in
and no signature, and reads the server's resident memory from /proc: its peak (VmHWM,
reset just before through /proc/PID/clear_refs where the kernel allows, else VmRSS sampled
every few milliseconds) may rise by less than 64 MiB over what it was before.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hq import accounts
from hq.dashboard import COOKIE
from hq.storage import HqStorage
from sync import protocol
from tests.hq.conftest import HqServer
from tests.hq.webclient import PASSWORD, signed_in

FLOOD = 400 * 1000 * 1000
FORM_LIMIT = 64 * 1024        # a dashboard form, as docs/dashboard.md says
SIGN_IN_LIMIT = 16 * 1024     # the sign-in form
ALLOWED_GROWTH_KIB = 64 * 1024
PIECE = b"x" * (1 << 20)


def status_of(head: bytes) -> int | None:
    found = re.match(rb"HTTP/1\.1 (\d{3})", head)
    return int(found[1]) if found else None


def read_answer(sock: socket.socket) -> bytes:
    received = bytearray()
    with contextlib.suppress(OSError):
        while chunk := sock.recv(1 << 16):
            received += chunk
    return bytes(received)


def flood(port: int, method: str, path: str, total: int, chunked: bool,
          headers: str = "") -> tuple[int | None, int]:
    """Send `total` bytes of body (chunked, or under a Content-Length) until the server
    stops taking them; return (the status it answered if one arrived, bytes sent)."""
    sent = 0
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}{framing}\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode())
        try:
            while sent < total:
                piece = PIECE[:min(len(PIECE), total - sent)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:          # the server closed the connection: it stopped reading
            pass
        return status_of(read_answer(sock)), sent


def memory_kib(pid: int) -> dict[str, int]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {key: int(value) for key, value in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB",
                                                          text, re.M)}


@contextlib.contextmanager
def peak_growth(pid: int) -> Iterator[list[int]]:
    """Yields a list that holds, after the block, how far resident memory rose (KiB)."""
    before = memory_kib(pid)["VmRSS"]
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")   # VmHWM := VmRSS from now on
        exact = True
    except OSError:
        exact = False
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            peak[0] = max(peak[0], memory_kib(pid)["VmRSS"])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result: list[int] = []
    try:
        yield result
    finally:
        stop.set()
        sampler.join()
        after = memory_kib(pid)
        top = max(peak[0], after["VmRSS"], after["VmHWM"] if exact else 0)
        result.append(top - before)


@dataclass
class Server:
    """A running HQ and an admin's session cookie for it."""

    hq: HqServer
    admin_cookie: str

    @property
    def port(self) -> int:
        return self.hq.port


@pytest.fixture
def hq_db(tmp_path: Path) -> str:
    """A body is limited while it streams, before any database sees it: SQLite only here
    (what HQ stores is tested on both SQLite and PostgreSQL, tests/hq/conftest.py)."""
    return f"sqlite:///{tmp_path / 'hq.sqlite3'}"


@pytest.fixture
def server(hq: HqServer) -> Server:
    storage = HqStorage(hq.db)
    try:
        accounts.add_user(storage, "asha", "admin", PASSWORD)
    finally:
        storage.dispose()
    admin = signed_in(hq.port, "asha")
    return Server(hq, f"Cookie: {COOKIE}={admin.cookies[COOKIE]}\r\n")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/login"),                                           # no sign-in needed
    ("POST", "/admin/users"),                                     # a signed-in form
    ("PUT", f"{protocol.ITEMS_PATH}/k-0000000000000000/session"),  # a kiosk's record
    ("PATCH", f"{protocol.UPLOADS_PATH}/0123456789abcdef"),      # a kiosk's upload chunk
])
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_400_mb_body_does_not_grow_hq(server: Server, method: str, path: str,
                                        chunked: bool) -> None:
    process = server.hq.process
    assert process is not None
    with peak_growth(process.pid) as growth:
        status, sent = flood(server.port, method, path, FLOOD, chunked, server.admin_cookie)
    print(f"{method} {path} {'chunked' if chunked else 'declared'}: HQ peak grew "
          f"{growth[0]} KiB; {sent} bytes sent before HQ stopped taking them")
    assert growth[0] < ALLOWED_GROWTH_KIB, (
        f"HQ grew by {growth[0] // 1024} MiB taking {sent // 1_000_000} MB of a body "
        f"sent to {path}")
    assert status in (413, None)        # None: the connection closed under the sender
    assert sent < FLOOD                 # HQ stopped taking the body long before its end
    assert process.poll() is None


def head_only(port: int, request: bytes) -> bytes:
    """Send a request's head (no body) and read what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        return read_answer(sock)


def test_an_over_limit_length_is_refused_before_the_body_is_sent(server: Server) -> None:
    for path, limit in (("/login", SIGN_IN_LIMIT), ("/admin/requests", FORM_LIMIT),
                        (f"{protocol.ITEMS_PATH}/x/session", protocol.MAX_RECORD_BYTES + 4096)):
        answer = head_only(server.port, (f"POST {path} HTTP/1.1\r\nHost: h\r\nContent-Length: "
                                         f"{limit + 1}\r\n\r\n").encode().replace(
            b"POST /v1/items", b"PUT /v1/items"))
        assert status_of(answer) == 413, answer[:200]
        assert b"connection: close" in answer.lower()
    api = head_only(server.port, b"PUT /v1/items/x/session HTTP/1.1\r\nHost: h\r\n"
                                 b"Content-Length: 99999999999\r\n\r\n")
    body = json.loads(api.partition(b"\r\n\r\n")[2])
    assert body["error"] == "too_large"
    page = head_only(server.port, b"POST /login HTTP/1.1\r\nHost: h\r\n"
                                  b"Content-Length: 99999999999\r\n\r\n")
    assert b"text/html" in page and b"at most" in page
    assert b"content-security-policy" in page.lower()


@pytest.mark.parametrize(("method", "path", "limit"), [
    ("POST", "/login", SIGN_IN_LIMIT),
    ("POST", "/admin/blind", FORM_LIMIT),
    ("PATCH", f"{protocol.UPLOADS_PATH}/0123456789abcdef", protocol.MAX_CHUNK_BYTES),
])
def test_each_route_takes_up_to_its_limit_and_not_a_byte_more(
        server: Server, method: str, path: str, limit: int) -> None:
    over, _ = flood(server.port, method, path, limit + 1, True, server.admin_cookie)
    assert over == 413
    at_limit, sent = flood(server.port, method, path, limit, True, server.admin_cookie)
    assert sent == limit and at_limit not in (413, 500, None)


def test_a_body_where_none_belongs_is_refused_or_left_unread(server: Server) -> None:
    for path in ("/", protocol.CONFIG_PATH, "/favicon.ico"):
        answer = head_only(server.port, f"GET {path} HTTP/1.1\r\nHost: h\r\n"
                                        f"Content-Length: 1\r\n\r\n".encode())
        assert status_of(answer) == 413
    # Sent chunked, a body the route never reads is not drained: HQ answers and closes.
    status, sent = flood(server.port, "GET", "/", FLOOD, True)
    assert status in (303, None) and sent < FLOOD


@pytest.mark.parametrize(("method", "path", "limit"), [
    ("PUT", "/v1/items/k-1/session", protocol.MAX_RECORD_BYTES + 4096),
    ("PUT", "/v1/items/new\nline", protocol.MAX_RECORD_BYTES + 4096),   # the router's 404
    ("PATCH", "/v1/uploads/a/b", protocol.MAX_CHUNK_BYTES),
    ("POST", "/v1/enroll", 4096), ("POST", "/v1/uploads", 0), ("POST", "/v1", 0),
    ("POST", "/v1/heartbeat", 16 * 1024), ("POST", "/v1/heartbeat/x", 0),
    ("POST", "/drives/d-0123456789/roster", 3 * 2 * 1024 * 1024 + 4096),
    ("POST", "/drives/d-0123456789/roster/x", FORM_LIMIT),
    ("PUT", "/v1/erasures/0123", 0), ("GET", "/v1/config", 0),
    ("POST", "/login", SIGN_IN_LIMIT), ("POST", "/admin/x\ny", FORM_LIMIT),
    ("GET", "/", 0), ("PUT", "/admin/users", 0), ("DELETE", "/v1/items/x", 0),
])
def test_each_route_has_its_limit_whatever_its_path_holds(method: str, path: str,
                                                          limit: int) -> None:
    from hq.bodylimit import limit_for

    assert limit_for(method, path) == limit
