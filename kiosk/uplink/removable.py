"""Where removable media (a USB stick) is mounted: where the export's folder chooser opens.

Desktop systems mount sticks under `/media/$USER` (Debian, Ubuntu) or `/run/media/$USER`
(Fedora, Arch); a kiosk with a plain automounter often uses `/media` itself. The working
folder of the kiosk app is never where staff want a bundle.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Sequence
from pathlib import Path

MEDIA_ROOTS = ("/media/{user}", "/run/media/{user}", "/media")


def removable_media_folder(*, user: str | None = None, home: Path | None = None,
                           roots: Sequence[str] = MEDIA_ROOTS,
                           is_mount: Callable[[Path], bool] = os.path.ismount) -> Path:
    """The first of `roots` that has something mounted in it (the stick itself when it is
    the only one), else the home folder."""
    name = user or _user()
    for root in (Path(pattern.format(user=name)) for pattern in roots):
        try:
            mounted = sorted(child for child in root.iterdir()
                             if child.is_dir() and is_mount(child))
        except OSError:  # not there, or not ours to read
            continue
        if len(mounted) == 1:
            return mounted[0]
        if mounted:
            return root
    return home if home is not None else Path.home()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): no per-user folder
        return ""
