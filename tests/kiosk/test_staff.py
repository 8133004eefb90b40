"""The staff PIN: hashed, checked, and locked after repeated failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.staff import StaffLockedError, StaffPinError, check_pin, has_pin, set_pin


def test_pin_is_stored_hashed_and_checked(tmp_path: Path) -> None:
    assert not has_pin(tmp_path)
    set_pin(tmp_path, "482916")
    assert has_pin(tmp_path)
    assert "482916" not in (tmp_path / "keys" / "staff-pin.json").read_text()
    assert check_pin(tmp_path, "482916")
    assert not check_pin(tmp_path, "111111")


@pytest.mark.parametrize("pin", ["12345", "abcdef", "111111", "121212"])
def test_weak_pins_are_refused(tmp_path: Path, pin: str) -> None:
    with pytest.raises(StaffPinError):
        set_pin(tmp_path, pin)


def test_five_wrong_pins_lock_entry_for_five_minutes(tmp_path: Path) -> None:
    set_pin(tmp_path, "482916")
    now = [1000.0]
    for _ in range(5):
        assert not check_pin(tmp_path, "000000", clock=lambda: now[0])
    with pytest.raises(StaffLockedError) as locked:
        check_pin(tmp_path, "482916", clock=lambda: now[0])  # even the right one waits
    assert locked.value.seconds_left == 300
    now[0] += 301
    assert check_pin(tmp_path, "482916", clock=lambda: now[0])
    record = json.loads((tmp_path / "keys" / "staff-pin.json").read_text())
    assert record["failures"] == 0


def test_no_pin_set(tmp_path: Path) -> None:
    with pytest.raises(StaffPinError, match="no staff PIN"):
        check_pin(tmp_path, "482916")
