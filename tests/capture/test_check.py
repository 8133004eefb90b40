"""The device check: real and synthetic frames, synthetic sound, each rule and its fix."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from capture import check
from capture.check import CheckResult, check_frames, check_microphone, levels

ROOT = Path(__file__).resolve().parents[2]
TALKING_HEAD = ROOT.parent / "shared" / "data" / "video" / "derived_brbk7n.mp4"
BACKDROP = (200, 160, 40)  # the blue of the recording's own background, in BGR
RATE = 16_000

Frame = npt.NDArray[np.uint8]


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


@pytest.fixture(scope="module")
def talking_head() -> list[Frame]:
    """Frames of a real recording: a woman facing the camera, 360x288."""
    if not TALKING_HEAD.is_file():
        pytest.skip(f"shared recordings not found at {TALKING_HEAD}: the face check is untested "
                    "on a real face")
    import av

    with av.open(str(TALKING_HEAD)) as container:
        return [np.asarray(f.to_ndarray(format="bgr24"), dtype=np.uint8)
                for f in container.decode(video=0)]


def pad(frames: list[Frame], left: int = 0, right: int = 0, top: int = 0, bottom: int = 0
        ) -> list[Frame]:
    return [np.asarray(cv2.copyMakeBorder(f, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                          value=BACKDROP), dtype=np.uint8) for f in frames]


def noisy(level: float, count: int = 5, shape: tuple[int, int] = (288, 360)) -> list[Frame]:
    """Face-free frames around a grey level, different each time like a real sensor's."""
    rng = np.random.default_rng(7)
    gradient = np.linspace(-20, 20, shape[1])[None, :, None]
    return [np.clip(level + gradient + rng.normal(0, 4, (*shape, 3)), 0, 255).astype(np.uint8)
            for _ in range(count)]


def tone(dbfs: float, seconds: float = 1.0, hz: float = 440.0) -> npt.NDArray[np.float32]:
    t = np.arange(int(RATE * seconds)) / RATE
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t)).astype(np.float32)


# --- camera, face and lighting ----------------------------------------------------------------

def test_a_real_face_passes_every_video_check(talking_head: list[Frame]) -> None:
    results = check_frames(talking_head)
    assert [r.name for r in results] == ["camera", "face", "lighting"]
    for result in results:
        assert result.ok, result
        assert result.fix is None
    assert by_name(results)["face"].message == "We can see your face."


def test_frames_without_a_face_fail_only_the_face_check() -> None:
    results = by_name(check_frames(noisy(120)))
    assert results["camera"].ok
    assert results["lighting"].ok
    face = results["face"]
    assert not face.ok
    assert face.message == "We cannot see your face."
    assert face.fix is not None and "face" in face.fix


def test_black_frames_fail_camera_and_face() -> None:
    black = [np.zeros((288, 360, 3), np.uint8)] * 5
    results = by_name(check_frames(black))
    assert not results["camera"].ok and "black" in results["camera"].message
    assert not results["face"].ok
    assert not results["lighting"].ok


def test_uniform_grey_has_no_face_and_a_frozen_camera() -> None:
    grey = [np.full((288, 360, 3), 128, np.uint8)] * 5
    results = by_name(check_frames(grey))
    assert not results["face"].ok
    assert not results["camera"].ok and "not moving" in results["camera"].message


def test_no_frames_at_all_fail_every_check() -> None:
    results = check_frames([])
    assert [r.name for r in results] == ["camera", "face", "lighting"]
    assert all(not r.ok and r.fix for r in results)


def test_a_dark_picture_asks_for_light() -> None:
    lighting = by_name(check_frames(noisy(30)))["lighting"]
    assert not lighting.ok
    assert lighting.fix == "Turn on a light or face a window."
    assert lighting.value is not None and lighting.value < check.DARK_LEVEL


@pytest.mark.parametrize("frames", [
    pytest.param(noisy(240), id="blown-out"),
    # A bright window over a third of the picture: the mean is fine, the clipping is not.
    pytest.param([np.where(np.arange(360)[None, :, None] < 120, 255, f).astype(np.uint8)
                  for f in noisy(110)], id="window-behind"),
])
def test_a_blown_out_picture_asks_to_move_from_the_light(frames: list[Frame]) -> None:
    lighting = by_name(check_frames(frames))["lighting"]
    assert not lighting.ok
    assert lighting.fix == "Move away from the bright light behind or in front of you."


def test_lighting_is_judged_on_the_face_not_the_backdrop(talking_head: list[Frame]) -> None:
    """A dark face against a lit wall is dark: the face is what the recording needs."""
    frames = [(f * 0.35).astype(np.uint8) for f in talking_head]
    results = by_name(check_frames(pad(frames, left=150, right=150, top=60)))
    assert results["face"].ok, results["face"]
    assert not results["lighting"].ok
    assert results["lighting"].fix == "Turn on a light or face a window."


