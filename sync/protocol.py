"""The kiosk-to-HQ wire protocol: paths, limits and the shapes of what crosses, checked strictly.

Both ends use these parsers: HQ on what kiosks send (and on bundles), the kiosk on what HQ
answers. A parser either returns a typed value or raises `ProtocolError` naming the first
field that is wrong; nothing unchecked reaches a database. Every object has an exact set of
members, every time has an offset, every number a range, every id a charset.
docs/sync-protocol.md is the spec; `sync.records` checks what is sealed inside records.

    ProtocolError       a message does not have the shape the protocol gives it
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync import fields, invites
from sync.drive_config import DriveConfig, parse_drives
from sync.fields import (
    ANSWER_KEY,
    ANSWER_KEY_LENGTH,
    ITEM_ID,
    QUESTION_ID,
    SESSION_ID,
    SHA256_HEX,
    ProtocolError,
)

__all__ = ["ANSWER_KEY", "ITEM_ID", "QUESTION_ID", "SESSION_ID", "ProtocolError"]

PROTOCOL_VERSION = 2
API = "/v1"
ENROLL_PATH = f"{API}/enroll"
ITEMS_PATH = f"{API}/items"
UPLOADS_PATH = f"{API}/uploads"
CONFIG_PATH = f"{API}/config"
HEARTBEAT_PATH = f"{API}/heartbeat"
ERASURES_PATH = f"{API}/erasures"
TUS_VERSION = "1.0.0"

MAX_RECORD_BYTES = 2 * 1024 * 1024       # one session's sealed scorecard or one transcript
MAX_RECORD_BODY = MAX_RECORD_BYTES * 4 // 3 + 64 * 1024 + 4096  # base64 + meta + envelope
MAX_CHUNK_BYTES = 4 * 1024 * 1024        # one PATCH of a resumable upload
MAX_RECORDING_BYTES = 8 * 1024 ** 3      # one answer's vault file
MAX_META_BYTES = 64 * 1024
MAX_CONFIG_BYTES = 8 * 1024 * 1024       # templates and erasure orders, flowing down
MAX_TEMPLATE_BYTES = 256 * 1024
MAX_REVISION = 2 ** 53 - 1               # exact in every JSON reader

KINDS = ("session", "transcript", "recording", "selfid")
RECORD_KINDS = ("session", "transcript", "selfid")
STATUSES = ("completed", "interrupted", "in_progress")
DECISIONS = ("advance", "hold", "reject")
MEDIA = ("video", "audio")
STORED = ("new", "updated", "already", "stale")
DEVICE_NAME = re.compile(r"[\w .()-]{1,80}")
DEVICE_ID = fields.DEVICE_ID
ENROLL_CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}")
ORDER_ID = re.compile(r"[0-9a-f]{32}")
UPLOAD_ID = re.compile(r"[0-9a-f]{40}")


def _str(doc: Mapping[str, Any], key: str, pattern: re.Pattern[str] | None = None,
         optional: bool = False, limit: int = 200) -> str | None:
    value = doc.get(key)
    if value is None and optional:
        return None
    return fields.text(value, key, limit, pattern)


def _b64(value: object, key: str, limit: int = MAX_RECORD_BYTES) -> bytes:
    # The length is checked on the text first: nothing larger than allowed is decoded.
    if not isinstance(value, str) or len(value) > (limit + 2) // 3 * 4:
        raise ProtocolError(f"{key} must be base64 text of at most {limit} bytes")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{key} is not valid base64") from None


def loads(body: bytes, limit: int = MAX_RECORD_BODY) -> dict[str, Any]:
    """A JSON object from a request or response body, bounded and strict."""
    return fields.json_object(body, "the body", limit)


COUNT = re.compile(r"[0-9]{1,20}")


def count(value: str, name: str) -> int:
    """A byte count or offset from a header: ASCII digits only (no "²", no 5000 digits)."""
    if not COUNT.fullmatch(value):
        raise ProtocolError(f"{name} must be a byte count")
    return int(value)


def dumps(doc: Mapping[str, Any]) -> bytes:
    """Compact, stable JSON (the bytes that get signed and digested)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- records: a session's scorecard, a question's transcript ------------------------------

@dataclass(frozen=True)
class Record:
    """One record a kiosk sends: a queryable index and the content sealed to HQ's key.

    `revision` orders the versions of one record: the kiosk raises it every time it builds
    the record again, and HQ never lets a lower one replace a higher one."""

    item_id: str
    kind: str
    session_id: str
    meta: dict[str, Any]
    sealed: bytes
    revision: int = 1


