"""The kiosk-to-HQ wire protocol: paths, limits and the shapes of what crosses, checked strictly.

Both ends use these parsers: HQ on what kiosks send (and on bundles), the kiosk on what HQ
answers. A parser either returns a typed value or raises `ProtocolError` naming the first
field that is wrong; nothing unchecked reaches a database. docs/sync-protocol.md is the spec.

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

API = "/v1"
ENROLL_PATH = f"{API}/enroll"
ITEMS_PATH = f"{API}/items"
UPLOADS_PATH = f"{API}/uploads"
CONFIG_PATH = f"{API}/config"
ERASURES_PATH = f"{API}/erasures"
TUS_VERSION = "1.0.0"

MAX_RECORD_BYTES = 2 * 1024 * 1024       # one session's sealed scorecard or one transcript
MAX_CHUNK_BYTES = 4 * 1024 * 1024        # one PATCH of a resumable upload
MAX_RECORDING_BYTES = 8 * 1024 ** 3      # one answer's vault file
MAX_META_BYTES = 64 * 1024

KINDS = ("session", "transcript", "recording", "selfid")
STATUSES = ("completed", "interrupted", "in_progress")
DECISIONS = ("advance", "hold", "reject")
ITEM_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,200}$")
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
QUESTION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEVICE_NAME = re.compile(r"^[\w .()-]{1,80}$")
ENROLL_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}$")


class ProtocolError(ValueError):
    """A message does not have the shape the protocol gives it."""


def _obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(f"{where} must be a JSON object")
    return value


def _str(doc: Mapping[str, Any], key: str, pattern: re.Pattern[str] | None = None,
         optional: bool = False, limit: int = 200) -> str | None:
    value = doc.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise ProtocolError(f"{key} must be text of 1 to {limit} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise ProtocolError(f"{key} has characters or a form the protocol does not allow")
    return value


def _level(value: object, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ProtocolError(f"{key} must be a level from 1 to 5, or null")
    return value


def _b64(value: object, key: str) -> bytes:
    if not isinstance(value, str):
        raise ProtocolError(f"{key} must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{key} is not valid base64") from None


def loads(body: bytes, limit: int = MAX_RECORD_BYTES) -> dict[str, Any]:
    """A JSON object from a request or response body, bounded and strict."""
    if len(body) > limit:
        raise ProtocolError(f"the body is larger than {limit} bytes")
    try:
        doc = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except ProtocolError:
        raise
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, or a 4300-digit number
        raise ProtocolError("the body is not JSON") from None
    return _obj(doc, "the body")


COUNT = re.compile(r"[0-9]{1,20}")


def count(value: str, name: str) -> int:
    """A byte count or offset from a header: ASCII digits only (no "²", no 5000 digits)."""
    if not COUNT.fullmatch(value):
        raise ProtocolError(f"{name} must be a byte count")
    return int(value)


def _no_constant(name: str) -> None:
    raise ProtocolError(f"{name} is not allowed in protocol JSON")


def dumps(doc: Mapping[str, Any]) -> bytes:
    """Compact, stable JSON (the bytes that get signed and digested)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- records: a session's scorecard, a question's transcript ------------------------------

@dataclass(frozen=True)
class Record:
    """One record a kiosk sends: a queryable index and the content sealed to HQ's key."""

    item_id: str
    kind: str
    session_id: str
    meta: dict[str, Any]
    sealed: bytes


