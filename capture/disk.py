"""Is there room on disk for the next answer? Checked before each answer starts.

During the answer, a full disk shows up as a write error, which the recorder turns into a
cleanly ended take (see `AnswerRecorder`); this check makes that the rare case.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

# A 1280x720 answer at CRF 23 with fast x264 settings, AAC and the 16 kHz copy.
DEFAULT_BYTES_PER_SECOND = 700_000  # bench: 5.2 Mbit/s at 720p with a busy picture
SAFETY_FACTOR = 1.5
RESERVE_BYTES = 200 * 1024 * 1024  # the database, logs and the system need room too


@dataclass(frozen=True)
class SpaceCheck:
    """Whether an answer of a given length fits, and how many minutes are left."""

    ok: bool
    free_bytes: int
    needed_bytes: int
    minutes_left: float


def check_space(path: Path, seconds: float,
                bytes_per_second: int = DEFAULT_BYTES_PER_SECOND) -> SpaceCheck:
    """Room for `seconds` of recording in the file system holding `path`?"""
    free = shutil.disk_usage(path).free
    needed = int(seconds * bytes_per_second * SAFETY_FACTOR) + RESERVE_BYTES
    usable = max(0, free - RESERVE_BYTES)
    return SpaceCheck(free >= needed, free, needed,
                      usable / (bytes_per_second * SAFETY_FACTOR) / 60)
