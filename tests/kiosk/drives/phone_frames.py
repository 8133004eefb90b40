"""Synthetic camera frames of an invitation's QR code shown on a phone held up to the kiosk.

The QR code is made as HQ makes it (`segno.make(token, error="m", micro=False)`, the call
in `hq/invite_sheets.py`) and drawn on a phone: a bright screen with rounded corners in a
dark body, an app bar, lines of text under the code. The phone is placed in a 1280x720
frame of a cluttered room, tilted in 3D and turned in its plane, then the picture is
degraded as a kiosk camera degrades it: glare on the glass, moiré of the screen's pixels,
exposure, focus and motion blur, sensor noise, JPEG-like compression.

What decides whether a code can be read is how many camera pixels one module gets
(`ppm`), so each condition draws that first and sizes the phone from it. HQ's tokens make
a version 11 code (61 modules): at 3-5 px per module the code is 180-300 px wide, which a
720p kiosk camera gives a phone held 20-35 cm away (the phone then fills 50-100 % of the
frame's height). A phone at 15-35 % of the frame's height is 60-100 cm away and gets about
one pixel per module: the `far` condition, which no detector can read.

Everything is drawn from a seeded RNG: the same token, condition and seed give the same
frame. `PhoneScreenSource` plays such frames at 30 fps through `capture.sources.Source`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import segno

from capture.media import DeviceLostError, Image, VideoFrame
from capture.sources import Clock, Source

WIDTH, HEIGHT = 1280, 720
FOCAL = 1000.0  # px: a 720p webcam of about 65 degrees across
Range = tuple[float, float]


@dataclass(frozen=True)
class Condition:
    """Ranges each frame's parameters are drawn from (uniformly)."""

    ppm: Range = (3.2, 5.0)            # camera pixels per QR module
    qr_share: Range = (0.70, 0.90)     # QR width / screen width
    tilt: Range = (0.0, 8.0)           # degrees out of plane
    roll: Range = (-12.0, 12.0)        # degrees in plane
    blur: Range = (0.0, 0.6)           # Gaussian sigma, px (focus)
    motion: Range = (0.0, 0.0)         # motion-blur length, px
    glare: Range = (0.0, 0.0)          # peak of a soft bright ellipse over the code, 0-255
    reflection: Range = (0.0, 0.0)     # strength of a gradient reflection across the screen
    black: Range = (18.0, 40.0)        # screen's dark modules as the camera sees them
    white: Range = (225.0, 250.0)      # screen's light background
    exposure: Range = (0.9, 1.1)       # gain on the whole frame
    noise: Range = (1.5, 3.5)          # sensor noise sigma
    jpeg: Range = (85.0, 95.0)         # compression quality
    moire: Range = (0.0, 0.03)         # amplitude of the screen's moiré
    bloom: float = 0.0                 # light spilling from an overexposed screen


CONDITIONS: dict[str, Condition] = {
    "clean": Condition(),
    "tilted 15-30 deg": Condition(tilt=(15.0, 30.0), roll=(-30.0, 30.0)),
    "any rotation": Condition(roll=(-180.0, 180.0)),
    "focus blur": Condition(blur=(1.0, 2.0)),
    "motion blur": Condition(motion=(2.0, 5.0)),
    "glare": Condition(glare=(120.0, 220.0), reflection=(0.15, 0.35)),
    "low light": Condition(exposure=(0.30, 0.45), noise=(5.0, 9.0), jpeg=(60.0, 80.0)),
    "low contrast": Condition(black=(90.0, 120.0), white=(170.0, 200.0), moire=(0.02, 0.05)),
    "overexposed": Condition(black=(90.0, 130.0), white=(255.0, 255.0), exposure=(1.2, 1.5),
                             bloom=0.5),
    "noise + jpeg": Condition(noise=(7.0, 11.0), jpeg=(30.0, 50.0)),
    "small (2.5-3 ppm)": Condition(ppm=(2.5, 3.0)),
    "kiosk mix": Condition(ppm=(3.0, 4.5), tilt=(5.0, 25.0), roll=(-30.0, 30.0),
                           blur=(0.5, 1.5), motion=(0.0, 4.0), glare=(0.0, 150.0),
                           reflection=(0.0, 0.2), exposure=(0.6, 1.1), noise=(3.0, 7.0),
                           jpeg=(50.0, 85.0), moire=(0.0, 0.04)),
    # Beyond what a kiosk must handle: expected to fail often (see the module docstring).
    "far (phone 15-35 % of height)": Condition(ppm=(0.9, 1.6), qr_share=(0.35, 0.55)),
    "extreme": Condition(ppm=(2.2, 3.0), tilt=(30.0, 40.0), roll=(-180.0, 180.0),
                         blur=(1.8, 2.6), motion=(6.0, 12.0), glare=(200.0, 255.0),
                         reflection=(0.3, 0.5), exposure=(0.3, 0.5), noise=(8.0, 12.0),
                         jpeg=(25.0, 40.0)),
}


