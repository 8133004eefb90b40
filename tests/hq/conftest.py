"""A real HQ (`kiosk-hq serve` under Uvicorn, in its own process, on loopback) and real kiosks.

`hq_db` runs each HQ test twice: on a SQLite file and on the PostgreSQL at 127.0.0.1:5432
(database `test`, a fresh schema per test). Where no PostgreSQL answers, the PostgreSQL runs
skip with the reason; the SQLite runs always run.

`hq` is a fresh HQ per test (seconds each: two processes start, keys are made and unlocked).
`shared_hq` is one HQ per module and backend, for tests that each enroll their own device
(`HqServer.enroll_device`) and look only at what that device sent: refusals, pages of its
own sessions. A test that counts or lists HQ-wide, or runs a job over every session
(retention, reports), takes `hq`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from hq import devices
from hq import server as server_module
from hq.storage import HqStorage
from kiosk import keys
from kiosk.store import Store
from kiosk.templates import InterviewTemplate, find_template, parse_template
from kiosk.uplink import enrollment
from kiosk.vault import Recipient, create
from sync.protocol import EnrollRequest

PG_ADMIN_URL = os.environ.get("KIOSK_TEST_PG", "postgresql://127.0.0.1:5432/test")
HQ_PASSPHRASE = "hq admin test passphrase"
KIOSK_PASSPHRASE = "kiosk sync test passphrase"
FAST = keys.KdfParams(memory_kib=8 * 1024, iterations=1, lanes=1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _postgres_schema_url() -> Iterator[str]:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the hq extra brings it
        pytest.skip(f"PostgreSQL run SKIPPED: psycopg is not installed ({exc})")
    plain = PG_ADMIN_URL
    try:
        admin = psycopg.connect(plain, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL run SKIPPED: no server at {plain} ({exc}); the same tests "
                    f"ran on SQLite")
    schema = f"hq_test_{secrets.token_hex(6)}"
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{plain}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def hq_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for one HQ: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hq.sqlite3'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_hq_db(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`hq_db` for a module's one HQ: both backends still run, one after the other."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('shared-hq') / 'hq.sqlite3'}"
    else:
        yield from _postgres_schema_url()


@dataclass
class HqServer:
    """One HQ: its data directory, database, and (while running) its server process."""

    data_dir: Path
    db: str
    passphrase_file: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `kiosk-hq` on this HQ's data."""
        result = subprocess.run(
            [sys.executable, "-m", "hq.cli", "--data-dir", str(self.data_dir), "--db", self.db,
             *args], capture_output=True, text=True, timeout=600, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"kiosk-hq {' '.join(args)} failed: {result.stderr}")
        return result

    def start(self) -> None:
        """Serve on this HQ's port; return when it accepts connections."""
        with open(self.data_dir / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hq.cli", "--data-dir", str(self.data_dir), "--db",
                 self.db, "serve", "--port", str(self.port), "--passphrase-file",
                 str(self.passphrase_file), *self.extra],
                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 600  # a hang guard: a busy machine is waited for
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("HQ exited: "
                                     + (self.data_dir / "server.log").read_text()[-2000:])
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.1)
        raise AssertionError("HQ did not start listening within 600 s")

    def kill(self) -> None:
        """SIGKILL: no goodbye, no flush beyond what was already fsynced."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None

    def enroll_code(self) -> str:
        return self.cli("enroll-code").stdout.strip()

    def sessions(self, device_id: str | None = None) -> list[dict[str, object]]:
        """Every session HQ holds, or (on a shared HQ) those of one device."""
        result: list[dict[str, object]] = json.loads(self.cli("sessions", "list",
                                                              "--json").stdout)
        return [row for row in result if device_id in (None, row["device_id"])]

    def enroll_device(self, key: ed25519.Ed25519PrivateKey, name: str = "Test kiosk") -> str:
        """Enroll `key` as a new device, as `kiosk-hq enroll-code` and POST /enroll do, but in
        this process: a shared HQ's enrollment limit (ten at once per address) would refuse
        a module of kiosks enrolling over HTTP. Returns the device id."""
        storage = HqStorage(self.db)
        try:
            code, _ = devices.new_enroll_code(storage)
            return devices.enroll(storage, EnrollRequest(
                code, name, key.public_key().public_bytes_raw()))
        finally:
            storage.dispose()

    def recipient(self) -> Recipient:
        """HQ's public vault recipient (what enrollment hands a kiosk)."""
        return keys.load_public(self.data_dir).recipient

    def log(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in (self.data_dir / "server.log").read_text()
                .splitlines() if line.startswith("{")]


