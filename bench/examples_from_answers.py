"""Example sentences for the bundled templates, taken from labelled answers.

How a template author improves an interview's examples: try the finder on answers a
reviewer has labelled, and where it is wrong, teach it with the answer's own words. For
every English answer of the given sets (`bench/evidence_data/`, format in its README):

- a piece of evidence the reviewer did not mark becomes a near-miss of its indicator (the
  finder read it as showing the indicator; the reviewer says it does not);
- an indicator the reviewer marked and the finder missed gets, as an example that shows
  it, the answer's clause that came nearest to it (probability at least `NEAREST`, five
  words or more): the sentence in which the candidate showed it, in their own words.

`--cv` measures the method before anything is written: for each set, examples are taken
from all the other sets and the finder is scored on the one left out, against the
templates as they are. `--write` adds the examples from all the sets to
`assets/interviews/*.toml`, under a comment that says where they came from; run it on
templates without such a block (it does not replace one).

    .venv/bin/python bench/examples_from_answers.py --cv
    .venv/bin/python bench/examples_from_answers.py --write

The sets used this way are seen from then on: the finder's figures on them overstate it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping

from evidence_bench import DATA, SETS, Answer, Counts, evaluate, read_answers

from kiosk.scoring.evidence_model import SentenceModel
from kiosk.scoring.meaning import Thresholds, find_hits
from kiosk.scoring.service import typed_transcript
from kiosk.templates import InterviewTemplate, find_template
from kiosk.templates.bundled import bundled_template_paths

NEAREST = 0.3
MIN_WORDS = 5
# Every clause whose probability reaches NEAREST, nearest example or not: the relaxed pass
# that finds the clause in which a missed indicator was shown.
_NEAREST_CLAUSE = Thresholds(probability=NEAREST, with_phrase=NEAREST, confident=NEAREST,
                             sentence_floor=0.0, short_clause_floor=0.0, stuffing_hits=99)
MARK = "# From labelled trial answers (bench/examples_from_answers.py)"

Found = dict[tuple[str, str], set[str]]  # (template id, indicator label) -> sentences


def mine(answers: Iterable[Answer], templates: Mapping[str, InterviewTemplate],
         model: SentenceModel) -> tuple[Found, Found]:
    """(near-misses, examples that show) from where the finder disagrees with the labels."""
    near: Found = defaultdict(set)
    shows: Found = defaultdict(set)
    for answer in answers:
        if answer.language != "en":
            continue
        template = templates[answer.template]
        question = template.question(answer.question)
        transcript = typed_transcript(answer.text, "en")
        unrelated = template.unrelated.get("en", ())
        for competency in template.competencies:
            if competency.id not in question.competencies:
                continue
            found = {h.indicator: h for h in find_hits(competency, transcript, model, "en",
                                                       template.competencies,
                                                       unrelated=unrelated)}
            nearest = {h.indicator: h for h in find_hits(competency, transcript, model, "en",
                                                         template.competencies,
                                                         _NEAREST_CLAUSE, unrelated)}
            for indicator in competency.indicators:
                key = (template.id, indicator.label)
                marked = (competency.id, indicator.label) in answer.labels
                if indicator.label in found and not marked:
                    near[key].add(found[indicator.label].sentence.text.strip())
                elif marked and indicator.label not in found and indicator.label in nearest:
                    hit = nearest[indicator.label]
                    if hit.sentence.words >= MIN_WORDS:
                        shows[key].add(hit.sentence.text.strip())
    return near, shows


def with_examples(template: InterviewTemplate, near: Found, shows: Found
                  ) -> InterviewTemplate:
    """The template with the mined sentences added to its English examples."""
    competencies = []
    for competency in template.competencies:
        indicators = []
        for indicator in competency.indicators:
            key = (template.id, indicator.label)
            more_shows = {**indicator.shows, "en": tuple(dict.fromkeys(
                (*indicator.shows.get("en", ()), *sorted(shows.get(key, ())))))}
            more_near = {**indicator.near_misses, "en": tuple(dict.fromkeys(
                (*indicator.near_misses.get("en", ()), *sorted(near.get(key, ())))))}
            indicators.append(dataclasses.replace(indicator, shows=more_shows,
                                                  near_misses=more_near))
        competencies.append(dataclasses.replace(competency, indicators=tuple(indicators)))
    return dataclasses.replace(template, competencies=tuple(competencies))


def cross_validate(sets: list[str], templates: dict[str, InterviewTemplate],
                   model: SentenceModel) -> None:
    every = {name: read_answers(DATA / f"{name}.jsonl") for name in sets}
    pooled = {"as they are": Counts(), "with mined examples": Counts()}
    print("| left out | templates as they are P / R / F1 | with examples from the others |")
    print("|---|---:|---:|")
    for name in sets:
        near, shows = mine((a for other in sets if other != name for a in every[other]),
                           templates, model)
        mined = {k: with_examples(t, near, shows) for k, t in templates.items()}
        english = [a for a in every[name] if a.language == "en"]
        cells = []
        for label, chosen in (("as they are", templates), ("with mined examples", mined)):
            counts = evaluate(english, chosen, model).overall
            for field in ("tp", "fp", "fn"):
                setattr(pooled[label], field, getattr(pooled[label], field) +
                        getattr(counts, field))
            cells.append("{:.2f} / {:.2f} / {:.2f}".format(*counts.prf()))
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)
    print("| **pooled** | " + " | ".join("{:.3f} / {:.3f} / {:.3f}".format(*c.prf())
                                        for c in pooled.values()) + " |")


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


_ARRAYS = {"examples.en.shows = [": "shows", "examples.en.near_misses = [": "near"}


def with_blocks(text: str, template_id: str, near: Found, shows: Found) -> str:
    """A template's TOML with the mined sentences appended to its indicators' English
    `shows` and `near_misses` arrays, each block under MARK; the rest byte for byte."""
    out: list[str] = []
    label = None
    array = None  # the English example array being read, until its closing line
    for line in text.splitlines():
        if line.strip() == MARK:
            raise ValueError("it already has mined examples; start from a clean copy")
        match = re.match(r'^label = (".*")$', line)
        if match:
            label = json.loads(match.group(1))
        if line.startswith("examples."):  # a one-line array opens and closes on this line
            array = _ARRAYS.get(line.strip())
        elif line == "]" and array is not None and label is not None:
            added = sorted((shows if array == "shows" else near).get((template_id, label), ()))
            if added:
                out.append(f"    {MARK}")
                out.extend(f"    {_toml_string(s)}," for s in added)
            array = None
        out.append(line)
    return "\n".join(out) + "\n"


def write(near: Found, shows: Found) -> None:
    for path in bundled_template_paths():
        try:
            text = with_blocks(path.read_text(encoding="utf-8"), find_template(str(path)).id,
                               near, shows)
        except ValueError as exc:
            sys.exit(f"{path.name}: {exc}")
        path.write_text(text, encoding="utf-8")
        find_template(str(path))  # still a valid template
        print(f"{path.name}: written")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS[:-1]),
                        help="comma-separated labelled sets (default: all but the newest)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--cv", action="store_true", help="leave one set out, print P/R/F1")
    what.add_argument("--write", action="store_true", help="add the examples to the templates")
    args = parser.parse_args()
    sets = args.sets.split(",")
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        sys.exit(f"unknown set(s): {', '.join(unknown)}")
    model = SentenceModel()
    templates = {t.id: t for t in (find_template(str(p)) for p in bundled_template_paths())}
    if args.cv:
        cross_validate(sets, templates, model)
        return 0
    answers = [a for name in sets for a in read_answers(DATA / f"{name}.jsonl")]
    near, shows = mine(answers, templates, model)
    print(f"{sum(map(len, near.values()))} near-misses, {sum(map(len, shows.values()))} "
          "examples that show")
    write(near, shows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
