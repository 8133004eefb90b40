"""Export bundles: one signed file that carries a kiosk's items to HQ on a USB stick.

A kiosk without network writes its items (already encrypted to HQ's key by the caller) into
one bundle file; HQ verifies the whole file before it imports anything. The kiosk's Ed25519
device key signs a manifest that names every payload with its size and SHA-256, so HQ can
tell a good bundle from an interrupted copy, an altered file or a stranger's. The layout,
specified byte by byte in docs/bundle-format.md, is

    "IKBUNDLE" ‖ version ‖ payload 1 ‖ … ‖ payload n ‖ manifest (JSON) ‖ footer (88 bytes)

Reading raises only these (and OSError when the file cannot be opened or read at all);
writing raises ValueError for arguments it refuses and OSError when the disk fails:

    BundleError                        the bundle cannot be trusted or read; import nothing
    ├── NotABundleError                not a bundle file at all (wrong magic, too short)
    ├── UnsupportedBundleVersionError  a format version this code does not read
    ├── DamagedBundleError             truncated, malformed, extra bytes, a wrong size or hash
    ├── ForeignBundleError             written by a device this HQ does not know (or revoked)
    └── BadBundleSignatureError        the manifest's signature does not verify
"""

from sync.bundle.format import (
    BadBundleSignatureError,
    BundleError,
    DamagedBundleError,
    Entry,
    EntrySpec,
    ForeignBundleError,
    NotABundleError,
    UnsupportedBundleVersionError,
)
from sync.bundle.reader import VerifiedBundle, read_bundle
from sync.bundle.writer import write_bundle

__all__ = [
    "BadBundleSignatureError", "BundleError", "DamagedBundleError", "Entry", "EntrySpec",
    "ForeignBundleError", "NotABundleError", "UnsupportedBundleVersionError", "VerifiedBundle",
    "read_bundle", "write_bundle",
]
