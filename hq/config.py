"""What flows down to kiosks: the interview templates HQ assigns, signed by HQ.

A template's policy (retention, AI scoring, whether recordings may leave the kiosk) lives in
the template, so changing a policy is publishing a new version of the template. The
document is signed with HQ's Ed25519 key, which the kiosk learned at enrollment: a kiosk
syncing over plain HTTP still cannot be handed someone else's interview. It names the
kiosk it is for and carries a version that only goes up for that kiosk (and the time it
was issued), so an old document replayed to a kiosk, or one made for another kiosk, is
refused: nobody can put an old policy back or withhold an erasure order that way.
"""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy.engine import Connection

from hq.storage import HqStorage, device_configs, now_text, templates
from kiosk.templates.loader import parse_template
from kiosk.vault import Identity
from sync import protocol
from sync.signing import CONFIG_CONTEXT


def publish_template(storage: HqStorage, toml_text: bytes, source: str) -> tuple[str, str]:
    """Check a template and publish it (replacing an older version); return (id, sha256)."""
    template = parse_template(toml_text, source)  # raises TemplateError listing every problem
    sha = hashlib.sha256(toml_text).hexdigest()
    with storage.write() as conn:
        conn.execute(templates.delete().where(templates.c.id == template.id))
        conn.execute(templates.insert().values(id=template.id, toml=toml_text.decode("utf-8"),
                                               sha256=sha, updated_at=now_text()))
    return template.id, sha


def config_document(storage: HqStorage, device_id: str, hq: Identity | None = None) -> bytes:
    """One kiosk's configuration: the templates, and erasure orders for that kiosk (every
    one it has not confirmed, in every document, so none can be left out by replaying an
    older one), and for a kiosk assigned to drives, those drives with their rosters sealed
    to it (`hq.drive_rosters`; `hq` opens the rosters). The same contents keep their
    version and issue time; new contents get a higher version than any before for this
    kiosk."""
    from hq.drive_rosters import drives_section
    from hq.ingest import write_retrying
    from hq.privacy import pending_orders

    with storage.read() as conn:
        rows = conn.execute(sa.select(templates.c.id, templates.c.toml)
                            .order_by(templates.c.id)).all()
    content: dict[str, Any] = {"templates": {row.id: row.toml for row in rows},
                               "erasures": pending_orders(storage, device_id)}
    section = drives_section(storage, device_id, hq)
    if section:  # only then: kiosks older than drives refuse a section they do not know
        content["drives"] = section
    digest = hashlib.sha256(protocol.dumps(content)).hexdigest()
    with storage.read() as conn:  # most passes find nothing changed: no write, no lock
        row = conn.execute(sa.select(device_configs).where(
            device_configs.c.device_id == device_id)).first()
    if row is not None and row.content_sha256 == digest:
        version, issued_at = int(row.version), str(row.issued_at)
    else:
        version, issued_at = write_retrying(storage, lambda conn: _number(conn, device_id,
                                                                          digest))
    return protocol.dumps({"device_id": device_id, "version": version, "issued_at": issued_at,
                           **content})


def _number(conn: Connection, device_id: str, digest: str) -> tuple[int, str]:
    """(version, issued_at) for these contents: the stored pair if they are unchanged, else
    a new version above the last, and at least the current time in milliseconds, so that
    even a database restored from an old backup numbers above what kiosks already hold."""
    query = sa.select(device_configs).where(device_configs.c.device_id == device_id)
    if conn.dialect.name != "sqlite":  # SQLite has one writer at a time anyway
        query = query.with_for_update()  # a racing request waits, then reuses this number
    row = conn.execute(query).first()
    if row is not None and row.content_sha256 == digest:
        return int(row.version), str(row.issued_at)
    version = max(int(row.version) + 1 if row is not None else 1, int(time.time() * 1000))
    issued_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    values = {"version": version, "content_sha256": digest, "issued_at": issued_at}
    if row is None:
        conn.execute(device_configs.insert().values(device_id=device_id, **values))
    else:
        conn.execute(device_configs.update().where(device_configs.c.device_id == device_id)
                     .values(**values))
    return version, issued_at


def sign_config(key: ed25519.Ed25519PrivateKey, body: bytes) -> str:
    """HQ's signature over a configuration document."""
    return base64.b64encode(key.sign(CONFIG_CONTEXT + body)).decode()
