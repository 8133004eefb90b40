"""HQ's database: SQLAlchemy Core over SQLite (the default) or PostgreSQL (by URL).

The schema grows by named migrations, applied once each and recorded in `hq_migrations`;
never edit one that has shipped. Writes on SQLite go through one lock, because SQLite has
one writer anyway and waiting in Python is cheaper than waiting in its busy handler.
Sealed records stay ciphertext here; only the non-identifying index is in the clear.

    StorageError            the database cannot be used (a newer schema, unreachable)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()

migrations = sa.Table(
    "hq_migrations", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("applied_at", sa.String(40), nullable=False))

devices = sa.Table(
    "devices", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("public_key", sa.LargeBinary, nullable=False),
    sa.Column("enrolled_at", sa.String(40), nullable=False),
    sa.Column("revoked_at", sa.String(40)),
    sa.Column("last_seen_at", sa.String(40)))

enroll_codes = sa.Table(
    "enroll_codes", metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("used_by", sa.String(64)))

nonces = sa.Table(
    "nonces", metadata,
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("created", sa.BigInteger, nullable=False, index=True))

items = sa.Table(
    "items", metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("item_id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("meta", sa.Text, nullable=False),          # JSON, non-identifying
    sa.Column("sealed", sa.LargeBinary),                 # records: vault blob to HQ's key
    sa.Column("blob", sa.String(64)),                    # recordings: blob store key
    sa.Column("sha256", sa.String(64), nullable=False),  # of sealed bytes or of the file
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("via", sa.String(20), nullable=False),     # sync or bundle
    sa.Column("stored_at", sa.String(40), nullable=False),
    sa.Column("revisions", sa.Integer, nullable=False),   # how many versions were stored
    # The kiosk's revision of the stored version (0: from before 0006_revisions). A lower
    # one never replaces it; an equal one only with a higher sha256 (so order never matters).
    sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"))

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("reference", sa.String(20), nullable=False, index=True),
    sa.Column("interview_id", sa.String(64), nullable=False, index=True),
    sa.Column("template_sha256", sa.String(64), nullable=False),
    sa.Column("language", sa.String(3), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("ended_at", sa.String(40)),
    sa.Column("decision", sa.String(10)),
    sa.Column("needs_review", sa.Boolean, nullable=False),
    sa.Column("questions", sa.Integer, nullable=False),
    sa.Column("answered", sa.Integer, nullable=False),
    sa.Column("scores", sa.Text, nullable=False),        # JSON: competency -> levels
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("retention_days", sa.Integer),             # from 0004_privacy
    sa.Column("rejected_retention_days", sa.Integer),
    sa.Column("drive_id", sa.String(16), index=True),    # from 0007_drives: the kiosk says
    sa.Column("invite_id", sa.String(24), index=True))   # which drive and invite, if any

uploads = sa.Table(
    "uploads", metadata,
    sa.Column("upload_id", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("item_id", sa.String(200), nullable=False),
    sa.Column("session_id", sa.String(64), nullable=False),
    sa.Column("meta", sa.Text, nullable=False),
    sa.Column("length", sa.BigInteger, nullable=False),
    sa.Column("received", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("completed_at", sa.String(40)))

templates = sa.Table(
    "templates", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("toml", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False))

bundles = sa.Table(
    "bundles", metadata,
    sa.Column("bundle_id", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("imported_at", sa.String(40), nullable=False),
    sa.Column("entries", sa.Integer, nullable=False),
    sa.Column("new_items", sa.Integer, nullable=False))

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(80), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),       # admin, recruiter, viewer
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("disabled_at", sa.String(40)))

web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False))

audit = sa.Table(
    "audit", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("details", sa.Text, nullable=False),           # JSON, never candidate data
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False))

reviews = sa.Table(
    "reviews", metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("scores", sa.Text, nullable=False),            # JSON: competency -> level
    sa.Column("note", sa.LargeBinary),                       # vault blob sealed to HQ
    sa.Column("decision", sa.String(10)),
    sa.Column("submitted_at", sa.String(40), nullable=False))

hq_settings = sa.Table(
    "hq_settings", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False))

requests = sa.Table(
    "requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(10), nullable=False),          # access, erasure
    sa.Column("reference", sa.String(20), nullable=False),
    sa.Column("received_at", sa.String(40), nullable=False),   # when the candidate asked
    sa.Column("due_at", sa.String(40), nullable=False),
    sa.Column("completed_at", sa.String(40)),
    sa.Column("handled_by", sa.String(80)))

erasure_orders = sa.Table(
    "erasure_orders", metadata,
    sa.Column("order_id", sa.String(40), primary_key=True),
    sa.Column("device_id", sa.String(64), nullable=False, index=True),
    sa.Column("session_id", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(20), nullable=False),        # request, retention
    sa.Column("issued_at", sa.String(40), nullable=False),
    sa.Column("confirmed_at", sa.String(40)))

request_erasures = sa.Table(                                   # from 0005_request_erasures
    "request_erasures", metadata,
    sa.Column("request_id", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.String(40), primary_key=True))   # erasure_orders.order_id

device_configs = sa.Table(
    "device_configs", metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),      # only ever goes up
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("issued_at", sa.String(40), nullable=False))

drives = sa.Table(                                             # from 0007_drives
    "drives", metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("interview_id", sa.String(64), nullable=False),
    sa.Column("starts_on", sa.String(10)),                     # ISO dates, or null
    sa.Column("ends_on", sa.String(10)),
    sa.Column("walk_ins", sa.Boolean, nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),    # the invitations' expiry
    sa.Column("created_at", sa.String(40), nullable=False))

drive_kiosks = sa.Table(
    "drive_kiosks", metadata,
    sa.Column("drive_id", sa.String(16), primary_key=True),
    sa.Column("device_id", sa.String(64), primary_key=True))

invites = sa.Table(
    "invites", metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("drive_id", sa.String(16), nullable=False, index=True),
    sa.Column("code", sa.String(9), nullable=False, unique=True),
    sa.Column("line", sa.Integer, nullable=False),             # in the roster file
    sa.Column("person", sa.LargeBinary, nullable=False),       # name, contact, roll: sealed
    sa.Column("created_at", sa.String(40), nullable=False))

# A drive's roster sealed to one kiosk, kept so the configuration's bytes stay the same
# while neither roster nor kiosk key changed (a fresh seal would be new bytes every pass).
sealed_rosters = sa.Table(
    "sealed_rosters", metadata,
    sa.Column("drive_id", sa.String(16), primary_key=True),
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False))

heartbeats = sa.Table(                                         # from 0008_heartbeats
    "heartbeats", metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("body", sa.Text, nullable=False),                # the checked heartbeat, JSON
    sa.Column("recipient", sa.Text, nullable=False))           # the kiosk's vault recipient

heartbeat_history = sa.Table(
    "heartbeat_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(64), nullable=False, index=True),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("body", sa.Text, nullable=False))

_INITIAL = (devices, enroll_codes, nonces, items, sessions, uploads, templates)


def _initial(conn: Connection) -> None:
    for table in _INITIAL:
        table.create(conn)


def _bundles(conn: Connection) -> None:
    bundles.create(conn)


def _dashboard(conn: Connection) -> None:
    for table in (users, web_sessions, audit, reviews, hq_settings):
        table.create(conn)


def _privacy(conn: Connection) -> None:
    for table in (requests, erasure_orders):
        table.create(conn)
    # A database made by 0001 before these columns existed lacks them; a newer one has them.
    present = {column["name"] for column in sa.inspect(conn).get_columns("sessions")}
    for column in ("retention_days", "rejected_retention_days"):
        if column not in present:
            conn.execute(sa.text(f"ALTER TABLE sessions ADD COLUMN {column} INTEGER"))


def _request_erasures(conn: Connection) -> None:
    request_erasures.create(conn)


def _revisions(conn: Connection) -> None:
    """Record revisions, numbered configurations, and the session index's times repaired."""
    present = {column["name"] for column in sa.inspect(conn).get_columns("items")}
    if "revision" not in present:
        conn.execute(sa.text("ALTER TABLE items ADD COLUMN revision BIGINT NOT NULL DEFAULT 0"))
    device_configs.create(conn)
    _repair_session_times(conn)


