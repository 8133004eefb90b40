"""Signed invitations (sync.invites): what a kiosk accepts offline, and every refusal."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st

from sync import invites
from sync.signing import CONFIG_CONTEXT

KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key()
DRIVE = "d-0123456789"
INVITE = "i-0123456789abcdef"
EXP = "2026-12-05T23:59:59+05:30"
BEFORE = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)   # 23:30 in India: still valid
AFTER = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)   # 00:00 in India: expired


def _token() -> str:
    return invites.sign(KEY, DRIVE, INVITE, EXP)


def _parts(token: str) -> tuple[bytes, str]:
    _, body, signature = token.split(".")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), signature


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_signed_invite_verifies_and_names_drive_invite_and_expiry() -> None:
    token = _token()
    assert token.startswith("IK1.") and len(token) <= invites.MAX_TOKEN
    found = invites.verify(token, PUBLIC, {DRIVE}, BEFORE)
    assert (found.drive, found.invite) == (DRIVE, INVITE)
    assert found.expires == datetime(2026, 12, 5, 23, 59, 59,
                                     tzinfo=timezone(timedelta(hours=5, minutes=30)))


def test_the_payload_is_canonical_json_and_names_no_person() -> None:
    body, _ = _parts(_token())
    assert body == (b'{"drive":"d-0123456789","exp":"2026-12-05T23:59:59+05:30",'
                    b'"invite":"i-0123456789abcdef","v":1}')


def test_the_signature_is_over_the_context_and_the_payload() -> None:
    body, signature = _parts(_token())
    PUBLIC.verify(base64.urlsafe_b64decode(signature + "=="), invites.CONTEXT + body)


@pytest.mark.parametrize("position", [4, 20, 60, -30, -1])
def test_a_tampered_invite_is_refused_as_tampered(position: int) -> None:
    token = _token()
    char = token[position]
    # A different character of the same alphabet whose 6 bits differ in the high bits, so
    # the bytes change (a swap of only the unused low bits would be refused as malformed).
    swapped = "A" if char != "A" else "g"
    altered = token[:position] + swapped + token[position + 1:] if position >= 0 else \
        token[:len(token) + position] + swapped + token[len(token) + position + 1:]
    with pytest.raises(invites.InviteError) as refused:
        invites.verify(altered, PUBLIC, {DRIVE}, BEFORE)
    assert refused.value.reason in ("tampered", "malformed")


def test_a_changed_payload_with_the_old_signature_is_tampered() -> None:
    body, signature = _parts(_token())
    other = body.replace(b"d-0123456789", b"d-9999999999")
    with pytest.raises(invites.TamperedInviteError) as refused:
        invites.verify(f"IK1.{_b64(other)}.{signature}", PUBLIC, {"d-9999999999"}, BEFORE)
    assert refused.value.reason == "tampered"


def test_an_invite_signed_by_another_key_is_tampered() -> None:
    other = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(invites.TamperedInviteError):
        invites.verify(invites.sign(other, DRIVE, INVITE, EXP), PUBLIC, {DRIVE}, BEFORE)


def test_hq_signature_over_a_configuration_is_not_an_invite() -> None:
    body = invites.payload(DRIVE, INVITE, EXP)
    signature = KEY.sign(CONFIG_CONTEXT + body)
    with pytest.raises(invites.TamperedInviteError):
        invites.verify(f"IK1.{_b64(body)}.{_b64(signature)}", PUBLIC, {DRIVE}, BEFORE)


def test_an_expired_invite_is_refused_at_its_expiry_in_its_own_offset() -> None:
    token = _token()
    invites.verify(token, PUBLIC, {DRIVE}, AFTER - timedelta(seconds=2))
    with pytest.raises(invites.ExpiredInviteError) as refused:
        invites.verify(token, PUBLIC, {DRIVE}, AFTER)
    assert refused.value.reason == "expired"


def test_an_invite_for_another_drive_is_refused() -> None:
    with pytest.raises(invites.OtherDriveInviteError) as refused:
        invites.verify(_token(), PUBLIC, {"d-aaaaaaaaaa"}, BEFORE)
    assert refused.value.reason == "other_drive"
    with pytest.raises(invites.OtherDriveInviteError):
        invites.verify(_token(), PUBLIC, set(), BEFORE)


def _signed_raw(body: bytes) -> str:
    return f"IK1.{_b64(body)}.{_b64(KEY.sign(invites.CONTEXT + body))}"


@pytest.mark.parametrize("doc", [
    {"v": 1, "drive": DRIVE, "invite": INVITE},                                   # no exp
    {"v": 1, "drive": DRIVE, "invite": INVITE, "exp": EXP, "name": "A"},          # extra
    {"v": 2, "drive": DRIVE, "invite": INVITE, "exp": EXP},                       # version
    {"v": True, "drive": DRIVE, "invite": INVITE, "exp": EXP},                    # bool
    {"v": 1, "drive": "D-0123456789", "invite": INVITE, "exp": EXP},              # id
    {"v": 1, "drive": DRIVE, "invite": "i-1", "exp": EXP},                        # id
    {"v": 1, "drive": DRIVE, "invite": INVITE, "exp": "2026-12-05T23:59:59"},     # no offset
    {"v": 1, "drive": DRIVE, "invite": INVITE, "exp": "2026-02-30T00:00:00Z"},    # no date
    {"v": 1, "drive": DRIVE, "invite": INVITE, "exp": 1765000000},                # number
])
def test_a_signed_but_malformed_payload_is_refused_as_malformed(doc: dict[str, object]) -> None:
    body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(invites.MalformedInviteError):
        invites.verify(_signed_raw(body), PUBLIC, {DRIVE}, BEFORE)


def test_a_non_canonical_payload_is_refused_even_when_signed() -> None:
    body = json.dumps({"v": 1, "drive": DRIVE, "invite": INVITE, "exp": EXP}).encode()
    with pytest.raises(invites.MalformedInviteError):
        invites.verify(_signed_raw(body), PUBLIC, {DRIVE}, BEFORE)


@pytest.mark.parametrize("token", [
    "", "IK1", "IK2." + "A" * 40 + "." + "A" * 86, "IK1." + "A" * 40 + "." + "A" * 85,
    "IK1." + "A" * 400 + "." + "A" * 86, "IK1.+" + "A" * 39 + "." + "A" * 86,
    "IK1." + "A" * 40 + "." + "A" * 86 + ".", "x" * 10_000,
    "IK1.\uff21" + "A" * 39 + "." + "A" * 86,
])
def test_what_is_not_an_invite_is_refused_as_malformed(token: str) -> None:
    with pytest.raises(invites.MalformedInviteError) as refused:
        invites.verify(token, PUBLIC, {DRIVE}, BEFORE)
    assert refused.value.reason == "malformed"


def test_non_canonical_base64_trailing_bits_are_refused() -> None:
    token = _token()
    head, body, signature = token.split(".")
    # The signature's last character carries 4 unused bits: another value for them decodes
    # to the same bytes, and must not be a second spelling of the same invite.
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(last)
    twin = alphabet[(index & ~0b1111) | ((index + 1) & 0b1111)]
    with pytest.raises(invites.MalformedInviteError):
        invites.verify(f"{head}.{body}.{signature[:-1]}{twin}", PUBLIC, {DRIVE}, BEFORE)


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        invites.verify(_token(), PUBLIC, {DRIVE}, datetime(2026, 12, 5))


def test_signing_checks_its_own_input() -> None:
    with pytest.raises(invites.MalformedInviteError):
        invites.sign(KEY, "drive-1", INVITE, EXP)
    with pytest.raises(invites.MalformedInviteError):
        invites.sign(KEY, DRIVE, INVITE, "2026-12-05")


@given(st.text(max_size=300))
def test_no_text_raises_anything_but_invite_error(text: str) -> None:
    with contextlib.suppress(invites.InviteError):
        invites.verify(text, PUBLIC, {DRIVE}, BEFORE)


# --- short codes ---------------------------------------------------------------------------

def test_a_new_code_is_nine_characters_and_checks() -> None:
    codes = {invites.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 9 and invites.normalize_code(code) == code


def test_a_code_is_forgiven_case_spaces_hyphens_and_lookalikes() -> None:
    code = "1O0ABCDEF"
    code = code[:8] + invites._check(code[:8].replace("O", "0"))
    typed = invites.display_code(code).lower().replace("0", "o").replace("1", "l")
    assert invites.display_code(code).count("-") == 2
    assert invites.normalize_code(" " + typed + " ") == code.replace("O", "0")


def test_every_single_mistyped_character_is_caught() -> None:
    code = invites.new_code()
    for position in range(len(code)):
        for char in invites.ALPHABET:
            if char == code[position]:
                continue
            with pytest.raises(invites.MalformedInviteError, match="typing mistake"):
                invites.normalize_code(code[:position] + char + code[position + 1:])


@pytest.mark.parametrize("typed", ["", "ABC-DEF", "ABC-DEF-GHJK", "ABC-DEF-GHU", "Ä" * 9,
                                   "A" * 41])
def test_what_is_not_a_code_is_malformed(typed: str) -> None:
    with pytest.raises(invites.MalformedInviteError):
        invites.normalize_code(typed)
