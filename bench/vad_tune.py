"""The voice-activity filter's settings on short answers: word errors per setting, against
faster-whisper called directly, on a tuning split and a held-out split, in the same run.

Clips: 15 short espeak-ng answers (1-6 s, British and American voices, three of them with a
2.5 s pause in the middle) made here, and the real recordings of `--data` (manifest.csv).
Every clip goes through AAC in a vault as the kiosk records it (`transcribe_bench`), then
tiny.en with the kiosk's decoding settings and the VAD setting under test. "direct" is
faster-whisper with its defaults (no VAD) on the original audio. A third of the espeak-ng
clips and six named real clips are held out: settings are chosen on the tuning split only.

    .venv/bin/python bench/vad_tune.py --data DIR [--split tune|held|both]
        [--settings 0.5,600,2000 ...]

A setting is THRESHOLD,SPEECH_PAD_MS,MIN_SILENCE_MS, or "off" for no VAD. Without
--settings the grid is threshold 0.5/0.35 x pad 400/600/800/1000 x silence 2000/1000, and off.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from transcribe_bench import (  # bench/ is on the path when a script runs
    DATA_ENV,
    read_manifest,
    vault_roundtrip,
    word_errors,
)

from kiosk.transcription.sample_speech import synthesise
from kiosk.transcription.transcriber import SAMPLE_RATE, Samples, Transcriber, decode_audio
from kiosk.vault import Identity, VaultReader

SHORT_ANSWERS = (
    "Yes, I can start on Monday.", "Thank you.", "About two years.",
    "I helped a customer who had lost her receipt, and we found the order in the system.",
    "My strength is patience. I stay calm when the queue is long.",
    "I would ask my manager first.", "No, I have not worked nights before.",
    "Teamwork matters to me because nobody can run a busy shop alone.",
    "I listen, I apologise, and then I fix the problem.",
    "Twenty five hours a week.", "I learned to plan my day.", "Because I like people.",
)
PAUSED_ANSWERS = (("I worked at a bakery.", "Then I moved to a phone shop."),
                  ("Yes.", "I can work weekends too."),
                  ("Hmm, let me think.", "I would call the customer back the same day."))
HELD_OUT_REAL = {"ljspeech_LJ001-0004.wav", "ljspeech_LJ001-0006.wav",
                 "librispeech_2412-153948-0000.wav", "librispeech_1995-1837-0001.wav",
                 "ami_ES2011a_headset0_40-46s.wav",
                 "derived_ljspeech_LJ001-0001_to_0008_concat.wav"}


@dataclass(frozen=True)
class Clip:
    """One clip: its name, reference text, split and audio."""

    name: str
    reference: str
    split: str
    samples: Samples


def silence(seconds: float) -> Samples:
    return np.zeros(int(SAMPLE_RATE * seconds), dtype=np.float32)


def espeak_clips() -> list[Clip]:
    """Short answers with silence around them (and some with a pause inside)."""
    clips = []
    for n, text in enumerate(SHORT_ANSWERS):
        voice = "en-us" if n % 2 else "en-gb"
        spoken = synthesise(text, voice, 150 + 20 * (n % 3))
        clips.append(Clip(f"espeak {n}", text, "tune" if n % 3 else "held",
                          np.concatenate([silence(0.8 + 0.3 * (n % 3)), spoken, silence(1.5)])))
    for n, (first, second) in enumerate(PAUSED_ANSWERS):
        audio = np.concatenate([silence(0.5), synthesise(first), silence(2.5),
                                synthesise(second), silence(1.0)])
        clips.append(Clip(f"paused {n}", f"{first} {second}", "held" if n == 1 else "tune",
                          audio))
    return clips


def real_clips(data: Path) -> list[Clip]:
    return [Clip(c.file, c.reference, "held" if c.file in HELD_OUT_REAL else "tune",
                 decode_audio(c.path)) for c in read_manifest(data)]


def as_recorded(samples: Samples, identity: Identity) -> Samples:
    """Through AAC in a vault and back, as the worker reads an answer."""
    with VaultReader(io.BytesIO(vault_roundtrip(samples, identity)), [identity]) as reader:
        return decode_audio(reader)


def setting(text: str) -> dict[str, Any] | None:
    if text == "off":
        return None
    threshold, pad, quiet = text.split(",")
    return {"threshold": float(threshold), "speech_pad_ms": int(pad),
            "min_silence_duration_ms": int(quiet)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=os.environ.get(DATA_ENV),
                        help=f"folder with manifest.csv and its clips (default: ${DATA_ENV})")
    parser.add_argument("--split", choices=("tune", "held", "both"), default="both")
    parser.add_argument("--settings", nargs="*", type=setting,
                        help="THRESHOLD,PAD_MS,MIN_SILENCE_MS or off (default: the grid)")
    args = parser.parse_args(argv)
    if args.data is None or not (Path(args.data) / "manifest.csv").is_file():
        print("vad_tune: pass --data DIR (or set KIOSK_SPEECH_DATA), a folder with "
              "manifest.csv and the clips it names", file=sys.stderr)
        return 2
    grid = args.settings if args.settings is not None else [None] + [
        {"threshold": t, "speech_pad_ms": p, "min_silence_duration_ms": q}
        for t, p, q in itertools.product((0.5, 0.35), (400, 600, 800, 1000), (2000, 1000))]
    identity = Identity.generate()
    model = Transcriber()._model  # the bundled model, checked against its digests
    clips = espeak_clips() + real_clips(Path(args.data))
    recorded = {clip.name: as_recorded(clip.samples, identity) for clip in clips}
    splits = ("tune", "held") if args.split == "both" else (args.split,)

    def errors(split: str, run: Any, source: dict[str, Samples]) -> str:
        chosen = [c for c in clips if c.split == split]
        found = word_errors([c.reference for c in chosen], [run(source[c.name]) for c in chosen])
        return str(found)

    def direct(samples: Samples) -> str:
        segments, _ = model.transcribe(samples, language="en")
        return " ".join(s.text.strip() for s in segments)

    def ours(vad: dict[str, Any] | None) -> Any:
        def run(samples: Samples) -> str:
            segments, _ = model.transcribe(
                samples, language="en", word_timestamps=True, condition_on_previous_text=False,
                beam_size=5, vad_filter=vad is not None, vad_parameters=vad)
            return " ".join(s.text.strip() for s in segments)
        return run

    original = {c.name: c.samples for c in clips}
    words = {split: sum(len(c.reference.split()) for c in clips if c.split == split)
             for split in splits}
    print(f"{len(clips)} clips; words per split (before normalising): {words}")
    print("| VAD setting | " + " | ".join(f"word errors, {s}" for s in splits) + " |")
    print("|---|" + "---:|" * len(splits))
    print("| faster-whisper direct (defaults, original audio) | "
          + " | ".join(errors(s, direct, original) for s in splits) + " |", flush=True)
    for vad in grid:
        name = "off" if vad is None else (f"threshold {vad['threshold']}, pad "
                                          f"{vad['speech_pad_ms']} ms, silence "
                                          f"{vad['min_silence_duration_ms']} ms")
        print(f"| ours, {name} | " + " | ".join(errors(s, ours(vad), recorded) for s in splits)
              + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
