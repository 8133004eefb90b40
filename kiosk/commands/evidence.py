"""`kiosk evidence`: the evidence the kiosk finds in answers given as text, one a line.

For template authors and reviewers: try a template's examples against real-sounding answers
before an interview goes live. The answers go through the very code the kiosk scores with
(a typed answer's transcript, `kiosk.scoring.answer_evidence`, the same sentence model).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.commands.common import Parser
from kiosk.errors import ConfigError
from kiosk.templates import InterviewTemplate, find_template

_FIELDS = ("id", "question", "text", "language")


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `evidence`."""
    evidence = commands.add_parser(
        "evidence", help="show the evidence the kiosk finds in answers typed in a file",
        description="Reads ANSWERS, one JSON object a line: "
                    '{"id": ..., "question": QUESTION_ID, "text": ..., "language": CODE}, '
                    "and prints, for each answer, the evidence the kiosk finds for the "
                    "competencies its question assesses, with the method that found it "
                    "(meaning, or phrases where the model does not read the language or is "
                    "not installed). A bad line is reported as FILE:LINE: message and skipped.")
    evidence.add_argument("template", metavar="TEMPLATE", help="template id or .toml path")
    evidence.add_argument("answers", metavar="ANSWERS.jsonl")
    evidence.add_argument("--json", action="store_true",
                          help='one JSON object a line: {"id": ..., "evidence": [...]}')
    evidence.set_defaults(handler=evidence_command)


def evidence_command(args: argparse.Namespace) -> int:
    """Print the evidence of every good line; exit 1 if any line was bad."""
    from kiosk.scoring import answer_evidence
    from kiosk.scoring.service import sentence_model, typed_transcript

    template = find_template(args.template)
    path = Path(args.answers)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{args.answers}: cannot read: {exc}") from exc
    model = sentence_model()
    if model is None:
        print("kiosk: the evidence model is not available; evidence comes from the template's "
              "phrases only (see the kiosk log)", file=sys.stderr)
    bad = 0
    for number, answer in _answers(lines, template):
        if isinstance(answer, str):
            print(f"{args.answers}:{number}: {answer}", file=sys.stderr)
            bad += 1
            continue
        found = answer_evidence(template, answer["question"],
                                typed_transcript(answer["text"], answer["language"]), model)
        competency = {i.label: c.id for c in template.competencies for i in c.indicators}
        items = [{"competency": competency.get(e.indicator, ""), "indicator": e.indicator,
                  "text": e.text, "start": e.start, "end": e.end, "score": e.score,
                  "method": e.method} for e in found]
        if args.json:
            print(json.dumps({"id": answer["id"], "evidence": items}, ensure_ascii=False))
        else:
            print(f"{answer['id']} ({answer['question']}): "
                  f"{len(items)} piece{'s' if len(items) != 1 else ''} of evidence")
            for item in items:
                print(f"  {item['competency']} / {item['indicator']} "
                      f"[{item['method']}, {item['score']:.2f}]: {item['text']}")
    return 1 if bad else 0


def _answers(lines: list[str], template: InterviewTemplate
             ) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, answer) for every non-blank line; the answer is an error message when
    the line is not a valid answer for `template`."""
    questions = {q.id for q in template.questions}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            yield number, f"not a JSON object: {exc}"
            continue
        if not isinstance(raw, dict):
            yield number, "not a JSON object"
            continue
        missing = [key for key in _FIELDS if key not in raw]
        if missing:
            yield number, f"missing {', '.join(missing)}"
        elif not isinstance(raw["id"], str | int) or isinstance(raw["id"], bool):
            yield number, "id must be text or a whole number"
        elif not isinstance(raw["text"], str):
            yield number, "text must be text"
        elif raw["question"] not in questions:
            yield number, (f"question {raw['question']!r} is not in {template.id} "
                           f"({', '.join(sorted(questions))})")
        elif raw["language"] not in template.languages:
            yield number, (f"language {raw['language']!r} is not offered by {template.id} "
                           f"({', '.join(template.languages)})")
        else:
            yield number, raw
