"""Where the kiosk keeps its files: the data directory and the bundled assets."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from kiosk.errors import ConfigError

DATA_DIR_ENV = "KIOSK_DATA_DIR"
ASSETS_DIR_ENV = "KIOSK_ASSETS_DIR"
CACHE_DIR_ENV = "KIOSK_CACHE_DIR"
_APP_NAME = "interview-kiosk"


def data_dir_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the data directory is (`--data-dir`, else $KIOSK_DATA_DIR, else the platform's
    user data dir), without creating or checking it."""
    raw = explicit or os.environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir(_APP_NAME)
    return Path(raw).expanduser()


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: `--data-dir`, else $KIOSK_DATA_DIR, else the platform's user data dir.

    It is created (owner-only) if missing; an unusable one raises ConfigError.
    """
    path = data_dir_path(explicit)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"data directory {path} exists but is not a directory")
    try:
        # Owner-only: the directory will hold the kiosk's keys and candidate data.
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create data directory {path}: {exc.strerror}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"data directory {path} is not writable")
    return path


def cache_dir() -> Path:
    """Where results of pure computations on bundled files are kept between runs (never
    candidate data): $KIOSK_CACHE_DIR, else the platform's user cache dir. Not created."""
    raw = os.environ.get(CACHE_DIR_ENV) or platformdirs.user_cache_dir(_APP_NAME)
    return Path(raw).expanduser()


def assets_dir() -> Path:
    """The `assets/` folder: $KIOSK_ASSETS_DIR, else the one beside the source tree."""
    override = os.environ.get(ASSETS_DIR_ENV)
    path = Path(override) if override else Path(__file__).resolve().parent.parent / "assets"
    if not path.is_dir():
        raise ConfigError(
            f"assets folder not found at {path}; install from a source checkout "
            f"(make run) or set {ASSETS_DIR_ENV}"
        )
    return path