_SESSION_KEYS = ("reference", "interview_id", "template_sha256", "language", "status",
                 "started_at", "ended_at", "decision", "needs_review", "questions", "answered",
                 "scores", "retention_days", "rejected_retention_days", "drive", "invite")
_SESSION_REQUIRED = _SESSION_KEYS[:12]


def session_meta(doc: object) -> dict[str, Any]:
    """The queryable, non-identifying summary of a session (what HQ lists and exports)."""
    meta = fields.obj(doc, "meta", _SESSION_KEYS, _SESSION_REQUIRED)
    scores = fields.mapping(meta["scores"], "meta.scores", 50, QUESTION_ID)
    checked_scores = {}
    for competency, levels in scores.items():
        where = f"meta.scores.{competency}"
        levels = fields.obj(levels, where, ("suggested", "reviewer"), ("suggested", "reviewer"))
        checked_scores[competency] = {
            "suggested": fields.level(levels["suggested"], f"{where}.suggested"),
            "reviewer": fields.level(levels["reviewer"], f"{where}.reviewer")}
    questions = fields.integer(meta["questions"], "meta.questions", 0, 200)
    answered = fields.integer(meta["answered"], "meta.answered", 0, questions)
    started = fields.timestamp(meta["started_at"], "meta.started_at")
    ended = fields.optional_timestamp(meta["ended_at"], "meta.ended_at")
    return {
        "reference": fields.text(meta["reference"], "meta.reference", 9, fields.REFERENCE),
        "interview_id": fields.text(meta["interview_id"], "meta.interview_id", 64,
                                    QUESTION_ID),
        "template_sha256": fields.text(meta["template_sha256"], "meta.template_sha256", 64,
                                       SHA256_HEX),
        "language": fields.text(meta["language"], "meta.language", 3, fields.LANGUAGE),
        "status": fields.choice(meta["status"], "meta.status", STATUSES),
        "started_at": started, "ended_at": ended,
        "decision": fields.optional_choice(meta["decision"], "meta.decision", DECISIONS),
        "needs_review": fields.boolean(meta["needs_review"], "meta.needs_review"),
        "scores": checked_scores, "questions": questions, "answered": answered,
        "retention_days": fields.optional_integer(
            meta.get("retention_days"), "meta.retention_days", 1, 3650),
        "rejected_retention_days": fields.optional_integer(
            meta.get("rejected_retention_days"), "meta.rejected_retention_days", 1, 3650),
        **_drive_and_invite(meta),
    }


def _drive_and_invite(meta: Mapping[str, Any]) -> dict[str, str]:
    """A session at a drive names it, and the invite it was started with (a walk-in names
    no invite); both are absent from what older kiosks send, and from walk-ins elsewhere."""
    found = {}
    for key, pattern in (("drive", invites.DRIVE_ID), ("invite", invites.INVITE_ID)):
        if meta.get(key) is not None:
            found[key] = fields.text(meta[key], f"meta.{key}", 24, pattern)
    if "invite" in found and "drive" not in found:
        raise ProtocolError("meta.invite needs meta.drive")
    return found


def _answer_key(value: object) -> str:
    """`meta.question_id` of a transcript or a recording: the answer it is of, a question's
    or its follow-up's (`<question id>.probe`)."""
    return fields.text(value, "meta.question_id", ANSWER_KEY_LENGTH, ANSWER_KEY)


def transcript_meta(doc: object) -> dict[str, Any]:
    """Which answer (a question's, or its follow-up's) a transcript belongs to, and whether a
    person should check it."""
    meta = fields.obj(doc, "meta", ("question_id", "needs_review"),
                      ("question_id", "needs_review"))
    return {"question_id": _answer_key(meta["question_id"]),
            "needs_review": fields.boolean(meta["needs_review"], "meta.needs_review")}


_RECORDING_KEYS = ("question_id", "take", "media", "size", "sha256")


def recording_meta(doc: object) -> dict[str, Any]:
    """Which answer (a question's, or its follow-up's) a recording belongs to; its size and
    SHA-256 are checked on arrival."""
    meta = fields.obj(doc, "meta", _RECORDING_KEYS, _RECORDING_KEYS)
    return {"question_id": _answer_key(meta["question_id"]),
            "take": fields.integer(meta["take"], "meta.take", 1, 100),
            "media": fields.choice(meta["media"], "meta.media", MEDIA),
            "size": fields.integer(meta["size"], "meta.size", 1, MAX_RECORDING_BYTES),
            "sha256": fields.text(meta["sha256"], "meta.sha256", 64, SHA256_HEX)}


