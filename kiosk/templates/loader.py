"""Read an interview template from TOML and check it, reporting every problem with its line.

The checker never stops at the first problem: a coordinator editing a template wants the
whole list. Paths in messages number entries from 1 (``questions[2]`` is the second
question), as people count.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.errors import Problem, TemplateError
from kiosk.templates import probes as follow_up
from kiosk.templates._lines import LineMap
from kiosk.templates._lines import Path as KeyPath
from kiosk.templates.model import (
    AnswerMode,
    Competency,
    FollowUps,
    Indicator,
    InterviewTemplate,
    LocalText,
    Policy,
    Practice,
    Question,
)

FORMAT_VERSION = 2  # format 1 (no descriptions or examples) is still read
FORMAT_VERSIONS = (1, 2)
MAX_QUESTIONS = 20
MAX_COMPETENCIES = 12
_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")

_TOP_REQUIRED = {"format", "id", "role", "languages", "title", "intro", "policy", "practice",
                 "questions", "rubric"}
_TOP_KEYS = _TOP_REQUIRED | {"follow_ups"}
_POLICY_KEYS = {"retention_days", "ai_scoring", "recordings_leave_kiosk",
                "rejected_retention_days", "compliance"}
_PRACTICE_KEYS = {"prompt", "think_seconds", "answer_seconds"}
_QUESTION_KEYS = {"id", "type", "prompt", "think_seconds", "answer_seconds", "retakes",
                  "competencies", "probes"}
_QUESTION_REQUIRED = {"id", "prompt", "think_seconds", "answer_seconds", "competencies"}
_COMPETENCY_KEYS = {"id", "name", "description", "weight", "levels", "indicators",
                    "structure_cues"}
_COMPETENCY_REQUIRED = _COMPETENCY_KEYS - {"structure_cues"}
_INDICATOR_KEYS = {"label", "phrases"}
_INDICATOR_KEYS_2 = {"label", "phrases", "description", "examples"}
_EXAMPLE_KEYS = {"shows", "near_misses"}


def load_template(path: str | Path) -> InterviewTemplate:
    """Read and check the template at `path`; raise TemplateError listing every problem."""
    path = Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TemplateError([Problem(name, None, f"cannot read: {exc.strerror}")]) from exc
    return parse_template(data, name)


def parse_template(data: bytes, name: str) -> InterviewTemplate:
    """Check template bytes named `name` (for messages); raise TemplateError on problems."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError([Problem(name, None, "not UTF-8 text")]) from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        line = int(match.group(1)) if match else None
        message = _TOML_POSITION.sub("", str(exc)).strip()
        raise TemplateError([Problem(name, line, f"not valid TOML: {message}")]) from exc
    checker = _Checker(name, LineMap(text))
    template = checker.template(raw, hashlib.sha256(data).hexdigest())
    if checker.problems or template is None:
        raise TemplateError(sorted(checker.problems, key=lambda p: (p.line or 0, p.message)))
    return dataclasses.replace(template, text=text)


