"""Interview templates: the bundled ones are sound; every mistake is caught with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.errors import TemplateError
from kiosk.templates import (
    AnswerMode,
    bundled_template_paths,
    find_template,
    load_template,
    parse_template,
)
from kiosk.templates._lines import LineMap
from tests.kiosk.conftest import SMALL_TEMPLATE

GOOD = SMALL_TEMPLATE.format(ai="false", mode="video", retakes=1, probes="", follow_ups="")


def line_of(text: str, snippet: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if snippet in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{snippet!r} not in text")


def problems(text: str) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        parse_template(text.encode(), "t.toml")
    return [str(p) for p in caught.value.problems]


def edit(old: str, new: str, occurrence: int = 1) -> str:
    parts = GOOD.split(old)
    assert len(parts) > occurrence, f"{old!r} occurs fewer than {occurrence} times"
    return old.join(parts[:occurrence]) + new + old.join(parts[occurrence:])


# --- the bundled interviews -----------------------------------------------------------------

def test_four_templates_are_bundled() -> None:
    names = [p.stem for p in bundled_template_paths()]
    assert names == ["campus-graduate-software-engineer", "demo", "retail-sales-associate",
                     "walk-in-customer-support-associate"]


@pytest.mark.parametrize("path", bundled_template_paths(), ids=lambda p: p.stem)
def test_bundled_templates_are_valid_and_named_for_their_id(path: Path) -> None:
    template = load_template(path)
    assert template.id == path.stem
    if template.id != "demo":
        assert 4 <= len(template.questions) <= 6
        # Suggestions by meaning met their bar on unseen answers (docs/benchmarks.md), and
        # every bundled profile allows them with the candidate's consent.
        assert template.policy.ai_scoring is True
    for question in template.questions:
        for language in template.languages:
            assert question.prompt.get(language).strip()
    weights = [c.weight for c in template.competencies]
    assert all(w > 0 for w in weights)


def test_the_demo_shows_every_answer_type() -> None:
    demo = find_template("demo")
    assert [q.mode for q in demo.questions] == [AnswerMode.VIDEO, AnswerMode.AUDIO,
                                                AnswerMode.TEXT]
    assert demo.languages == ("en", "hi")


def test_find_template_by_path_and_unknown_id(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert find_template(str(path)).id == "small-test"
    from kiosk.errors import ConfigError

    with pytest.raises(ConfigError, match="no bundled interview 'nope'.*demo"):
        find_template("nope")


def test_the_good_test_template_parses() -> None:
    template = parse_template(GOOD.encode(), "t.toml")
    assert [q.id for q in template.questions] == ["q-one", "q-two", "q-three"]
    assert template.questions[1].mode is AnswerMode.VIDEO  # type defaults to video
    assert template.questions[2].retakes == 1  # retakes default to one
    assert template.competencies[0].levels == {1: "Silent.", 3: "Talks.", 5: "Talks well."}
    assert len(template.sha256) == 64


# --- every kind of problem, with its line ----------------------------------------------------

def test_unknown_key_is_reported_at_its_line() -> None:
    text = edit("retakes = 0\n", "retakes = 0\nthink_secs = 5\n")
    assert problems(text) == [
        f"t.toml:{line_of(text, 'think_secs')}: questions[2].think_secs: unknown key "
        "(allowed: answer_seconds, competencies, id, probes, prompt, retakes, think_seconds, "
        "type)"
    ]


def test_unknown_top_level_key() -> None:
    text = GOOD.replace('role = "Tester"', 'role = "Tester"\nrol = "typo"')
    (problem,) = problems(text)
    assert problem.startswith(f"t.toml:{line_of(text, 'rol = ')}: rol: unknown key")


def test_wrong_type() -> None:
    text = edit("think_seconds = 30", 'think_seconds = "thirty"')
    assert problems(text) == [
        f"t.toml:{line_of(text, 'thirty')}: questions[1].think_seconds: must be a number, got text"
    ]


def test_booleans_are_not_numbers() -> None:
    text = GOOD.replace("retention_days = 30", "retention_days = true")
    (problem,) = problems(text)
    assert "policy.retention_days: must be a whole number, got true/false" in problem


def test_missing_prompt_for_a_declared_language() -> None:
    text = edit('prompt = { en = "Second?", hi = "दूसरा?" }', 'prompt = { en = "Second?" }')
    assert problems(text) == [
        f"t.toml:{line_of(text, 'Second?')}: questions[2].prompt: missing text for declared "
        "language 'hi'"
    ]


def test_text_in_an_undeclared_language() -> None:
    text = edit('prompt = { en = "First?", hi = "पहला?" }',
                'prompt = { en = "First?", hi = "पहला?", ta = "முதல்?" }')
    (problem,) = problems(text)
    assert problem.startswith(f"t.toml:{line_of(text, 'First?')}: questions[1].prompt.ta: "
                              "language 'ta' is not declared")


def test_plain_string_prompts_need_a_single_language() -> None:
    text = edit('prompt = { en = "First?", hi = "पहला?" }', 'prompt = "First?"')
    (problem,) = problems(text)
    assert "questions[1].prompt: must be a table of texts by language (en, hi)" in problem
    single = GOOD.replace('languages = ["en", "hi"]', 'languages = ["en"]')
    for hindi in ('hi = "छोटा"', 'hi = "परिचय"', 'hi = "शुरुआत"', 'hi = "पहला?"',
                  'hi = "दूसरा?"', 'hi = "तीसरा?"'):
        single = single.replace(", " + hindi, "")
    single = single.replace('prompt = { en = "First?" }', 'prompt = "First?"')
    assert parse_template(single.encode(), "t.toml").questions[0].prompt.get("en") == "First?"


def test_duplicate_question_ids() -> None:
    text = edit('id = "q-two"', 'id = "q-one"')
    assert problems(text) == [f"t.toml:{line_of(text, 'q-one', 2)}: questions[2].id: "
                              "duplicate id 'q-one'"]


def test_duplicate_competency_ids() -> None:
    extra = GOOD.split("[[rubric.competencies]]")[1]
    text = GOOD + "\n[[rubric.competencies]]" + extra
    (problem,) = problems(text)
    line = line_of(text, 'id = "talk"', 2)
    assert problem == f"t.toml:{line}: rubric.competencies[2].id: duplicate id 'talk'"


def test_competency_referenced_but_not_defined() -> None:
    text = edit('competencies = ["talk"]', 'competencies = ["talk", "teamwork"]', 2)
    assert problems(text) == [
        f"t.toml:{line_of(text, 'teamwork')}: questions[2].competencies: 'teamwork' is not "
        "defined in [[rubric.competencies]]"
    ]


def test_competency_defined_but_evidenced_by_no_question() -> None:
    text = GOOD + """
