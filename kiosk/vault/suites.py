"""Recipients and identities: the HPKE key pairs that seal a vault file's data key.

Two suites (RFC 9180 HPKE, base mode, HKDF-SHA256, AES-256-GCM):

- ``HYBRID`` (id 2, the default): KEM ML-KEM-768 + X25519, so a recording captured today
  stays sealed even against a future quantum computer;
- ``X25519`` (id 1): DHKEM(X25519, HKDF-SHA256), small and fast, for peers without ML-KEM.

A recipient is a public key; an identity is the matching private key. Each is named by a
16-byte key id, a hash of its suite and public bytes, which headers carry instead of keys.
"""

from __future__ import annotations

import base64
import enum
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from kiosk.vault.errors import HeaderError, UnknownSuiteError

KEY_ID_LENGTH = 16
_X25519_LENGTH = 32
_MLKEM768_PUBLIC_LENGTH = 1184
_MLKEM_SEED_LENGTH = 64


class SuiteId(enum.IntEnum):
    """The suites a recipient stanza can name."""

    X25519 = 1
    HYBRID = 2


DEFAULT_SUITE = SuiteId.HYBRID

_TEXT_PREFIX = {SuiteId.X25519: "ik-x25519-", SuiteId.HYBRID: "ik-hybrid-"}


def _hpke_suite(suite: SuiteId) -> Any:
    kem = hpke.KEM.X25519 if suite is SuiteId.X25519 else hpke.KEM.MLKEM768_X25519
    return hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def suite_from_byte(value: int) -> SuiteId:
    """The suite a header byte names, or UnknownSuiteError."""
    try:
        return SuiteId(value)
    except ValueError:
        raise UnknownSuiteError(f"recipient uses unknown suite {value}; this kiosk knows "
                                f"{', '.join(f'{s.value} ({s.name})' for s in SuiteId)}") from None


def key_id(suite: SuiteId, public: bytes) -> bytes:
    """The 16-byte id a header uses for the key with these public bytes."""
    digest = hashlib.sha256(b"ik-vault-v1 key id" + bytes([suite]) + public).digest()
    return digest[:KEY_ID_LENGTH]


@dataclass(frozen=True)
class Recipient:
    """A public key that new vault files are sealed to."""

    suite: SuiteId
    public: bytes

    @property
    def key_id(self) -> bytes:
        """This key's id in headers."""
        return key_id(self.suite, self.public)

    def seal(self, data_key: bytes, info: bytes) -> bytes:
        """HPKE-seal `data_key` to this recipient."""
        if self.suite is SuiteId.X25519:
            key: Any = x25519.X25519PublicKey.from_public_bytes(self.public)
        else:
            key = hpke.MLKEM768X25519PublicKey(
                mlkem.MLKEM768PublicKey.from_public_bytes(self.public[:_MLKEM768_PUBLIC_LENGTH]),
                x25519.X25519PublicKey.from_public_bytes(self.public[_MLKEM768_PUBLIC_LENGTH:]),
            )
        sealed: bytes = _hpke_suite(self.suite).encrypt(data_key, key, info=info)
        return sealed

    def to_text(self) -> str:
        """A one-line text form, e.g. for HQ's key in a config file."""
        return _TEXT_PREFIX[self.suite] + base64.urlsafe_b64encode(self.public).decode()

    @classmethod
    def from_text(cls, text: str) -> Recipient:
        """Parse `to_text`'s output; ValueError if it is not a recipient."""
        for suite, prefix in _TEXT_PREFIX.items():
            if text.startswith(prefix):
                try:
                    public = base64.b64decode(text[len(prefix):].strip(), altchars=b"-_",
                                              validate=True)
                except ValueError as exc:
                    raise ValueError("the key is not valid base64") from exc
                expected = _X25519_LENGTH if suite is SuiteId.X25519 else (
                    _MLKEM768_PUBLIC_LENGTH + _X25519_LENGTH)
                if len(public) != expected:
                    raise ValueError(f"a {suite.name} public key has {expected} bytes")
                return cls(suite, public)
        raise ValueError("not a vault recipient (expected ik-hybrid-… or ik-x25519-…)")


class Identity:
    """A private key that can open vault files sealed to its recipient."""

    def __init__(self, suite: SuiteId, private: bytes) -> None:
        self.suite = suite
        self._private = private
        if suite is SuiteId.X25519:
            self._key: Any = x25519.X25519PrivateKey.from_private_bytes(private)
            public = self._key.public_key().public_bytes_raw()
        else:
            ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(private[:_MLKEM_SEED_LENGTH])
            x = x25519.X25519PrivateKey.from_private_bytes(private[_MLKEM_SEED_LENGTH:])
            self._key = hpke.MLKEM768X25519PrivateKey(ml, x)
            public = ml.public_key().public_bytes_raw() + x.public_key().public_bytes_raw()
        self.recipient = Recipient(suite, public)

    @classmethod
    def generate(cls, suite: SuiteId = DEFAULT_SUITE) -> Identity:
        """A fresh random identity."""
        if suite is SuiteId.X25519:
            return cls(suite, x25519.X25519PrivateKey.generate().private_bytes_raw())
        private = (mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()
                   + x25519.X25519PrivateKey.generate().private_bytes_raw())
        return cls(suite, private)

    @property
    def key_id(self) -> bytes:
        """The id of this identity's recipient."""
        return self.recipient.key_id

    def private_bytes(self) -> bytes:
        """The raw private key (seed form), for wrapping under a passphrase."""
        return self._private

    def unseal(self, sealed: bytes, info: bytes) -> bytes:
        """Recover a data key sealed to this identity; HeaderError if it does not open."""
        try:
            opened: bytes = _hpke_suite(self.suite).decrypt(sealed, self._key, info=info)
        except (InvalidTag, ValueError) as exc:
            raise HeaderError("our recipient entry in the header does not open: the header "
                              "was altered or damaged") from exc
        return opened

    def __repr__(self) -> str:
        return f"Identity({self.suite.name}, key id {self.key_id.hex()})"
