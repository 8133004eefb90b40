"""The vault header: magic, version, segment size, salt, recipient stanzas and a MAC.

Layout (all integers big-endian; see docs/vault-format.md):

    magic 8 | version 1 | flags 1 | segment_log2 1 | count 1 | salt 32
    count x ( suite 1 | key_id 16 | sealed_length 2 | sealed )
    mac 32 = HMAC-SHA256(header_key, every header byte before it)

The payload key is derived from the data key *and* a hash of the header, so a payload only
decrypts under the header it was written with.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kiosk.vault.errors import (
    HeaderError,
    NotARecipientError,
    NotAVaultError,
    UnsupportedVersionError,
)
from kiosk.vault.suites import Identity, Recipient, SuiteId, suite_from_byte

MAGIC = b"\x89IKV\r\n\x1a\n"
VERSION = 1
SALT_LENGTH = 32
MAC_LENGTH = 32
BINDING_LENGTH = 16
TAG_LENGTH = 16
NONCE_PREFIX_LENGTH = 7
MIN_SEGMENT_LOG2, MAX_SEGMENT_LOG2 = 10, 24
DEFAULT_SEGMENT_SIZE = 1 << 16
MAX_RECIPIENTS = 32
MAX_SEALED_LENGTH = 4096
_FIXED = struct.Struct(">8sBBBB32s")
_STANZA = struct.Struct(">B16sH")


@dataclass(frozen=True)
class Stanza:
    """One recipient's entry: which key, and the data key sealed to it.

    `suite` stays a plain number when this kiosk does not know it: a file can carry
    stanzas for newer suites beside one we can open.
    """

    suite: SuiteId | int
    key_id: bytes
    sealed: bytes


@dataclass(frozen=True)
class Header:
    """A parsed (or freshly built) header."""

    segment_size: int
    salt: bytes
    stanzas: tuple[Stanza, ...]
    body: bytes  # every header byte before the MAC
    mac: bytes

    @property
    def length(self) -> int:
        """Bytes the header occupies in the file."""
        return len(self.body) + MAC_LENGTH


@dataclass(frozen=True)
class FileKeys:
    """What the data key and header yield: MAC key, payload key and nonce prefix."""

    header_key: bytes
    payload_key: bytes
    nonce_prefix: bytes


def stanza_info(salt: bytes) -> bytes:
    """HPKE `info` for a stanza: ties it to this file's salt, so it cannot be transplanted."""
    return b"ik-vault-v1 stanza" + salt


