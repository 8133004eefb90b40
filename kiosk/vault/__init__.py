"""The vault: streaming encryption of every file and record that holds candidate data.

A vault file is a header naming its recipients (each holding the file's random data key,
sealed with HPKE) followed by a STREAM of AES-256-GCM segments. The format is specified in
docs/vault-format.md. Writers and readers are binary streams, so an encoder writes into a
`VaultWriter` and a decoder reads from a `VaultReader` without plaintext touching the disk.

Errors:

    VaultError                  (a KioskError)
    ├── NotAVaultError          the file is not a vault file at all
    ├── UnsupportedVersionError a format version this kiosk does not read
    ├── UnknownSuiteError       a recipient uses an unknown HPKE suite
    ├── HeaderError             the header is malformed, damaged or altered
    ├── NotARecipientError      none of our keys can open the file
    └── IntegrityError          the payload failed authentication
        ├── HeaderMismatchError the header belongs to another file (swapped)
        ├── TamperedError       a segment was altered or damaged
        ├── ReorderedError      segments were moved, dropped or duplicated
        └── TruncatedError      the final segment is missing (cut off / unfinished)
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from kiosk.vault.errors import (
    HeaderError,
    HeaderMismatchError,
    IntegrityError,
    NotARecipientError,
    NotAVaultError,
    ReorderedError,
    TamperedError,
    TruncatedError,
    UnknownSuiteError,
    UnsupportedVersionError,
    VaultError,
)
from kiosk.vault.header import DEFAULT_SEGMENT_SIZE, MAGIC, VERSION
from kiosk.vault.reader import Layout, Recovery, VaultReader, recover
from kiosk.vault.suites import DEFAULT_SUITE, Identity, Recipient, SuiteId
from kiosk.vault.writer import VaultWriter, create


def seal_bytes(data: bytes, recipients: Sequence[Recipient], *,
               segment_size: int = DEFAULT_SEGMENT_SIZE) -> bytes:
    """`data` as a complete vault file in memory (for keys and records in the database)."""
    sink = io.BytesIO()
    with VaultWriter(sink, recipients, segment_size=segment_size) as writer:
        writer.write(data)
    return sink.getvalue()


def open_bytes(blob: bytes, identities: Sequence[Identity]) -> bytes:
    """The plaintext of an in-memory vault file, fully authenticated."""
    with VaultReader(io.BytesIO(blob), identities) as reader:
        return reader.read_range(0, reader.size)


__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "DEFAULT_SUITE",
    "MAGIC",
    "VERSION",
    "HeaderError",
    "HeaderMismatchError",
    "Identity",
    "IntegrityError",
    "Layout",
    "NotARecipientError",
    "NotAVaultError",
    "Recipient",
    "Recovery",
    "ReorderedError",
    "SuiteId",
    "TamperedError",
    "TruncatedError",
    "UnknownSuiteError",
    "UnsupportedVersionError",
    "VaultError",
    "VaultReader",
    "VaultWriter",
    "create",
    "open_bytes",
    "recover",
    "seal_bytes",
]
