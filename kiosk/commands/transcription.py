"""`kiosk transcribe`: what the kiosk hears in an audio or video file, or a vault file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kiosk.commands.common import Parser, add_passphrase_options, open_data_dir
from kiosk.errors import ConfigError
from kiosk.settings import Settings
from kiosk.vault import MAGIC, VaultReader


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `transcribe`."""
    transcribe = commands.add_parser("transcribe", help="transcribe an audio/video or vault file")
    transcribe.add_argument("input", metavar="FILE",
                            help="any audio or video file PyAV can read, or a vault file "
                                 "(then the staff passphrase is asked)")
    transcribe.add_argument("--json", action="store_true",
                            help="print the whole transcript as JSON (segments, words, times)")
    transcribe.add_argument("--language", metavar="CODE",
                            help="the spoken language, if the model is multilingual")
    transcribe.add_argument("--session", metavar="REF", help="as for `kiosk vault open`")
    add_passphrase_options(transcribe)
    transcribe.set_defaults(handler=transcribe_command)


def model_dir(settings: Settings) -> Path | None:
    """The model the settings choose (None: the bundled one)."""
    value = settings.get("transcription.model_dir")
    assert isinstance(value, str)
    return Path(value).expanduser() if value else None


def transcribe_command(args: argparse.Namespace) -> int:
    """Print the text (or JSON) of one file."""
    from kiosk.commands.vault import _identities
    from kiosk.transcription.transcriber import Transcriber

    data_dir, settings = open_data_dir(args)
    path = Path(args.input)
    try:
        with path.open("rb") as probe:
            is_vault = probe.read(len(MAGIC)) == MAGIC
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    threads = settings.get("transcription.threads")
    assert isinstance(threads, int)
    transcriber = Transcriber(model_dir(settings), threads=threads)
    if is_vault:
        identities, _ = _identities(args, data_dir)
        with path.open("rb") as source, VaultReader(source, identities) as reader:
            transcript = transcriber.transcribe(reader, language=args.language)
    else:
        transcript = transcriber.transcribe(path, language=args.language)
    if args.json:
        print(json.dumps(transcript.to_json(), ensure_ascii=False, indent=2))
    else:
        print(transcript.text)
        if transcript.needs_review:
            print(f"[needs a person to check: {'; '.join(transcript.review_reasons)}]")
    return 0
