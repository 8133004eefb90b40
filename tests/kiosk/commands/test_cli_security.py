"""The staff commands for keys, vault files, erasure and the audit log, end to end."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk import keys
from kiosk.clock import FakeClock
from kiosk.commands import main
from kiosk.flow import CandidateFlow
from kiosk.store import Store
from kiosk.vault import Identity
from tests.kiosk.conftest import TIMINGS, small_template

PASS = "seven wide rivers at dawn"
FAST = ["--kdf-memory-mib", "8", "--kdf-iterations", "1"]


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    path = tmp_path / "pass.txt"
    path.write_text(PASS + "\n")
    return path


@pytest.fixture
def initialised(fresh_data_dir: Path, passfile: Path, capsys) -> Path:
    assert main.main(["init", *FAST, "--passphrase-file", str(passfile)]) == 0
    capsys.readouterr()
    return fresh_data_dir


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_init_creates_keys_database_and_audit(initialised: Path, capsys) -> None:
    assert (initialised / "keys" / "kiosk-keys.json").exists()
    assert (initialised / "kiosk.db").exists()
    status, out, _ = run(capsys, "audit", "list")
    assert status == 0 and "keys.initialised" in out


def test_init_twice_is_refused_before_asking(initialised: Path, capsys) -> None:
    status, _, err = run(capsys, "init")
    assert status == 2 and "already has kiosk keys" in err


def test_init_refuses_a_weak_passphrase(tmp_path: Path, capsys) -> None:
    weak = tmp_path / "weak"
    weak.write_text("short")
    status, _, err = run(capsys, "init", *FAST, "--passphrase-file", str(weak))
    assert status == 1 and "at least 12 characters" in err


def test_without_a_terminal_a_passphrase_source_is_required(capsys) -> None:
    status, _, err = run(capsys, "init", *FAST)
    assert status == 2 and "--passphrase-file FILE or set KIOSK_PASSPHRASE" in err


def test_passphrase_from_the_environment(fresh_data_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("KIOSK_PASSPHRASE", PASS)
    assert run(capsys, "init", *FAST)[0] == 0
    assert run(capsys, "unlock")[0] == 0


def test_unlock_wrong_then_right(initialised: Path, capsys, tmp_path: Path,
                                 no_waiting: list[float]) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all")
    status, _, err = run(capsys, "unlock", "--passphrase-file", str(wrong))
    assert status == 1 and err == "kiosk: error: wrong passphrase\n"
    assert no_waiting == [1.0]
    status, out, _ = run(capsys, "unlock", "--passphrase-file", str(tmp_path / "pass.txt"))
    assert status == 0 and out.startswith("Unlocked: vault key id ")
    _, log, _ = run(capsys, "audit", "list")
    assert "keys.unlock_failed" in log and "keys.unlocked" in log


def test_passphrase_change(initialised: Path, capsys, tmp_path: Path, passfile: Path) -> None:
    new = tmp_path / "new"
    new.write_text("eight quiet owls at midnight")
    status, out, _ = run(capsys, "passphrase", "change", "--passphrase-file", str(passfile),
                         "--new-passphrase-file", str(new))
    assert status == 0 and "untouched" in out
    assert run(capsys, "unlock", "--passphrase-file", str(new))[0] == 0
    assert run(capsys, "unlock", "--passphrase-file", str(passfile))[0] == 1


def test_missing_keys_are_a_clear_error(capsys, passfile: Path) -> None:
    status, _, err = run(capsys, "unlock", "--passphrase-file", str(passfile))
    assert status == 2 and "run `kiosk init`" in err


def test_vault_seal_inspect_verify_open(initialised: Path, capsys, tmp_path: Path,
                                        passfile: Path) -> None:
    plain, sealed, back = tmp_path / "plain", tmp_path / "plain.vault", tmp_path / "back"
    plain.write_bytes(b"support data " * 10_000)
    assert run(capsys, "vault", "seal", str(plain), str(sealed))[0] == 0
    status, out, _ = run(capsys, "vault", "inspect", str(sealed))
    assert status == 0 and "suite HYBRID" in out and "finished" in out
    status, out, _ = run(capsys, "vault", "inspect", str(sealed), "--verify",
                         "--passphrase-file", str(passfile))
    assert status == 0 and "verified: all 2 segments authentic, 130000 bytes" in out
    assert run(capsys, "vault", "open", str(sealed), str(back),
               "--passphrase-file", str(passfile))[0] == 0
    assert back.read_bytes() == plain.read_bytes()
    assert (back.stat().st_mode & 0o777) == 0o600
    status, _, err = run(capsys, "vault", "seal", str(plain), str(sealed))
    assert status == 2 and "already exists" in err


def test_a_damaged_file_is_refused_whole_and_nothing_is_written(
        initialised: Path, capsys, tmp_path: Path, passfile: Path) -> None:
    plain, sealed, out = tmp_path / "plain", tmp_path / "s.vault", tmp_path / "out"
    plain.write_bytes(bytes(200_000))
    run(capsys, "vault", "seal", str(plain), str(sealed))
    damaged = bytearray(sealed.read_bytes())
    damaged[-70_000] ^= 0x40  # inside the second of four segments
    sealed.write_bytes(bytes(damaged))
    status, _, err = run(capsys, "vault", "open", str(sealed), str(out),
                         "--passphrase-file", str(passfile))
    assert status == 1 and err.startswith("kiosk: error: segment ") and err.count("\n") == 1
    assert not out.exists()  # no partial plaintext
    status, _, err = run(capsys, "vault", "inspect", str(sealed), "--verify",
                         "--passphrase-file", str(passfile))
    assert status == 1 and "failed authentication" in err


@pytest.mark.parametrize(("content", "message"), [
    (b"just some text", "not a vault file"),
    (b"", "not a vault file"),
])
def test_not_a_vault(initialised: Path, capsys, tmp_path: Path, passfile: Path,
                     content: bytes, message: str) -> None:
    path = tmp_path / "x"
    path.write_bytes(content)
    status, _, err = run(capsys, "vault", "open", str(path), str(tmp_path / "y"),
                         "--passphrase-file", str(passfile))
    assert status == 1 and message in err


def test_a_file_for_someone_else(initialised: Path, capsys, tmp_path: Path,
                                 passfile: Path) -> None:
    from kiosk.vault import seal_bytes

    path = tmp_path / "theirs.vault"
    path.write_bytes(seal_bytes(b"x", [Identity.generate().recipient]))
    status, _, err = run(capsys, "vault", "open", str(path), "-",
                         "--passphrase-file", str(passfile))
    assert status == 1 and "not sealed to any key we hold" in err


def test_recover_an_unfinished_file(initialised: Path, capsys, tmp_path: Path,
                                    passfile: Path) -> None:
    from kiosk.vault import VaultWriter

    cut = tmp_path / "cut.vault"
    with cut.open("wb") as sink:
        writer = VaultWriter(sink, keys.recipients(initialised))
        writer.write(b"A" * 200_000)
        writer.abandon()
    status, out, _ = run(capsys, "vault", "inspect", str(cut))
    assert "UNFINISHED" in out
    saved = tmp_path / "saved.vault"
    status, out, _ = run(capsys, "vault", "recover", str(cut), str(saved),
                         "--passphrase-file", str(passfile))
    assert status == 0 and "recovered 196608 bytes in 3 segments" in out
    back = tmp_path / "back"
    run(capsys, "vault", "open", str(saved), str(back), "--passphrase-file", str(passfile))
    assert back.read_bytes() == b"A" * 196_608


def test_seal_and_open_through_pipes(initialised: Path, passfile: Path) -> None:
    kiosk = [sys.executable, "-m", "kiosk", "--data-dir", str(initialised)]
    sealed = subprocess.run([*kiosk, "vault", "seal", "-", "-"], input=b"piped words",
                            capture_output=True, check=True).stdout
    opened = subprocess.run([*kiosk, "vault", "open", "/dev/stdin", "-",
                             "--passphrase-file", str(passfile)],
                            input=sealed, capture_output=True, check=False)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == b"piped words"


def make_session(data_dir: Path) -> str:
    store = Store(data_dir, keys.recipients(data_dir))
    flow = CandidateFlow(small_template(), clock=FakeClock(), archive=store, timings=TIMINGS)
    flow.start()
    flow.choose_language("en")
    flow.identify("Olwen Marchetti", "olwen@example.net")
    flow.give_consent(recording=True, retention=True)
    reference = flow.reference or ""
    store.close()
    return reference


def test_erase_then_audit(initialised: Path, capsys, passfile: Path) -> None:
    reference = make_session(initialised)
    status, out, _ = run(capsys, "erase", "--session", reference.lower(), "--yes",
                         "--passphrase-file", str(passfile))
    assert status == 0 and f"Erased session {reference}" in out
    status, _, err = run(capsys, "erase", "--session", reference, "--yes",
                         "--passphrase-file", str(passfile))
    assert status == 1 and "no session has that reference code" in err
    status, out, _ = run(capsys, "audit", "verify")
    assert status == 0 and out.startswith("audit log intact:")
    everything = b"".join(p.read_bytes() for p in initialised.rglob("*") if p.is_file())
    assert b"Olwen" not in everything and reference.encode() not in everything


def test_erase_needs_confirmation_without_a_terminal(initialised: Path, capsys,
                                                     passfile: Path) -> None:
    reference = make_session(initialised)
    status, _, err = run(capsys, "erase", "--session", reference,
                         "--passphrase-file", str(passfile))
    assert status == 2 and "add --yes" in err


def test_audit_verify_names_the_first_broken_entry(initialised: Path, capsys) -> None:
    for value in ("90", "120", "150"):
        run(capsys, "settings", "set", "flow.idle_seconds", value)
    db = sqlite3.connect(initialised / "kiosk.db")
    db.execute("UPDATE audit SET details = '{\"setting\":\"log.level\"}' WHERE seq = 3")
    db.commit()
    db.close()
    status, _, err = run(capsys, "audit", "verify")
    assert status == 1 and err == "audit log broken at entry 3: entry 3 was altered\n"


def test_audit_verify_catches_removed_entries(initialised: Path, capsys) -> None:
    for value in ("90", "120"):
        run(capsys, "settings", "set", "flow.idle_seconds", value)
    db = sqlite3.connect(initialised / "kiosk.db")
    db.execute("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)")
    db.commit()
    db.close()
    status, _, err = run(capsys, "audit", "verify")
    assert status == 1 and "were removed" in err


def test_audit_before_init_is_a_clear_error(capsys) -> None:
    for command in ("verify", "list"):
        status, _, err = run(capsys, "audit", command)
        assert status == 2 and "run `kiosk init`" in err
