"""The bundle format's constants, errors and entry types (docs/bundle-format.md)."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

MAGIC = b"IKBUNDLE"
VERSION = 1
HEADER = MAGIC + bytes([VERSION])
END_MARK = b"IKBUNEND"
FORMAT_NAME = "interview-kiosk-bundle"
SIGNATURE_DOMAIN = b"interview-kiosk bundle v1\n"
KINDS = frozenset({"session", "transcript", "recording", "selfid"})
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
MAX_ENTRIES = 200_000
MAX_META_BYTES = 64 * 1024
SUFFIX = ".ikbundle"
# signature ‖ manifest offset ‖ manifest length ‖ end mark
_FOOTER = struct.Struct(">64sQQ8s")
_CHUNK = 1024 * 1024
_ITEM_ID = re.compile(r"[A-Za-z0-9._:/-]{1,200}")
_DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_SINCE = re.compile(r"[\x21-\x7e]{1,200}")
_BUNDLE_ID = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CREATED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_CREATED_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_MANIFEST_KEYS = ("format", "version", "bundle_id", "device_id", "created_at", "since",
                  "entries")
_ENTRY_KEYS = ("item_id", "kind", "meta", "offset", "size", "sha256")
_AGAIN = "export it again from the kiosk"


class BundleError(Exception):
    """The bundle cannot be trusted or read; nothing in it should be imported."""


class NotABundleError(BundleError):
    """The file is not an export bundle at all."""


class UnsupportedBundleVersionError(BundleError):
    """The bundle is in a format version this code does not read."""


class DamagedBundleError(BundleError):
    """The bundle is truncated, malformed, has extra bytes, or an entry does not match."""


class ForeignBundleError(BundleError):
    """The bundle was written by a device this HQ does not know, or has revoked."""


class BadBundleSignatureError(BundleError):
    """The manifest's signature does not verify with the device's key."""


@dataclass(frozen=True)
class EntrySpec:
    """One item to put in a bundle: its id, kind, small metadata and payload source."""

    item_id: str
    kind: str
    meta: Mapping[str, Any]
    source: bytes | Path


@dataclass(frozen=True)
class Entry:
    """One verified item of a bundle: its payload's size and SHA-256 matched the manifest."""

    item_id: str
    kind: str
    meta: dict[str, Any]
    size: int
    sha256: str

def encode_meta(meta: object) -> bytes:
    """Compact UTF-8 JSON of one entry's meta; ValueError unless a small JSON object."""
    if not isinstance(meta, Mapping):
        raise ValueError("it is not a JSON object")
    try:
        encoded = json.dumps(dict(meta), ensure_ascii=False, allow_nan=False,
                             separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        raise ValueError("it is not plain JSON") from None
    if len(encoded) > MAX_META_BYTES:
        raise ValueError(f"it is {len(encoded)} bytes encoded, over {MAX_META_BYTES}")
    return encoded