def self_id_meta(doc: object) -> dict[str, Any]:
    """Self-identification carries nothing in the clear: its meta is empty."""
    if fields.obj(doc, "meta"):
        raise ProtocolError("a self-identification record has empty meta")
    return {}


META_PARSERS = {"session": session_meta, "transcript": transcript_meta,
                "recording": recording_meta, "selfid": self_id_meta}


def check_meta(kind: str, session_id: str, meta: object) -> dict[str, Any]:
    """An item's metadata checked for its kind (and its session id checked)."""
    fields.choice(kind, "kind", KINDS)
    fields.text(session_id, "session_id", 64, SESSION_ID)
    if len(dumps(fields.obj(meta, "meta"))) > MAX_META_BYTES:
        raise ProtocolError(f"meta is larger than {MAX_META_BYTES} bytes")
    return META_PARSERS[kind](meta)


def item_id(session_id: str, kind: str, part: str = "") -> str:
    """The client-generated id that makes an upload idempotent."""
    return f"{session_id}/{kind}" + (f"/{part}" if part else "")


def expected_item_id(kind: str, session_id: str, meta: Mapping[str, Any]) -> str:
    """The one item id a checked item of this kind, session and meta may have: an id never
    names another session, question, take or medium than its content says."""
    if kind == "transcript":
        return item_id(session_id, kind, meta["question_id"])
    if kind == "recording":
        return item_id(session_id, kind,
                       f"{meta['question_id']}/{meta['take']}/{meta['media']}")
    return item_id(session_id, kind)


def check_item(item: str, kind: str, session_id: str, meta: object) -> dict[str, Any]:
    """`check_meta`, and the item id checked against what the item says it is."""
    fields.text(item, "the item id", 200, ITEM_ID)
    checked = check_meta(kind, session_id, meta)
    if item != expected_item_id(kind, session_id, checked):
        raise ProtocolError("the item id does not match the item's kind, session and meta")
    return checked


_RECORD_KEYS = ("kind", "session_id", "meta", "sealed", "revision")


def parse_record(item: str, body: bytes) -> Record:
    """A record PUT to `/v1/items/{item}` (or a bundle entry): envelope and metadata checked."""
    doc = fields.obj(loads(body), "the record", _RECORD_KEYS, _RECORD_KEYS)
    kind = fields.choice(doc["kind"], "kind", RECORD_KINDS)
    session_id = fields.text(doc["session_id"], "session_id", 64, SESSION_ID)
    meta = check_item(item, kind, session_id, doc["meta"])
    revision = fields.integer(doc["revision"], "revision", 1, MAX_REVISION)
    sealed = _b64(doc["sealed"], "sealed")
    if not sealed:
        raise ProtocolError("sealed must not be empty")
    return Record(item, kind, session_id, meta, sealed, revision)


def record_body(record: Record) -> bytes:
    """The JSON body that carries `record`."""
    return dumps({"kind": record.kind, "session_id": record.session_id, "meta": record.meta,
                  "sealed": base64.b64encode(record.sealed).decode(),
                  "revision": record.revision})


def parse_stored(body: bytes) -> str:
    """HQ's answer to a record: new, updated, already, or stale (HQ holds a newer one)."""
    doc = fields.obj(loads(body, limit=4096), "HQ's answer", ("stored",), ("stored",))
    return fields.choice(doc["stored"], "stored", STORED)


# --- recordings: the tus creation request -----------------------------------------------------

@dataclass(frozen=True)
class UploadRequest:
    """What `POST /v1/uploads` asks for, from its Upload-Length and Upload-Metadata."""

    item_id: str
    session_id: str
    meta: dict[str, Any]
    length: int


def tus_metadata(pairs: Mapping[str, str]) -> str:
    """The Upload-Metadata header for these pairs (tus 1.0: key, space, base64 value)."""
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                    for key, value in pairs.items())


_TUS_KEYS = ("item_id", "session_id", "meta")


