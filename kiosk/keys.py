"""The kiosk's keys: its vault identity and device signing key, wrapped under the staff passphrase.

On disk (``keys/kiosk-keys.json`` in the data directory) the private keys exist only
encrypted with AES-256-GCM under a key derived from the passphrase with Argon2id; the KDF
parameters and the public keys sit beside them in the clear and are bound in as associated
data, so neither can be swapped unnoticed. Encrypting new data needs only the public keys;
reading it back needs the kiosk unlocked. A wrong passphrase is answered after a delay that
doubles with each consecutive failure (the count survives restarts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from durable.files import write_atomically
from kiosk.errors import ConfigError, KioskError
from kiosk.vault import DEFAULT_SUITE, Identity, Recipient, SuiteId

KEYS_DIR = "keys"
KEY_FILE = "kiosk-keys.json"
EXTRA_RECIPIENTS_FILE = "extra-recipients.txt"
FAILURES_FILE = "unlock-failures.json"
KEY_FILE_FORMAT = 1
MIN_PASSPHRASE = 12
MAX_DELAY_SECONDS = 60.0
_COMMON = frozenset({"password1234", "passwordpassword", "123456789012", "qwertyuiopas",
                     "letmeinletmein", "adminadminadmin", "changemechangeme"})


class KeysError(KioskError):
    """The kiosk's keys cannot be created, unlocked or changed."""


class NotInitialisedError(KeysError, ConfigError):
    """The data directory has no keys yet: run `kiosk init`."""


class AlreadyInitialisedError(KeysError, ConfigError):
    """The data directory already has keys; they are never overwritten."""


class WeakPassphraseError(KeysError):
    """The passphrase is too easy to guess."""


class WrongPassphraseError(KeysError):
    """The passphrase does not unlock the keys; nothing was changed."""


class KeyFileError(KeysError):
    """The key file is damaged, altered or of an unknown format."""


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters; stored with the key file so they can be raised later."""

    memory_kib: int = 64 * 1024
    iterations: int = 3
    lanes: int = 4

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        """The 32-byte key-encryption key for `passphrase`."""
        return Argon2id(salt=salt, length=32, iterations=self.iterations, lanes=self.lanes,
                        memory_cost=self.memory_kib).derive(passphrase.encode("utf-8"))


@dataclass(frozen=True)
class PublicKeys:
    """What anyone may know: the vault recipient and the device's verification key."""

    recipient: Recipient
    signing_public: bytes


class UnlockedKeys:
    """The kiosk's private keys, in memory only."""

    def __init__(self, identity: Identity, signing: ed25519.Ed25519PrivateKey) -> None:
        self.identity = identity
        self.signing = signing

    def __repr__(self) -> str:
        return f"UnlockedKeys(key id {self.identity.key_id.hex()})"


def check_passphrase(passphrase: str) -> None:
    """Raise WeakPassphraseError unless `passphrase` is long and varied enough."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise WeakPassphraseError(f"use at least {MIN_PASSPHRASE} characters (a few unrelated "
                                  f"words work well)")
    if len(set(passphrase)) < 5 or passphrase.lower() in _COMMON:
        raise WeakPassphraseError("that passphrase is too easy to guess; use a few "
                                  "unrelated words")


def _keys_dir(data_dir: Path) -> Path:
    return data_dir / KEYS_DIR


def is_initialised(data_dir: Path) -> bool:
    """Whether `kiosk init` has made keys in `data_dir` (it then refuses to run again there)."""
    return (_keys_dir(data_dir) / KEY_FILE).exists()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise KeyFileError("the key file is damaged (a field is not text)")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise KeyFileError("the key file is damaged (bad base64)") from exc


def _associated(doc: dict[str, Any]) -> bytes:
    """The KDF parameters, bound to the sealed keys. (The public keys are checked against the
    private ones after unsealing instead, so a swapped public key is named as such.)"""
    clear = {k: doc[k] for k in ("format", "kdf")}
    return json.dumps(clear, sort_keys=True, separators=(",", ":")).encode()


def _seal_private(keys: UnlockedKeys, passphrase: str, params: KdfParams,
                  public: dict[str, str]) -> dict[str, Any]:
    salt = os.urandom(16)
    doc: dict[str, Any] = {"format": KEY_FILE_FORMAT, "kdf": {"name": "argon2id",
                           "salt": _b64(salt), **asdict(params)}, "public": public}
    private = json.dumps({
        "suite": int(keys.identity.suite), "identity": keys.identity.private_bytes().hex(),
        "signing": keys.signing.private_bytes_raw().hex(),
    }).encode()
    nonce = os.urandom(12)
    sealed = AESGCM(params.derive(passphrase, salt)).encrypt(nonce, private, _associated(doc))
    doc["sealed"] = _b64(nonce + sealed)
    doc["check"] = _checksum(doc)
    return doc


def _checksum(doc: dict[str, Any]) -> str:
    """Catches accidental damage (a wrong passphrase and a damaged file then differ)."""
    fields = {k: doc.get(k) for k in ("format", "kdf", "public", "sealed")}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _write_atomically(path: Path, doc: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(doc, indent=2).encode())


def init_keys(data_dir: Path, passphrase: str, params: KdfParams | None = None,
              suite: SuiteId = DEFAULT_SUITE) -> PublicKeys:
    """Create the kiosk's keys, wrapped under `passphrase`; refuses to replace existing ones."""
    check_passphrase(passphrase)
    directory = _keys_dir(data_dir)
    path = directory / KEY_FILE
    if path.exists():
        raise AlreadyInitialisedError(f"{data_dir} already has kiosk keys; they are never "
                                      f"replaced (use `kiosk passphrase change`)")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys = UnlockedKeys(Identity.generate(suite), ed25519.Ed25519PrivateKey.generate())
    public = {"recipient": keys.identity.recipient.to_text(),
              "signing": _b64(keys.signing.public_key().public_bytes_raw())}
    _write_atomically(path, _seal_private(keys, passphrase, params or KdfParams(), public))
    return load_public(data_dir)


