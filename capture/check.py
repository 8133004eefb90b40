"""The device check a candidate goes through before the questions: camera and microphone.

Pure functions over data already captured, so every rule is testable without a device:
video frames are BGR uint8 arrays (H x W x 3) exactly as the camera delivers them, audio is mono
float samples in -1..1. Each check returns a `CheckResult` the UI shows as one row: what we
found, in plain words, and, when it is not ok, one plain-language fix. The texts are English
source strings; the UI translates them.

Left and right are the candidate's own. The frames checked here are *not* mirrored, while
the preview the candidate watches is: a face near the right edge of a camera frame is the
candidate sitting too far to their own left, shown near the right edge of the preview, so
the fix says "Move a little to your right".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import cv2.data
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
Samples = npt.NDArray[np.floating[Any]]
Box = tuple[int, int, int, int]  # x, y, width, height in the pixels of the image searched
FaceDetector = Callable[[Frame], Sequence[Box]]  # greyscale image in, face boxes out

FACE_SAMPLES = 5          # a few frames are enough and keep the check under a blink
WORKING_WIDTH = 480       # Haar finds faces as well at this width and runs ~4x faster than HD
MIN_FACE_PX = 24          # the cascade's own training size: nothing smaller is found anyway
CENTRE_X = (0.30, 0.70)   # face centre must sit in the middle 40% across…
CENTRE_Y = (0.25, 0.75)   # …and the middle 50% down, or the recording looks off-centre
FACE_MAX_HEIGHT = 0.60    # of the frame height: closer than this crops the chin or forehead
FACE_MIN_HEIGHT = 0.12    # further than this and the face is too small to read expressions
BLACK_LEVEL = 8.0         # mean luminance below this is a covered lens or a dead sensor
DARK_LEVEL = 60.0         # below this webcams smear and add noise; faces look grey
BRIGHT_LEVEL = 215.0      # above this skin washes out
CLIPPED_SHARE = 0.25      # a window or lamp filling a quarter of the picture blinds auto-exposure

SILENCE_DBFS = -120.0     # what `levels` reports for digital silence instead of -inf
MIC_ALIVE_DBFS = -80.0    # a working microphone always picks up some room noise above this
SPEECH_DBFS = -30.0       # normal speech at arm's length peaks well above this (RMS, 50 ms)
SPEECH_WINDOW_S = 0.050   # long enough to span a syllable, short enough to catch its peak
CLIP_AMPLITUDE = 0.99
CLIPPED_SAMPLES = 0.005   # a few isolated full-scale samples are harmless; more is distortion

CASCADE_FILE = "haarcascade_frontalface_default.xml"

_DARK_FIX = "Turn on a light or face a window."
_BRIGHT_FIX = "Move away from the bright light behind or in front of you."
_STAFF_FIX = "Ask a member of staff to check the camera."


@dataclass(frozen=True)
class CheckResult:
    """One line of the device check: what was found and, if not ok, how to fix it."""

    name: str
    ok: bool
    message: str
    fix: str | None
    value: float | None


def check_frames(frames: Sequence[Frame], detect_faces: FaceDetector | None = None
                 ) -> list[CheckResult]:
    """Check a short run of camera frames: "camera", "face" and "lighting", in that order.

    `detect_faces` defaults to OpenCV's bundled frontal-face Haar cascade.
    """
    if not frames:
        nothing = "There is no picture to check."
        return [CheckResult("camera", False, "We are not getting a picture from the camera.",
                            _STAFF_FIX, None),
                CheckResult("face", False, nothing, _STAFF_FIX, None),
                CheckResult("lighting", False, nothing, _STAFF_FIX, None)]
    greys = [_grey(frame) for frame in frames]
    sampled = [greys[i] for i in _spread(len(greys), FACE_SAMPLES)]
    face, found = _find_face(sampled, detect_faces or _haar_faces)
    return [_camera(greys), _face(face, found), _lighting(sampled, face)]


def check_microphone(samples: Samples, sample_rate: int) -> list[CheckResult]:
    """Check a "say your name" recording: "microphone", "speech level" and "clipping"."""
    _, peak = levels(samples)
    window = max(1, round(sample_rate * SPEECH_WINDOW_S))
    loudest = max((levels(samples[i:i + window])[0] for i in range(0, len(samples), window)),
                  default=SILENCE_DBFS)
    mic, speech = _microphone(peak), _speech(loudest)

    clipped = float(np.mean(np.abs(samples) >= CLIP_AMPLITUDE)) if len(samples) else 0.0
    if clipped > CLIPPED_SAMPLES:
        clip = CheckResult("clipping", False, "Your voice is too loud and sounds distorted.",
                           "Speak a little more softly or move back from the microphone.",
                           clipped)
    else:
        clip = CheckResult("clipping", True, "Your voice is not too loud.", None, clipped)
    return [mic, speech, clip]


def check_levels(seen: Sequence[tuple[float, float]]) -> list[CheckResult]:
    """Check a live microphone from the (RMS, peak) dBFS levels its preview reported:
    "microphone" and "speech level" (clipping needs the samples, which a preview keeps no
    copy of; the recorder's own figures report it after a take)."""
    peak = max((p for _, p in seen), default=SILENCE_DBFS)
    loudest = max((r for r, _ in seen), default=SILENCE_DBFS)
    return [_microphone(peak), _speech(loudest)]


def _microphone(peak: float) -> CheckResult:
    if peak < MIC_ALIVE_DBFS:
        return CheckResult("microphone", False, "We cannot hear anything from the microphone.",
                           "Ask a member of staff to check the microphone.", peak)
    return CheckResult("microphone", True, "The microphone is working.", None, peak)


def _speech(loudest: float) -> CheckResult:
    if loudest < SPEECH_DBFS:
        return CheckResult("speech level", False, "Your voice is very quiet.",
                           "Speak a little louder or move closer to the microphone.", loudest)
    return CheckResult("speech level", True, "We can hear you clearly.", None, loudest)


def levels(samples: Samples) -> tuple[float, float]:
    """Return (RMS, peak) of `samples` in dBFS; silence is SILENCE_DBFS, never -inf."""
    if len(samples) == 0:
        return SILENCE_DBFS, SILENCE_DBFS
    x = np.asarray(samples, dtype=np.float64)  # float32 squares lose precision on long runs
    return _dbfs(math.sqrt(float(np.mean(x * x)))), _dbfs(float(np.max(np.abs(x))))


def _dbfs(amplitude: float) -> float:
    floor = 10 ** (SILENCE_DBFS / 20)
    return 20 * math.log10(max(amplitude, floor))


def _grey(frame: Frame) -> Frame:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected a BGR uint8 frame (H x W x 3), got {frame.dtype} "
                         f"{frame.shape}")
    return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def _spread(count: int, wanted: int) -> list[int]:
    """Indices of up to `wanted` frames spread evenly, so one odd moment does not decide."""
    return sorted({round(i) for i in np.linspace(0, count - 1, min(count, wanted))})


