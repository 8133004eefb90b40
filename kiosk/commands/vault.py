"""`kiosk vault seal|open|inspect|recover`: support work on single vault files."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from kiosk import keys
from kiosk.commands.common import Parser, add_passphrase_options, open_data_dir
from kiosk.commands.records import audit_if_initialised, open_store, unlock_keys
from kiosk.errors import ConfigError
from kiosk.reference import normalize_reference
from kiosk.store import MEDIA_DIR, SessionNotFoundError
from kiosk.vault import (
    Identity,
    Recipient,
    VaultReader,
    VaultWriter,
    create,
    recover,
)
from kiosk.vault.header import read_header
from kiosk.vault.reader import read_layout

CHUNK = 1 << 20


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `vault seal|open|inspect|recover`."""
    vault = commands.add_parser("vault", help="seal, open, inspect and recover vault files")
    sub = vault.add_subparsers(dest="vault_command", metavar="COMMAND", parser_class=Parser,
                               required=True)
    seal = sub.add_parser("seal", help="encrypt IN to OUT for this kiosk's recipients")
    seal.add_argument("input", metavar="IN", help="file to encrypt, or - for standard input")
    seal.add_argument("output", metavar="OUT", help="new vault file, or - for standard output")
    seal.set_defaults(handler=seal_command)

    opener = sub.add_parser("open", help="decrypt IN to OUT after checking every segment")
    opener.add_argument("input", metavar="IN", help="vault file, or - for standard input")
    opener.add_argument("output", metavar="OUT", help="new file, or - for standard output")
    opener.add_argument("--session", metavar="REF",
                        help="the session a recording belongs to (found from its folder "
                             "when it sits in the kiosk's media folder)")
    add_passphrase_options(opener)
    opener.set_defaults(handler=open_command)

    inspect = sub.add_parser("inspect", help="show a vault file's header and state")
    inspect.add_argument("input", metavar="FILE")
    inspect.add_argument("--verify", action="store_true",
                         help="unlock and authenticate every segment")
    inspect.add_argument("--session", metavar="REF", help="as for `vault open`")
    add_passphrase_options(inspect)
    inspect.set_defaults(handler=inspect_command)

    rescue = sub.add_parser("recover", help="save what can be read of a damaged or "
                                            "unfinished file into a new vault file")
    rescue.add_argument("input", metavar="IN")
    rescue.add_argument("output", metavar="OUT")
    rescue.add_argument("--session", metavar="REF", help="as for `vault open`")
    add_passphrase_options(rescue)
    rescue.set_defaults(handler=recover_command)


def _source(path: str) -> BinaryIO:
    """The file to read; a pipe (or -, standard input) is read into memory to make it seekable."""
    try:
        source: BinaryIO = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    if source.seekable():
        return source
    with source:
        return io.BytesIO(source.read())  # ciphertext only: nothing readable is held


@contextlib.contextmanager
def _plain_output(path: str) -> Iterator[BinaryIO]:
    """A new owner-only file (removed again if anything fails), or standard output."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as out:
        try:
            yield out
        except BaseException:
            out.close()
            os.unlink(path)
            raise


def _session_for(data_dir: Path, path: str, reference: str | None) -> str | None:
    """The session id a file belongs to: from --session, or its media folder."""
    if reference:
        code = normalize_reference(reference)
        if code is None:
            raise ConfigError("--session needs a reference code like ABCD-2345")
        return code
    media = (data_dir / MEDIA_DIR).resolve()
    parent = Path(path).resolve().parent
    return parent.name if parent.parent == media else None


def _identities(args: argparse.Namespace, data_dir: Path) -> tuple[list[Identity],
                                                                    list[Recipient]]:
    """What opens the file (the kiosk's key, and its session's) and who a copy is sealed to."""
    unlocked = unlock_keys(data_dir, args.passphrase_file)
    identities = [unlocked.identity]
    recipients = keys.recipients(data_dir)
    session = _session_for(data_dir, args.input, getattr(args, "session", None))
    if session:
        store = open_store(data_dir, unlocked)
        try:
            session_id = store.session_id(session)
            identities.append(store.session_identity(session_id))
            recipients = store.media_recipients(session_id)
        except SessionNotFoundError:
            if getattr(args, "session", None):
                raise
        finally:
            store.close()
    return identities, recipients


def seal_command(args: argparse.Namespace) -> int:
    """Encrypt a file or standard input (public keys only)."""
    data_dir, _ = open_data_dir(args)
    recipients = keys.recipients(data_dir)
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(_source(args.input))
        if args.output == "-":
            writer = VaultWriter(sys.stdout.buffer, recipients)
        else:
            try:
                writer = create(args.output, recipients)
            except FileExistsError:
                raise ConfigError(f"{args.output} already exists; choose a new name") from None
        with writer:
            while block := source.read(CHUNK):
                writer.write(block)
    audit_if_initialised(data_dir, "vault.sealed", file=Path(args.output).name)
    if args.output != "-":
        print(f"sealed {writer.plaintext_bytes} bytes to {len(recipients)} recipients: "
              f"{args.output}", file=sys.stderr)
    return 0


def open_command(args: argparse.Namespace) -> int:
    """Decrypt, but only after every segment has been authenticated."""
    data_dir, _ = open_data_dir(args)
    identities, _ = _identities(args, data_dir)
    with _source(args.input) as source:
        reader = VaultReader(source, identities)
        reader.verify()  # nothing is written unless the whole file is authentic
        with _plain_output(args.output) as out:
            reader.seek(0)
            while block := reader.read(CHUNK):
                out.write(block)
    audit_if_initialised(data_dir, "vault.opened", file=Path(args.input).name)
    return 0


def inspect_command(args: argparse.Namespace) -> int:
    """Header facts without keys; with --verify, every segment authenticated."""
    data_dir, _ = open_data_dir(args)
    with _source(args.input) as source:
        header = read_header(source)
        layout, _ = read_layout(source)
        print(f"vault format version 1, segments of {header.segment_size} bytes")
        for stanza in header.stanzas:
            suite = getattr(stanza.suite, "name", f"unknown ({stanza.suite})")
            print(f"  recipient {stanza.key_id.hex()}  suite {suite}")
        state = "finished" if layout.finished else "UNFINISHED (no final segment)"
        print(f"  {layout.segments} segments, {state}")
        if args.verify:
            identities, _ = _identities(args, data_dir)
            reader = VaultReader(source, identities)
            print(f"  verified: all {reader.verify()} segments authentic, "
                  f"{reader.size} bytes of plaintext")
    return 0


def recover_command(args: argparse.Namespace) -> int:
    """Re-seal every readable segment of IN into a new, finished vault file OUT."""
    data_dir, _ = open_data_dir(args)
    identities, recipients = _identities(args, data_dir)
    try:
        writer = create(args.output, recipients)
    except FileExistsError:
        raise ConfigError(f"{args.output} already exists; choose a new name") from None
    with _source(args.input) as source, writer:
        report = recover(source, identities, writer)
    audit_if_initialised(data_dir, "vault.recovered", file=Path(args.input).name,
                         segments=report.segments)
    state = "the file was finished" if report.finished else f"stopped: {report.stopped_because}"
    print(f"recovered {report.plaintext_bytes} bytes in {report.segments} segments "
          f"({state}) into {args.output}")
    return 0

