"""The kiosk's settings: one typed registry, stored as TOML in the data directory.

Every setting is registered once below with its type, default, bounds and help; nothing
else reads configuration. The file (`settings.toml`) holds only what staff changed, grouped
by section, plus a format `version`. Older files are upgraded by the named migrations in
`MIGRATIONS`, applied in order once; the original is kept beside it as a backup.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from durable.files import write_atomically
from kiosk.errors import SettingsError

SETTINGS_FILE = "settings.toml"
SETTINGS_VERSION = 2

Value = bool | int | float | str


@dataclass(frozen=True)
class Setting:
    """One registered setting: `section.name`, its type, default and what it does."""

    key: str
    type: type[bool] | type[int] | type[float] | type[str]
    default: Value
    title: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def check(self, value: object) -> Value:
        """Return `value` if it is valid for this setting, else raise SettingsError."""
        if self.type is float and type(value) is int:
            value = float(value)
        # bool is a subclass of int; a setting typed int must not accept true/false.
        if type(value) is not self.type:
            raise SettingsError(
                f"{self.key} must be {_type_name(self.type)}, got {_type_name(type(value))}"
            )
        assert isinstance(value, bool | int | float | str)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                raise SettingsError(f"{self.key} must be at least {self.minimum:g}, got {value}")
            if self.maximum is not None and value > self.maximum:
                raise SettingsError(f"{self.key} must be at most {self.maximum:g}, got {value}")
        if self.choices and value not in self.choices:
            raise SettingsError(f"{self.key} must be one of {', '.join(self.choices)}")
        return value

    def parse(self, text: str) -> Value:
        """Turn command-line text into a valid value for this setting."""
        raw: object = text
        try:
            if self.type is bool:
                lowered = text.strip().lower()
                if lowered not in {"true", "false", "yes", "no", "on", "off", "1", "0"}:
                    raise ValueError(text)
                raw = lowered in {"true", "yes", "on", "1"}
            elif self.type is int:
                raw = int(text)
            elif self.type is float:
                raw = float(text)
        except ValueError:
            raise SettingsError(
                f"{self.key} must be {_type_name(self.type)}, got {text!r}"
            ) from None
        return self.check(raw)


def _type_name(kind: type) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text"}.get(
        kind, kind.__name__
    )


REGISTRY: Mapping[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "interview.template", str, "demo", "Interview",
            "The interview candidates take: a bundled template id (see `kiosk templates list`) "
            "or the path of a template file.",
        ),
        Setting(
            "flow.idle_seconds", int, 60, "Idle time before warning",
            "Seconds without a touch on a waiting screen before the candidate is asked "
            "whether they are still there.", minimum=10, maximum=3600,
        ),
        Setting(
            "flow.idle_warning_seconds", int, 20, "Idle warning length",
            "Seconds the 'Are you still there?' warning shows before everything held in "
            "memory is wiped and the kiosk returns to the welcome screen.",
            minimum=5, maximum=600,
        ),
        Setting(
            "flow.countdown_seconds", int, 3, "Countdown before recording",
            "Length of the 3-2-1 countdown before an answer starts recording.",
            minimum=0, maximum=10,
        ),
        Setting(
            "flow.review_seconds", int, 120, "Review time",
            "Seconds a candidate may spend reviewing a take; then the chosen take is "
            "submitted so nothing is lost.", minimum=10, maximum=1800,
        ),
        Setting(
            "flow.break_seconds", int, 120, "Break length",
            "Length of a break between questions, before the extra-break accommodation "
            "multiplies it.", minimum=10, maximum=1800,
        ),
        Setting(
            "flow.finished_seconds", int, 30, "Finished screen time",
            "Seconds the reference code stays on screen before the kiosk resets for the "
            "next candidate.", minimum=5, maximum=600,
        ),
        Setting(
            "flow.resume_window_hours", int, 24, "Resume window",
            "Hours after an interruption during which a candidate can resume with their "
            "reference code.", minimum=1, maximum=720,
        ),
        Setting(
            "flow.follow_up_wait_seconds", int, 2, "Follow-up decision time",
            "Seconds the kiosk may take, after a candidate keeps an answer to a question with "
            "follow-up probes, to decide whether to ask one; past this the interview goes on "
            "without it, and the scorecard says so.", minimum=1, maximum=10,
        ),
        Setting(
            "capture.camera", str, "auto", "Camera",
            "Which camera records answers: 'auto' (the first found) or a device id from "
            "`kiosk devices`.",
        ),
        Setting(
            "capture.microphone", str, "auto", "Microphone",
            "Which microphone records answers: 'auto' (the system default) or a device id "
            "from `kiosk devices`.",
        ),
        Setting(
            "capture.crf", int, 23, "Video quality",
            "H.264 constant rate factor: lower is better quality and bigger files.",
            minimum=15, maximum=35,
        ),
        Setting(
            "ui.high_contrast", bool, False, "High contrast",
            "Show the candidate screens in high contrast (yellow on black).",
        ),
        Setting(
            "ui.text_scale", float, 1.0, "Text size",
            "Scale every text and button on the candidate screens (1.0 is normal, 1.4 is "
            "large).", minimum=0.8, maximum=2.0,
        ),
        Setting(
            "transcription.model_dir", str, "", "Speech model",
            "Folder of a faster-whisper model to use instead of the bundled tiny.en (for "
            "example a multilingual model for Hindi interviews); empty means the bundled one.",
        ),
        Setting(
            "transcription.threads", int, 2, "Transcription threads",
            "CPU threads the speech model may use.", minimum=1, maximum=16,
        ),
        Setting(
            "log.level", str, "INFO", "Log level",
            "Least severe level written to the kiosk's log file.",
            choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        ),
        Setting(
            "log.max_bytes", int, 2_000_000, "Log file size",
            "Bytes after which the log file is rotated.", minimum=10_000, maximum=1_000_000_000,
        ),
        Setting(
            "log.backups", int, 5, "Rotated log files kept",
            "How many rotated log files are kept beside the current one.", minimum=0, maximum=100,
        ),
    )
}


# --- migrations -------------------------------------------------------------------------
# Each upgrades the raw TOML document from version N to N+1. Named, ordered, applied once.

def _v1_group_keys_by_section(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (pre-release kiosks) kept every setting flat at the top level."""
    renamed = {
        "template": "interview.template",
        "idle_timeout": "flow.idle_seconds",
        "idle_warning": "flow.idle_warning_seconds",
        "countdown": "flow.countdown_seconds",
        "review_timeout": "flow.review_seconds",
        "break_length": "flow.break_seconds",
        "log_level": "log.level",
    }
    upgraded: dict[str, Any] = {}
    for old, value in doc.items():
        if old == "version":
            continue
        if old not in renamed:
            raise SettingsError(f"version 1 settings file has an unknown key {old!r}")
        section, name = renamed[old].split(".")
        upgraded.setdefault(section, {})[name] = value
    return upgraded


