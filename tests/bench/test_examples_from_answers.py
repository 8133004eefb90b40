"""The bench tool that adds mined example sentences to a template's TOML."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

TEMPLATE = """\
[[rubric.competencies.indicators]]
label = "Stays calm"
examples.en.shows = [
    "I kept my voice low.",
]
examples.en.near_misses = ["I shouted back."]
examples.hi.shows = [
    "मैंने आवाज़ धीमी रखी।",
]

[[rubric.competencies.indicators]]
label = "Follows through"
examples.en.shows = [
    "I called back at six as promised.",
]
"""


@pytest.fixture
def tool(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(BENCH))  # as when the script runs from bench/
    import examples_from_answers

    return examples_from_answers


def test_mined_sentences_go_into_their_own_indicators_english_arrays(tool) -> None:  # type: ignore[no-untyped-def]
    shows = {("t", "Stays calm"): {'he said "calm down", I just listened'},
             ("t", "Follows through"): {"I messaged her the next morning"}}
    near = {("t", "Stays calm"): {"I told him to calm down"}}
    text = tool.with_blocks(TEMPLATE, "t", near, shows)
    indicators = tomllib.loads(text)["rubric"]["competencies"]["indicators"]
    calm, follows = indicators
    assert calm["examples"]["en"]["shows"] == [
        "I kept my voice low.", 'he said "calm down", I just listened']
    # a one-line array is left as it is: nothing spills into the next array (Hindi here)
    assert calm["examples"]["en"]["near_misses"] == ["I shouted back."]
    assert calm["examples"]["hi"]["shows"] == ["मैंने आवाज़ धीमी रखी।"]
    assert follows["examples"]["en"]["shows"] == [
        "I called back at six as promised.", "I messaged her the next morning"]
    assert text.count(tool.MARK) == 2


def test_a_template_with_mined_examples_is_not_mined_twice(tool) -> None:  # type: ignore[no-untyped-def]
    once = tool.with_blocks(TEMPLATE, "t", {}, {("t", "Stays calm"): {"I breathed first"}})
    with pytest.raises(ValueError, match="already has mined examples"):
        tool.with_blocks(once, "t", {}, {})


def test_nothing_mined_changes_nothing(tool) -> None:  # type: ignore[no-untyped-def]
    assert tool.with_blocks(TEMPLATE, "t", {}, {}) == TEMPLATE