def _repair_session_times(conn: Connection) -> None:
    """Before 0006, a session's times were stored as the kiosk wrote them (any text of up to
    40 characters). Each becomes UTC ISO 8601; one that is not a time with an offset becomes
    the time HQ received the session (started) or null (ended), so retention can count."""
    from sync.fields import ProtocolError, timestamp

    def strict(value: str | None) -> str | None:
        try:
            return None if value is None else timestamp(value, "time")
        except ProtocolError:
            return None

    for row in conn.execute(sa.select(sessions.c.device_id, sessions.c.session_id,
                                      sessions.c.started_at, sessions.c.ended_at,
                                      sessions.c.received_at)).all():
        started = strict(row.started_at) or strict(row.received_at) or now_text()
        ended = strict(row.ended_at)
        if (started, ended) != (row.started_at, row.ended_at):
            conn.execute(sessions.update().where(
                sessions.c.device_id == row.device_id,
                sessions.c.session_id == row.session_id).values(started_at=started,
                                                                  ended_at=ended))


def _drives(conn: Connection) -> None:
    """Drives, their kiosks and invitations; sessions learn their drive and invite."""
    for table in (drives, drive_kiosks, invites, sealed_rosters):
        table.create(conn)
    present = {column["name"] for column in sa.inspect(conn).get_columns("sessions")}
    for column, size in (("drive_id", 16), ("invite_id", 24)):
        if column not in present:
            conn.execute(sa.text(f"ALTER TABLE sessions ADD COLUMN {column} VARCHAR({size})"))
            conn.execute(sa.text(f"CREATE INDEX ix_sessions_{column} ON sessions ({column})"))


