"""The disk-space check before each answer."""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

import pytest

from capture import disk
from capture.disk import RESERVE_BYTES, check_space

Usage = namedtuple("Usage", "total used free")


def test_enough_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda _: Usage(0, 0, 10 * 1024**3))
    result = check_space(tmp_path, 180, bytes_per_second=500_000)  # explicit rate
    assert result.ok and result.needed_bytes == 135_000_000 + RESERVE_BYTES
    assert 200 < result.minutes_left < 240


def test_too_little_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda _: Usage(0, 0, RESERVE_BYTES + 1000))
    result = check_space(tmp_path, 120)
    assert not result.ok and result.minutes_left < 0.01


def test_the_real_disk_answers(tmp_path: Path) -> None:
    assert check_space(tmp_path, 1).free_bytes > 0
