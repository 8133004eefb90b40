"""The drives this kiosk serves, as its latest configuration from HQ named them.

Kept in `DATA_DIR/sync/drives.json`, each roster still sealed to this kiosk's own vault key
(so the file holds no readable name or contact). A configuration without drives removes
the file: a kiosk keeps a roster only while HQ's latest configuration carries it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from durable.files import write_atomically
from kiosk.errors import KioskError
from kiosk.logs import get_logger, log_event
from kiosk.templates import find_template
from sync.drive_config import DriveConfig, drive_doc, parse_drives
from sync.fields import ProtocolError

DRIVES_FILE = Path("sync") / "drives.json"

_log = get_logger("drives")


def save_drives(data_dir: Path, drives: tuple[DriveConfig, ...]) -> None:
    """Keep the drives of the configuration just accepted (none: forget every roster)."""
    path = data_dir / DRIVES_FILE
    if not drives:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(mode=0o700, exist_ok=True)
    write_atomically(path, json.dumps([drive_doc(d) for d in drives], indent=1).encode())


def load_drives(data_dir: Path) -> tuple[DriveConfig, ...]:
    """The drives kept; none if there are none or the file is damaged (logged: the next
    configuration from HQ writes it again)."""
    path = data_dir / DRIVES_FILE
    try:
        return parse_drives(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return ()
    except (OSError, ValueError, ProtocolError) as exc:
        log_event(_log, "drives.file_damaged", error_type=type(exc).__name__)
        return ()


def drive_for(drives: tuple[DriveConfig, ...], interview_id: str | None,
              today: date) -> DriveConfig | None:
    """The drive to serve today: one whose dates include `today` (a drive without dates
    always does), for `interview_id` if given; the earliest starting if several."""
    def on(drive: DriveConfig) -> bool:
        starts = date.fromisoformat(drive.starts_on) if drive.starts_on else date.min
        ends = date.fromisoformat(drive.ends_on) if drive.ends_on else date.max
        return starts <= today <= ends

    found = [d for d in drives if on(d) and interview_id in (None, d.interview_id)]
    return min(found, key=lambda d: d.starts_on or "", default=None)


def drive_interview(data_dir: Path, today: date) -> str | None:
    """The interview of the drive this kiosk serves `today`, if its template is installed
    here: a kiosk at a drive runs the drive's interview (else its own setting)."""
    drive = drive_for(load_drives(data_dir), None, today)
    if drive is None:
        return None
    try:
        find_template(drive.interview_id, data_dir)
    except KioskError:
        return None
    return drive.interview_id