def _show(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else part
    return out


class _Checker:
    """Collects problems while building the template's parts; parts with problems are None."""

    def __init__(self, name: str, lines: LineMap) -> None:
        self.name = name
        self.lines = lines
        self.problems: list[Problem] = []
        self.languages: tuple[str, ...] = ()
        # Ids seen even in entries with other problems, so cross-references are still checked.
        self.referenced: list[tuple[KeyPath, tuple[str, ...]]] = []
        self.defined: list[tuple[KeyPath, str]] = []
        self.probe_targets: list[tuple[KeyPath, str, str]] = []  # (path, competency, label)
        self.version: int | None = None  # None: missing or unsupported, checked leniently
        self.unrelated: dict[str, tuple[str, ...]] = {}

    def problem(self, path: KeyPath, message: str) -> None:
        where = _show(path)
        text = f"{where}: {message}" if where else message
        self.problems.append(Problem(self.name, self.lines.line_of(path), text))

    # --- generic pieces -------------------------------------------------------------

    def table(self, raw: object, path: KeyPath, allowed: set[str], required: set[str]) -> bool:
        """Check that `raw` is a table with only `allowed` keys and every `required` one."""
        if not isinstance(raw, dict):
            self.problem(path, f"must be a table, got {_kind(raw)}")
            return False
        for key in raw:
            if key not in allowed:
                self.problem((*path, key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - raw.keys()):
            self.problem(path, f"missing required key '{key}'")
        return True

    def value(self, raw: dict[str, Any], key: str, path: KeyPath, kind: type,
              default: Any = None) -> Any:
        """`raw[key]` if it has type `kind` (int accepted for float), else None and a problem."""
        if key not in raw:
            return default
        value = raw[key]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            self.problem((*path, key), f"must be {_KIND_NAMES[kind]}, got {_kind(value)}")
            return None
        return value

    def seconds(self, raw: dict[str, Any], key: str, path: KeyPath) -> float | None:
        value: float | None = self.value(raw, key, path, float)
        if value is not None and value <= 0:
            self.problem((*path, key), f"must be a positive number of seconds, got {value:g}")
            return None
        return value

    def text(self, raw: dict[str, Any], key: str, path: KeyPath) -> str | None:
        value: str | None = self.value(raw, key, path, str)
        if value is not None and not value.strip():
            self.problem((*path, key), "must not be empty")
            return None
        return value

    def local_text(self, raw: dict[str, Any], key: str, path: KeyPath) -> LocalText | None:
        """Candidate-facing text: a table with exactly one entry per declared language."""
        if key not in raw:
            return None
        value = raw[key]
        where = (*path, key)
        if isinstance(value, str) and len(self.languages) == 1:
            value = {self.languages[0]: value}
        if not isinstance(value, dict):
            self.problem(where, f"must be a table of texts by language "
                                f"({', '.join(self.languages) or 'en'}), got {_kind(value)}")
            return None
        ok = True
        for language, text in value.items():
            if language not in self.languages:
                self.problem((*where, language), f"language '{language}' is not declared in "
                                                 f"languages ({', '.join(self.languages)})")
                ok = False
            elif not isinstance(text, str) or not text.strip():
                self.problem((*where, language), "must be non-empty text")
                ok = False
        for language in self.languages:
            if language not in value:
                self.problem(where, f"missing text for declared language '{language}'")
                ok = False
        return LocalText(dict(value)) if ok else None

    def unique_id(self, raw: dict[str, Any], path: KeyPath, seen: set[str]) -> str | None:
        value = self.text(raw, "id", path)
        if value is None:
            return None
        if not _ID.fullmatch(value):
            self.problem((*path, "id"),
                         f"'{value}' must be 3-64 lower-case letters, digits or '-'")
            return None
        if value in seen:
            self.problem((*path, "id"), f"duplicate id '{value}'")
            return None
        seen.add(value)
        return value

    def entries(self, raw: dict[str, Any], key: str, path: KeyPath, limit: int,
                build: Callable[[Any, KeyPath], Any]) -> list[Any] | None:
        """An array of tables: each entry built by `build`, None if any entry is bad."""
        if key not in raw:
            return None
        value = raw[key]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem((*path, key), f"must be an array of tables ([[{_show((*path, key))}]])")
            return None
        if not value:
            self.problem((*path, key), "needs at least one entry")
        if len(value) > limit:
            self.problem((*path, key), f"has {len(value)} entries; at most {limit} are allowed")
        built = [build(entry, (*path, key, index)) for index, entry in enumerate(value)]
        return None if any(b is None for b in built) else built

    # --- the template's parts ---------------------------------------------------------

    def template(self, raw: dict[str, Any], digest: str) -> InterviewTemplate | None:
        self.table(raw, (), _TOP_KEYS, _TOP_REQUIRED)
        version = self.value(raw, "format", (), int)
        if version is not None and version not in FORMAT_VERSIONS:
            self.problem(("format",), f"unsupported template format {version}; this kiosk "
                                      f"reads formats {' and '.join(map(str, FORMAT_VERSIONS))}")
        elif version is not None:
            self.version = version
        template_id = self.unique_id(raw, (), set())
        role = self.text(raw, "role", ())
        languages = self.language_list(raw)
        title = self.local_text(raw, "title", ())
        intro = self.local_text(raw, "intro", ())
        policy = self.policy(raw.get("policy")) if "policy" in raw else None
        practice = self.practice(raw.get("practice")) if "practice" in raw else None
        question_ids: set[str] = set()
        questions = self.entries(raw, "questions", (), MAX_QUESTIONS,
                                 lambda q, p: self.question(q, p, question_ids))
        follow_ups = follow_up.follow_ups(self, raw["follow_ups"]) if "follow_ups" in raw \
            else FollowUps()
        competencies = self.rubric(raw.get("rubric")) if "rubric" in raw else None
        if "rubric" in raw:
            self.cross_check()
        if competencies is not None:
            follow_up.check_targets(self, competencies, policy.ai_scoring if policy else None,
                                    any(q.probes for q in questions or ()))
        parts = (template_id, role, languages, title, intro, policy, practice, questions,
                 competencies, follow_ups)
        if any(part is None for part in parts) or self.problems:
            return None
        assert template_id and role and languages and title and intro and policy and practice
        assert questions is not None and competencies is not None and follow_ups is not None
        return InterviewTemplate(
            id=template_id, role=role, languages=languages, title=title, intro=intro,
            policy=policy, practice=practice, questions=tuple(questions),
            competencies=tuple(competencies), source=self.name, sha256=digest,
            follow_ups=follow_ups, unrelated=self.unrelated,
        )

    def language_list(self, raw: dict[str, Any]) -> tuple[str, ...] | None:
        value = self.value(raw, "languages", (), list)
        if value is None:
            return None
        ok = bool(value)
        if not value:
            self.problem(("languages",), "declare at least one language")
        for index, code in enumerate(value):
            if not isinstance(code, str) or not _LANGUAGE.fullmatch(code):
                self.problem(("languages",), f"entry {index + 1} ({code!r}) is not a language "
                                             f"code like 'en', 'hi' or 'pt-BR'")
                ok = False
        if len(set(value)) != len(value):
            self.problem(("languages",), "a language is declared twice")
            ok = False
        if ok:
            self.languages = tuple(value)
        return self.languages if ok else None

    def policy(self, raw: object) -> Policy | None:
        path: KeyPath = ("policy",)
        if not self.table(raw, path, _POLICY_KEYS, {"retention_days"}):
            return None
        assert isinstance(raw, dict)
        days = self.value(raw, "retention_days", path, int)
        if days is not None and days <= 0:
            self.problem((*path, "retention_days"),
                         f"must be a positive number of days, got {days}")
            days = None
        ai = self.value(raw, "ai_scoring", path, bool, default=False)
        leave = self.value(raw, "recordings_leave_kiosk", path, bool, default=False)
        rejected = self.value(raw, "rejected_retention_days", path, int)
        if rejected is not None and (rejected <= 0 or (days is not None and rejected > days)):
            self.problem((*path, "rejected_retention_days"),
                         "must be a positive number of days, no more than retention_days")
            rejected = None
        profile = self.value(raw, "compliance", path, str)
        if days is None or ai is None or leave is None:
            return None
        if profile is not None:
            from kiosk.privacy.compliance import problems, profiles

            for key, message in problems(profile, days, rejected, ai, self.languages or ()):
                self.problem((*path, key), message)
            if profile in profiles() and rejected is None:
                rejected = min(days, profiles()[profile].rejected_retention_days)
        return Policy(retention_days=days, ai_scoring=ai, recordings_leave_kiosk=leave,
                      rejected_retention_days=rejected, compliance=profile)

    def practice(self, raw: object) -> Practice | None:
        path: KeyPath = ("practice",)
        if not self.table(raw, path, _PRACTICE_KEYS, _PRACTICE_KEYS):
            return None
        assert isinstance(raw, dict)
        prompt = self.local_text(raw, "prompt", path)
        think = self.seconds(raw, "think_seconds", path)
        answer = self.seconds(raw, "answer_seconds", path)
        if prompt is None or think is None or answer is None:
            return None
        return Practice(prompt=prompt, think_seconds=think, answer_seconds=answer)

    def question(self, raw: dict[str, Any], path: KeyPath, seen: set[str]) -> Question | None:
        self.table(raw, path, _QUESTION_KEYS, _QUESTION_REQUIRED)
        question_id = self.unique_id(raw, path, seen)
        mode_name = self.value(raw, "type", path, str, default="video")
        mode = None
        if mode_name is not None:
            try:
                mode = AnswerMode(mode_name)
            except ValueError:
                self.problem((*path, "type"), f"'{mode_name}' is not a question type "
                                              f"(video, audio or text)")
        prompt = self.local_text(raw, "prompt", path)
        think = self.seconds(raw, "think_seconds", path)
        answer = self.seconds(raw, "answer_seconds", path)
        retakes = self.value(raw, "retakes", path, int, default=1)
        if retakes is not None and retakes < 0:
            self.problem((*path, "retakes"), f"must be 0 or more, got {retakes}")
            retakes = None
        competencies = self.id_list(raw, "competencies", path)
        if competencies is not None:
            self.referenced.append(((*path, "competencies"), competencies))
        probes = follow_up.probes(self, raw, path, competencies)
        parts = (question_id, mode, prompt, think, answer, retakes, competencies, probes)
        if any(part is None for part in parts):
            return None
        assert question_id and mode and prompt and think and answer and competencies is not None
        assert retakes is not None and probes is not None
        return Question(id=question_id, mode=mode, prompt=prompt, think_seconds=think,
                        answer_seconds=answer, retakes=retakes, competencies=competencies,
                        probes=probes)

    def id_list(self, raw: dict[str, Any], key: str, path: KeyPath) -> tuple[str, ...] | None:
        value = self.value(raw, key, path, list)
        if value is None:
            return None
        if not value:
            self.problem((*path, key), "name at least one competency")
            return None
        if not all(isinstance(v, str) for v in value):
            self.problem((*path, key), "must list competency ids as text")
            return None
        if len(set(value)) != len(value):
            self.problem((*path, key), "names a competency twice")
            return None
        return tuple(value)

    def rubric(self, raw: object) -> list[Competency] | None:
        path: KeyPath = ("rubric",)
        allowed = {"competencies", "unrelated"} if (self.version or 0) >= 2 else {"competencies"}
        if not self.table(raw, path, allowed, {"competencies"}):
            return None
        assert isinstance(raw, dict)
        if "unrelated" in raw:
            self.unrelated = self.sentences_by_language(raw["unrelated"], (*path, "unrelated"))
        seen: set[str] = set()
        return self.entries(raw, "competencies", path, MAX_COMPETENCIES,
                            lambda c, p: self.competency(c, p, seen))

    def competency(self, raw: dict[str, Any], path: KeyPath, seen: set[str]) -> Competency | None:
        self.table(raw, path, _COMPETENCY_KEYS, _COMPETENCY_REQUIRED)
        competency_id = self.unique_id(raw, path, seen)
        if competency_id is not None:
            self.defined.append(((*path, "id"), competency_id))
        name = self.text(raw, "name", path)
        description = self.text(raw, "description", path)
        weight = self.value(raw, "weight", path, float)
        if weight is not None and weight <= 0:
            self.problem((*path, "weight"), f"must be positive, got {weight:g}")
            weight = None
        levels = self.levels(raw, path)
        indicators = self.entries(raw, "indicators", path, 20, self.indicator)
        structure = self.value(raw, "structure_cues", path, bool, default=False)
        parts = (competency_id, name, description, weight, levels, indicators, structure)
        if any(part is None for part in parts):
            return None
        assert competency_id and name and description and weight and levels and indicators
        return Competency(id=competency_id, name=name, description=description, weight=weight,
                          levels=levels, indicators=tuple(indicators), structure_cues=structure)

    def levels(self, raw: dict[str, Any], path: KeyPath) -> dict[int, str] | None:
        value = self.value(raw, "levels", path, dict)
        if value is None:
            return None
        where = (*path, "levels")
        levels: dict[int, str] = {}
        for key, text in value.items():
            if key not in {"1", "2", "3", "4", "5"}:
                self.problem((*where, key), "levels are numbered 1 to 5")
            elif not isinstance(text, str) or not text.strip():
                self.problem((*where, key), "must describe the level in text")
            else:
                levels[int(key)] = text
        missing = [str(n) for n in (1, 3, 5) if str(n) not in value]
        if missing:
            self.problem(where, f"must anchor levels 1, 3 and 5 (missing {', '.join(missing)})")
            return None
        return dict(sorted(levels.items())) if len(levels) == len(value) else None

    def indicator(self, raw: dict[str, Any], path: KeyPath) -> Indicator | None:
        if self.version is None:  # already reported; say nothing more about the format
            self.table(raw, path, _INDICATOR_KEYS_2, _INDICATOR_KEYS)
        elif self.version >= 2:
            self.table(raw, path, _INDICATOR_KEYS_2, _INDICATOR_KEYS_2)
        else:
            self.table(raw, path, _INDICATOR_KEYS, _INDICATOR_KEYS)
        label = self.text(raw, "label", path)
        phrases = self.value(raw, "phrases", path, list)
        if phrases is not None and (
            not phrases or not all(isinstance(p, str) and p.strip() for p in phrases)
        ):
            self.problem((*path, "phrases"), "must list at least one non-empty phrase")
            phrases = None
        if label is None or phrases is None:
            return None
        if self.version is None or self.version < 2:
            return Indicator(label=label, phrases=tuple(p.strip() for p in phrases))
        description = self.local_text(raw, "description", path)
        examples = self.examples(raw, path)
        if description is None or examples is None:
            return None
        shows, near_misses = examples
        return Indicator(label=label, phrases=tuple(p.strip() for p in phrases),
                         description=description, shows=shows, near_misses=near_misses)

    def examples(self, raw: dict[str, Any], path: KeyPath
                 ) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]] | None:
        """`examples.<language>.shows` and `.near_misses`: sentences, for every language."""
        if "examples" not in raw:
            return None
        where = (*path, "examples")
        value = raw["examples"]
        if not isinstance(value, dict):
            self.problem(where, f"must be a table of examples by language, got {_kind(value)}")
            return None
        shows: dict[str, tuple[str, ...]] = {}
        near: dict[str, tuple[str, ...]] = {}
        ok = True
        for language in self.languages:
            if language not in value:
                self.problem(where, f"missing examples for declared language '{language}'")
                ok = False
        for language, table in value.items():
            at = (*where, language)
            if language not in self.languages:
                self.problem(at, f"language '{language}' is not declared in languages "
                                 f"({', '.join(self.languages)})")
                ok = False
                continue
            if not self.table(table, at, _EXAMPLE_KEYS, {"shows"}):
                ok = False
                continue
            for key, into in (("shows", shows), ("near_misses", near)):
                sentences = table.get(key, [])
                if not isinstance(sentences, list) or not all(
                        isinstance(x, str) and x.strip() for x in sentences):
                    self.problem((*at, key), "must list sentences as non-empty text")
                    ok = False
                else:
                    into[language] = tuple(x.strip() for x in sentences)
        return (shows, near) if ok else None

    def sentences_by_language(self, value: object, where: KeyPath
                              ) -> dict[str, tuple[str, ...]]:
        """`<language> = ["sentence", ...]` for declared languages (any subset of them)."""
        if not isinstance(value, dict):
            self.problem(where, f"must be a table of sentences by language, got {_kind(value)}")
            return {}
        found: dict[str, tuple[str, ...]] = {}
        for language, sentences in value.items():
            at = (*where, language)
            if language not in self.languages:
                self.problem(at, f"language '{language}' is not declared in languages "
                                 f"({', '.join(self.languages)})")
            elif not isinstance(sentences, list) or not all(
                    isinstance(x, str) and x.strip() for x in sentences):
                self.problem(at, "must list sentences as non-empty text")
            else:
                found[language] = tuple(x.strip() for x in sentences)
        return found

    def cross_check(self) -> None:
        """Every competency a question names is defined, and every defined one is used."""
        defined = {competency_id for _, competency_id in self.defined}
        used: set[str] = set()
        for path, names in self.referenced:
            used.update(names)
            for name in names:
                if name not in defined:
                    self.problem(path, f"'{name}' is not defined in [[rubric.competencies]]")
        for path, competency_id in self.defined:
            if competency_id not in used:
                self.problem(path, f"competency '{competency_id}' is evidenced by no question")


_KIND_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
               list: "an array", dict: "a table"}


def _kind(value: object) -> str:
    for kind, name in (
        (bool, "true/false"), (int, "a whole number"), (float, "a number"), (str, "text"),
        (list, "an array"), (dict, "a table"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__