def session_meta(doc: object) -> dict[str, Any]:
    """The queryable, non-identifying summary of a session (what HQ lists and exports)."""
    meta = _obj(doc, "meta")
    scores = _obj(meta.get("scores", {}), "meta.scores")
    if len(scores) > 50:
        raise ProtocolError("meta.scores has more than 50 competencies")
    checked_scores = {}
    for competency, levels in scores.items():
        if not QUESTION_ID.fullmatch(competency):
            raise ProtocolError("meta.scores has a malformed competency id")
        levels = _obj(levels, f"meta.scores.{competency}")
        checked_scores[competency] = {
            "suggested": _level(levels.get("suggested"), "suggested"),
            "reviewer": _level(levels.get("reviewer"), "reviewer")}
    status = _str(meta, "status")
    if status not in STATUSES:
        raise ProtocolError(f"meta.status must be one of {', '.join(STATUSES)}")
    decision = _str(meta, "decision", optional=True)
    if decision is not None and decision not in DECISIONS:
        raise ProtocolError(f"meta.decision must be one of {', '.join(DECISIONS)}, or null")
    counts: dict[str, int | None] = {}
    for key in ("questions", "answered"):
        value = meta.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 200:
            raise ProtocolError(f"meta.{key} must be a count")
        counts[key] = value
    needs_review = meta.get("needs_review")
    if not isinstance(needs_review, bool):
        raise ProtocolError("meta.needs_review must be true or false")
    for key in ("retention_days", "rejected_retention_days"):
        value = meta.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 1 <= value <= 3650):
            raise ProtocolError(f"meta.{key} must be 1 to 3650 days, or absent")
        counts[key] = value
    return {
        "reference": _str(meta, "reference", re.compile(r"^[A-Z0-9-]{4,20}$")),
        "interview_id": _str(meta, "interview_id", QUESTION_ID),
        "template_sha256": _str(meta, "template_sha256", re.compile(r"^[0-9a-f]{64}$")),
        "language": _str(meta, "language", re.compile(r"^[a-z]{2,3}$")),
        "status": status,
        "started_at": _str(meta, "started_at", limit=40),
        "ended_at": _str(meta, "ended_at", optional=True, limit=40),
        "decision": decision, "needs_review": needs_review, "scores": checked_scores,
        **counts,
    }


def transcript_meta(doc: object) -> dict[str, Any]:
    """Which question a transcript belongs to, and whether a person should check it."""
    meta = _obj(doc, "meta")
    needs_review = meta.get("needs_review")
    if not isinstance(needs_review, bool):
        raise ProtocolError("meta.needs_review must be true or false")
    return {"question_id": _str(meta, "question_id", QUESTION_ID),
            "needs_review": needs_review}


def recording_meta(doc: object) -> dict[str, Any]:
    """Which answer a recording belongs to; its size and SHA-256 are checked on arrival."""
    meta = _obj(doc, "meta")
    media = _str(meta, "media")
    if media not in ("video", "audio"):
        raise ProtocolError("meta.media must be video or audio")
    take = meta.get("take")
    if isinstance(take, bool) or not isinstance(take, int) or not 1 <= take <= 100:
        raise ProtocolError("meta.take must be a take number")
    size = meta.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_RECORDING_BYTES:
        raise ProtocolError(f"meta.size must be 1 to {MAX_RECORDING_BYTES} bytes")
    return {"question_id": _str(meta, "question_id", QUESTION_ID), "take": take,
            "media": media, "size": size,
            "sha256": _str(meta, "sha256", re.compile(r"^[0-9a-f]{64}$"))}


def self_id_meta(doc: object) -> dict[str, Any]:
    """Self-identification carries nothing in the clear: its meta is empty."""
    if _obj(doc, "meta"):
        raise ProtocolError("a self-identification record has empty meta")
    return {}


META_PARSERS = {"session": session_meta, "transcript": transcript_meta,
                "recording": recording_meta, "selfid": self_id_meta}


def check_meta(kind: str, session_id: str, meta: object) -> dict[str, Any]:
    """An item's metadata checked for its kind (and its session id checked)."""
    if kind not in META_PARSERS:
        raise ProtocolError(f"kind must be one of {', '.join(KINDS)}")
    if not SESSION_ID.fullmatch(session_id):
        raise ProtocolError("session_id has a form the protocol does not allow")
    if len(dumps(_obj(meta, "meta"))) > MAX_META_BYTES:
        raise ProtocolError(f"meta is larger than {MAX_META_BYTES} bytes")
    return META_PARSERS[kind](meta)


