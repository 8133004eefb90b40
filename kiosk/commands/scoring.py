"""`kiosk score` and `kiosk scorecard`."""

from __future__ import annotations

import argparse
import json

from kiosk.commands.common import Parser, add_passphrase_options, open_data_dir
from kiosk.commands.records import open_store, unlock_keys
from kiosk.errors import InvalidInput
from kiosk.reference import normalize_reference


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `score` and `scorecard`."""
    score = commands.add_parser("score", help="work out the suggested scores of a session again")
    score.add_argument("session", metavar="SESSION", help="reference code")
    add_passphrase_options(score)
    score.set_defaults(handler=score_command)

    card = commands.add_parser("scorecard", help="show a session's scorecard")
    card.add_argument("session", metavar="SESSION", help="reference code")
    card.add_argument("--json", action="store_true", help="print the scorecard document")
    add_passphrase_options(card)
    card.set_defaults(handler=scorecard_command)


def _reference(text: str) -> str:
    reference = normalize_reference(text)
    if reference is None:
        raise InvalidInput("session", "a reference code has 8 letters and digits, like ABCD-2345")
    return reference


def score_command(args: argparse.Namespace) -> int:
    """Recompute suggestions from the stored transcripts."""
    from kiosk.scoring.service import score_session

    data_dir, _ = open_data_dir(args)
    store = open_store(data_dir, unlock_keys(data_dir, args.passphrase_file))
    try:
        session_id = store.session_id(_reference(args.session))
        with store.transaction():
            count = score_session(store, session_id, force=True)
    finally:
        store.close()
    print(f"{count} competencies scored" if count else
          "no suggestions: AI-assisted scoring is off for this interview, or was declined")
    return 0


def scorecard_command(args: argparse.Namespace) -> int:
    """Print the scorecard as a table or as JSON."""
    from kiosk.scoring.scorecard import build, render

    data_dir, _ = open_data_dir(args)
    store = open_store(data_dir, unlock_keys(data_dir, args.passphrase_file))
    try:
        card = build(store, store.session_id(_reference(args.session)))
    finally:
        store.close()
    print(json.dumps(card, ensure_ascii=False, indent=2) if args.json else render(card))
    return 0
