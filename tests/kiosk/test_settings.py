"""The settings registry: typed values, the TOML file, migrations and the data directory."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from kiosk.errors import ConfigError, SettingsError
from kiosk.paths import resolve_data_dir
from kiosk.settings import REGISTRY, SETTINGS_VERSION, Settings, migrate


def test_a_missing_file_means_every_default(fresh_data_dir: Path) -> None:
    settings = Settings.load(resolve_data_dir())
    for key, setting in REGISTRY.items():
        assert settings.get(key) == setting.default
        assert settings.is_default(key)
    assert not (fresh_data_dir / "settings.toml").exists()


def test_every_default_passes_its_own_checks() -> None:
    for setting in REGISTRY.values():
        assert setting.check(setting.default) == setting.default
        assert setting.help.endswith(".") and setting.title


def test_set_writes_grouped_toml_and_reads_back(fresh_data_dir: Path) -> None:
    settings = Settings.load(resolve_data_dir())
    settings.set("flow.idle_seconds", 90)
    settings.set("log.level", "DEBUG")
    doc = tomllib.loads((fresh_data_dir / "settings.toml").read_text())
    assert doc == {"version": SETTINGS_VERSION, "flow": {"idle_seconds": 90},
                   "log": {"level": "DEBUG"}}
    again = Settings.load(fresh_data_dir)
    assert again.get("flow.idle_seconds") == 90 and not again.is_default("log.level")
    again.reset("log.level")
    assert Settings.load(fresh_data_dir).get("log.level") == "INFO"


@pytest.mark.parametrize(("key", "value", "message"), [
    ("flow.idle_seconds", True, "must be a whole number, got true or false"),
    ("flow.idle_seconds", "60", "must be a whole number, got text"),
    ("flow.idle_seconds", 5, "must be at least 10"),
    ("flow.countdown_seconds", 11, "must be at most 10"),
    ("log.level", "LOUD", "must be one of DEBUG, INFO, WARNING, ERROR"),
    ("flow.nope", 1, "unknown setting 'flow.nope'"),
])
def test_bad_values_are_refused_and_nothing_is_written(fresh_data_dir: Path, key: str,
                                                        value: object, message: str) -> None:
    settings = Settings.load(resolve_data_dir())
    with pytest.raises(SettingsError, match=message):
        settings.set(key, value)
    assert not (fresh_data_dir / "settings.toml").exists()


@pytest.mark.parametrize(("key", "text", "expected"), [
    ("flow.idle_seconds", "75", 75),
    ("interview.template", "retail-sales-associate", "retail-sales-associate"),
])
def test_command_line_text_is_parsed_by_type(key: str, text: str, expected: object) -> None:
    assert REGISTRY[key].parse(text) == expected


def test_command_line_text_of_the_wrong_type() -> None:
    with pytest.raises(SettingsError, match="must be a whole number, got 'soon'"):
        REGISTRY["flow.idle_seconds"].parse("soon")


def test_file_with_unknown_key_or_bad_value_is_refused(fresh_data_dir: Path) -> None:
    path = resolve_data_dir() / "settings.toml"
    path.write_text("version = 2\n[flow]\nidle_secs = 5\n")
    with pytest.raises(SettingsError, match="unknown setting 'flow.idle_secs'"):
        Settings.load(fresh_data_dir)
    path.write_text("version = 2\n[flow]\nidle_seconds = 1\n")
    with pytest.raises(SettingsError, match="at least 10"):
        Settings.load(fresh_data_dir)
    path.write_text("version = 2\nflow = 3\n")
    with pytest.raises(SettingsError, match="must be a \\[section\\] table"):
        Settings.load(fresh_data_dir)


def test_file_that_is_not_toml(fresh_data_dir: Path) -> None:
    (resolve_data_dir() / "settings.toml").write_text("version = = 2")
    with pytest.raises(SettingsError, match="not valid TOML"):
        Settings.load(fresh_data_dir)


def test_version_one_file_is_migrated_once_with_a_backup(fresh_data_dir: Path) -> None:
    data_dir = resolve_data_dir()
    v1 = ('version = 1\ntemplate = "retail-sales-associate"\nidle_timeout = 90\n'
          'log_level = "DEBUG"\n')
    (data_dir / "settings.toml").write_text(v1)
    settings = Settings.load(data_dir)
    assert settings.get("interview.template") == "retail-sales-associate"
    assert settings.get("flow.idle_seconds") == 90
    assert settings.get("log.level") == "DEBUG"
    assert (data_dir / "settings.toml.v1.bak").read_text() == v1
    doc = tomllib.loads((data_dir / "settings.toml").read_text())
    assert doc["version"] == SETTINGS_VERSION
    assert doc["flow"] == {"idle_seconds": 90}
    # Loading again applies nothing more and leaves the backup alone.
    before = (data_dir / "settings.toml").stat().st_mtime_ns
    Settings.load(data_dir)
    assert (data_dir / "settings.toml").stat().st_mtime_ns == before


def test_unversioned_file_counts_as_version_one() -> None:
    doc, applied = migrate({"countdown": 5})
    assert doc == {"flow": {"countdown_seconds": 5}, "version": 2}
    assert applied == ["1->2 group_keys_by_section"]


def test_version_one_file_with_unknown_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="unknown key 'colour'"):
        migrate({"version": 1, "colour": "red"})


def test_newer_file_is_refused_not_guessed(fresh_data_dir: Path) -> None:
    (resolve_data_dir() / "settings.toml").write_text("version = 99\n")
    with pytest.raises(SettingsError, match="written by a newer kiosk"):
        Settings.load(fresh_data_dir)


def test_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_data_dir() == tmp_path / "from-env"
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv("KIOSK_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir() == tmp_path / "xdg" / "interview-kiosk"


def test_data_dir_is_created_owner_only(tmp_path: Path) -> None:
    path = resolve_data_dir(tmp_path / "new" / "dir")
    assert path.is_dir() and (path.stat().st_mode & 0o777) == 0o700


def test_unusable_data_dirs(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ConfigError, match="not a directory"):
        resolve_data_dir(a_file)
    with pytest.raises(ConfigError, match="cannot create"):
        resolve_data_dir(a_file / "below")
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ConfigError, match="not writable"):
            resolve_data_dir(locked)