def _heartbeats(conn: Connection) -> None:
    for table in (heartbeats, heartbeat_history):
        table.create(conn)


MIGRATIONS: tuple[tuple[str, Callable[[Connection], None]], ...] = (
    ("0001_initial", _initial),
    ("0002_bundles", _bundles),
    ("0003_dashboard", _dashboard),
    ("0004_privacy", _privacy),
    ("0005_request_erasures", _request_erasures),
    ("0006_revisions", _revisions),
    ("0007_drives", _drives),
    ("0008_heartbeats", _heartbeats),
)


class StorageError(Exception):
    """HQ's database cannot be used."""


def now_text() -> str:
    """Timestamps are ISO 8601 UTC text, the same on both databases."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def engine_url(url: str) -> str:
    """Accept the familiar `postgresql://` and pick the psycopg 3 driver for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # autocommit at the driver, so our BEGIN IMMEDIATE below is the transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")   # "stored" means on disk before we answer
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")  # erased rows are overwritten, not just unlinked
    cursor.close()


class HqStorage:
    """The engine, the schema and transactions."""

    def __init__(self, url: str, connect_args: dict[str, Any] | None = None) -> None:
        self.url = engine_url(url)
        try:
            # A ping on every checkout helps with a server that restarted; a file does not.
            self.engine: Engine = sa.create_engine(
                self.url, connect_args=connect_args or {},
                pool_pre_ping=not self.url.startswith("sqlite"))
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StorageError(f"cannot use database URL {url!r}: {exc}") from None
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

            @sa.event.listens_for(self.engine, "begin")
            def _begin(conn: Connection) -> None:
                # Writers take the write lock up front: a deferred BEGIN that later writes
                # can deadlock against another process (a CLI import beside the server).
                immediate = conn.get_execution_options().get("hq_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    def migrate(self) -> list[str]:
        """Apply every migration not yet applied; return their names."""
        try:
            with self.engine.begin() as conn:
                migrations.create(conn, checkfirst=True)
                done = {row[0] for row in conn.execute(sa.select(migrations.c.name))}
        except sa.exc.OperationalError as exc:
            raise StorageError(f"cannot open HQ's database: {exc.orig}") from None
        unknown = done - {name for name, _ in MIGRATIONS}
        if unknown:
            raise StorageError(f"the database has migrations this HQ does not know "
                               f"({', '.join(sorted(unknown))}): it was written by a newer HQ")
        applied = []
        for name, step in MIGRATIONS:
            if name in done:
                continue
            with self.write() as conn:
                step(conn)
                conn.execute(migrations.insert().values(name=name, applied_at=now_text()))
            applied.append(name)
        return applied

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        lock = self._write_lock or contextlib.nullcontext()
        with lock, self.engine.connect() as conn:
            conn = conn.execution_options(hq_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading."""
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