def item_id(session_id: str, kind: str, part: str = "") -> str:
    """The client-generated id that makes an upload idempotent."""
    return f"{session_id}/{kind}" + (f"/{part}" if part else "")


def parse_record(item: str, body: bytes) -> Record:
    """A record PUT to `/v1/items/{item}`: its envelope and metadata checked."""
    if not ITEM_ID.fullmatch(item):
        raise ProtocolError("the item id has a form the protocol does not allow")
    doc = loads(body)
    kind = _str(doc, "kind")
    session_id = _str(doc, "session_id")
    assert kind is not None and session_id is not None
    if kind == "recording":
        raise ProtocolError("recordings go up as resumable uploads, not records")
    meta = check_meta(kind, session_id, doc.get("meta"))
    sealed = _b64(doc.get("sealed"), "sealed")
    if not sealed:
        raise ProtocolError("sealed must not be empty")
    return Record(item, kind, session_id, meta, sealed)


def record_body(record: Record) -> bytes:
    """The JSON body that carries `record`."""
    return dumps({"kind": record.kind, "session_id": record.session_id, "meta": record.meta,
                  "sealed": base64.b64encode(record.sealed).decode()})


# --- enrollment -----------------------------------------------------------------------------

@dataclass(frozen=True)
class EnrollRequest:
    """What a kiosk sends with its one-time code."""

    code: str
    name: str
    public_key: bytes  # raw Ed25519


def parse_enroll_request(body: bytes) -> EnrollRequest:
    """The enrollment request, checked."""
    doc = loads(body, limit=4096)
    code = _str(doc, "code", ENROLL_CODE, limit=19)
    name = _str(doc, "name", DEVICE_NAME, limit=80)
    public_key = _b64(doc.get("public_key"), "public_key")
    if len(public_key) != 32:
        raise ProtocolError("public_key must be a raw 32-byte Ed25519 key")
    assert code is not None and name is not None
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
    device_id = _str(doc, "device_id", re.compile(r"^[A-Za-z0-9._-]{1,128}$"))
    recipient = _str(doc, "hq_recipient", limit=8192)
    signing = _b64(doc.get("hq_signing_key"), "hq_signing_key")
    if len(signing) != 32:
        raise ProtocolError("hq_signing_key must be a raw 32-byte Ed25519 key")
    assert device_id is not None and recipient is not None
    return Enrollment(device_id, recipient, signing)


# --- configuration flowing down -------------------------------------------------------------

@dataclass(frozen=True)
class Config:
    """What HQ sends down: templates (their policies travel inside them) and erasure orders."""

    version: str
    templates: dict[str, str]  # template id -> TOML text
    erasures: list[tuple[str, str]]  # (order id, session id): erase, then confirm


def parse_config(body: bytes) -> Config:
    """HQ's configuration answer, checked for shape (templates are checked by the kiosk)."""
    doc = loads(body, limit=MAX_RECORD_BYTES)
    version = _str(doc, "version", re.compile(r"^[0-9a-f]{64}$"))
    templates = _obj(doc.get("templates", {}), "templates")
    checked = {}
    for template_id, text in templates.items():
        if not QUESTION_ID.fullmatch(template_id) or not isinstance(text, str):
            raise ProtocolError("templates must map template ids to TOML text")
        checked[template_id] = text
    erasures = []
    raw_orders = doc.get("erasures", [])
    if not isinstance(raw_orders, list):
        raise ProtocolError("erasures must be a list")
    for order in raw_orders:
        order = _obj(order, "an erasure order")
        order_id = _str(order, "order_id", re.compile(r"^[0-9a-f]{32}$"))
        session_id = _str(order, "session_id", SESSION_ID)
        assert order_id is not None and session_id is not None
        erasures.append((order_id, session_id))
    assert version is not None
    return Config(version, checked, erasures)


def error_body(code: str, message: str) -> bytes:
    """HQ's answer when it refuses: a stable code for programs, a sentence for people."""
    return dumps({"error": code, "message": message})