@dataclass
class _Draw:
    rng: np.random.Generator
    condition: Condition
    picks: dict[str, float] = field(default_factory=dict)

    def __call__(self, name: str) -> float:
        low, high = getattr(self.condition, name)
        value = float(self.rng.uniform(low, high)) if high > low else float(low)
        self.picks[name] = value
        return value


@functools.lru_cache(maxsize=64)
def qr_modules(token: str) -> np.ndarray:
    """The code's modules as HQ makes them, True for dark, with its 4-module quiet zone."""
    code = segno.make(token, error="m", micro=False)
    return np.array([[bool(v) for v in row] for row in code.matrix_iter(border=4)])


def scene(rng: np.random.Generator) -> Image:
    """A cluttered room behind the candidate: shapes, edges, text, a face."""
    top, bottom = rng.integers(40, 200, 3), rng.integers(20, 160, 3)
    ramp = np.linspace(0.0, 1.0, HEIGHT)[:, None, None]
    image = (top * (1 - ramp) + bottom * ramp).repeat(WIDTH, axis=1).astype(np.uint8)
    for _ in range(30):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))
        kind = rng.integers(0, 4)
        if kind == 0:
            cv2.rectangle(image, (x, y), (x + int(rng.integers(20, 300)),
                                          y + int(rng.integers(20, 200))), color, -1)
        elif kind == 1:
            cv2.circle(image, (x, y), int(rng.integers(10, 120)), color, -1)
        elif kind == 2:
            cv2.line(image, (x, y), (int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))),
                     color, int(rng.integers(1, 6)))
        else:
            cv2.putText(image, "WELCOME 2026", (x, y), cv2.FONT_HERSHEY_SIMPLEX,
                        float(rng.uniform(0.5, 2.0)), color, 2)
    # A checkerboard poster: square, high-contrast clutter that looks like QR finders.
    cell = int(rng.integers(8, 20))
    board = (np.indices((6, 8)).sum(axis=0) % 2 * 255).astype(np.uint8)
    board = np.kron(board, np.ones((cell, cell), np.uint8))
    x = int(rng.integers(0, WIDTH - board.shape[1]))
    y = int(rng.integers(0, HEIGHT - board.shape[0]))
    image[y:y + board.shape[0], x:x + board.shape[1]] = board[:, :, None]
    cv2.ellipse(image, (int(rng.integers(200, 1080)), int(rng.integers(150, 400))), (90, 120),
                0, 0, 360, (120, 150, 200), -1)  # a face, blurred below
    return np.asarray(cv2.GaussianBlur(image, (0, 0), 1.2), dtype=np.uint8)


