"""What flows down to kiosks: the interview templates HQ assigns, signed by HQ.

A template's policy (retention, AI scoring, whether recordings may leave the kiosk) lives in
the template, so changing a policy is publishing a new version of the template. The
document is signed with HQ's Ed25519 key, which the kiosk learned at enrollment: a kiosk
syncing over plain HTTP still cannot be handed someone else's interview.
"""

from __future__ import annotations

import base64
import hashlib

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ed25519

from hq.storage import HqStorage, now_text, templates
from kiosk.templates.loader import parse_template
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


def config_document(storage: HqStorage, device_id: str) -> bytes:
    """One kiosk's configuration: the templates, and erasure orders for that kiosk.
    Its version is the hash of its contents, so the kiosk can tell when it changed."""
    from hq.privacy import pending_orders

    with storage.read() as conn:
        rows = conn.execute(sa.select(templates.c.id, templates.c.toml)
                            .order_by(templates.c.id)).all()
    content = {"templates": {row.id: row.toml for row in rows},
               "erasures": pending_orders(storage, device_id)}
    version = hashlib.sha256(protocol.dumps(content)).hexdigest()
    return protocol.dumps({"version": version, **content})


def sign_config(key: ed25519.Ed25519PrivateKey, body: bytes) -> str:
    """HQ's signature over a configuration document."""
    return base64.b64encode(key.sign(CONFIG_CONTEXT + body)).decode()
