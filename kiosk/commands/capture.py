"""`kiosk devices` and `kiosk record`: what a kiosk can see and hear, and a test recording."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from kiosk import keys
from kiosk.commands.common import Parser, open_data_dir
from kiosk.commands.records import audit_if_initialised
from kiosk.errors import ConfigError, KioskError
from kiosk.settings import Settings


class DeviceUnavailableError(KioskError):
    """A camera, microphone or media file cannot be used."""


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add `devices` and `record`."""
    commands.add_parser("devices", help="list cameras and microphones"
                        ).set_defaults(handler=devices_command)
    record = commands.add_parser("record", help="record a test answer into a vault file")
    record.add_argument("output", metavar="OUT", help="new vault file for the recording")
    record.add_argument("--seconds", type=float, default=10.0, help="length (default 10)")
    record.add_argument("--source", default="camera", metavar="FILE|camera|synthetic",
                        help="what to record: the configured camera and microphone (default), "
                             "a synthetic pattern and tone, or a media file played in real time")
    record.set_defaults(handler=record_command)


def devices_command(args: argparse.Namespace) -> int:
    """List what is plugged in."""
    from capture.devices import list_cameras, list_microphones
    from capture.media import DeviceError

    open_data_dir(args)
    cameras = list_cameras()
    try:
        microphones = list_microphones()
    except DeviceError as exc:
        microphones = []
        print(f"microphones: cannot list ({exc})")
    for device in [*cameras, *microphones]:
        print(f"{device.kind:10} {device.id}  {device.name} {device.detail}".rstrip())
    if not cameras:
        print("camera     none found (the demo and `--source synthetic` need none)")
    if not microphones:
        print("microphone none found")
    return 0


def open_source(source: str, settings: Settings, seconds: float) -> object:
    """The source `--source` names, as the recorder's input."""
    from capture.devices import CameraSource, DeviceSource, MicrophoneSource
    from capture.media import DeviceError
    from capture.sources import FileSource, SyntheticSource

    try:
        if source == "synthetic":
            return SyntheticSource(1280, 720, 30.0, seconds=seconds)
        if source == "camera":
            camera, microphone = settings.get("capture.camera"), settings.get("capture.microphone")
            return DeviceSource(CameraSource(0 if camera == "auto" else str(camera)),
                                MicrophoneSource(None if microphone == "auto" else str(microphone)))
        return FileSource(Path(source))
    except DeviceError as exc:
        raise DeviceUnavailableError(str(exc)) from exc


def record_command(args: argparse.Namespace) -> int:
    """Record in real time into a vault file sealed to this kiosk's recipients."""
    from capture.recorder import VIDEO_SEGMENT_SIZE, AnswerRecorder
    from capture.sources import Source, SyntheticSource
    from kiosk.vault import create

    data_dir, settings = open_data_dir(args)
    if not 0 < args.seconds <= 600:
        raise ConfigError("--seconds must be between 0 and 600")
    recipients = keys.recipients(data_dir)
    source = open_source(args.source, settings, args.seconds)
    assert isinstance(source, Source)
    try:
        sink = create(args.output, recipients, segment_size=VIDEO_SEGMENT_SIZE)
    except FileExistsError:
        raise ConfigError(f"{args.output} already exists; choose a new name") from None
    crf = settings.get("capture.crf")
    assert isinstance(crf, int)
    recorder = AnswerRecorder(source, sink, crf=crf)
    recorder.start()
    deadline = time.monotonic() + args.seconds
    # The synthetic source ends by itself after --seconds of media, however busy the machine
    # is; a camera or a file is stopped by the clock.
    ends_itself = isinstance(source, SyntheticSource)
    while not source.finished.is_set() and (ends_itself or time.monotonic() < deadline):
        time.sleep(0.1)
        sink.flush()
    stats = recorder.stop()
    if stats.ended_by == "sink_full":
        sink.abandon()
    else:
        sink.close()
    audit_if_initialised(data_dir, "vault.sealed", file=Path(args.output).name)
    print(f"recorded {stats.video_seconds:.1f} s: {stats.frames} frames "
          f"({stats.dropped_frames} dropped), audio gaps {stats.audio_gaps}, "
          f"drift {stats.drift * 1000:+.0f} ms, ended by {stats.ended_by} -> {args.output}")
    if stats.error:
        print(f"problem: {stats.error}")
        return 1
    return 0
