"""The interview templates shipped in `assets/interviews/`, and finding one by id or path."""

from __future__ import annotations

from pathlib import Path

from kiosk.errors import ConfigError
from kiosk.paths import assets_dir
from kiosk.templates.loader import load_template
from kiosk.templates.model import InterviewTemplate


def bundled_template_paths() -> list[Path]:
    """Paths of the bundled templates, sorted by file name."""
    return sorted((assets_dir() / "interviews").glob("*.toml"))


def find_template(id_or_path: str) -> InterviewTemplate:
    """Load a bundled template by its id, or any template by its file path."""
    candidate = Path(id_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return load_template(candidate)
    for path in bundled_template_paths():
        if path.stem == id_or_path:
            return load_template(path)
    known = ", ".join(p.stem for p in bundled_template_paths())
    raise ConfigError(f"no bundled interview '{id_or_path}' (bundled: {known}); "
                      f"give a template id or a .toml path")
