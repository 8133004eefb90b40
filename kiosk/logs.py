"""Structured logs: JSON lines in a rotating file in the data directory, never candidate data.

The kiosk logs *events* (a fixed name such as ``flow.step``) with named fields. Only fields
on the allow-list below are written; any other field is written as ``"[redacted]"``, so a
careless call cannot leak a name, a contact or an answer. Messages are never %-formatted
with arguments, and an exception is logged as its type and stack frames, not its message
(messages can quote the data that caused them).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import time
import traceback
from pathlib import Path
from typing import Any

LOGGER_NAME = "kiosk"
LOG_DIR = "logs"
LOG_FILE = "kiosk.jsonl"

# Field names that can never hold candidate data. Reference codes, names, contacts and
# answer text are deliberately absent; sessions are named by their internal id only.
SAFE_FIELDS = frozenset({
    "session_id", "template_id", "question_id", "step", "previous", "reason", "take",
    "takes", "question_index", "questions", "seconds", "count", "mode", "language",
    "setting", "version", "migration", "command", "status", "path", "practice",
    "accommodations", "error_type",
})

REDACTED = "[redacted]"


def get_logger(name: str = "") -> logging.Logger:
    """A logger under the kiosk's hierarchy."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


def log_event(logger: logging.Logger, event: str, /, level: int = logging.INFO,
              **fields: Any) -> None:
    """Log `event` with allow-listed `fields`."""
    logger.log(level, event, extra={"kiosk_fields": fields})


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line, with unsafe fields redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as one JSON line."""
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            # The unformatted message: arguments may carry data we must not write.
            "event": str(record.msg),
        }
        fields = getattr(record, "kiosk_fields", {})
        for key, value in fields.items():
            entry[key] = _safe_value(value) if key in SAFE_FIELDS else REDACTED
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _, tb = record.exc_info
            entry["error_type"] = exc_type.__name__
            entry["trace"] = [
                f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"
                for frame in traceback.extract_tb(tb)
            ]
        return json.dumps(entry, ensure_ascii=False)

    # The formatter is UTC throughout so lines from kiosks in different zones compare.
    converter = time.gmtime  # type: ignore[assignment]


def _safe_value(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_safe_value(v) for v in value]
    return str(value)


def configure_logging(data_dir: Path, level: str = "INFO", max_bytes: int = 2_000_000,
                      backups: int = 5) -> Path:
    """Send the kiosk's logs to ``<data_dir>/logs/kiosk.jsonl``; returns the file's path."""
    log_dir = data_dir / LOG_DIR
    log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = log_dir / LOG_FILE
    root = logging.getLogger(LOGGER_NAME)
    for old in list(root.handlers):
        if getattr(old, "_kiosk_handler", False):
            root.removeHandler(old)
            old.close()
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    handler.setFormatter(JsonLineFormatter())
    handler._kiosk_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # The console belongs to the person at the terminal; our events go to the file only.
    root.propagate = False
    return path
