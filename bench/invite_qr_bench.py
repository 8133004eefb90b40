"""How reliably OpenCV reads the QR codes HQ prints on drive invitations.

Makes N real invite tokens (`sync.invites.sign`, fresh ids each), renders each QR code as
HQ does (`segno`, error correction M), then degrades the picture the way a kiosk camera
would: a clean print, a blurred one, one rotated by 12 degrees, and one at about three
pixels per module. Each picture goes to OpenCV's classic `QRCodeDetector` (the baseline)
and to its `QRCodeDetectorAruco`; a read counts only if it gives back the token exactly.
Prints, per condition, how many each read and the ratio aruco/classic. Never fails.

    .venv/bin/python bench/invite_qr_bench.py [--count N]
"""

from __future__ import annotations

import argparse
import io
import secrets
import sys
from collections.abc import Callable

import cv2
import numpy as np
import segno
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync import invites

Image = np.ndarray


def _render(token: str) -> Image:
    out = io.BytesIO()
    segno.make(token, error="m", micro=False).save(out, kind="png", scale=6, border=4)
    picture = cv2.imdecode(np.frombuffer(out.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None
    return np.asarray(picture)


def _blurred(picture: Image) -> Image:
    return cv2.GaussianBlur(picture, (5, 5), 1.5)


def _rotated(picture: Image) -> Image:
    pad = picture.shape[0] // 4  # room for the corners: a camera sees around the paper
    picture = cv2.copyMakeBorder(picture, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                 value=(255, 255, 255))
    height, width = picture.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 12, 1.0)
    return cv2.warpAffine(picture, turn, (width, height), borderValue=(255, 255, 255))


def _small(picture: Image) -> Image:
    return cv2.resize(picture, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


CONDITIONS: tuple[tuple[str, Callable[[Image], Image]], ...] = (
    ("clean", lambda p: p), ("blurred", _blurred), ("rotated 12 deg", _rotated),
    ("3 px per module", _small))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="tokens (default 200)")
    args = parser.parse_args()
    key = ed25519.Ed25519PrivateKey.generate()
    tokens = [invites.sign(key, "d-" + secrets.token_hex(5), "i-" + secrets.token_hex(8),
                           "2026-12-06T23:59:59-12:00") for _ in range(args.count)]
    pictures = [(token, _render(token)) for token in tokens]
    classic, aruco = cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()
    print(f"OpenCV {cv2.__version__}, segno {segno.__version__}, {args.count} tokens of "
          f"{len(tokens[0])} characters (QR {segno.make(tokens[0], error='m').designator})")
    print(f"{'condition':18} {'classic':>8} {'aruco':>8} {'aruco/classic':>14}")
    for name, degrade in CONDITIONS:
        read = {"classic": 0, "aruco": 0}
        for token, picture in pictures:
            seen = degrade(picture)
            for label, detector in (("classic", classic), ("aruco", aruco)):
                text, _, _ = detector.detectAndDecode(seen)
                read[label] += text == token
        ratio = read["aruco"] / read["classic"] if read["classic"] else float("inf")
        print(f"{name:18} {read['classic']:>8} {read['aruco']:>8} {ratio:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