def _hkdf(data_key: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(data_key)


def derive_keys(data_key: bytes, salt: bytes, body: bytes) -> FileKeys:
    """The file's keys; the payload's depend on the whole header body."""
    header_key = _hkdf(data_key, salt, b"ik-vault-v1 header", 32)
    material = _hkdf(data_key, salt, b"ik-vault-v1 payload" + hashlib.sha256(body).digest(),
                     32 + NONCE_PREFIX_LENGTH)
    return FileKeys(header_key, material[:32], material[32:])


def build_header(recipients: Sequence[Recipient], data_key: bytes,
                 segment_size: int) -> tuple[Header, FileKeys]:
    """A new header sealing `data_key` to every recipient."""
    if not recipients:
        raise ValueError("a vault file needs at least one recipient")
    if len(recipients) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients")
    log2 = segment_size.bit_length() - 1
    if segment_size != 1 << log2 or not MIN_SEGMENT_LOG2 <= log2 <= MAX_SEGMENT_LOG2:
        raise ValueError(f"segment size must be a power of two from {1 << MIN_SEGMENT_LOG2} "
                         f"to {1 << MAX_SEGMENT_LOG2} bytes")
    recipients = list({r.key_id: r for r in recipients}.values())  # each key once
    salt = os.urandom(SALT_LENGTH)
    parts = [_FIXED.pack(MAGIC, VERSION, 0, log2, len(recipients), salt)]
    stanzas = []
    for recipient in recipients:
        sealed = recipient.seal(data_key, stanza_info(salt))
        stanzas.append(Stanza(recipient.suite, recipient.key_id, sealed))
        parts.append(_STANZA.pack(recipient.suite, recipient.key_id, len(sealed)) + sealed)
    body = b"".join(parts)
    keys = derive_keys(data_key, salt, body)
    mac = hmac.new(keys.header_key, body, hashlib.sha256).digest()
    return Header(segment_size, salt, tuple(stanzas), body, mac), keys


def _read_exactly(source: BinaryIO, count: int, what: str) -> bytes:
    data = source.read(count)
    if len(data) != count:
        raise HeaderError(f"the file ends inside the header ({what})")
    return data


def read_header(source: BinaryIO) -> Header:
    """Parse the header at the current position; the MAC is checked later, by `open_header`."""
    start = source.read(len(MAGIC))
    if start != MAGIC:
        raise NotAVaultError("not a vault file (no vault magic at the start)")
    version_byte = _read_exactly(source, 1, "version")
    version = version_byte[0]
    if version != VERSION:  # before anything else: a newer layout may differ from here on
        raise UnsupportedVersionError(f"vault format version {version}; this kiosk reads "
                                      f"version {VERSION}" + (" (the file is newer: update "
                                                              "the kiosk)" if version > VERSION
                                                              else ""))
    rest = version_byte + _read_exactly(source, _FIXED.size - len(MAGIC) - 1, "fixed fields")
    _, _, flags, log2, count, salt = _FIXED.unpack(start + rest)
    if flags != 0:
        raise HeaderError(f"unknown header flags {flags:#04x}")
    if not MIN_SEGMENT_LOG2 <= log2 <= MAX_SEGMENT_LOG2:
        raise HeaderError(f"segment size 2^{log2} is out of range")
    if not 1 <= count <= MAX_RECIPIENTS:
        raise HeaderError(f"{count} recipients is out of range (1 to {MAX_RECIPIENTS})")
    parts = [start + rest]
    stanzas = []
    for _ in range(count):
        fixed = _read_exactly(source, _STANZA.size, "recipient entry")
        suite_byte, kid, sealed_length = _STANZA.unpack(fixed)
        if not 0 < sealed_length <= MAX_SEALED_LENGTH:
            raise HeaderError(f"recipient entry of {sealed_length} bytes is out of range")
        sealed = _read_exactly(source, sealed_length, "sealed key")
        parts.append(fixed + sealed)
        known = suite_byte in SuiteId._value2member_map_
        stanzas.append(Stanza(SuiteId(suite_byte) if known else suite_byte, kid, sealed))
    mac = _read_exactly(source, MAC_LENGTH, "header MAC")
    return Header(1 << log2, salt, tuple(stanzas), b"".join(parts), mac)


def open_header(header: Header, identities: Sequence[Identity]) -> FileKeys:
    """Unseal the data key with one of `identities` and check the header MAC."""
    by_id = {identity.key_id: identity for identity in identities}
    for stanza in header.stanzas:
        identity = by_id.get(stanza.key_id)
        if identity is not None and identity.suite is stanza.suite:
            data_key = identity.unseal(stanza.sealed, stanza_info(header.salt))
            keys = derive_keys(data_key, header.salt, header.body)
            expected = hmac.new(keys.header_key, header.body, hashlib.sha256).digest()
            if not hmac.compare_digest(expected, header.mac):
                raise HeaderError("the header was altered (its MAC does not match)")
            return keys
    unknown = [s.suite for s in header.stanzas if not isinstance(s.suite, SuiteId)]
    if unknown:
        suite_from_byte(unknown[0])  # raises UnknownSuiteError, naming the suite
    present = ", ".join(s.key_id.hex() for s in header.stanzas)
    ours = ", ".join(i.key_id.hex() for i in identities) or "none"
    raise NotARecipientError(f"this file is not sealed to any key we hold (file's "
                             f"recipients: {present}; ours: {ours})")

