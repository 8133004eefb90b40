"""HQ behind a proxy, and its cookies: a real `kiosk-hq serve` process on loopback.

Forwarded headers are believed only from addresses named with `--trusted-proxy`; by
default from no one, loopback included, so rotating `X-Forwarded-For` buys no fresh
sign-in or enrollment allowance. The session cookie is `Secure` by default, whatever the
Host header says; `--plain-http` alone drops it, for a trial on one machine.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from hq import accounts
from hq.storage import HqStorage
from sync import protocol
from tests.hq.conftest import HQ_PASSPHRASE, HqServer
from tests.hq.webclient import PASSWORD, WebClient

ENROLL_BURST = 10   # enrollment attempts one address may make at once


def start(tmp_path: Path, *extra: str) -> HqServer:
    directory = tmp_path / "hq"
    directory.mkdir()
    secret = tmp_path / "hq-passphrase"
    secret.write_text(HQ_PASSPHRASE)
    server = HqServer(directory, f"sqlite:///{tmp_path / 'hq.sqlite3'}", secret, extra=extra)
    server.cli("init", "--passphrase-file", str(secret))
    storage = HqStorage(server.db)
    try:
        accounts.add_user(storage, "ravi", "recruiter", PASSWORD)
    finally:
        storage.dispose()
    server.start()
    return server


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[HqServer]:
    server = start(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[HqServer]:
    server = start(tmp_path, "--trusted-proxy", "127.0.0.1", "--trusted-proxy", "::1")
    yield server
    server.stop()


def wrong_password(client: WebClient, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    token = client.csrf("/login")
    return client.post("/login", {"csrf": token, "name": "ravi", "password": "guess " * 3},
                       headers).status


def test_rotating_x_forwarded_for_does_not_escape_the_sign_in_limit(plain: HqServer) -> None:
    client = WebClient(plain.port)
    answers = [wrong_password(client, f"198.51.100.{n}") for n in range(1, 8)]
    assert answers[:5] == [303] * 5 and 429 in answers[5:], answers
    # The right password is turned away too while the account is slowed from here.
    token = client.csrf("/login")
    assert client.post("/login", {"csrf": token, "name": "ravi", "password": PASSWORD},
                       {"X-Forwarded-For": "198.51.100.99"}).status == 429


def enroll_attempt(server: HqServer, forwarded_for: str) -> int:
    body = protocol.dumps({"code": "AAAA-BBBB-CCCC-DDDD", "name": "Kiosk", "public_key":
                           base64.b64encode(ed25519.Ed25519PrivateKey.generate().public_key()
                                            .public_bytes_raw()).decode()})
    return WebClient(server.port).request("POST", protocol.ENROLL_PATH, body, {
        "Content-Type": "application/json", "X-Forwarded-For": forwarded_for}).status


def test_rotating_x_forwarded_for_does_not_escape_the_enrollment_limit(
        plain: HqServer) -> None:
    answers = [enroll_attempt(plain, f"203.0.113.{n}") for n in range(ENROLL_BURST + 2)]
    assert answers[:ENROLL_BURST] == [403] * ENROLL_BURST and answers[-1] == 429, answers


def test_a_trusted_proxy_names_each_client(proxied: HqServer) -> None:
    client = WebClient(proxied.port)
    assert [wrong_password(client, "198.51.100.7") for _ in range(7)][-1] == 429
    # Another client behind the same proxy is not slowed by the first one's guessing.
    assert wrong_password(client, "198.51.100.8") == 303
    token = client.csrf("/login")
    assert client.post("/login", {"csrf": token, "name": "ravi", "password": PASSWORD},
                       {"X-Forwarded-For": "198.51.100.8"}).status == 303
    # The proxy's own chain: the client is the last address the proxy did not add.
    answers = [enroll_attempt(proxied, "203.0.113.9, 127.0.0.1") for _ in
               range(ENROLL_BURST + 1)]
    assert answers[-1] == 429 and enroll_attempt(proxied, "203.0.113.10") == 403


def cookie_lines(server: HqServer, host: str) -> list[str]:
    client = WebClient(server.port)
    client.get("/login", {"Host": host})
    client.sign_in("ravi")
    return client.set_cookie_lines


@pytest.mark.parametrize("host", ["127.0.0.1:8750", "localhost", "hq.example.org"])
def test_the_cookies_are_secure_whatever_the_host_header(plain: HqServer, host: str) -> None:
    lines = cookie_lines(plain, host)
    assert {line.split("=")[0] for line in lines} >= {"ik_login", "ik_session"}
    for line in lines:
        flags = {part.strip().lower() for part in line.split(";")}
        if "max-age=0" in flags or '=""' in line:
            continue                  # a deletion carries nothing to protect
        assert {"secure", "httponly", "samesite=strict"} <= flags, line


def test_plain_http_is_an_explicit_choice_and_says_so(tmp_path: Path) -> None:
    server = start(tmp_path, "--plain-http")
    try:
        lines = cookie_lines(server, "127.0.0.1")
        session = next(line for line in lines if line.startswith("ik_session="))
        assert "secure" not in session.lower() and "httponly" in session.lower()
        assert "--plain-http" in (server.data_dir / "server.log").read_text()
    finally:
        server.stop()


def test_a_trusted_proxy_must_be_an_address(tmp_path: Path) -> None:
    server = HqServer(tmp_path, f"sqlite:///{tmp_path / 'hq.sqlite3'}", tmp_path / "none")
    result = server.cli("serve", "--trusted-proxy", "nginx.local", check=False)
    assert result.returncode == 2 and "--trusted-proxy" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
