"""Vault throughput against the `age` tool, measured in the same run on the same input.

Encrypts one file of random bytes with our vault (a `VaultWriter` from `create`, fed in
1 MiB chunks) and with `age -e`, then decrypts each result (a `VaultReader` streamed into
a file, and `age -d`). Each full operation is timed with `time.perf_counter`; the best of
`--repeat` runs counts. Both decryptions are checked against the input by SHA-256,
computed while streaming. The target (DESIGN.md) is a ratio ours/age of at least 1 in both
directions; this script only reports it and never fails on speed.

    .venv/bin/python bench/vault_bench.py [--size-mb 1024] [--repeat 3] [--work-dir DIR]

Exit status: 0 after a run, 1 if a decryption does not match the input, 2 if `age` or
`age-keygen` is not installed (Debian: `apt-get install age`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from _machine import cpu_model  # bench/ is on the path when a script runs

from kiosk.vault import DEFAULT_SEGMENT_SIZE, Identity, VaultReader, create

CHUNK = 1 << 20  # bytes per read/write, for input generation, hashing and both vault sides
MB = 1_000_000  # throughput is reported in MB/s (10^6 bytes per second)
AGE_TOOLS = ("age", "age-keygen")


@dataclass(frozen=True)
class Result:
    """Best time of one operation for both tools."""

    operation: str
    ours_seconds: float
    age_seconds: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024,
                        help="input size in MiB (default: 1024, i.e. 1 GiB)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per operation and tool; the best counts (default: 3)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the temporary files go (default: the system temp dir)")
    parser.add_argument("--segment-size", type=int, default=DEFAULT_SEGMENT_SIZE,
                        help=f"vault segment size in bytes (default: {DEFAULT_SEGMENT_SIZE})")
    args = parser.parse_args(argv)
    if args.size_mb < 1 or args.repeat < 1:
        parser.error("--size-mb and --repeat must be at least 1")
    return args


def missing_tools() -> list[str]:
    """The age executables that are not on PATH."""
    return [tool for tool in AGE_TOOLS if shutil.which(tool) is None]


def age_version() -> str:
    """What `age --version` prints."""
    done = subprocess.run(["age", "--version"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def machine_line(segment_size: int) -> str:
    """One line naming the machine and the software measured."""
    return (f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, "
            f"cryptography {version('cryptography')}, age {age_version()}, "
            f"vault segment size {segment_size} bytes")


def make_input(path: Path, size: int) -> str:
    """Write `size` random bytes to `path`; returns their SHA-256 hex digest."""
    digest = hashlib.sha256()
    with path.open("wb") as sink:
        for offset in range(0, size, CHUNK):
            block = os.urandom(min(CHUNK, size - offset))
            digest.update(block)
            sink.write(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as source:
        while count := source.readinto(buffer):
            digest.update(view[:count])
    return digest.hexdigest()


def age_keygen(keyfile: Path) -> str:
    """Make an age identity in `keyfile`; returns its public key (the recipient)."""
    subprocess.run(["age-keygen", "-o", str(keyfile)], capture_output=True, check=True)
    for line in keyfile.read_text(encoding="utf-8").splitlines():
        if line.startswith("# public key:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"age-keygen wrote no public key comment to {keyfile}")


def vault_encrypt(source: Path, target: Path, identity: Identity, segment_size: int) -> None:
    """Stream `source` through a vault writer made by `create` into `target`."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    writer = create(target, [identity.recipient], segment_size=segment_size)
    with writer, source.open("rb", buffering=0) as plain:
        while count := plain.readinto(buffer):
            writer.write(view[:count])


def vault_decrypt(source: Path, target: Path, identity: Identity) -> None:
    """Stream the plaintext of vault file `source` into `target`."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with source.open("rb") as sealed, VaultReader(sealed, [identity]) as reader, \
            target.open("wb") as plain:
        while count := reader.readinto(buffer):
            plain.write(view[:count])


def age_encrypt(source: Path, target: Path, recipient: str) -> None:
    """`age -e -r recipient -o target source`."""
    subprocess.run(["age", "-e", "-r", recipient, "-o", str(target), str(source)], check=True)


def age_decrypt(source: Path, target: Path, keyfile: Path) -> None:
    """`age -d -i keyfile -o target source`."""
    subprocess.run(["age", "-d", "-i", str(keyfile), "-o", str(target), str(source)],
                   check=True)


def best_time(operation: Callable[[], None], output: Path, repeat: int) -> float:
    """Best wall time of `repeat` runs of `operation`, each writing a fresh `output`."""
    best = float("inf")
    for _ in range(repeat):
        output.unlink(missing_ok=True)
        start = time.perf_counter()
        operation()
        best = min(best, time.perf_counter() - start)
    return best


def run_benchmark(workdir: Path, size: int, repeat: int, segment_size: int
                  ) -> tuple[list[Result], list[str]]:
    """Time both tools in both directions; returns results and any verification failures."""
    plain, keyfile = workdir / "input.bin", workdir / "age-key.txt"
    files = {name: workdir / name for name in ("ours.vault", "ours.out", "age.age", "age.out")}
    print(f"writing {size} random bytes to {plain} ...", flush=True)
    expected = make_input(plain, size)
    identity, recipient = Identity.generate(), age_keygen(keyfile)
    encrypt = Result(
        "encrypt",
        best_time(lambda: vault_encrypt(plain, files["ours.vault"], identity, segment_size),
                  files["ours.vault"], repeat),
        best_time(lambda: age_encrypt(plain, files["age.age"], recipient),
                  files["age.age"], repeat))
    decrypt = Result(
        "decrypt",
        best_time(lambda: vault_decrypt(files["ours.vault"], files["ours.out"], identity),
                  files["ours.out"], repeat),
        best_time(lambda: age_decrypt(files["age.age"], files["age.out"], keyfile),
                  files["age.out"], repeat))
    failures = [f"{name} does not match the input" for name in ("ours.out", "age.out")
                if sha256_file(files[name]) != expected]
    return [encrypt, decrypt], failures


def format_table(results: list[Result], size: int) -> str:
    """A Markdown table: operation, MB/s of both tools, and ours/age (>1: we are faster)."""
    lines = ["| operation | ours MB/s | age MB/s | ours/age |",
             "|-----------|----------:|---------:|---------:|"]
    for result in results:
        ours, age = size / result.ours_seconds / MB, size / result.age_seconds / MB
        lines.append(f"| {result.operation} | {ours:.0f} | {age:.0f} | {ours / age:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results; see the module docstring for exit codes."""
    args = parse_args(argv)
    missing = missing_tools()
    if missing:
        print(f"vault_bench: {' and '.join(missing)} not found on PATH; install the age tool "
              f"(Debian/Ubuntu: apt-get install age) to compare against it", file=sys.stderr)
        return 2
    size = args.size_mb * CHUNK
    print(machine_line(args.segment_size))
    print(f"input {args.size_mb} MiB ({size} bytes), best of {args.repeat} runs each, "
          f"MB = 10^6 bytes of plaintext", flush=True)
    with tempfile.TemporaryDirectory(prefix="vault-bench-", dir=args.work_dir) as workdir:
        results, failures = run_benchmark(Path(workdir), size, args.repeat, args.segment_size)
    print(format_table(results, size))
    for failure in failures:
        print(f"vault_bench: FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
