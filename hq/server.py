"""Where HQ keeps things, and assembling a running HQ from its data directory.

    DATA_DIR/
      keys/           HQ's vault identity and signing key, wrapped under the admin passphrase
      hq.sqlite3      the default database (or --db postgresql://…)
      blobs/          recordings, content-addressed
      uploads/        recordings still arriving
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from hq.blobs import FileBlobStore
from hq.ingest import Uploads
from hq.storage import HqStorage
from kiosk import keys

if TYPE_CHECKING:  # the admin commands should not pay for importing the web stack
    from hq.api import HqContext

DATA_DIR_ENV = "KIOSK_HQ_DATA_DIR"
DB_ENV = "KIOSK_HQ_DB"
PASSPHRASE_ENV = "KIOSK_HQ_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
DEFAULT_PORT = 8750


def data_dir(explicit: str | None) -> Path:
    """--data-dir, else $KIOSK_HQ_DATA_DIR, else the platform's user data directory."""
    raw = explicit or os.environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir(
        "interview-kiosk-hq")
    path = Path(raw).expanduser()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def database_url(directory: Path, explicit: str | None) -> str:
    """--db, else $KIOSK_HQ_DB, else a SQLite file in the data directory."""
    return explicit or os.environ.get(DB_ENV) or f"sqlite:///{directory / 'hq.sqlite3'}"


def open_storage(directory: Path, db: str | None) -> HqStorage:
    """The database, migrated to this HQ's schema."""
    storage = HqStorage(database_url(directory, db))
    storage.migrate()
    return storage


def build_context(directory: Path, storage: HqStorage, unlocked: keys.UnlockedKeys, *,
                  device_rate: float = 50.0, enroll_rate: float = 0.2,
                  secure_cookies: bool = True) -> HqContext:
    """Everything the API needs, over one data directory and database. A kiosk may burst
    to four seconds' worth of requests."""
    from hq.api import HqContext

    blobs = FileBlobStore(directory / "blobs")
    return HqContext(storage, blobs, Uploads(storage, blobs, directory / "uploads"), unlocked,
                     device_rate=device_rate, device_burst=max(1, int(device_rate * 4)),
                     enroll_rate=enroll_rate, audit_head=directory / "audit.head",
                     secure_cookies=secure_cookies)


def trusted_proxy(text: str) -> str:
    """One `--trusted-proxy` value: an IP address or network, normalised; ValueError if
    it is neither (Uvicorn would silently take a typo as a name that never matches)."""
    if "/" in text:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    return str(ipaddress.ip_address(text.strip()))


RETENTION_INTERVAL = 3600.0


def _retention_loop(context: HqContext, stop: threading.Event) -> None:
    """Hourly: erase what is past its retention (and order the kiosks to)."""
    from hq.privacy import retention_run

    while True:
        try:
            retention_run(context.storage, context.blobs, context.audit)
        except Exception:  # the next hour tries again; the server goes on
            logging.getLogger("hq.retention").exception("retention run failed")
        if stop.wait(RETENTION_INTERVAL):
            return


def serve(context: HqContext, host: str, port: int,
          trusted_proxies: Sequence[str] = ()) -> None:
    """Run the API with Uvicorn until interrupted; access logs go to stderr as JSON lines.
    Retention runs hourly beside it.

    `X-Forwarded-For` and `X-Forwarded-Proto` are believed only from `trusted_proxies`
    (addresses or networks); with none, never, so a client cannot pick the address the
    sign-in and enrollment limits count it under. (Uvicorn's own default trusts loopback.)
    """
    import uvicorn

    from hq.api import create_app

    stop = threading.Event()
    threading.Thread(target=_retention_loop, args=(context, stop), name="hq-retention",
                     daemon=True).start()

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("hq.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
    try:
        uvicorn.run(create_app(context), host=host, port=port, access_log=False,
                    log_level="warning", timeout_graceful_shutdown=5,
                    proxy_headers=bool(trusted_proxies),
                    forwarded_allow_ips=list(trusted_proxies), server_header=False)
    finally:
        stop.set()
