"""The follow-up probes of a template: `[[questions.probes]]` and `[follow_ups]`, checked.

A probe is tied to exactly one thing an answer may lack: an indicator of one of its
question's competencies (`competency` and `indicator`, the indicator's label), a part of a
told story (`part`), or enough words to judge (`fewer_words_than`). What a probe names is
checked against the rubric once the rubric is read (`check_targets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kiosk.templates._lines import Path as KeyPath
from kiosk.templates.model import STORY_PARTS, Competency, FollowUps, Probe

if TYPE_CHECKING:
    from kiosk.templates.loader import _Checker

MAX_PROBES_PER_QUESTION = 4
MAX_WORDS_THRESHOLD = 200
MAX_PROBE_SECONDS = 300  # a follow-up is short; a long one is another question
_PROBE_KEYS = {"id", "prompt", "answer_seconds", "think_seconds", "retakes", "competency",
               "indicator", "part", "fewer_words_than"}
_PROBE_REQUIRED = {"id", "prompt", "answer_seconds"}
_FOLLOW_UP_KEYS = {"max", "interview_minutes"}


def probes(checker: _Checker, raw: dict[str, Any], path: KeyPath,
           competencies: tuple[str, ...] | None) -> tuple[Probe, ...] | None:
    """A question's probes (none if it lists none); None if any is wrong."""
    if "probes" not in raw:
        return ()
    seen: set[str] = set()
    built = checker.entries(raw, "probes", path, MAX_PROBES_PER_QUESTION,
                            lambda p, at: _probe(checker, p, at, seen, competencies))
    return None if built is None else tuple(built)


def _probe(checker: _Checker, raw: dict[str, Any], path: KeyPath, seen: set[str],
           competencies: tuple[str, ...] | None) -> Probe | None:
    checker.table(raw, path, _PROBE_KEYS, _PROBE_REQUIRED)
    probe_id = checker.unique_id(raw, path, seen)
    prompt = checker.local_text(raw, "prompt", path)
    answer = _bounded_seconds(checker, raw, "answer_seconds", path)
    think = _bounded_seconds(checker, raw, "think_seconds", path) if "think_seconds" in raw \
        else 10.0
    retakes = checker.value(raw, "retakes", path, int, default=0)
    if retakes is not None and not 0 <= retakes <= 3:
        checker.problem((*path, "retakes"), f"must be 0 to 3, got {retakes}")
        retakes = None
    target = _target(checker, raw, path, competencies)
    if None in (probe_id, prompt, answer, think, retakes, target):
        return None
    assert probe_id and prompt and answer and think and target is not None
    competency, indicator, part, words = target
    return Probe(id=probe_id, prompt=prompt, answer_seconds=answer, think_seconds=think,
                 retakes=retakes, competency=competency, indicator=indicator, part=part,
                 fewer_words_than=words)


def _bounded_seconds(checker: _Checker, raw: dict[str, Any], key: str,
                     path: KeyPath) -> float | None:
    value = checker.seconds(raw, key, path)
    if value is not None and value > MAX_PROBE_SECONDS:
        checker.problem((*path, key), f"a follow-up is short: at most {MAX_PROBE_SECONDS} "
                                      f"seconds, got {value:g}")
        return None
    return value


_Target = tuple[str | None, str | None, str | None, int | None]


def _target(checker: _Checker, raw: dict[str, Any], path: KeyPath,
            competencies: tuple[str, ...] | None) -> _Target | None:
    """(competency, indicator, part, fewer_words_than): exactly one kind of trigger."""
    kinds = [k for k in ("indicator", "part", "fewer_words_than") if k in raw]
    if len(kinds) != 1:
        checker.problem(path, "a probe is tied to exactly one of: competency and indicator, "
                              "part, fewer_words_than" + (f" (got {', '.join(kinds)})"
                                                          if kinds else ""))
        return None
    if "competency" in raw and kinds != ["indicator"]:
        checker.problem((*path, "competency"), "goes with indicator only")
        return None
    kind = kinds[0]
    if kind == "part":
        part = checker.value(raw, "part", path, str)
        if part is not None and part not in STORY_PARTS:
            checker.problem((*path, "part"), f"'{part}' is not a part of a told story "
                                             f"({', '.join(STORY_PARTS)})")
            return None
        return None if part is None else (None, None, part, None)
    if kind == "fewer_words_than":
        words = checker.value(raw, "fewer_words_than", path, int)
        if words is not None and not 2 <= words <= MAX_WORDS_THRESHOLD:
            checker.problem((*path, "fewer_words_than"),
                            f"must be 2 to {MAX_WORDS_THRESHOLD} words, got {words}")
            return None
        return None if words is None else (None, None, None, words)
    if "competency" not in raw:
        checker.problem(path, "a probe tied to an indicator names its competency too")
        return None
    competency = checker.text(raw, "competency", path)
    indicator = checker.text(raw, "indicator", path)
    if competency is None or indicator is None:
        return None
    if competencies is not None and competency not in competencies:
        checker.problem((*path, "competency"), f"'{competency}' is not one of this question's "
                                               f"competencies ({', '.join(competencies)})")
        return None
    checker.probe_targets.append(((*path, "indicator"), competency, indicator))
    return competency, indicator, None, None


def follow_ups(checker: _Checker, raw: object) -> FollowUps | None:
    """The `[follow_ups]` table: the interview-wide maximum and time limit."""
    path: KeyPath = ("follow_ups",)
    if not checker.table(raw, path, _FOLLOW_UP_KEYS, set()):
        return None
    assert isinstance(raw, dict)
    most = checker.value(raw, "max", path, int, default=FollowUps.max_per_interview)
    if most is not None and not 0 <= most <= 20:
        checker.problem((*path, "max"), f"must be 0 to 20 follow-ups, got {most}")
        most = None
    minutes = checker.value(raw, "interview_minutes", path, float)
    if minutes is not None and not 1 <= minutes <= 240:
        checker.problem((*path, "interview_minutes"), f"must be 1 to 240 minutes, got "
                                                      f"{minutes:g}")
        return None
    return None if most is None else FollowUps(max_per_interview=most,
                                               interview_minutes=minutes)


def check_targets(checker: _Checker, competencies: Sequence[Competency],
                  ai_scoring: bool | None, any_probes: bool) -> None:
    """Each indicator a probe names exists in its competency; probes need AI consent."""
    labels = {c.id: {i.label for i in c.indicators} for c in competencies}
    for path, competency, indicator in checker.probe_targets:
        if competency in labels and indicator not in labels[competency]:
            checker.problem(path, f"'{indicator}' is not an indicator of '{competency}' "
                                  f"(its labels: {'; '.join(sorted(labels[competency]))})")
    if any_probes and ai_scoring is False:
        checker.problem(("policy", "ai_scoring"),
                        "must be true for a template with probes: a follow-up is decided by "
                        "automated processing of the answer, which candidates consent to "
                        "with AI-assisted scoring")