def _phone(modules: np.ndarray, scale: int, share: float, black: float, white: float,
           rng: np.random.Generator) -> tuple[Image, np.ndarray, tuple[float, float]]:
    """The phone at `scale` px per module: its picture, its mask, the QR's centre on it."""
    qr = np.where(modules, black, white).astype(np.float32)
    qr = np.kron(qr, np.ones((scale, scale), np.float32))
    code = qr.shape[0]
    screen_w = int(code / share)
    screen_h = int(screen_w * 2.1)
    bezel_x, bezel_y = max(4, screen_w // 25), max(8, screen_w // 10)
    phone_w, phone_h = screen_w + 2 * bezel_x, screen_h + 2 * bezel_y
    body = float(rng.uniform(10, 35))
    picture = np.full((phone_h, phone_w, 3), body, np.float32)
    mask = np.zeros((phone_h, phone_w), np.uint8)
    _rounded(mask, 0, 0, phone_w, phone_h, phone_w // 7, 255)
    screen = np.zeros((phone_h, phone_w), np.uint8)
    _rounded(screen, bezel_x, bezel_y, bezel_x + screen_w, bezel_y + screen_h,
             phone_w // 9, 255)
    tint = np.array([1.0, float(rng.uniform(0.96, 1.0)), float(rng.uniform(0.92, 1.0))])
    picture[screen > 0] = white * tint
    bar = bezel_y + screen_h // 12
    picture[bezel_y:bar, bezel_x:bezel_x + screen_w] = (white * 0.6, white * 0.35, black)
    left = bezel_x + (screen_w - code) // 2
    top = bezel_y + int(screen_h * 0.18)
    picture[top:top + code, left:left + code] = qr[:, :, None] * tint
    for line in range(4):  # the invitation's text under the code
        y = top + code + scale * (3 + 4 * line)
        width = int(screen_w * rng.uniform(0.4, 0.8))
        picture[y:y + 2 * scale, bezel_x + screen_w // 10:bezel_x + screen_w // 10 + width] = (
            black + 40)
    picture[screen == 0] = body
    return picture, mask, (left + code / 2, top + code / 2)


def _rounded(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int, r: int, value: int) -> None:
    cv2.rectangle(mask, (x0 + r, y0), (x1 - r, y1), value, -1)
    cv2.rectangle(mask, (x0, y0 + r), (x1, y1 - r), value, -1)
    for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(mask, (cx, cy), r, value, -1)


def _homography(size: tuple[int, int], centre: tuple[float, float], ratio: float,
                tilt: float, roll: float, target: tuple[float, float],
                rng: np.random.Generator) -> np.ndarray:
    """Canvas → frame: scaled by `ratio`, turned by `roll`, tilted by `tilt` about a random
    axis in the phone's plane, seen by a pinhole camera."""
    w, h = size
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    points = (corners - centre) * ratio
    a = math.radians(roll)
    points = points @ np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    axis = float(rng.uniform(0, math.pi))
    ux, uy = math.cos(axis), math.sin(axis)
    t = math.radians(tilt)
    # Rodrigues' rotation about (ux, uy, 0); depth grows along the perpendicular in-plane axis.
    along = points @ np.array([ux, uy])
    across = points @ np.array([-uy, ux])
    flat = across * math.cos(t)
    depth = across * math.sin(t)
    xy = np.outer(along, [ux, uy]) + np.outer(flat, [-uy, ux])
    seen = xy * (FOCAL / (FOCAL + depth))[:, None] + np.array(target)
    return np.asarray(cv2.getPerspectiveTransform(corners.astype(np.float32),
                                                  seen.astype(np.float32)))


def phone_frame(token: str, condition: Condition | str, seed: int,
                background: Image | None = None) -> Image:
    """One 1280x720 BGR camera frame of `token`'s QR code on a phone, degraded."""
    image, _ = phone_frame_with_picks(token, condition, seed, background)
    return image


def phone_frame_with_picks(token: str, condition: Condition | str, seed: int,
                           background: Image | None = None
                           ) -> tuple[Image, dict[str, float]]:
    """`phone_frame`, and the parameters drawn for it (to explain a miss)."""
    if isinstance(condition, str):
        condition = CONDITIONS[condition]
    rng = np.random.default_rng([seed, 1])  # the phone's draws, whatever the background
    draw = _Draw(rng, condition)
    if background is None:
        background = scene(np.random.default_rng([seed, 0]))
    frame = background.astype(np.float32)
    modules = qr_modules(token)
    ppm = draw("ppm")
    scale = max(3, math.ceil(ppm * 1.5))
    phone, mask, centre = _phone(modules, scale, draw("qr_share"), draw("black"),
                                 draw("white"), rng)
    ratio = ppm / scale
    phone = cv2.GaussianBlur(phone, (0, 0), 0.45 / ratio)  # no aliasing when shrunk
    half = modules.shape[0] * ppm * 0.75
    target = (float(rng.uniform(min(half, WIDTH / 2), max(WIDTH - half, WIDTH / 2))),
              float(rng.uniform(min(half, HEIGHT / 2), max(HEIGHT - half, HEIGHT / 2))))
    warp = _homography((phone.shape[1], phone.shape[0]), centre, ratio, draw("tilt"),
                       draw("roll"), target, rng)
    seen = cv2.warpPerspective(phone, warp, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(mask, warp, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
    alpha = (alpha.astype(np.float32) / 255.0)[:, :, None]
    frame = frame * (1 - alpha) + seen * alpha
    frame = _glass(frame, alpha, target, half, draw, rng)
    if condition.bloom:
        bright = np.clip(frame - 200.0, 0, None)
        frame = frame + condition.bloom * cv2.GaussianBlur(bright, (0, 0), ppm * 1.5)
    frame = frame * draw("exposure")
    frame = _optics(frame, draw("blur"), draw("motion"), rng)
    frame += rng.standard_normal(frame.shape, dtype=np.float32) * draw("noise")
    out = np.clip(frame, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(draw("jpeg"))])
    assert ok
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), dtype=np.uint8), draw.picks


def _glass(frame: np.ndarray, alpha: np.ndarray, centre: tuple[float, float], half: float,
           draw: _Draw, rng: np.random.Generator) -> np.ndarray:
    """What the phone's glass adds: moiré, a soft bright spot, a reflected gradient."""
    moire, glare, reflection = draw("moire"), draw("glare"), draw("reflection")
    rows, cols = np.nonzero(alpha[:, :, 0] > 0)
    if not (moire or glare or reflection) or not len(rows):
        return frame
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    part, cover = frame[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
    if moire:
        fx, fy = rng.uniform(0.05, 0.2, 2)
        part = part * (1 + moire * np.sin(xs * fx + ys * fy)[:, :, None] * cover)
    if glare:
        cx = centre[0] + rng.uniform(-0.6, 0.6) * half
        cy = centre[1] + rng.uniform(-0.6, 0.6) * half
        rx, ry = rng.uniform(0.15, 0.4) * half, rng.uniform(0.08, 0.25) * half
        a = rng.uniform(0, math.pi)
        dx, dy = xs - cx, ys - cy
        u = (dx * math.cos(a) + dy * math.sin(a)) / rx
        v = (-dx * math.sin(a) + dy * math.cos(a)) / ry
        part = part + (glare * np.exp(-(u * u + v * v)))[:, :, None] * cover
    if reflection:
        a = rng.uniform(0, 2 * math.pi)
        along = ((xs - centre[0]) * math.cos(a) + (ys - centre[1]) * math.sin(a)) / (2 * half)
        ramp = np.clip(along + 0.5, 0, 1) * reflection * 255
        part = part * (1 - reflection * cover * 0.3) + ramp[:, :, None] * cover
    frame[y0:y1, x0:x1] = part
    return frame


def _optics(frame: np.ndarray, sigma: float, length: float,
            rng: np.random.Generator) -> np.ndarray:
    if sigma > 0.05:
        frame = cv2.GaussianBlur(frame, (0, 0), sigma)
    if length >= 1.5:
        size = math.ceil(length) | 1
        kernel = np.zeros((size, size), np.float32)
        kernel[size // 2, :] = 1.0
        turn = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5),
                                       float(rng.uniform(0, 180)), 1.0)
        kernel = cv2.warpAffine(kernel, turn, (size, size))
        frame = cv2.filter2D(frame, -1, kernel / kernel.sum())
    return frame


def room_frame(seed: int) -> Image:
    """The room with nobody holding anything up: a camera frame with no QR code."""
    frame = scene(np.random.default_rng(seed)).astype(np.float32)
    frame += np.random.default_rng(seed + 1).normal(0, 2.5, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


class PhoneScreenSource(Source):
    """A camera that sees an empty room, then a phone held up showing `token`'s QR code.

    Plays at `fps` in real time (like a camera, it drops what the reader cannot take). The
    phone appears after `appear_after` seconds and jitters between `poses` prepared frames
    (a hand is never still). `lose_after` simulates the camera being unplugged.
    """

    def __init__(self, token: str | None, condition: Condition | str = "clean", *,
                 appear_after: float = 0.5, poses: int = 6, seed: int = 0, fps: float = 30.0,
                 lose_after: float | None = None, seconds: float | None = None) -> None:
        super().__init__()
        self.width, self.height, self.fps = WIDTH, HEIGHT, fps
        self._appear, self._lose, self._seconds = appear_after, lose_after, seconds
        background = scene(np.random.default_rng(seed))
        self._empty: Sequence[Image] = [room_frame(seed)]
        if isinstance(condition, str):
            condition = CONDITIONS[condition]
        self._phone: Sequence[Image] = [
            phone_frame(token, replace(condition), seed * 1000 + pose, background)
            for pose in range(poses)] if token is not None else self._empty
        self.appeared_at: float | None = None  # clock time of the first frame with the phone

    def _run(self, clock: Clock) -> None:
        assert self.video is not None
        index = 0
        while not self._stop.is_set():
            due = index / self.fps
            if self._seconds is not None and due >= self._seconds:
                return
            if self._lose is not None and due >= self._lose:
                raise DeviceLostError("the synthetic phone camera was unplugged (simulated)")
            self._wait_until(clock, self._origin + due)
            if due >= self._appear:
                if self.appeared_at is None:
                    self.appeared_at = self._origin + due
                image = self._phone[index % len(self._phone)]
            else:
                image = self._empty[0]
            self._push(self.video, VideoFrame(self._origin + due, image))
            index += 1

