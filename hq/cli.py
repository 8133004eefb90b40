"""The `kiosk-hq` command: HQ's administration entry point.

The HQ server, enrollment and imports arrive with the sync work; until then this command
only reports its version, so installs and packaging can be checked end to end.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version


def main(argv: Sequence[str] | None = None) -> int:
    """Run the HQ command line; returns the exit status."""
    try:
        current = version("interview-kiosk")
    except PackageNotFoundError:
        current = "unknown"
    parser = argparse.ArgumentParser(prog="kiosk-hq", description="Interview Kiosk HQ server.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {current}")
    parser.parse_args(argv)
    print("kiosk-hq: no commands yet; the HQ server arrives with kiosk sync", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
