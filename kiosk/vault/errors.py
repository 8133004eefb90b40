"""The vault's exception tree (also drawn in `kiosk.vault`'s docstring)."""

from __future__ import annotations

from kiosk.errors import KioskError


class VaultError(KioskError):
    """A vault file cannot be written, read or trusted."""


class NotAVaultError(VaultError):
    """The file does not start with the vault magic: it is something else."""


class UnsupportedVersionError(VaultError):
    """The file is a vault of a format version this kiosk does not read."""


class UnknownSuiteError(VaultError):
    """A recipient uses an HPKE suite this kiosk does not know."""


class HeaderError(VaultError):
    """The header is malformed, damaged or altered."""


class NotARecipientError(VaultError):
    """None of the keys we hold is a recipient of this file."""


class IntegrityError(VaultError):
    """The payload failed authentication; no plaintext of the bad part is returned."""


class HeaderMismatchError(IntegrityError):
    """The header belongs to another file: headers were swapped or the payload replaced."""


class TamperedError(IntegrityError):
    """A segment was altered or damaged."""


class ReorderedError(IntegrityError):
    """Segments were moved, dropped or duplicated."""


class TruncatedError(IntegrityError):
    """The file ends without its final segment: cut off, or still being written when it stopped."""
