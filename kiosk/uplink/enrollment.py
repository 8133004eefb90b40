"""This kiosk's link to HQ: enrollment, and the templates HQ publishes to it.

Enrolling spends a one-time code from HQ and sends the kiosk's Ed25519 public key. HQ
answers with the kiosk's device id, HQ's vault recipient (added to every new vault file and
session key from then on) and HQ's signing key, which checks what HQ sends down. The link is
kept in `DATA_DIR/sync/hq.json`; only public things are in it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from durable.files import write_atomically
from kiosk import keys
from kiosk.drives.held import save_drives
from kiosk.errors import ConfigError, KioskError, TemplateError
from kiosk.templates import HQ_TEMPLATES_DIR, parse_template
from kiosk.vault import Recipient
from sync import client, protocol
from sync.signing import CONFIG_CONTEXT, SigningError, verify_from_hq

LINK_FILE = Path("sync") / "hq.json"


class NotEnrolledError(ConfigError):
    """This kiosk has not been enrolled with HQ."""


class EnrollError(KioskError):
    """Enrollment did not work."""


@dataclass(frozen=True)
class HqLink:
    """Where HQ is, who this kiosk is to it, and HQ's public keys."""

    url: str
    device_id: str
    hq_recipient: str
    hq_signing_key: str     # base64, raw Ed25519
    enrolled_at: str
    config_version: int = 0          # of the last configuration accepted (0: none yet)
    config_sha256: str = ""          # of its exact bytes
    config_issued_at: str = ""
    # Its erasure orders (order id, session id): carried out at the start of every pass,
    # even one in which HQ cannot be reached, so an order once received cannot be held back.
    erasures: tuple[tuple[str, str], ...] = ()

    @property
    def recipient(self) -> Recipient:
        """HQ's vault recipient."""
        return Recipient.from_text(self.hq_recipient)

    @property
    def verify_key(self) -> ed25519.Ed25519PublicKey:
        """HQ's signing key."""
        return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(self.hq_signing_key))


def save_link(data_dir: Path, link: HqLink) -> None:
    """Keep the link (atomically: a crash leaves the old one or the new one)."""
    path = data_dir / LINK_FILE
    path.parent.mkdir(mode=0o700, exist_ok=True)
    write_atomically(path, json.dumps(asdict(link), indent=2).encode())


def load_link(data_dir: Path) -> HqLink | None:
    """The link, or None if this kiosk is not enrolled."""
    path = data_dir / LINK_FILE
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(fields.get("config_version"), str):
            # Written before configurations were numbered (a hash then): accept the next one.
            fields["config_version"] = 0
        fields["erasures"] = tuple((str(order), str(session))
                                   for order, session in fields.get("erasures", ()))
        return HqLink(**fields)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is damaged ({type(exc).__name__}); enroll again") from None


def require_link(data_dir: Path) -> HqLink:
    """The link; NotEnrolledError (with what to do) if there is none."""
    link = load_link(data_dir)
    if link is None:
        raise NotEnrolledError("this kiosk is not enrolled with HQ: ask HQ for a code "
                               "(kiosk-hq enroll-code), then run `kiosk enroll URL CODE`")
    return link


def enroll(data_dir: Path, url: str, code: str, unlocked: keys.UnlockedKeys,
           name: str | None = None) -> HqLink:
    """Enroll with HQ; from now on every new file and session key is sealed to HQ too."""
    if load_link(data_dir) is not None:
        raise EnrollError("this kiosk is already enrolled; to move it to another HQ, "
                          "set up a fresh data directory")
    normalized = code.strip().upper()
    if not protocol.ENROLL_CODE.fullmatch(normalized):
        raise EnrollError("an enrollment code looks like ABCD-EFGH-JKMN-PQRS "
                          "(four groups of four)")
    try:
        answer = client.enroll(url, normalized, name or socket.gethostname()[:80],
                               unlocked.signing.public_key())
    except client.SyncError as exc:
        raise EnrollError(str(exc)) from None
    except ValueError as exc:
        raise EnrollError(str(exc)) from None
    link = HqLink(url=url.rstrip("/"), device_id=answer.device_id,
                  hq_recipient=answer.hq_recipient,
                  hq_signing_key=base64.b64encode(answer.hq_signing_key).decode(),
                  enrolled_at=datetime.now(UTC).isoformat(timespec="seconds"))
    keys.add_recipient(data_dir, link.recipient, f"HQ {link.url}")
    save_link(data_dir, link)
    return link


class StaleConfigError(client.HqRejectedError):
    """A configuration older than the one the kiosk holds, or made for another kiosk."""


def apply_config(data_dir: Path, link: HqLink, body: bytes,
                 signature: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Check HQ's signature, that the document is for this kiosk and not older than the one
    it holds, then each template; install them. Returns the template ids installed and
    HQ's erasure orders (order id, session id) for the caller to carry out.

    A template that does not check out is skipped (and named in the error), never half used.
    """
    try:
        verify_from_hq(CONFIG_CONTEXT, body, signature, link.verify_key)
        config = protocol.parse_config(body)
    except (SigningError, protocol.ProtocolError) as exc:
        raise client.HqRejectedError(f"HQ's configuration was refused: {exc}",
                                     "bad_config") from None
    digest = hashlib.sha256(body).hexdigest()
    if config.device_id != link.device_id:
        raise StaleConfigError("HQ's configuration was refused: it was made for another "
                               "kiosk", "foreign_config")
    if config.version < link.config_version or (
            config.version == link.config_version and digest != link.config_sha256):
        raise StaleConfigError("HQ's configuration was refused: it is older than the one "
                               f"this kiosk holds (version {config.version}, not above "
                               f"{link.config_version}); was an old one replayed?",
                               "stale_config")
    if config.version == link.config_version:
        return [], config.erasures  # the one already applied: orders still to carry out
    directory = data_dir / HQ_TEMPLATES_DIR
    directory.mkdir(mode=0o700, exist_ok=True)
    installed, problems = [], []
    for template_id, text in config.templates.items():
        try:
            template = parse_template(text.encode(), f"HQ:{template_id}")
        except TemplateError as exc:
            problems.append(f"{template_id}: {len(exc.problems)} problems")
            continue
        if template.id != template_id:
            problems.append(f"{template_id}: its id says {template.id}")
            continue
        write_atomically(directory / f"{template_id}.toml", text.encode())
        installed.append(template_id)
    for old in directory.glob("*.toml"):
        if old.stem not in config.templates:
            old.unlink()
    save_drives(data_dir, config.drives)
    save_link(data_dir, HqLink(**{**asdict(link), "config_version": config.version,
                                  "config_sha256": digest,
                                  "config_issued_at": config.issued_at,
                                  "erasures": tuple(config.erasures)}))
    if problems:
        raise client.HqRejectedError("HQ published templates this kiosk cannot use: "
                                     + "; ".join(problems), "bad_template")
    return installed, config.erasures
