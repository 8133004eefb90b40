"""Save a PNG of every screen, in English and Hindi, as the real full-screen kiosk window shows
it on a bare X server (Xvfb, no window manager), at each size.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--sizes 1280x800,1920x1080]

Each size gets its own X server of exactly that size; the window is the one `kiosk-app`
shows (kiosk mode, full screen) over a throwaway demo kiosk with sample media and a fake
clock, so every screen is reached in seconds (`python -m ui.tour`). Every stop is also
checked to fit, and the script fails if anything is cut off. `--offscreen` uses Qt's
offscreen platform instead, for a machine without Xvfb.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ui.tour import bare_x_server  # noqa: E402 - after the path is set


def main(argv: list[str] | None = None) -> int:
    """Save every screen for each size and language; exit 1 if any screen does not fit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--sizes", default="1280x800,1920x1080")
    parser.add_argument("--offscreen", action="store_true",
                        help="Qt's offscreen platform instead of an X server")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("[a-z][a-z]-*x*-*.png"):
        old.unlink()  # screens renamed or gone must not linger beside the new pictures
    failed = False
    for size in args.sizes.split(","):
        width, height = (int(n) for n in size.split("x"))
        command = [sys.executable, "-m", "ui.tour", "--save", str(out)]
        env = {key: value for key, value in os.environ.items()
               if key not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
        if args.offscreen:
            env["QT_QPA_PLATFORM"] = "offscreen"
            env.pop("DISPLAY", None)
            failed |= subprocess.run([*command, "--size", size], env=env, cwd=ROOT,  # noqa: S603
                                     check=False).returncode != 0
            continue
        with bare_x_server(width, height) as display:
            env["DISPLAY"] = display
            failed |= subprocess.run([*command, "--full-screen"], env=env, cwd=ROOT,  # noqa: S603
                                     check=False).returncode != 0
    count = len(list(out.glob("[a-z][a-z]-*x*-*.png")))
    print(f"saved {count} screenshots to {out}/" + ("; some screens do not fit (above)"
                                                     if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
