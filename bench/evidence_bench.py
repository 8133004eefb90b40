"""Evidence by meaning against the phrase matcher, on labelled answers, in the same run.

Quality: for every answer of a labelled set (`bench/evidence_data/*.jsonl`, format in its
README), both finders run on the answer as the kiosk runs a typed answer, through
`kiosk.scoring.find_evidence`: with the sentence model (method "meaning", falling back to
phrases where the kiosk would: Hindi, or a template without examples) and without it
(phrases only, the kiosk before issue 15). Each (answer, competency of its question,
indicator) is one decision: shown or not. Precision, recall and F1 are printed per indicator
and overall, for English and Hindi answers apart and together.

Speed (`--speed`): a 2-minute answer (358 words) is spoken by espeak-ng, transcribed by the
bundled Whisper model (the baseline: the kiosk's own transcription of the same answer), then its
evidence is found by meaning for every competency of the question. Twice: once with nothing
read before the transcript is whole, and once as the worker does it, each segment's sentences
read for meaning on a thread of its own as it is recognised (`reading_ahead.ReaderAhead`), so
that what is left after the transcript is the last segment and the classifiers. All timed
with `time.perf_counter`, best of 3; the ratios to transcription are printed, the whole time
from audio to evidence both ways (reading ahead uses CPU time transcription leaves idle, so
it must not make that longer), and the time from the transcript to its evidence against the
0.5 s target. Memory: the worker's resident set before and after
loading the model and scoring the answer (VmRSS).

    .venv/bin/python bench/evidence_bench.py [--set NAME|all] [--speed] [--per-indicator]

NAME is one of heldout, tuning, fresh, fresh2, fresh3, fresh4, fresh5, fresh6, fresh7,
fresh8
(bench/evidence_data/).

Exit status 0 after a run; 2 if the model is missing or a data line is bad.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from _machine import cpu_model  # bench/ is on the path when a script runs

from kiosk.scoring.evidence import find_evidence
from kiosk.scoring.evidence_model import SentenceModel
from kiosk.scoring.meaning import SentenceEncoder
from kiosk.scoring.reading_ahead import ReaderAhead
from kiosk.scoring.service import typed_transcript
from kiosk.templates import InterviewTemplate, find_template
from kiosk.transcription.transcript import Transcript

DATA = Path(__file__).parent / "evidence_data"
# In the order they were written; each untouched until its first run (the README says which).
SETS = ("heldout", "tuning", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6",
        "fresh7", "fresh8")

SPEECH_ANSWER = (
    "Okay so the customer called and he was shouting because his internet had been down for "
    "three days. First I let him finish without cutting him off. Then I told him I am really "
    "sorry, I can see why you are upset, you work from home and you lost three days. I asked "
    "for his account number and the address, and I checked the system while he waited. The "
    "line was down in his area because of road work. I was not sure when it would be fixed, "
    "so I told him honestly that I did not know yet, and I asked my team leader. She said the "
    "engineers would finish by tomorrow evening. I told him that, and I said I would call him "
    "back tomorrow at six to confirm it is working. I also offered him a data pack on his "
    "mobile for free until then, which our rules allow. He calmed down after that. The next "
    "day I called him at six as I had promised, and it was working. He thanked me and I asked "
    "if there was anything else I could help with. I think the important thing is to stay "
    "calm, listen, and keep your promise, because an angry customer mostly wants to know that "
    "someone is really taking care of the problem. Another time a lady called about a "
    "double charge on her card. She was worried because it was her rent money. I told her "
    "not to worry, that I would raise a refund request right away, and that the money would "
    "be back in her account within five working days. I gave her the request number and my "
    "name, so she could ask for me if she called again. I also wrote a note on her account "
    "so that the next agent would know the whole story and she would not have to explain it "
    "again. When I have many calls like this in one day, I make a small list and do the ones "
    "where money or service is stuck first, and the simple questions after that. Before my "
    "shift ends I check that every call back I promised is done."
)


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: bool, gold: bool) -> None:
        self.tp += predicted and gold
        self.fp += predicted and not gold
        self.fn += gold and not predicted

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f


@dataclass
class Tally:
    overall: Counts = field(default_factory=Counts)
    by_language: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    by_indicator: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    methods: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(frozen=True)
class Answer:
    id: str
    template: str
    question: str
    language: str
    text: str
    labels: frozenset[tuple[str, str]]


def read_answers(path: Path) -> list[Answer]:
    answers = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            answers.append(Answer(raw["id"], raw["template"], raw["question"], raw["language"],
                                  raw["text"], frozenset(tuple(x) for x in raw["labels"])))
        except (ValueError, KeyError, TypeError) as exc:
            sys.exit(f"{path}:{number}: {exc}")
    return answers


def evaluate(answers: Iterable[Answer], templates: dict[str, InterviewTemplate],
             model: SentenceEncoder | None) -> Tally:
    tally = Tally()
    for answer in answers:
        template = templates[answer.template]
        question = template.question(answer.question)
        transcript = typed_transcript(answer.text, answer.language)
        for competency in template.competencies:
            if competency.id not in question.competencies:
                continue
            evidence = find_evidence(competency, question.id, transcript, model,
                                     template.competencies, template.unrelated)
            shown = {e.indicator for e in evidence}
            for e in evidence:
                tally.methods[e.method] += 1
            for indicator in competency.indicators:
                gold = (competency.id, indicator.label) in answer.labels
                predicted = indicator.label in shown
                for counts in (tally.overall, tally.by_language[answer.language],
                               tally.by_indicator[f"{answer.template[:12]} / {indicator.label}"]):
                    counts.add(predicted, gold)
    return tally


def _row(name: str, counts: Counts) -> str:
    p, r, f = counts.prf()
    return f"| {name} | {p:.2f} | {r:.2f} | {f:.2f} | {counts.tp} | {counts.fp} | {counts.fn} |"


def report(title: str, tallies: dict[str, Tally], per_indicator: bool) -> None:
    print(f"\n### {title}\n")
    print("| finder | precision | recall | F1 | TP | FP | FN |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, tally in tallies.items():
        print(_row(f"{name}, all", tally.overall))
        for language, counts in sorted(tally.by_language.items()):
            print(_row(f"{name}, {language}", counts))
    for name, tally in tallies.items():
        print(f"\nmethods of the evidence found by '{name}': {dict(tally.methods)}")
    if per_indicator:
        names = list(tallies)
        print("\n| indicator | " + " | ".join(f"{n} P / R / F1" for n in names) + " |")
        print("|---|" + "---:|" * len(names))
        for key in sorted(next(iter(tallies.values())).by_indicator):
            cells = []
            for tally in tallies.values():
                p, r, f = tally.by_indicator[key].prf()
                cells.append(f"{p:.2f} / {r:.2f} / {f:.2f}")
            print(f"| {key} | " + " | ".join(cells) + " |")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def speed(threads: int) -> None:
    from kiosk.transcription.sample_speech import espeak_available, synthesise
    from kiosk.transcription.transcriber import SAMPLE_RATE, Transcriber

    if not espeak_available():
        print("\nspeed: skipped (espeak-ng is not installed)")
        return
    template = find_template("walk-in-customer-support-associate")
    question = template.question("calm-an-upset-customer-on-a-call")
    competencies = [c for c in template.competencies if c.id in question.competencies]
    # Memory first, before Whisper is loaded, so its working memory is not counted.
    before = _rss_mb()
    model = SentenceModel(threads=threads)
    for competency in competencies:  # the template's examples: once per process
        find_evidence(competency, question.id, typed_transcript("warm up.", "en"), model,
                      template.competencies, template.unrelated)
    loaded = _rss_mb()
    for competency in competencies:
        find_evidence(competency, question.id, typed_transcript(SPEECH_ANSWER, "en"), model,
                      template.competencies, template.unrelated)
    after = _rss_mb()
    samples = synthesise(SPEECH_ANSWER)
    transcriber = Transcriber(threads=threads)

    def evidence(transcript: Transcript) -> tuple[float, int]:
        start = time.perf_counter()
        found = sum(len(find_evidence(c, question.id, transcript, model,
                                      template.competencies, template.unrelated))
                    for c in competencies)
        return time.perf_counter() - start, found

    times: dict[str, list[float]] = defaultdict(list)
    found = 0
    for _ in range(3):
        model.forget_answers()  # a new answer: nothing of the last run is remembered
        start = time.perf_counter()
        transcript = transcriber.transcribe_samples(samples, language="en")
        times["transcription (baseline)"].append(time.perf_counter() - start)
        cold, found = evidence(transcript)
        times["evidence after it, nothing read ahead"].append(cold)
        times["audio to evidence, nothing read ahead"].append(time.perf_counter() - start)
        model.forget_answers()
        start = time.perf_counter()  # the worker's way: sentences read as segments come
        ahead = ReaderAhead(model)
        transcript = transcriber.transcribe_samples(samples, language="en", on_segment=ahead)
        transcribed = time.perf_counter()
        times["transcription, reading ahead (the worker)"].append(transcribed - start)
        ahead.close()  # what is left of the reading
        times["evidence after it (the worker)"].append(
            time.perf_counter() - transcribed + evidence(transcript)[0])
        times["audio to evidence (the worker)"].append(time.perf_counter() - start)
    best = {step: min(values) for step, values in times.items()}
    seconds = len(samples) / SAMPLE_RATE
    print(f"\n### Speed ({seconds:.0f} s answer, {len(transcript.text.split())} words, "
          f"{len(competencies)} competencies, {found} pieces of evidence)\n")
    print("| step | best of 3, s |")
    print("|---|---:|")
    for step, value in best.items():
        print(f"| {step} | {value:.3f} |")
    ready = best["evidence after it (the worker)"]
    baseline = best["transcription (baseline)"]
    print(f"\nratio evidence/transcription: {ready / baseline:.3f} as the worker does it, "
          f"{best['evidence after it, nothing read ahead'] / baseline:.3f} with nothing read "
          f"ahead; transcription while reading ahead took "
          f"{best['transcription, reading ahead (the worker)'] / baseline - 1:+.1%} longer")
    print("target: evidence within 0.5 s of the transcript: "
          f"{'met' if ready <= 0.5 else 'NOT met'}")
    print(f"memory (measured before Whisper is loaded): {before:.0f} MB before the model, "
          f"{loaded:.0f} MB with it and the examples, {after:.0f} MB after scoring the answer: "
          f"+{after - before:.0f} MB (target < 150)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=(*SETS, "all"), default="all")
    parser.add_argument("--speed", action="store_true", help="also time a 2-minute answer")
    parser.add_argument("--per-indicator", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"Machine: {cpu_model()}, Python {platform.python_version()}")
    model = SentenceModel(threads=args.threads)
    print(f"Model: {model.name}")
    names = SETS if args.set == "all" else (args.set,)
    for name in names:
        answers = read_answers(DATA / f"{name}.jsonl")
        templates = {a.template: find_template(a.template) for a in answers}
        tallies = {"meaning": evaluate(answers, templates, model),
                   "phrases": evaluate(answers, templates, None)}
        report(f"{name} ({len(answers)} answers)", tallies, args.per_indicator)
    if args.speed:
        speed(args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