def _camera(greys: list[Frame]) -> CheckResult:
    brightest = max(float(g.mean()) for g in greys)
    change = max(float(np.abs(g.astype(np.int16) - greys[0]).mean()) for g in greys)
    if brightest < BLACK_LEVEL:
        return CheckResult("camera", False, "The camera picture is black.",
                           "Check that nothing is covering the camera.", brightest)
    # Real sensors add noise to every frame, so identical frames mean a frozen stream.
    if len(greys) > 1 and change == 0:
        return CheckResult("camera", False, "The camera picture is not moving.",
                           _STAFF_FIX, change)
    return CheckResult("camera", True, "The camera is working.", None, change)


@dataclass(frozen=True)
class _Face:
    """A face as fractions of the frame, so any resolution compares with the thresholds."""

    cx: float
    cy: float
    width: float
    height: float


def _find_face(greys: list[Frame], detect: FaceDetector) -> tuple[_Face | None, float]:
    """The median face over the sampled frames, and the share of frames it was found in."""
    faces: list[_Face] = []
    for grey in greys:
        h, w = grey.shape
        scale = min(1.0, WORKING_WIDTH / w)
        small = grey if scale == 1.0 else np.asarray(
            cv2.resize(grey, (round(w * scale), round(h * scale)),
                       interpolation=cv2.INTER_AREA), dtype=np.uint8)
        boxes = detect(small)
        if boxes:
            # The candidate is the nearest person, so the biggest face; others are passers-by.
            x, y, bw, bh = max(boxes, key=lambda b: b[2] * b[3])
            sh, sw = small.shape
            faces.append(_Face((x + bw / 2) / sw, (y + bh / 2) / sh, bw / sw, bh / sh))
    found = len(faces) / len(greys)
    if found <= 0.5:
        return None, found
    return _Face(*(float(np.median([getattr(f, k) for f in faces]))
                   for k in ("cx", "cy", "width", "height"))), found


