"""After a crash: make every recording that was cut off readable again, keeping all it holds.

A vault file being written when the power went has no final segment. For each such file in
the media folder, every authentic segment is copied, still encrypted, into a new finished
file sealed to the same session, which then replaces the cut-off one. The worker does this
when it starts (it holds the unlocked keys).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kiosk.store.database import SessionNotFoundError, Store
from kiosk.vault import VaultError, create, recover
from kiosk.vault.reader import read_layout


@dataclass(frozen=True)
class Repaired:
    """One cut-off file made whole."""

    session_id: str
    name: str
    plaintext_bytes: int


def repair_media(store: Store) -> list[Repaired]:
    """Finish every unfinished vault file under the media folder."""
    repaired: list[Repaired] = []
    if not store.media_root.exists():
        return repaired
    for folder in sorted(p for p in store.media_root.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.vault")):
            try:
                with path.open("rb") as source:
                    layout, _ = read_layout(source)
            except (VaultError, OSError):
                continue  # not ours to mend
            if layout.finished:
                continue
            try:
                identity = store.session_keys(folder.name).identity
                recipients = store.media_recipients(folder.name)
            except SessionNotFoundError:
                continue  # the session was erased: the file goes with the next erasure
            mended = path.with_name(path.name + ".mended")
            mended.unlink(missing_ok=True)
            with path.open("rb") as source, create(mended, recipients) as writer:
                report = recover(source, [identity], writer)
            os.replace(mended, path)
            repaired.append(Repaired(folder.name, path.name, report.plaintext_bytes))
    return repaired