[[rubric.competencies]]
id = "unused"
name = "Unused"
description = "Never asked."
weight = 1
levels = { 1 = "a", 3 = "b", 5 = "c" }
indicators = [{ label = "x", phrases = ["y"] }]
"""
    assert problems(text) == [f"t.toml:{line_of(text, 'unused')}: rubric.competencies[2].id: "
                              "competency 'unused' is evidenced by no question"]


@pytest.mark.parametrize(("old", "new", "where"), [
    ("think_seconds = 30", "think_seconds = 0", "questions[1].think_seconds"),
    ("answer_seconds = 90", "answer_seconds = -5", "questions[2].answer_seconds"),
    ("answer_seconds = 20", "answer_seconds = 0.0", "practice.answer_seconds"),
])
def test_non_positive_times(old: str, new: str, where: str) -> None:
    text = GOOD.replace(old, new)
    (problem,) = problems(text)
    assert problem.startswith(f"t.toml:{line_of(text, new)}: {where}: must be a positive "
                              "number of seconds")


def test_negative_retakes_and_weights_and_days() -> None:
    text = (GOOD.replace("retakes = 0", "retakes = -1").replace("weight = 1", "weight = 0")
            .replace("retention_days = 30", "retention_days = 0"))
    found = problems(text)
    assert [p.split(": ", 1)[1] for p in found] == [
        "policy.retention_days: must be a positive number of days, got 0",
        "questions[2].retakes: must be 0 or more, got -1",
        "rubric.competencies[1].weight: must be positive, got 0",
    ]


def test_every_problem_is_reported_in_line_order() -> None:
    text = (GOOD.replace("think_seconds = 30", "think_seconds = 0")
            .replace('id = "q-two"', 'id = "Q Two"')
            .replace('type = "text"', 'type = "essay"'))
    found = problems(text)
    assert len(found) == 3
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)
    assert "'essay' is not a question type (video, audio or text)" in found[2]


def test_levels_must_anchor_one_three_and_five() -> None:
    text = GOOD.replace('levels.3 = "Talks."\n', "")
    text = text.replace('levels.5 = "Talks well."', 'levels.5 = "Talks well."\nlevels.7 = "?"')
    found = problems(text)
    assert any("rubric.competencies[1].levels: must anchor levels 1, 3 and 5 (missing 3)" in p
               for p in found)
    assert any(f":{line_of(text, 'levels.7')}: rubric.competencies[1].levels.7: levels are "
               "numbered 1 to 5" in p for p in found)


def test_indicators_need_phrases() -> None:
    text = GOOD.replace('phrases = ["hello"]', "phrases = []")
    (problem,) = problems(text)
    assert "indicators[1].phrases: must list at least one non-empty phrase" in problem


@pytest.mark.parametrize(("old", "new", "message"), [
    ('languages = ["en", "hi"]', 'languages = ["en", "en"]', "declared twice"),
    ('languages = ["en", "hi"]', 'languages = ["english"]', "not a language code"),
    ('languages = ["en", "hi"]', "languages = []", "at least one language"),
])
def test_bad_language_lists(old: str, new: str, message: str) -> None:
    assert any(message in p for p in problems(GOOD.replace(old, new)))


def test_missing_required_sections() -> None:
    text = GOOD.split("[policy]")[0]
    found = problems(text)
    for key in ("policy", "practice", "questions", "rubric"):
        assert f"t.toml: missing required key '{key}'" in found


def test_a_question_table_must_not_be_a_plain_value() -> None:
    text = GOOD.replace("[policy]", 'questions_note = "x"\n[policy]')
    assert any("questions_note: unknown key" in p for p in problems(text))


def test_unsupported_format_version() -> None:
    (problem,) = problems(GOOD.replace("format = 1", "format = 3"))
    assert problem == ("t.toml:1: format: unsupported template format 3; this kiosk reads "
                       "formats 1 and 2")


def test_broken_toml_reports_the_line() -> None:
    text = GOOD.replace("retakes = 0", "retakes = = 0")
    assert problems(text) == [f"t.toml:{line_of(text, 'retakes = =')}: not valid TOML: "
                              "Invalid value"]


def test_not_utf8() -> None:
    with pytest.raises(TemplateError, match="not UTF-8"):
        parse_template(b"id = '\xff'", "t.toml")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read"):
        load_template(tmp_path / "missing.toml")


def test_too_many_questions() -> None:
    question = GOOD.split("[[questions]]")[2].split("[[rubric")[0]
    many = "".join(f"[[questions]]{question.replace('q-two', f'q-{n:02d}')}" for n in range(20))
    text = GOOD.replace("[[rubric.competencies]]", many + "[[rubric.competencies]]", 1)
    assert any("has 23 entries; at most 20 are allowed" in p for p in problems(text))


# --- finding lines ------------------------------------------------------------------------

def test_line_map_follows_tables_arrays_and_inline_tables() -> None:
    text = """\
a = 1
s = '''
b = "not a key"
'''
arr = [
  "x",
]
[t]
k.sub = { x = 1, "y z" = "a,b" }

[[items]]
id = "one"
[[items.parts]]
n = 1
[[items]]
id = "two"
[[items.parts]]
n = 2
[[items.parts]]
n = 3
"""
    lines = LineMap(text)
    assert lines.line_of(("a",)) == 1
    assert lines.line_of(("b",)) is None
    assert lines.line_of(("arr",)) == 5
    assert lines.line_of(("t", "k", "sub", "y z")) == 9
    assert lines.line_of(("items", 1, "id")) == 16
    assert lines.line_of(("items", 1, "parts", 1, "n")) == 20
    assert lines.line_of(("items", 0, "parts", 0)) == 13
    assert lines.line_of(("items", 1, "missing")) == 15  # falls back to the nearest table
