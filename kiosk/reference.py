"""Reference codes: the short code a candidate takes home to resume or to ask about their data.

Eight symbols of Crockford's base 32 (no I, L, O or U, so nothing is misread), shown as
``ABCD-2345``: 40 random bits, far beyond guessing at a kiosk's keyboard. Typing is
forgiving: case, spaces, dashes and the look-alikes O/0 and I/L/1 do not matter.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
LENGTH = 8


def new_reference() -> str:
    """A fresh random reference code, formatted for people."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_reference(text: str) -> str | None:
    """The canonical form of a typed code, or None if it cannot be a reference code."""
    raw = "".join(text.split()).replace("-", "").upper().translate(_LOOKALIKES)
    if len(raw) != LENGTH or any(char not in ALPHABET for char in raw):
        return None
    return f"{raw[:4]}-{raw[4:]}"
