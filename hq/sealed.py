"""Opening sealed records at HQ: decrypt in memory, then check with `sync.records`.

Every reader at HQ goes through here (a reviewer's page, a recording, the access archive,
the fairness report), never `json.loads(open_bytes(...))`: what a kiosk sealed is as
hostile as what it sends in the clear. A record that does not open or does not check out
raises SealedRecordError, whose message names the field and never its content.

    SealedRecordError      a sealed record does not open, or its content is malformed
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from kiosk.store.cipher import SessionKeys
from kiosk.vault import Identity, SuiteId, VaultError, open_bytes
from sync import fields, records
from sync.fields import ProtocolError


class SealedRecordError(Exception):
    """A sealed record does not open with HQ's key, or what is inside is malformed."""


def _open(blob: bytes | None, hq: Identity, what: str) -> bytes:
    if not blob:
        raise SealedRecordError(f"the {what} holds no sealed content")
    try:
        return open_bytes(blob, [hq])
    except (VaultError, ValueError) as exc:
        raise SealedRecordError(f"the {what} does not open with HQ's key "
                                f"({type(exc).__name__})") from None


def session(blob: bytes | None, hq: Identity, reference: str | None = None) -> dict[str, Any]:
    """A session record's content (`sync.records.session_content`)."""
    try:
        return records.session_content(_open(blob, hq, "session record"), reference)
    except ProtocolError as exc:
        raise SealedRecordError(f"the session record from the kiosk is malformed: {exc}") \
            from None


def transcript(blob: bytes | None, hq: Identity, question_id: str) -> dict[str, Any]:
    """A transcript record's transcript (`sync.records.transcript_content`)."""
    try:
        opened = records.transcript_content(_open(blob, hq, "transcript record"), question_id)
    except ProtocolError as exc:
        raise SealedRecordError(f"a transcript record from the kiosk is malformed: {exc}") \
            from None
    result: dict[str, Any] = opened["transcript"]
    return result


def self_id(blob: bytes | None, hq: Identity,
            offered: Mapping[str, Collection[str]] | None = None) -> dict[str, str]:
    """A self-identification record's answers (`sync.records.self_id_content`)."""
    try:
        return records.self_id_content(_open(blob, hq, "self-identification record"), offered)
    except ProtocolError as exc:
        raise SealedRecordError(f"a self-identification record is malformed: {exc}") from None


_HEX = re.compile(r"(?:[0-9a-f]{2})+")


def recording_keys(blob: bytes | None, hq: Identity) -> SessionKeys:
    """Only the session's keys from a session record: a player asks for many byte ranges,
    and each need not check the whole scorecard."""
    try:
        doc = records.load(_open(blob, hq, "session record"), "session record")
        keys_hex = fields.text(doc.get("session_keys"), "session_keys", 64 * 1024, _HEX)
    except ProtocolError as exc:
        raise SealedRecordError(f"the session record from the kiosk is malformed: {exc}") \
            from None
    return session_keys(bytes.fromhex(keys_hex), hq)


def session_keys(sealed_keys: bytes, hq: Identity) -> SessionKeys:
    """The session's keys (column key and recordings identity) from a session record."""
    try:
        doc = fields.obj(json.loads(_open(sealed_keys, hq, "session's keys")), "session_keys",
                         ("column", "suite", "identity"), ("column", "suite", "identity"))
        column = bytes.fromhex(fields.text(doc["column"], "column", 64, _HEX))
        suite = SuiteId(fields.integer(doc["suite"], "suite", 1, 2))
        private = bytes.fromhex(fields.text(doc["identity"], "identity", 8192, _HEX))
        if len(column) != 32:
            raise ProtocolError("the column key is not 32 bytes")
        return SessionKeys(column, Identity(suite, private))
    except (ProtocolError, ValueError, RecursionError) as exc:
        raise SealedRecordError(f"the session's keys are malformed ({exc})") from None