def _read_key_file(data_dir: Path) -> dict[str, Any]:
    path = _keys_dir(data_dir) / KEY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotInitialisedError(f"{data_dir} has no kiosk keys yet: run `kiosk init`") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise KeyFileError(f"{path} is damaged (not JSON)") from exc
    if not isinstance(doc, dict) or doc.get("format") != KEY_FILE_FORMAT:
        raise KeyFileError(f"{path} is not a kiosk key file of format {KEY_FILE_FORMAT}")
    for field in ("kdf", "public", "sealed", "check"):
        if field not in doc:
            raise KeyFileError(f"{path} is damaged (no {field!r})")
    if not hmac.compare_digest(str(doc["check"]), _checksum(doc)):
        raise KeyFileError(f"{path} is damaged or was edited (its checksum does not match)")
    return doc


def load_public(data_dir: Path) -> PublicKeys:
    """The kiosk's public keys; no passphrase needed."""
    doc = _read_key_file(data_dir)
    try:
        recipient = Recipient.from_text(doc["public"]["recipient"])
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError("the key file's public recipient is damaged") from exc
    return PublicKeys(recipient, _unb64(doc["public"].get("signing")))


def recipients(data_dir: Path) -> list[Recipient]:
    """Everyone new files are sealed to: this kiosk, then any extra recipient (e.g. HQ)."""
    found = [load_public(data_dir).recipient]
    path = _keys_dir(data_dir) / EXTRA_RECIPIENTS_FILE
    if path.exists():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            text = line.split("#", 1)[0].strip()
            if text:
                try:
                    found.append(Recipient.from_text(text))
                except ValueError as exc:
                    raise ConfigError(f"{path}:{number}: {exc}") from exc
    return found


def add_recipient(data_dir: Path, recipient: Recipient, label: str) -> None:
    """Seal every new file to `recipient` too (existing files are not touched)."""
    load_public(data_dir)
    path = _keys_dir(data_dir) / EXTRA_RECIPIENTS_FILE
    with path.open("a", encoding="utf-8") as out:
        out.write(f"{recipient.to_text()}  # {label}\n")


def _params(doc: dict[str, Any]) -> tuple[KdfParams, bytes]:
    kdf = doc["kdf"]
    try:
        if kdf["name"] != "argon2id":
            raise KeyFileError(f"unknown key derivation {kdf['name']!r}")
        params = KdfParams(int(kdf["memory_kib"]), int(kdf["iterations"]), int(kdf["lanes"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError("the key file's KDF parameters are damaged") from exc
    return params, _unb64(kdf.get("salt"))


class _Failures:
    """Consecutive wrong passphrases, kept on disk so restarting does not reset the delay."""

    def __init__(self, data_dir: Path) -> None:
        self.path = _keys_dir(data_dir) / FAILURES_FILE

    def count(self) -> int:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8")).get("count", 0)
        except (OSError, ValueError, AttributeError):
            return 0
        return value if isinstance(value, int) and value >= 0 else 0

    def record(self) -> int:
        count = self.count() + 1
        self.path.write_text(json.dumps({"count": count}), encoding="utf-8")
        return count

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def failure_delay(count: int) -> float:
    """Seconds to wait after the `count`-th consecutive failure: 1, 2, 4 ... up to a minute."""
    return min(MAX_DELAY_SECONDS, 2.0 ** (count - 1)) if count > 0 else 0.0


def unlock(data_dir: Path, passphrase: str,
           sleep: Callable[[float], None] | None = None) -> UnlockedKeys:
    """The private keys, if `passphrase` is right; otherwise a delayed WrongPassphraseError."""
    doc = _read_key_file(data_dir)
    params, salt = _params(doc)
    blob = _unb64(doc["sealed"])
    failures = _Failures(data_dir)
    try:
        private = AESGCM(params.derive(passphrase, salt)).decrypt(blob[:12], blob[12:],
                                                                  _associated(doc))
    except InvalidTag:
        count = failures.record()
        (sleep or time.sleep)(failure_delay(count))
        raise WrongPassphraseError(
            "wrong passphrase" + (f" ({count} failed attempts in a row)" if count > 1 else "")
        ) from None
    failures.clear()
    try:
        fields = json.loads(private)
        identity = Identity(SuiteId(fields["suite"]), bytes.fromhex(fields["identity"]))
        signing = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(fields["signing"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError("the sealed keys are damaged") from exc
    public = load_public(data_dir)
    if (identity.recipient != public.recipient
            or signing.public_key().public_bytes_raw() != public.signing_public):
        raise KeyFileError("the key file's public keys do not match its private keys: "
                           "the file was altered; new data must not be sealed to them")
    return UnlockedKeys(identity, signing)


def change_passphrase(data_dir: Path, old: str, new: str,
                      sleep: Callable[[float], None] | None = None) -> None:
    """Re-wrap the same private keys under `new`; no recording is touched."""
    check_passphrase(new)
    keys = unlock(data_dir, old, sleep)
    doc = _read_key_file(data_dir)
    params, _ = _params(doc)
    _write_atomically(_keys_dir(data_dir) / KEY_FILE,
                      _seal_private(keys, new, params, doc["public"]))
