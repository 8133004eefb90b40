"""`kiosk demo` and `kiosk templates`."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kiosk import keys
from kiosk.commands.common import (
    PASSPHRASE_ENV,
    Parser,
    add_passphrase_options,
    open_data_dir,
    read_passphrase,
)
from kiosk.commands.records import unlock_keys
from kiosk.commands.transcription import model_dir
from kiosk.errors import ConfigError, TemplateError
from kiosk.flow import FlowTimings
from kiosk.logs import get_logger, log_event
from kiosk.paths import DATA_DIR_ENV, resolve_data_dir
from kiosk.store import Store
from kiosk.templates import find_template

_log = get_logger("cli")


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `demo` and `templates`."""
    demo = commands.add_parser(
        "demo", help="run the demo interview with a scripted candidate",
        description="A scripted candidate takes an interview through the real recorder, "
                    "transcription and scoring, with labelled sample media; every step and "
                    "the scorecard are printed. It runs in a temporary data directory, deleted "
                    "afterwards, unless --data-dir or $KIOSK_DATA_DIR names one to keep it in.")
    demo.add_argument("--headless", action="store_true",
                      help="run without a window, printing every step (what `kiosk demo` "
                           "always does; the kiosk window is `kiosk-app`, which `make run` "
                           "starts)")
    demo.add_argument("--template", metavar="ID_OR_PATH",
                      help="interview to run (default: the interview.template setting)")
    demo.add_argument("--language", metavar="CODE", help="language the candidate chooses")
    demo.add_argument("--answers", metavar="DIR",
                      help="audio files to use as the spoken answers, in name order "
                           "(default: espeak-ng reads sample answers)")
    demo.add_argument("--video", metavar="FILE",
                      help="a video with sound to play as the candidate for every spoken "
                           "answer (for example a recording of someone answering)")
    demo.add_argument("--json", metavar="OUT",
                      help="also write the reference code and scorecard as JSON to OUT")
    add_passphrase_options(demo)
    demo.set_defaults(handler=demo_command)

    templates = commands.add_parser("templates", help="check and list interview templates")
    sub = templates.add_subparsers(dest="templates_command", metavar="COMMAND",
                                   parser_class=Parser, required=True)
    check = sub.add_parser("check", help="check template files; list every problem")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(handler=templates_check)
    sub.add_parser("list", help="list the bundled templates and those HQ published"
                   ).set_defaults(handler=templates_list)


def demo_command(args: argparse.Namespace) -> int:
    """A scripted candidate takes a real session; print its scorecard."""
    # Imported here: the recorder, speech and model code are heavy, and `kiosk settings`
    # or `kiosk templates check` must stay quick (and work even if media libraries fail).
    from kiosk.demo.headless import Voice, run_demo
    from kiosk.scoring.scorecard import build, render
    from kiosk.transcription.worker import WorkerProcess

    answers = _answer_files(args.answers) if args.answers else []
    video = Path(args.video) if args.video else None
    if video is not None and not video.is_file():
        raise ConfigError(f"--video {args.video}: no such file")
    with _demo_data_dir(args) as (data_dir, kept):
        _, settings = open_data_dir(argparse.Namespace(data_dir=str(data_dir)))
        template_ref = args.template or settings.get("interview.template")
        assert isinstance(template_ref, str)
        template = find_template(template_ref)
        if args.language and args.language not in template.languages:
            raise ConfigError(f"'{template.id}' is offered in {', '.join(template.languages)}, "
                              f"not {args.language}")
        log_event(_log, "cli.demo", template_id=template.id)
        unlocked = _demo_keys(data_dir, args.passphrase_file)
        threads = settings.get("transcription.threads")
        assert isinstance(threads, int)
        store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
        worker = WorkerProcess(data_dir, unlocked.identity, model_dir=model_dir(settings),
                               threads=threads)
        try:
            result = run_demo(template, store, voice=Voice(answers, video), worker=worker,
                              language=args.language,
                              timings=FlowTimings.from_settings(settings))
            card = build(store, result.session_id)
        finally:
            worker.stop()
            store.close()
        print()
        print(render(card))
        print(f"\nScorecard ready {result.seconds_to_scorecard:.1f} s after the last answer.")
        if args.json:
            Path(args.json).write_text(json.dumps({"reference": result.reference,
                                                   "scorecard": card}, indent=2,
                                                  ensure_ascii=False), encoding="utf-8")
            print(f"Scorecard written to {args.json}.")
        if kept:
            print(f"The session is kept, encrypted, in {data_dir}. Look at it again with:\n"
                  f"  kiosk --data-dir {data_dir} scorecard {result.reference}")
    return 0


def _answer_files(folder: str) -> list[Path]:
    path = Path(folder)
    if not path.is_dir():
        raise ConfigError(f"--answers {folder}: not a folder")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ConfigError(f"--answers {folder}: the folder has no files")
    return files


@contextlib.contextmanager
def _demo_data_dir(args: argparse.Namespace) -> Iterator[tuple[Path, bool]]:
    """The data dir the user named (kept afterwards), else a temporary one."""
    if args.data_dir or os.environ.get(DATA_DIR_ENV):
        yield resolve_data_dir(args.data_dir), True
        return
    with tempfile.TemporaryDirectory(prefix="kiosk-demo-") as temporary:
        yield Path(temporary), False


def _demo_keys(data_dir: Path, passphrase_file: str | None) -> keys.UnlockedKeys:
    """Unlock the data dir's keys; a fresh dir gets keys under a printed demo passphrase."""
    if (data_dir / keys.KEYS_DIR / keys.KEY_FILE).exists():
        return unlock_keys(data_dir, passphrase_file)
    if passphrase_file or os.environ.get(PASSPHRASE_ENV):
        passphrase = read_passphrase(passphrase_file, PASSPHRASE_ENV, "Passphrase")
    else:
        passphrase = "demo " + secrets.token_hex(8)
        print(f"(demo data directory: its keys are locked with the passphrase "
              f"'{passphrase}'; for demos only)")
    keys.init_keys(data_dir, passphrase)
    Store(data_dir, keys.recipients(data_dir)).close()
    return keys.unlock(data_dir, passphrase)


def templates_check(args: argparse.Namespace) -> int:
    """Check each file; print every problem; exit 1 if any file has one."""
    from kiosk.templates import load_template
    from kiosk.templates.examples import example_advice

    failed = False
    for file in args.files:
        try:
            template = load_template(file)
        except TemplateError as exc:
            failed = True
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        print(f"{file}: ok: '{template.id}', {len(template.questions)} questions, "
              f"{len(template.competencies)} competencies, languages "
              f"{', '.join(template.languages)}")
        for advice in example_advice(template):
            print(f"{file}: too few examples: {advice}")
    return 1 if failed else 0


def templates_list(args: argparse.Namespace) -> int:
    """One line per template this kiosk can run: the bundled ones, and those HQ published
    (installed in the data directory by sync), with where each comes from."""
    from kiosk.templates import is_from_hq, load_template, template_paths

    failed = False
    for path in template_paths(resolve_data_dir(args.data_dir)):
        try:
            template = load_template(path)
        except TemplateError as exc:  # one bad file is named, the others still listed
            print(f"{path}: cannot be used: {exc}", file=sys.stderr)
            failed = True
            continue
        source = "from HQ" if is_from_hq(path) else "bundled"
        print(f"{template.id:40} {source:8} {len(template.questions)} questions  "
              f"{', '.join(template.languages):8} {template.title.get(template.default_language)}")
    return 1 if failed else 0
