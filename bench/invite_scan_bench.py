"""How well and how fast the kiosk reads invitation QR codes held up on a phone.

Makes real invite tokens (`sync.invites.sign`, 217 characters, QR version 11 at error
correction M), draws each on a phone in a 1280x720 camera frame and degrades it per
condition (`tests/kiosk/drives/phone_frames.py`: tilt, rotation, focus and motion blur,
glare, low light, low contrast, overexposure, noise and JPEG, small codes, and two
conditions beyond a kiosk's reach). Each frame goes to our `read_codes` and to the
baseline, OpenCV's classic `QRCodeDetector().detectAndDecode` on the same frame; a read
counts only if it gives back the token exactly. Prints, per condition, the read rate and
the time per frame (p50/p95/max) of each, then the time per frame with no code in it.

Then the live part: an `InviteScanner` watches a `PhoneScreenSource` (30 fps, real time)
that shows an empty room and then a phone; prints the time from the phone's first frame
to `on_found` (target: under 1 s), how many frames a second the scanner read and how many
refreshed the preview, and the CPU it used (1.0 = one core), at the default pace of one
read every 0.1 s and reading back to back. `--count 0` runs only the live part. Never fails.

    .venv/bin/python bench/invite_scan_bench.py [--count N] [--live N]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric import ed25519

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: tests are imported

from bench._machine import cpu_model
from kiosk.drives.scanner import READ_EVERY, CodeReader, InviteScanner
from sync import invites
from tests.kiosk.drives.phone_frames import (
    CONDITIONS,
    PhoneScreenSource,
    phone_frame,
    room_frame,
)


def _tokens(count: int) -> list[str]:
    key = ed25519.Ed25519PrivateKey.generate()
    return [invites.sign(key, "d-" + secrets.token_hex(5), "i-" + secrets.token_hex(8),
                         "2026-12-06T23:59:59-12:00") for _ in range(count)]


def _ms(times: list[float]) -> str:
    p50, p95 = np.percentile(times, [50, 95]) * 1000
    return f"{p50:4.0f}/{p95:4.0f}/{max(times) * 1000:4.0f}"


def _frames(count: int) -> None:
    reader, classic = CodeReader(), cv2.QRCodeDetector()
    print(f"{'condition':30} {'ours':>5} {'classic':>7} {'ours ms p50/p95/max':>20} "
          f"{'classic ms p50/p95/max':>23}")
    for number, name in enumerate(CONDITIONS):
        ours, base = [], []
        read = {"ours": 0, "classic": 0}
        for index, token in enumerate(_tokens(count)):
            frame = phone_frame(token, name, 100_000 * number + index)
            start = time.perf_counter()
            read["ours"] += token in reader.read(frame)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            text, _, _ = classic.detectAndDecode(frame)
            base.append(time.perf_counter() - start)
            read["classic"] += text == token
        print(f"{name:30} {read['ours'] / count:5.0%} {read['classic'] / count:7.0%} "
              f"{_ms(ours):>20} {_ms(base):>23}", flush=True)
    ours, base = [], []
    for index in range(count):
        frame = room_frame(index)
        start = time.perf_counter()
        reader.read(frame)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        classic.detectAndDecode(frame)
        base.append(time.perf_counter() - start)
    print(f"{'no code in the frame':30} {'':5} {'':7} {_ms(ours):>20} {_ms(base):>23}")


def _live(trials: int) -> None:
    print(f"\n{'live (PhoneScreenSource, 30 fps)':30} {'found':>6} "
          f"{'s to on_found p50/p95/max':>26} {'reads/s':>8} {'previews/s':>10} {'CPU':>5}")
    for condition, every in (("clean", READ_EVERY), ("kiosk mix", READ_EVERY),
                             ("kiosk mix", 0.0)):
        waits: list[float] = []
        reads: list[float] = []
        previews: list[float] = []
        cpu: list[float] = []
        for trial, token in enumerate(_tokens(trials)):
            source = PhoneScreenSource(token, condition, appear_after=1.0, seed=trial)
            seen: list[float] = []
            done = threading.Event()

            def on_found(text: str, token: str = token, seen: list[float] = seen,
                         done: threading.Event = done) -> None:
                if text == token:
                    seen.append(time.monotonic())
                    done.set()

            scanner = InviteScanner(source, on_found, read_every=every)
            started, busy = time.monotonic(), time.process_time()
            scanner.start()
            done.wait(6.0)
            scanner.stop()
            wall = time.monotonic() - started
            reads.append(scanner.frames_read / wall)
            previews.append(scanner.frames_seen / wall)
            cpu.append((time.process_time() - busy) / wall)
            if seen and source.appeared_at is not None:
                waits.append(seen[0] - source.appeared_at)
        timing = (" ".join(f"{w:.2f}" for w in np.percentile(waits, [50, 95]))
                  + f" {max(waits):.2f}") if waits else "-"
        label = f"{condition}, read every {every:.1f} s"
        print(f"{label:30} {len(waits):>3}/{trials:<2} {timing:>26} {np.median(reads):8.1f} "
              f"{np.median(previews):10.1f} {np.median(cpu):5.0%}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="frames per condition (40)")
    parser.add_argument("--live", type=int, default=10, help="live trials per condition (10)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs ({cpu_model()}), load {os.getloadavg()[0]:.1f}, "
          f"OpenCV {cv2.__version__}, {args.count} frames per condition (1280x720), "
          f"{args.live} live trials per condition")
    if args.count:
        _frames(args.count)
    if args.live:
        _live(args.live)
    return 0


if __name__ == "__main__":
    sys.exit(main())
