"""Signed invitations to a recruitment drive, checked by a kiosk with no network.

An invite token is what the QR code on a candidate's invitation holds:

    IK1.<base64url payload>.<base64url Ed25519 signature>

The payload is canonical JSON (sorted keys, no spaces) of exactly
`{"v": 1, "drive": ID, "invite": ID, "exp": ISO 8601 with an offset}`; the signature is
HQ's, by the key that signs kiosk configuration, over `CONTEXT + payload`. The context
keeps an invitation from ever being passed off as a configuration or a receipt, and the
other way round. A token names no person: the candidate's name and contact reach only the
drive's kiosks, sealed inside their configuration (docs/drives.md).

The short invite code printed beside the QR code (`ABC-DEF-GHJ`: eight Crockford base32
characters and a check character) is for typing when a camera cannot read the code; it
means something only to a kiosk holding the drive's roster, which maps codes to invites.

    InviteError                 an invitation cannot be accepted (`reason` says why)
    ├── MalformedInviteError    not an invitation of this format       reason "malformed"
    ├── TamperedInviteError     its signature does not verify          reason "tampered"
    ├── OtherDriveInviteError   it is for a drive this kiosk is not at reason "other_drive"
    └── ExpiredInviteError      its expiry has passed                  reason "expired"

Pure: no I/O, no clock of its own (callers pass `now`), no imports of ours but `sync.fields`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync.fields import ProtocolError, parse_time

PREFIX = "IK1"
CONTEXT = b"ik-invite-v1\0"
VERSION = 1
DRIVE_ID = re.compile(r"d-[0-9a-f]{10}")
INVITE_ID = re.compile(r"i-[0-9a-f]{16}")
MAX_PAYLOAD = 160          # bytes of JSON: the four members with the longest legal values
MAX_TOKEN = 4 + (MAX_PAYLOAD * 4 + 2) // 3 + 1 + 86
_KEYS = ("drive", "exp", "invite", "v")
_B64URL = r"[A-Za-z0-9_-]"
_TOKEN = re.compile(rf"IK1\.({_B64URL}{{20,{(MAX_PAYLOAD * 4 + 2) // 3}}})\."
                    rf"({_B64URL}{{86}})")
# The offset is required: an expiry of "midnight" means nothing without saying where.
_EXPIRY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                     r"(?:Z|[+-][0-9]{2}:[0-9]{2})")

# Crockford base32: no I, L, O or U, so what is read aloud or typed is hard to get wrong.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8            # 40 random bits per invite
_CODE = re.compile(rf"[{ALPHABET}]{{{CODE_LENGTH + 1}}}")
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})


class InviteError(ValueError):
    """An invitation that cannot be accepted; `reason` is one stable word for programs."""

    reason = "invalid"


class MalformedInviteError(InviteError):
    """Not an invitation of this format (or not a code of this format)."""

    reason = "malformed"


class TamperedInviteError(InviteError):
    """The invitation's signature does not verify: it was altered or not made by HQ."""

    reason = "tampered"


class OtherDriveInviteError(InviteError):
    """The invitation is for a drive this kiosk is not serving."""

    reason = "other_drive"


class ExpiredInviteError(InviteError):
    """The invitation's expiry has passed."""

    reason = "expired"


@dataclass(frozen=True)
class Invite:
    """A verified invitation: which drive, which invite, until when."""

    drive: str
    invite: str
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise MalformedInviteError("this is not an invitation code (bad encoding)") from None
    if _b64(data) != text:  # one encoding per byte string: no malleable trailing bits
        raise MalformedInviteError("this is not an invitation code (bad encoding)")
    return data


