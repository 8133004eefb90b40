"""Durable file writes: what the kiosk and HQ say is written survives a power cut.

A file is written to a temporary name beside it, fsynced, renamed over the old one, and the
directory is fsynced so the new name survives too. A crash leaves the old file or the new
one, never half of either.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path


def sync_directory(directory: Path) -> None:
    """fsync a directory, so the names just created or renamed in it are on disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some filesystems (FAT sticks, some network mounts) cannot fsync a directory; the
        # rename is then as durable as they make it, and failing would not make it more so.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data`, all or nothing, on disk before this returns."""
    # A temporary name of this writer's own: the kiosk app, its worker process and its sync
    # thread each pin the audit head after their commits, and with one shared name one of
    # them renamed the other's file away ("No such file or directory" on a candidate's
    # "Use this answer", found by bench/window_soak.py).
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)