def _running_hq(root: Path, db: str, cli_init: bool) -> Iterator[HqServer]:
    directory = root / "hq"
    directory.mkdir()
    secret = root / "hq-passphrase"
    secret.write_text(HQ_PASSPHRASE)
    server = HqServer(directory, db, secret)
    if cli_init:
        server.cli("init", "--passphrase-file", str(secret))
    else:
        # What `kiosk-hq init` does (keys, then the migrated database), in this process and
        # with test-strength Argon2: a second Python start and two full-strength key
        # derivations per test, for a command `shared_hq` and the proxy tests still run.
        keys.init_keys(directory, HQ_PASSPHRASE, FAST)
        server_module.open_storage(directory, db).dispose()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hq(tmp_path: Path, hq_db: str) -> Iterator[HqServer]:
    """An initialised HQ, running, for this test alone."""
    yield from _running_hq(tmp_path, hq_db, cli_init=False)


@pytest.fixture(scope="module")
def shared_hq(tmp_path_factory: pytest.TempPathFactory,
              shared_hq_db: str) -> Iterator[HqServer]:
    """An initialised HQ (by `kiosk-hq init`), running, for every test of a module on one
    backend: each test enrolls its own device and must not look at what other tests'
    devices sent."""
    yield from _running_hq(tmp_path_factory.mktemp("shared"), shared_hq_db, cli_init=True)


def sync_template(leave: bool = True, template_id: str = "sync-drive") -> InterviewTemplate:
    """The demo interview's questions under another id (demo sessions never sync)."""
    text = find_template("demo").text
    text = text.replace('id = "demo"', f'id = "{template_id}"', 1)
    text = text.replace("recordings_leave_kiosk = false",
                        f"recordings_leave_kiosk = {'true' if leave else 'false'}")
    # The scripted sessions end on the fake clock's day (2026-01-05): keep them for ten years,
    # rejected ones for three days, so retention decides only where a test asks it to.
    text = text.replace("retention_days = 7",
                        "retention_days = 3650\nrejected_retention_days = 3")
    return parse_template(text.encode(), f"{template_id}.toml")


@dataclass
class Kiosk:
    """A kiosk's data directory, unlocked, with its store open."""

    data_dir: Path
    unlocked: keys.UnlockedKeys
    store: Store

    def enroll(self, hq: HqServer, name: str = "Test kiosk") -> enrollment.HqLink:
        link = enrollment.enroll(self.data_dir, hq.url, hq.enroll_code(), self.unlocked, name)
        # New session keys and files are sealed to HQ from now on.
        self.store.close()
        self.store = Store(self.data_dir, keys.recipients(self.data_dir),
                           [self.unlocked.identity])
        return link


def make_kiosk(path: Path) -> Kiosk:
    path.mkdir(parents=True, exist_ok=True)
    keys.init_keys(path, KIOSK_PASSPHRASE, FAST)
    unlocked = keys.unlock(path, KIOSK_PASSPHRASE)
    return Kiosk(path, unlocked, Store(path, keys.recipients(path), [unlocked.identity]))


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Kiosk]:
    made = make_kiosk(tmp_path / "kiosk")
    yield made
    made.store.close()


def add_recording(store: Store, session_id: str, question_id: str, size: int) -> Path:
    """A vault file standing in for a recorded answer (random bytes, really sealed)."""
    path = store.video_path(session_id, question_id, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with create(path, store.media_recipients(session_id)) as writer:
        writer.write(os.urandom(size))
    return path
