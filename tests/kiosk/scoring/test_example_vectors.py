"""The example sentences' vectors kept between runs: reused, and refused when damaged."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from kiosk.scoring.evidence_model import EvidenceModelError, SentenceModel
from kiosk.scoring.example_vectors import ExampleVectors, sentence_key

EXAMPLES = ["I'd tell her I'm sorry she had to wait.", "So this was in my second year."]


@pytest.fixture
def counted(tmp_path: Path, monkeypatch):
    """A sentence model caching in tmp_path, counting the sentences it really encodes."""
    encoded: list[str] = []
    real = SentenceModel._embed

    def embed(self, sentences):
        encoded.extend(sentences)
        return real(self, sentences)

    monkeypatch.setattr(SentenceModel, "_embed", embed)

    def make() -> SentenceModel:
        try:
            return SentenceModel(cache=tmp_path)
        except EvidenceModelError as exc:
            pytest.skip(f"the evidence model is not installed: {exc}")
    return make, encoded


def test_a_second_process_reuses_the_kept_vectors(counted) -> None:
    make, encoded = counted
    first = make().encode_examples(EXAMPLES)
    assert encoded == EXAMPLES
    encoded.clear()
    again = make().encode_examples(EXAMPLES)  # a new model object: a new process's view
    assert encoded == []
    assert np.array_equal(first, again)


def test_answers_are_never_kept(counted, tmp_path: Path) -> None:
    make, _ = counted
    model = make()
    model.encode_examples(EXAMPLES[:1])
    model.encode(["My name is Asha and my phone number is 98450 12345."])
    model.encode_examples(EXAMPLES[1:])  # a save after the answer was encoded
    (file,) = tmp_path.iterdir()
    kept = ExampleVectors(file, 384).load()
    assert set(kept) == {sentence_key(s) for s in EXAMPLES}


@pytest.mark.parametrize("damage", ["garbage", "wrong width", "not finite", "too large"])
def test_a_damaged_file_is_refused_logged_and_rebuilt(counted, tmp_path: Path, caplog,
                                                      monkeypatch, damage: str) -> None:
    make, encoded = counted
    make().encode_examples(EXAMPLES)
    (file,) = tmp_path.iterdir()
    if damage == "garbage":
        file.write_bytes(b"PK\x03\x04 not really a zip")
    elif damage == "too large":
        monkeypatch.setattr("kiosk.scoring.example_vectors.MAX_BYTES", 10)
    else:
        keys = np.array([sentence_key(s) for s in EXAMPLES], dtype="S64")
        rows = np.zeros((2, 10 if damage == "wrong width" else 384), np.float32)
        if damage == "not finite":
            rows[1, 3] = np.nan
        with file.open("wb") as out:
            np.savez(out, keys=keys, vectors=rows)
    encoded.clear()
    with caplog.at_level(logging.INFO):
        vectors = make().encode_examples(EXAMPLES)
    assert encoded == EXAMPLES  # recomputed, not taken from the damaged file
    assert np.isfinite(vectors).all() and vectors.shape == (2, 384)
    assert "scoring.example_cache_refused" in caplog.text
    assert "sorry" not in caplog.text  # the file's contents are never logged


def test_an_unwritable_cache_is_logged_and_scoring_goes_on(counted, tmp_path: Path, caplog,
                                                           monkeypatch) -> None:
    make, _ = counted

    def refuse(*_args, **_kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr("kiosk.scoring.example_vectors.write_atomically", refuse)
    with caplog.at_level(logging.INFO):
        vectors = make().encode_examples(EXAMPLES)
    assert vectors.shape == (2, 384)
    assert "scoring.example_cache_unwritable" in caplog.text


def test_a_second_process_reuses_the_fitted_classifiers(counted, monkeypatch) -> None:
    from kiosk.scoring import meaning
    from kiosk.scoring.evidence import find_evidence
    from kiosk.scoring.service import typed_transcript
    from kiosk.templates import find_template

    make, _ = counted
    template = find_template("demo")
    answer = typed_transcript("Next time I would ask a friend to check my formulas.", "en")

    def evidence(model):
        meaning._classifier.cache_clear()  # a new process remembers nothing
        return [(e.indicator, e.text) for c in template.competencies
                for e in find_evidence(c, "something-you-learned-recently", answer, model,
                                       template.competencies, template.unrelated)]

    first = evidence(make())
    fits: list[bytes] = []
    monkeypatch.setattr(SentenceModel, "keep_fitted", lambda self, key, w: fits.append(key))
    assert evidence(make()) == first and first
    assert fits == []  # nothing was fitted again
