"""Find the line of each key in a TOML document, so problems can say `file:line`.

`tomllib` gives values but not positions. This scanner reads the same text line by line and
records where each table header and each `key = value` sits, as paths like
``("questions", 2, "prompt", "en")`` (array-of-tables entries by index). It understands
what our templates use: tables, arrays of tables, dotted and quoted keys, inline tables on
one line, and multi-line strings and arrays (skipped over). It is only used after
`tomllib` accepted the text, so it may assume the syntax is valid.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _read_key(text: str, pos: int) -> tuple[list[str], int]:
    """Parse a (dotted) key starting at `pos`; return its parts and the position after it."""
    parts: list[str] = []
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] in "\"'":
            quote = text[pos]
            end = pos + 1
            while end < len(text) and text[end] != quote:
                end += 2 if quote == '"' and text[end] == "\\" else 1
            parts.append(text[pos + 1:end])
            pos = end + 1
        else:
            match = _BARE.match(text, pos)
            if not match:
                return parts, pos
            parts.append(match.group())
            pos = match.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return parts, pos


class LineMap:
    """Key paths of a TOML text mapped to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        self._array_counts: dict[Path, int] = {}
        self._arrays: set[tuple[str, ...]] = set()
        self._scan(text)

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), 0, -1):
            line = self._lines.get(path[:end])
            if line is not None:
                return line
        return None

    def _resolve(self, keys: list[str]) -> Path:
        """Turn header keys into a path, stepping into the latest entry of each array."""
        path: list[str | int] = []
        for key in keys:
            path.append(key)
            if tuple(k for k in path if isinstance(k, str)) in self._arrays:
                path.append(self._array_counts.get(tuple(path), 1) - 1)
        return tuple(path)

    def _scan(self, text: str) -> None:
        table: Path = ()
        closer: str | None = None  # the text that ends a multi-line value we are inside
        depth = 0
        for number, line in enumerate(text.splitlines(), start=1):
            if closer == "]":
                depth += _bracket_balance(line)
                if depth <= 0:
                    closer = None
                continue
            if closer is not None:
                if line.count(closer) % 2 == 1:
                    closer = None
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("[["):
                keys, _ = _read_key(stripped, 2)
                parent = self._resolve(keys[:-1])
                array = (*parent, keys[-1])
                self._arrays.add(tuple(k for k in array if isinstance(k, str)))
                index = self._array_counts.get(array, 0)
                self._array_counts[array] = index + 1
                table = (*array, index)
                self._lines.setdefault(array, number)
                self._lines[table] = number
                continue
            if stripped.startswith("["):
                keys, _ = _read_key(stripped, 1)
                table = self._resolve(keys)
                self._lines.setdefault(table, number)
                continue
            keys, pos = _read_key(stripped, 0)
            if not keys or pos >= len(stripped) or stripped[pos] != "=":
                continue
            for end in range(1, len(keys) + 1):
                self._lines.setdefault((*table, *keys[:end]), number)
            value = stripped[pos + 1:].lstrip()
            if value.startswith("{"):
                self._scan_inline_table((*table, *keys), value, number)
            elif value.startswith('"""') or value.startswith("'''"):
                if value.count(value[:3]) == 1:
                    closer = value[:3]
            elif value.startswith("["):
                depth = _bracket_balance(value)
                if depth > 0:
                    closer = "]"

    def _scan_inline_table(self, path: Path, value: str, number: int) -> None:
        pos = 1
        while pos < len(value):
            keys, pos = _read_key(value, pos)
            if not keys:
                return
            for end in range(1, len(keys) + 1):
                self._lines.setdefault((*path, *keys[:end]), number)
            # Skip the value: up to the next comma that is not inside quotes.
            quote: str | None = None
            while pos < len(value):
                char = value[pos]
                if quote:
                    if char == "\\" and quote == '"':
                        pos += 1
                    elif char == quote:
                        quote = None
                elif char in "\"'":
                    quote = char
                elif char == ",":
                    pos += 1
                    break
                elif char == "}":
                    return
                pos += 1


def _bracket_balance(text: str) -> int:
    """Net count of `[` over `]` outside strings and comments."""
    balance = 0
    quote: str | None = None
    skip = False
    for char in text:
        if skip:
            skip = False
        elif quote:
            if char == "\\" and quote == '"':
                skip = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char == "[":
            balance += 1
        elif char == "]":
            balance -= 1
    return balance