def _face(face: _Face | None, found: float) -> CheckResult:
    def move(message: str, fix: str) -> CheckResult:
        return CheckResult("face", False, message, fix, found)

    if face is None:
        return move("We cannot see your face.",
                    "Sit facing the screen so your whole face is in the picture.")
    if face.height > FACE_MAX_HEIGHT:
        return move("You are very close to the camera.", "Move back a little.")
    if face.height < FACE_MIN_HEIGHT:
        return move("You are quite far from the camera.", "Move a little closer.")
    # Unmirrored frame: the image's left is the candidate's right (see the module docstring).
    if face.cx < CENTRE_X[0]:
        return move("Your face is near the edge of the picture.", "Move a little to your left.")
    if face.cx > CENTRE_X[1]:
        return move("Your face is near the edge of the picture.",
                    "Move a little to your right.")
    if face.cy < CENTRE_Y[0]:
        return move("Your face is near the top of the picture.", "Lower your seat a little.")
    if face.cy > CENTRE_Y[1]:
        return move("Your face is near the bottom of the picture.",
                    "Sit up straight or raise your seat a little.")
    return CheckResult("face", True, "We can see your face.", None, found)


def _lighting(greys: list[Frame], face: _Face | None) -> CheckResult:
    means, clipped = [], []
    for grey in greys:
        region = grey
        if face is not None:
            h, w = grey.shape
            x0, y0 = round((face.cx - face.width / 2) * w), round((face.cy - face.height / 2) * h)
            x1, y1 = round((face.cx + face.width / 2) * w), round((face.cy + face.height / 2) * h)
            region = grey[max(0, y0):max(1, y1), max(0, x0):max(1, x1)]
        means.append(float(region.mean()))
        # Clipping over the whole picture: a bright window behind a dark face is the usual case.
        clipped.append(float(np.mean(grey == 255)))
    mean, clip = float(np.mean(means)), float(np.mean(clipped))
    if mean > BRIGHT_LEVEL or clip > CLIPPED_SHARE:
        return CheckResult("lighting", False, "The light is too bright.", _BRIGHT_FIX, mean)
    if mean < DARK_LEVEL:
        return CheckResult("lighting", False, "It is quite dark.", _DARK_FIX, mean)
    return CheckResult("lighting", True, "The lighting looks good.", None, mean)


def _haar_faces(grey: Frame) -> Sequence[Box]:
    found = _haar_cascade().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5,
                                             minSize=(MIN_FACE_PX, MIN_FACE_PX))
    return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


@functools.cache
def _haar_cascade() -> Any:
    """Load the cascade once; fail loudly if this OpenCV build does not ship it."""
    # OpenCV 5 moved CascadeClassifier and its XML files out of the main wheels.
    classifier = getattr(cv2, "CascadeClassifier", None)
    path = Path(cv2.data.haarcascades) / CASCADE_FILE
    if classifier is None or not path.is_file():
        raise RuntimeError(f"OpenCV {cv2.__version__} lacks the Haar face cascade ({path}); "
                           "install opencv-python-headless 4.x")
    return classifier(str(path))
