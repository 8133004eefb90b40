"""The kiosk's keys: wrapped under the passphrase, never usable without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.keys import (
    AlreadyInitialisedError,
    KdfParams,
    KeyFileError,
    NotInitialisedError,
    WeakPassphraseError,
    WrongPassphraseError,
    add_recipient,
    change_passphrase,
    failure_delay,
    init_keys,
    load_public,
    recipients,
    unlock,
)
from kiosk.vault import Identity, open_bytes, seal_bytes

FAST = KdfParams(memory_kib=8 * 1024, iterations=1, lanes=1)
PASS = "correct horse battery staple"


@pytest.fixture
def keyed(tmp_path: Path) -> Path:
    init_keys(tmp_path, PASS, FAST)
    return tmp_path


def test_init_then_unlock_gives_working_keys(keyed: Path) -> None:
    public = load_public(keyed)
    blob = seal_bytes(b"secret", [public.recipient])  # public key only: no passphrase
    keys = unlock(keyed, PASS)
    assert open_bytes(blob, [keys.identity]) == b"secret"
    signature = keys.signing.sign(b"request")
    assert len(public.signing_public) == 32 and len(signature) == 64


def test_private_keys_are_not_on_disk_in_the_clear(keyed: Path) -> None:
    keys = unlock(keyed, PASS)
    raw = (keyed / "keys" / "kiosk-keys.json").read_bytes()
    for secret in (keys.identity.private_bytes(), keys.signing.private_bytes_raw()):
        assert secret.hex().encode() not in raw and secret not in raw
    assert ((keyed / "keys" / "kiosk-keys.json").stat().st_mode & 0o777) == 0o600
    assert ((keyed / "keys").stat().st_mode & 0o777) == 0o700


def test_init_never_replaces_keys(keyed: Path) -> None:
    before = (keyed / "keys" / "kiosk-keys.json").read_bytes()
    with pytest.raises(AlreadyInitialisedError):
        init_keys(keyed, PASS, FAST)
    assert (keyed / "keys" / "kiosk-keys.json").read_bytes() == before


@pytest.mark.parametrize("weak", ["short", "aaaaaaaaaaaaaaaa", "password1234", "abababababab"])
def test_weak_passphrases_are_refused(tmp_path: Path, weak: str) -> None:
    with pytest.raises(WeakPassphraseError):
        init_keys(tmp_path, weak, FAST)
    assert not (tmp_path / "keys" / "kiosk-keys.json").exists()


def test_wrong_passphrase_waits_longer_each_time_and_changes_nothing(keyed: Path) -> None:
    waits: list[float] = []
    before = (keyed / "keys" / "kiosk-keys.json").read_bytes()
    for attempt in range(1, 5):
        with pytest.raises(WrongPassphraseError):
            unlock(keyed, "not the passphrase", sleep=waits.append)
        assert waits[-1] == failure_delay(attempt)
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert (keyed / "keys" / "kiosk-keys.json").read_bytes() == before
    unlock(keyed, PASS, sleep=waits.append)  # the right one still works, and resets the count
    with pytest.raises(WrongPassphraseError):
        unlock(keyed, "nope nope nope", sleep=waits.append)
    assert waits[-1] == 1.0


def test_the_delay_is_capped() -> None:
    assert failure_delay(0) == 0 and failure_delay(30) == 60.0


def test_passphrase_change_rewraps_the_same_keys(keyed: Path) -> None:
    blob = seal_bytes(b"recorded before", [load_public(keyed).recipient])
    change_passphrase(keyed, PASS, "a brand new passphrase here")
    with pytest.raises(WrongPassphraseError):
        unlock(keyed, PASS, sleep=lambda _: None)
    keys = unlock(keyed, "a brand new passphrase here")
    assert open_bytes(blob, [keys.identity]) == b"recorded before"


def test_passphrase_change_needs_the_old_one_and_a_strong_new_one(keyed: Path) -> None:
    with pytest.raises(WrongPassphraseError):
        change_passphrase(keyed, "wrong wrong wrong", "another good passphrase",
                          sleep=lambda _: None)
    with pytest.raises(WeakPassphraseError):
        change_passphrase(keyed, PASS, "weak")
    unlock(keyed, PASS)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(NotInitialisedError, match="run `kiosk init`"):
        unlock(tmp_path, PASS)
    with pytest.raises(NotInitialisedError):
        load_public(tmp_path)


@pytest.mark.parametrize("damage", ["not json", "format", "public", "sealed", "kdf"])
def test_corrupted_key_file(keyed: Path, damage: str) -> None:
    path = keyed / "keys" / "kiosk-keys.json"
    if damage == "not json":
        path.write_text("{ half a file")
    else:
        doc = json.loads(path.read_text())
        if damage == "format":
            doc["format"] = 99
        elif damage == "public":
            doc["public"]["recipient"] = Identity.generate().recipient.to_text()
        elif damage == "sealed":
            doc["sealed"] = doc["sealed"][:-8] + "AAAAAAA="
        else:
            doc["kdf"]["iterations"] = 2
        path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError):
        unlock(keyed, PASS, sleep=lambda _: None)
    assert not (keyed / "keys" / "unlock-failures.json").exists()  # not a wrong passphrase


def test_a_swapped_public_key_is_caught_at_unlock(keyed: Path) -> None:
    """An attacker who swaps in their own public key (fixing the checksum) is named."""
    from kiosk.keys import _checksum

    path = keyed / "keys" / "kiosk-keys.json"
    doc = json.loads(path.read_text())
    doc["public"]["recipient"] = Identity.generate().recipient.to_text()
    doc["check"] = _checksum(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="public keys do not match"):
        unlock(keyed, PASS)


def test_extra_recipients_are_sealed_to_as_well(keyed: Path) -> None:
    hq = Identity.generate()
    add_recipient(keyed, hq.recipient, "HQ")
    found = recipients(keyed)
    assert found == [load_public(keyed).recipient, hq.recipient]
    assert open_bytes(seal_bytes(b"to both", found), [hq]) == b"to both"


def test_a_bad_extra_recipient_line_is_reported_with_its_line(keyed: Path) -> None:
    from kiosk.errors import ConfigError

    (keyed / "keys" / "extra-recipients.txt").write_text("# HQ\nik-hybrid-AAAA\n")
    with pytest.raises(ConfigError, match="extra-recipients.txt:2"):
        recipients(keyed)