def test_a_centred_face_passes_and_an_off_centre_one_is_told_which_way(
        talking_head: list[Frame]) -> None:
    # Frames are unmirrored: a face at the image's right is on the candidate's left.
    assert by_name(check_frames(talking_head))["face"].ok
    face_at_image_right = by_name(check_frames(pad(talking_head, left=400)))["face"]
    assert not face_at_image_right.ok
    assert face_at_image_right.fix == "Move a little to your right."
    face_at_image_left = by_name(check_frames(pad(talking_head, right=400)))["face"]
    assert not face_at_image_left.ok
    assert face_at_image_left.fix == "Move a little to your left."


def test_too_near_and_too_far_are_told_to_move(talking_head: list[Frame]) -> None:
    near = by_name(check_frames([f[95:280, 80:260] for f in talking_head]))["face"]
    assert not near.ok and near.fix == "Move back a little."
    far = by_name(check_frames(pad(talking_head, 700, 700, 700, 700)))["face"]
    assert not far.ok and far.fix == "Move a little closer."


def test_a_face_must_be_found_in_most_sampled_frames() -> None:
    """An injected detector sees a face only in the brighter frames."""
    def detect(grey: Frame) -> list[tuple[int, int, int, int]]:
        return [(130, 94, 100, 100)] if grey.mean() > 100 else []

    def frames(with_face: int) -> list[Frame]:
        return [np.full((288, 360, 3), 150 if i < with_face else 80, np.uint8)
                for i in range(5)]

    assert by_name(check_frames(frames(3), detect_faces=detect))["face"].ok
    face = by_name(check_frames(frames(2), detect_faces=detect))["face"]
    assert not face.ok and face.value == pytest.approx(0.4)


def test_a_missing_cascade_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenCV 5 wheels ship no Haar cascade: say so instead of reporting "no face"."""
    check._haar_cascade.cache_clear()
    monkeypatch.delattr(cv2, "CascadeClassifier", raising=False)
    try:
        with pytest.raises(RuntimeError, match="Haar face cascade"):
            check_frames(noisy(120))
    finally:
        check._haar_cascade.cache_clear()


def test_frames_must_be_bgr_bytes() -> None:
    with pytest.raises(ValueError, match="BGR uint8"):
        check_frames([np.zeros((288, 360), np.uint8)])


# --- microphone -------------------------------------------------------------------------------

def test_silence_fails_the_microphone() -> None:
    results = by_name(check_microphone(np.zeros(RATE, np.float32), RATE))
    assert not results["microphone"].ok
    assert not results["speech level"].ok
    assert results["clipping"].ok


def test_a_quiet_voice_is_asked_to_speak_up() -> None:
    results = by_name(check_microphone(tone(-50), RATE))
    assert results["microphone"].ok
    speech = results["speech level"]
    assert not speech.ok
    assert speech.fix == "Speak a little louder or move closer to the microphone."


def test_a_normal_voice_passes() -> None:
    results = check_microphone(tone(-20), RATE)
    assert [r.name for r in results] == ["microphone", "speech level", "clipping"]
    assert all(r.ok and r.fix is None for r in results), results


def test_a_short_loud_word_in_long_silence_still_counts_as_speech() -> None:
    """The loudest 50 ms decides, not the average over the whole recording."""
    samples = np.zeros(3 * RATE, np.float32)
    samples[RATE:RATE + RATE // 10] = tone(-20, seconds=0.1)
    assert levels(samples)[0] < check.SPEECH_DBFS
    assert by_name(check_microphone(samples, RATE))["speech level"].ok


def test_a_clipped_square_wave_fails_clipping() -> None:
    square = np.sign(tone(0)).astype(np.float32)
    clipping = by_name(check_microphone(square, RATE))["clipping"]
    assert not clipping.ok
    assert clipping.fix == "Speak a little more softly or move back from the microphone."


def test_a_few_full_scale_samples_are_not_clipping() -> None:
    samples = tone(-20)
    samples[:10] = 1.0
    assert by_name(check_microphone(samples, RATE))["clipping"].ok


def test_levels_of_known_signals() -> None:
    rms, peak = levels(np.sin(2 * np.pi * np.arange(48_000) / 48).astype(np.float32))
    assert rms == pytest.approx(-3.0103, abs=0.01)
    assert peak == pytest.approx(0.0, abs=0.01)
    rms, peak = levels(np.full(100, 0.5, np.float32))
    assert rms == pytest.approx(20 * math.log10(0.5)) and peak == pytest.approx(rms)
    assert levels(np.zeros(100, np.float32)) == (check.SILENCE_DBFS, check.SILENCE_DBFS)
    assert levels(np.zeros(0, np.float32)) == (check.SILENCE_DBFS, check.SILENCE_DBFS)
