"""Sources behind one interface, and the record and devices commands."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest

from capture.devices import CameraSource, DeviceSource, list_cameras
from capture.media import DeviceLostError, DeviceNotFoundError
from capture.recorder import AnswerRecorder
from capture.sources import FileSource, SyntheticSource
from kiosk import keys
from kiosk.commands import main

SHARED_VIDEO = Path(__file__).resolve().parents[2].parent / "shared/data/video/derived_brbk7n.mp4"


def make_clip(path: Path, seconds: float = 2.0) -> Path:
    """A small video with sound, made by recording the synthetic source."""
    with path.open("wb") as sink:
        recorder = AnswerRecorder(SyntheticSource(320, 240, 25, seconds=seconds,
                                                  realtime=False), sink)
        recorder.start()
        recorder.wait(60)
    return path


def test_a_file_plays_like_a_camera_and_microphone(tmp_path: Path) -> None:
    source = FileSource(make_clip(tmp_path / "clip.mp4"), realtime=False)
    assert (source.width, source.height, source.fps, source.audio_rate) == (320, 240, 25, 48000)
    sink = io.BytesIO()
    recorder = AnswerRecorder(source, sink)
    recorder.start()
    stats = recorder.wait(60)
    assert stats is not None and stats.frames == 50 and stats.ended_by == "stop"
    assert abs(stats.drift) < 1 / 25


@pytest.mark.skipif(not SHARED_VIDEO.exists(),
                    reason=f"shared recordings not found at {SHARED_VIDEO}")
def test_the_shared_talking_head_plays_in_real_time() -> None:
    import time

    source = FileSource(SHARED_VIDEO)
    recorder = AnswerRecorder(source, io.BytesIO())
    started = time.monotonic()
    recorder.start()
    stats = recorder.wait(120)
    # Paced like a camera: never faster than the clip (a slow machine only makes it later),
    # and every frame is either in the take or counted as dropped, whatever the machine's
    # speed (whether the encoder keeps up in real time is measured in bench/).
    assert time.monotonic() - started >= 2.9
    assert stats is not None and stats.frames + stats.dropped_frames == 75


def test_files_that_cannot_play(tmp_path: Path) -> None:
    (tmp_path / "x.mp4").write_text("not a video")
    with pytest.raises(DeviceNotFoundError, match="cannot play"):
        FileSource(tmp_path / "x.mp4")
    with pytest.raises(DeviceNotFoundError):
        FileSource(tmp_path / "missing.mp4")


def test_no_camera_is_a_clear_error() -> None:
    if list_cameras():
        pytest.skip("this machine has a camera")
    with pytest.raises(DeviceNotFoundError, match="no camera found"):
        CameraSource(0)


def test_a_device_pair_ends_when_one_part_is_lost() -> None:
    lost_camera = SyntheticSource(320, 240, 25, lose_after=1.0, realtime=False)
    pair = DeviceSource(None, None)
    pair._parts = [lost_camera]  # a stand-in for a camera that is unplugged after a second
    pair.width, pair.height, pair.fps, pair.audio_rate = 320, 240, 25, 48000
    recorder = AnswerRecorder(pair, io.BytesIO())
    recorder.start()
    stats = recorder.wait(30)
    assert stats is not None and stats.ended_by == "device_lost"
    assert isinstance(pair.lost, DeviceLostError)


@pytest.fixture
def kiosk_dir(fresh_data_dir: Path) -> Path:
    keys.init_keys(fresh_data_dir, "record test passphrase",
                   keys.KdfParams(memory_kib=8192, iterations=1, lanes=1))
    return fresh_data_dir


def test_record_command_writes_a_playable_vault_file(kiosk_dir: Path, tmp_path: Path,
                                                     capsys) -> None:
    out = tmp_path / "test.vault"
    assert main.main(["record", "--seconds", "2", "--source", "synthetic", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "0 dropped" in printed and "ended by stop" in printed
    identity = keys.unlock(kiosk_dir, "record test passphrase").identity
    from kiosk.vault import VaultReader

    with out.open("rb") as source, VaultReader(source, [identity]) as reader, \
            av.open(reader) as container:
        assert {s.type for s in container.streams} == {"video", "audio"}
        assert 1.8 < container.duration / 1e6 < 2.3


def test_a_busy_machine_does_not_cut_a_synthetic_test_recording_short(
        kiosk_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """The clock races ahead of the source here, as it does for a source thread that a busy
    machine runs late: the take still holds the --seconds of media the source makes."""
    import itertools
    import time

    ticks = itertools.count()
    monkeypatch.setattr(time, "monotonic", lambda: 1000.0 + next(ticks))
    out = tmp_path / "busy.vault"
    assert main.main(["record", "--seconds", "2", "--source", "synthetic", str(out)]) == 0
    assert "recorded 2.0 s: 60 frames (0 dropped)" in capsys.readouterr().out


def test_record_command_errors(kiosk_dir: Path, tmp_path: Path, capsys) -> None:
    status = main.main(["record", "--seconds", "1", "--source", str(tmp_path / "none.mp4"),
                       str(tmp_path / "o.vault")])
    assert status == 1 and "cannot play" in capsys.readouterr().err
    assert main.main(["record", "--seconds", "0", str(tmp_path / "o.vault")]) == 2
    if not list_cameras():
        assert main.main(["record", str(tmp_path / "c.vault")]) == 1
        assert "no camera found" in capsys.readouterr().err


def test_devices_command_lists_or_says_none(kiosk_dir: Path, capsys) -> None:
    assert main.main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "camera" in out and "microphone" in out
