"""The sentence vectors of templates' example sentences, kept on disk between runs.

A bundled interview has a few thousand example sentences; encoding them takes the sentence
model 20 to 60 s on two cores, which every kiosk start (the follow-up decider, the scoring
worker) would otherwise spend again. Only template text is kept here, never an answer: the
file is a pure function of the model and the sentences, keyed by each sentence's SHA-256,
in one file per model (named by the model file's digest).

The file is read as hostile input: anything but the exact layout (keys of 64 hex digits, float32
rows of the model's width, all finite, within a size limit) is ignored and recomputed, and
the refusal is logged without the file's contents.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from durable.files import write_atomically
from kiosk.logs import get_logger, log_event

_log = get_logger("scoring")
MAX_BYTES = 64 * 1024 * 1024  # about 40,000 sentences; a bigger file is not ours
_KEY_BYTES = 64  # hex SHA-256 (raw digests can end in NUL bytes, which numpy strips)


def sentence_key(sentence: str) -> bytes:
    """The key a sentence's vector is kept under."""
    return hashlib.sha256(sentence.encode("utf-8")).hexdigest().encode("ascii")


class ExampleVectors:
    """Read and write the vectors of one model's example sentences at `path`."""

    def __init__(self, path: Path, dimensions: int) -> None:
        self.path = path
        self.dimensions = dimensions
        self._held: dict[bytes, np.ndarray] | None = None  # read at the first need

    def get(self, key: bytes) -> np.ndarray | None:
        """The vector kept under `key` (read from the file the first time)."""
        if self._held is None:
            self._held = self.load()
        return self._held.get(key)

    def keep(self, vectors: Mapping[bytes, np.ndarray]) -> None:
        """Add `vectors` and write the file again (once per batch: it is rewritten whole)."""
        if self._held is None:
            self._held = self.load()
        self._held.update(vectors)
        self.save(self._held)

    def load(self) -> dict[bytes, np.ndarray]:
        """The kept vectors by sentence key; empty when there is no usable file."""
        try:
            if self.path.stat().st_size > MAX_BYTES:
                return self._refuse("too large")
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            return self._refuse(type(exc).__name__)
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as kept:
                keys, vectors = kept["keys"], kept["vectors"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            return self._refuse(type(exc).__name__)
        if (keys.dtype != np.dtype(f"S{_KEY_BYTES}") or keys.ndim != 1
                or vectors.dtype != np.float32 or vectors.shape != (len(keys), self.dimensions)
                or not np.isfinite(vectors).all()):
            return self._refuse("unexpected layout")
        return {bytes(key): vector for key, vector in zip(keys, vectors, strict=True)
                if len(bytes(key)) == _KEY_BYTES}

    def save(self, vectors: Mapping[bytes, np.ndarray]) -> None:
        """Keep `vectors` (all of them: the file is replaced whole); a cache that cannot be
        written is logged and the kiosk goes on."""
        keys = np.array(list(vectors), dtype=f"S{_KEY_BYTES}")
        rows = (np.stack(list(vectors.values())).astype(np.float32) if vectors
                else np.zeros((0, self.dimensions), np.float32))
        out = io.BytesIO()
        np.savez(out, keys=keys, vectors=rows)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomically(self.path, out.getvalue(), mode=0o600)
        except OSError as exc:
            log_event(_log, "scoring.example_cache_unwritable", reason=type(exc).__name__)

    def _refuse(self, reason: str) -> dict[bytes, np.ndarray]:
        log_event(_log, "scoring.example_cache_refused", reason=reason)
        return {}
