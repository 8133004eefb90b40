"""Per-session keys and the encryption of candidate columns.

Each session has its own keys: a 256-bit column key (AES-256-GCM for the `_enc` columns)
and a vault identity that the session's recordings are sealed to. Both are stored only as a
vault blob sealed to the kiosk (and HQ, once enrolled). Destroying that one row makes every
encrypted column and every recording of the session unreadable, wherever copies went.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.vault import (
    DEFAULT_SUITE,
    Identity,
    Recipient,
    SuiteId,
    VaultError,
    open_bytes,
    seal_bytes,
)

_NONCE = 12


class ColumnError(VaultError):
    """An encrypted column does not decrypt: altered, moved to another row, or erased."""


class SessionKeys:
    """A session's column key and recordings identity, in memory."""

    def __init__(self, column_key: bytes, identity: Identity) -> None:
        self._aead = AESGCM(column_key)
        self._column_key = column_key
        self.identity = identity

    @classmethod
    def generate(cls) -> SessionKeys:
        """Fresh keys for a new session; recordings get the hybrid suite like everything else."""
        return cls(os.urandom(32), Identity.generate(DEFAULT_SUITE))

    def seal(self, recipients: Sequence[Recipient]) -> bytes:
        """The keys as a vault blob only `recipients` can open."""
        payload = json.dumps({"column": self._column_key.hex(),
                              "suite": int(self.identity.suite),
                              "identity": self.identity.private_bytes().hex()}).encode()
        return seal_bytes(payload, recipients)

    @classmethod
    def unseal(cls, blob: bytes, identities: Sequence[Identity]) -> SessionKeys:
        """Keys from `seal`'s blob."""
        fields = json.loads(open_bytes(blob, identities))
        return cls(bytes.fromhex(fields["column"]),
                   Identity(SuiteId(fields["suite"]), bytes.fromhex(fields["identity"])))

    def encrypt(self, value: str, where: str) -> bytes:
        """Ciphertext of `value`, bound to `where` (table.column:row) so it cannot be moved."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, value.encode("utf-8"), where.encode())

    def decrypt(self, blob: bytes, where: str) -> str:
        """Plaintext of `encrypt`'s output at the same `where`."""
        try:
            plain: bytes = self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], where.encode())
        except InvalidTag:
            raise ColumnError(f"encrypted value at {where} does not decrypt") from None
        return plain.decode("utf-8")
