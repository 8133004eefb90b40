"""A writer killed with SIGKILL leaves a file recover reads up to its last flushed segment."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kiosk.vault import Identity, TamperedError, TruncatedError, VaultReader, recover

SEGMENT = 4096

WRITER = textwrap.dedent("""
    import sys
    from kiosk.vault import Identity, create
    identity = Identity(Identity.generate().suite, bytes.fromhex(sys.argv[2]))
    writer = create(sys.argv[1], [identity.recipient], segment_size=4096, fsync_interval=0.2)
    block = 0
    while True:
        # A deterministic stream, so the parent knows what every byte should be.
        writer.write(block.to_bytes(4, "big") * 250)
        block += 1
        print(writer.plaintext_bytes, flush=True)
""")


def expected_stream(length: int) -> bytes:
    return b"".join(block.to_bytes(4, "big") * 250 for block in range(length // 1000 + 1))[:length]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_write_loses_at_most_the_unflushed_segment(tmp_path: Path) -> None:
    identity = Identity.generate()
    path = tmp_path / "answer.vault"
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), identity.private_bytes().hex()],
        stdout=subprocess.PIPE, text=True,
    ) as child:
        assert child.stdout is not None
        reported = 0
        for line in child.stdout:
            reported = int(line)
            if reported >= 60 * SEGMENT:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL

    # Never mistaken for a finished file. Killed between chunks it is Truncated; killed in
    # the middle of writing a chunk, the torn chunk fails as the final one: Tampered.
    with path.open("rb") as source, pytest.raises((TruncatedError, TamperedError)):
        VaultReader(source, [identity])
    out = io.BytesIO()
    with path.open("rb") as source:
        report = recover(source, [identity], out)
    assert not report.finished
    # Everything the writer had reported written, in whole segments, is there and exact.
    assert report.plaintext_bytes >= reported // SEGMENT * SEGMENT
    assert out.getvalue() == expected_stream(report.plaintext_bytes)


def test_writers_in_two_processes_replace_the_same_file_without_tripping_over(
        tmp_path: Path) -> None:
    """The kiosk app and its worker both pin the audit head after each commit; with one
    shared temporary name one renamed the other's away (found by bench/window_soak.py)."""
    import subprocess
    import sys

    target = tmp_path / "audit.head"
    code = ("import sys\nfrom pathlib import Path\n"
            "from durable.files import write_atomically\n"
            "for n in range(400):\n"
            "    write_atomically(Path(sys.argv[1]), f'{sys.argv[2]} {n}'.encode())\n")
    writers = [subprocess.Popen([sys.executable, "-c", code, str(target), name],
                                stderr=subprocess.PIPE, text=True) for name in ("app", "worker")]
    errors = [writer.communicate(timeout=120)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], errors
    assert target.read_text().split()[1] == "399"
    assert not list(tmp_path.glob(".*.tmp"))  # nothing left behind