MIGRATIONS: tuple[tuple[int, str, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    (1, "group_keys_by_section", _v1_group_keys_by_section),
)


def migrate(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Upgrade a raw settings document to SETTINGS_VERSION; returns it and the steps applied."""
    version = doc.get("version", 1)
    if type(version) is not int or version < 1:
        raise SettingsError(f"settings version must be a positive whole number, got {version!r}")
    if version > SETTINGS_VERSION:
        raise SettingsError(
            f"settings file is version {version}, written by a newer kiosk; this one reads "
            f"up to version {SETTINGS_VERSION}"
        )
    applied = []
    for from_version, name, step in MIGRATIONS:
        if version == from_version:
            doc = step(doc)
            version += 1
            applied.append(f"{from_version}->{version} {name}")
    doc["version"] = version
    return doc, applied


class Settings:
    """The settings of one data directory: registered defaults overlaid with its file."""

    def __init__(self, path: Path, values: dict[str, Value]) -> None:
        self.path = path
        self._values = values

    @classmethod
    def load(cls, data_dir: Path) -> Settings:
        """Read (and if needed upgrade) `settings.toml`; a missing file means all defaults."""
        path = data_dir / SETTINGS_FILE
        if not path.exists():
            return cls(path, {})
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"cannot read {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path} is not valid TOML: {exc}") from exc
        original_version = doc.get("version", 1)
        doc, applied = migrate(doc)
        settings = cls(path, _flatten(doc, path))
        if applied:
            backup = path.with_name(f"{SETTINGS_FILE}.v{original_version}.bak")
            os.replace(path, backup)
            settings._save()
        return settings

    def get(self, key: str) -> Value:
        """The value of a registered setting."""
        return self._values.get(key, _setting(key).default)

    def is_default(self, key: str) -> bool:
        """Whether `key` still has its registered default."""
        return key not in self._values

    def set(self, key: str, value: object) -> None:
        """Validate and store a value, writing the file atomically."""
        self._values[key] = _setting(key).check(value)
        self._save()

    def reset(self, key: str) -> None:
        """Return a setting to its default."""
        _setting(key)
        self._values.pop(key, None)
        self._save()

    def _save(self) -> None:
        doc: dict[str, Any] = {"version": SETTINGS_VERSION}
        for key, value in sorted(self._values.items()):
            section, name = key.split(".", 1)
            doc.setdefault(section, {})[name] = value
        write_atomically(self.path, tomli_w.dumps(doc).encode())


def _setting(key: str) -> Setting:
    try:
        return REGISTRY[key]
    except KeyError:
        raise SettingsError(f"unknown setting {key!r} (see `kiosk settings list`)") from None


def _flatten(doc: dict[str, Any], path: Path) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for section, table in doc.items():
        if section == "version":
            continue
        if not isinstance(table, dict):
            raise SettingsError(f"{path}: {section!r} must be a [section] table")
        for name, value in table.items():
            key = f"{section}.{name}"
            if key not in REGISTRY:
                raise SettingsError(f"{path}: unknown setting {key!r}")
            values[key] = REGISTRY[key].check(value)
    return values
