"""Every string a candidate reads, by key, from the catalogs in `assets/i18n/<language>.toml`.

`tr("welcome.start")` gives the text in the current language (falling back to English);
`{name}` placeholders are filled from keyword arguments. Screens call `tr` in their
`retranslate()` and re-run it when the language changes, so the kiosk switches live.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache

from kiosk.paths import assets_dir

FALLBACK = "en"
_state = {"language": FALLBACK}
_listeners: list[Callable[[], None]] = []


@cache
def catalog(language: str) -> dict[str, str]:
    """The catalog of one language (empty if there is none)."""
    path = assets_dir() / "i18n" / f"{language}.toml"
    if not path.exists():
        return {}
    flat: dict[str, str] = {}

    def walk(prefix: str, table: dict[str, object]) -> None:
        for key, value in table.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(name, value)
            else:
                flat[name] = str(value)

    walk("", tomllib.loads(path.read_text(encoding="utf-8")))
    return flat


def language() -> str:
    """The current language."""
    return _state["language"]


def set_language(code: str) -> None:
    """Switch every screen to `code` now."""
    if code != _state["language"]:
        _state["language"] = code
        for listener in list(_listeners):
            listener()


def on_language_change(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` after each language switch; returns a function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def has(key: str) -> bool:
    """Whether a catalog has text for `key`."""
    return key in catalog(FALLBACK)


def tr(key: str, **values: object) -> str:
    """The text for `key` in the current language, with placeholders filled."""
    text = catalog(_state["language"]).get(key) or catalog(FALLBACK).get(key) or key
    return text.format(**values) if values else text
