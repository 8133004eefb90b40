"""A scorecard's evidence says how each piece was found and how strongly: checked at the edge."""

from __future__ import annotations

from typing import Any

import pytest

from sync import records
from sync.fields import ProtocolError
from tests.hq.forge import changed, scorecard

PIECE = ("competencies", 0, "suggestion", "evidence", 0)


def first_evidence(doc: dict[str, Any]) -> dict[str, Any]:
    return records.scorecard(doc)["competencies"][0]["suggestion"]["evidence"][0]


def test_evidence_from_a_kiosk_before_meaning_reads_as_found_by_phrases() -> None:
    piece = first_evidence(scorecard())
    assert (piece["method"], piece["score"]) == ("phrases", 1.0)


def test_evidence_found_by_meaning_keeps_its_method_and_score() -> None:
    doc = changed(changed(scorecard(), (*PIECE, "method"), "meaning"), (*PIECE, "score"), 0.62)
    piece = first_evidence(doc)
    assert (piece["method"], piece["score"]) == ("meaning", 0.62)


@pytest.mark.parametrize(("field", "value"), [
    ("method", "guesswork"), ("method", 1), ("score", 1.5), ("score", -0.1), ("score", "0.5"),
    ("score", True), ("score", float("nan"))])
def test_an_evidence_method_or_score_out_of_bounds_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ProtocolError, match=field):
        records.scorecard(changed(scorecard(), (*PIECE, field), value))