def payload(drive: str, invite: str, expires: str) -> bytes:
    """The canonical payload bytes (checked: ids, and an expiry with an offset)."""
    if not DRIVE_ID.fullmatch(drive) or not INVITE_ID.fullmatch(invite):
        raise MalformedInviteError("the drive or invite id is not of the invite format")
    _expiry(expires)
    body = json.dumps({"v": VERSION, "drive": drive, "invite": invite, "exp": expires},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    if len(body) > MAX_PAYLOAD:
        raise MalformedInviteError("the invitation is too long")
    return body


def sign(key: ed25519.Ed25519PrivateKey, drive: str, invite: str, expires: str) -> str:
    """The token for one invitation, signed with HQ's signing key."""
    body = payload(drive, invite, expires)
    return f"{PREFIX}.{_b64(body)}.{_b64(key.sign(CONTEXT + body))}"


def _expiry(text: object) -> datetime:
    if not isinstance(text, str) or not _EXPIRY.fullmatch(text):
        raise MalformedInviteError("the invitation's expiry is not a time with an offset")
    try:
        return parse_time(text, "exp")
    except ProtocolError:
        raise MalformedInviteError("the invitation's expiry is not a real time") from None


def _parse_payload(body: bytes) -> Invite:
    try:
        doc = json.loads(body.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedInviteError("the invitation's content is not JSON") from None
    if not isinstance(doc, dict) or tuple(sorted(doc)) != _KEYS:
        raise MalformedInviteError("the invitation's content has other members than "
                                   "v, drive, invite and exp")
    if type(doc["v"]) is not int or doc["v"] != VERSION:
        raise MalformedInviteError("the invitation is of another version")
    drive, invite, expires = doc["drive"], doc["invite"], doc["exp"]
    if not isinstance(drive, str) or not DRIVE_ID.fullmatch(drive) \
            or not isinstance(invite, str) or not INVITE_ID.fullmatch(invite):
        raise MalformedInviteError("the invitation's drive or invite id is malformed")
    found = Invite(drive, invite, _expiry(expires))
    if payload(drive, invite, expires) != body:
        raise MalformedInviteError("the invitation's content is not in canonical form")
    return found


def verify(token: str, hq_key: ed25519.Ed25519PublicKey, drives: Collection[str],
           now: datetime) -> Invite:
    """The invitation `token` holds, if HQ signed it, it is for one of `drives` and it has
    not expired at `now` (an aware datetime); else the InviteError that says why.

    The signature is checked before anything in the payload is believed, so an altered
    token says "tampered" whatever was changed."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    text = token.strip() if isinstance(token, str) else ""
    if len(text) > MAX_TOKEN:
        raise MalformedInviteError("this is not an invitation code (too long)")
    match = _TOKEN.fullmatch(text)
    if match is None:
        raise MalformedInviteError("this is not an invitation code")
    body, signature = _unb64(match[1]), _unb64(match[2])
    if len(body) > MAX_PAYLOAD:
        raise MalformedInviteError("this is not an invitation code (too long)")
    try:
        hq_key.verify(signature, CONTEXT + body)
    except InvalidSignature:
        raise TamperedInviteError("this invitation was altered or was not issued by HQ") \
            from None
    found = _parse_payload(body)
    if found.drive not in drives:
        raise OtherDriveInviteError("this invitation is for another drive")
    if now >= found.expires:
        raise ExpiredInviteError("this invitation has expired")
    return found


# --- short codes -----------------------------------------------------------------------------

def _check(data: str) -> str:
    # Odd weights are coprime to 32, so any one mistyped character changes the check.
    total = sum((2 * position + 1) * ALPHABET.index(char)
                for position, char in enumerate(data))
    return ALPHABET[total % 32]


def new_code() -> str:
    """A fresh invite code (eight random characters and a check character), canonical."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return data + _check(data)


def normalize_code(text: str) -> str:
    """A typed code in canonical form: case, spaces, hyphens and look-alikes (I, L → 1;
    O → 0) forgiven; MalformedInviteError if it is not a code or its check fails."""
    cleaned = "".join(char for char in text.upper() if char not in " -").translate(
        _LOOKALIKES) if isinstance(text, str) and len(text) <= 40 else ""
    if not _CODE.fullmatch(cleaned):
        raise MalformedInviteError("an invite code is nine letters and digits, "
                                   "like ABC-DEF-GHJ")
    if _check(cleaned[:CODE_LENGTH]) != cleaned[CODE_LENGTH]:
        raise MalformedInviteError("that invite code has a typing mistake; check it again")
    return cleaned


def display_code(code: str) -> str:
    """A canonical code as printed and shown: three groups of three."""
    return "-".join(code[i:i + 3] for i in range(0, len(code), 3))