def parse_upload_request(length_header: str, metadata_header: str) -> UploadRequest:
    """Upload-Length and Upload-Metadata: exactly item_id, session_id and meta, once each."""
    length = count(length_header, "Upload-Length")
    if len(metadata_header) > MAX_META_BYTES * 2:
        raise ProtocolError("Upload-Metadata is too long")
    pairs: dict[str, str] = {}
    for part in metadata_header.split(","):
        key, _, value = part.strip().partition(" ")
        if key not in _TUS_KEYS or key in pairs:
            raise ProtocolError("Upload-Metadata must carry item_id, session_id and meta, "
                                "once each")
        try:
            pairs[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(f"Upload-Metadata {key} is not base64 text") from None
    if len(pairs) != len(_TUS_KEYS):
        raise ProtocolError("Upload-Metadata must carry item_id, session_id and meta")
    meta = loads(pairs["meta"].encode(), limit=MAX_META_BYTES)
    session_id = fields.text(pairs["session_id"], "session_id", 64, SESSION_ID)
    checked = check_item(pairs["item_id"], "recording", session_id, meta)
    if checked["size"] != length:
        raise ProtocolError("Upload-Length differs from the recording's size")
    return UploadRequest(pairs["item_id"], session_id, checked, length)


# --- enrollment -----------------------------------------------------------------------------

@dataclass(frozen=True)
class EnrollRequest:
    """What a kiosk sends with its one-time code."""

    code: str
    name: str
    public_key: bytes  # raw Ed25519


def parse_enroll_request(body: bytes) -> EnrollRequest:
    """The enrollment request, checked."""
    doc = fields.obj(loads(body, limit=4096), "the enrollment", ("code", "name", "public_key"),
                     ("code", "name", "public_key"))
    code = fields.text(doc["code"], "code", 19, ENROLL_CODE)
    name = fields.text(doc["name"], "name", 80, DEVICE_NAME)
    public_key = _b64(doc["public_key"], "public_key", 32)
    if len(public_key) != 32:
        raise ProtocolError("public_key must be a raw 32-byte Ed25519 key")
    return EnrollRequest(code, name, public_key)


@dataclass(frozen=True)
class Enrollment:
    """What HQ answers: who the kiosk now is, and whom to seal for."""

    device_id: str
    hq_recipient: str        # a vault recipient (kiosk.vault.Recipient text form)
    hq_signing_key: bytes    # raw Ed25519: HQ signs what it sends down (config, orders)


def parse_enrollment(body: bytes) -> Enrollment:
    """HQ's answer to enrollment, checked."""
    doc = loads(body, limit=64 * 1024)
    device_id = fields.text(doc.get("device_id"), "device_id", 128, DEVICE_ID)
    recipient = fields.text(doc.get("hq_recipient"), "hq_recipient", 8192)
    signing = _b64(doc.get("hq_signing_key"), "hq_signing_key", 32)
    if len(signing) != 32:
        raise ProtocolError("hq_signing_key must be a raw 32-byte Ed25519 key")
    return Enrollment(device_id, recipient, signing)


# --- configuration flowing down -------------------------------------------------------------

@dataclass(frozen=True)
class Config:
    """What HQ sends down to one kiosk: templates (their policies travel inside them) and
    erasure orders, numbered so that an older document can never replace a newer one."""

    device_id: str
    version: int                       # raised by HQ whenever this kiosk's document changes
    issued_at: str                     # when HQ first issued this version (UTC ISO 8601)
    templates: dict[str, str]          # template id -> TOML text
    erasures: list[tuple[str, str]]    # (order id, session id): erase, then confirm
    drives: tuple[DriveConfig, ...] = ()   # only for a kiosk HQ assigned to a drive


_CONFIG_KEYS = ("device_id", "version", "issued_at", "templates", "erasures", "drives")
_CONFIG_REQUIRED = _CONFIG_KEYS[:5]


def parse_config(body: bytes) -> Config:
    """HQ's configuration answer, checked for shape (templates are checked by the kiosk)."""
    doc = fields.obj(loads(body, limit=MAX_CONFIG_BYTES), "the configuration", _CONFIG_KEYS,
                     _CONFIG_REQUIRED)
    device_id = fields.text(doc["device_id"], "device_id", 128, DEVICE_ID)
    version = fields.integer(doc["version"], "version", 1, MAX_REVISION)
    issued_at = fields.timestamp(doc["issued_at"], "issued_at")
    templates = fields.mapping(doc["templates"], "templates", 200, QUESTION_ID)
    checked = {}
    for template_id, toml_text in templates.items():
        checked[template_id] = fields.text(toml_text, f"templates.{template_id}",
                                           MAX_TEMPLATE_BYTES)
    erasures = []
    for number, order in enumerate(fields.array(doc["erasures"], "erasures", 100_000)):
        where = f"erasures[{number}]"
        order = fields.obj(order, where, ("order_id", "session_id"), ("order_id", "session_id"))
        erasures.append((fields.text(order["order_id"], f"{where}.order_id", 32, ORDER_ID),
                         fields.text(order["session_id"], f"{where}.session_id", 64,
                                     SESSION_ID)))
    return Config(device_id, version, issued_at, checked, erasures,
                  parse_drives(doc.get("drives", [])))


def error_body(code: str, message: str) -> bytes:
    """HQ's answer when it refuses: a stable code for programs, a sentence for people."""
    return dumps({"error": code, "message": message})
