"""The interview templates shipped in `assets/interviews/`, and finding one by id or path."""

from __future__ import annotations

from pathlib import Path

from kiosk.errors import ConfigError
from kiosk.paths import assets_dir
from kiosk.templates.loader import load_template
from kiosk.templates.model import InterviewTemplate

DEMO_TEMPLATE_ID = "demo"  # its sessions never leave the kiosk: the demo promises so
HQ_TEMPLATES_DIR = "templates-from-hq"


def bundled_template_paths() -> list[Path]:
    """Paths of the bundled templates, sorted by file name."""
    return sorted((assets_dir() / "interviews").glob("*.toml"))


def template_paths(data_dir: Path | None = None) -> list[Path]:
    """Bundled templates, and those HQ published to this kiosk (HQ's win on the same id)."""
    found = {path.stem: path for path in bundled_template_paths()}
    if data_dir is not None:
        found.update((p.stem, p) for p in sorted((data_dir / HQ_TEMPLATES_DIR).glob("*.toml")))
    return [found[stem] for stem in sorted(found)]


def is_from_hq(path: Path) -> bool:
    """Whether `path` is a template HQ published (installed by sync), not a bundled one."""
    return path.parent.name == HQ_TEMPLATES_DIR


def find_template(id_or_path: str, data_dir: Path | None = None) -> InterviewTemplate:
    """Load a template by its id (HQ's, else bundled), or any template by its file path."""
    candidate = Path(id_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return load_template(candidate)
    for path in template_paths(data_dir):
        if path.stem == id_or_path:
            return load_template(path)
    known = ", ".join(p.stem for p in template_paths(data_dir))
    raise ConfigError(f"no bundled interview '{id_or_path}' (bundled: {known}); "
                      f"give a template id or a .toml path")
