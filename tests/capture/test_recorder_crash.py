"""A recording process killed mid-answer leaves a file that recovers to within a second."""

from __future__ import annotations

import contextlib
import io
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import av

from kiosk.vault import Identity, recover

RECORDER = textwrap.dedent("""
    import sys, time
    from capture.recorder import AnswerRecorder, VIDEO_SEGMENT_SIZE
    from capture.sources import SyntheticSource
    from kiosk.vault import Identity, create
    identity = Identity(Identity.generate().suite, bytes.fromhex(sys.argv[2]))
    sink = create(sys.argv[1], [identity.recipient], segment_size=VIDEO_SEGMENT_SIZE,
                  fsync_interval=0.25)
    # Not paced like a camera: a camera on a busy machine drops frames, which lowers the
    # bitrate and so stretches the last, unfinished vault segment over more seconds. Here
    # every frame is encoded, so the bytes per second, and what a kill can cost, are fixed.
    recorder = AnswerRecorder(SyntheticSource(640, 480, 30, realtime=False), sink)
    recorder.start()
    while True:
        time.sleep(0.25)
        encoded = recorder.encoded_seconds  # read before the flush: all of it is handed on
        sink.flush()  # a recorder's owner flushes while it records
        print(encoded, flush=True)
""")


def test_sigkill_mid_answer_loses_at_most_a_second(tmp_path: Path) -> None:
    identity = Identity.generate()
    path = tmp_path / "answer.mp4.vault"
    with subprocess.Popen([sys.executable, "-c", RECORDER, str(path),
                           identity.private_bytes().hex()],
                          stdout=subprocess.PIPE, text=True) as child:
        # Killed once 4 s of the answer had been encoded and flushed, however long that took
        # on this machine: the loss is measured against what the recorder had done, not
        # against the wall clock (an encoder behind a busy machine is a benchmark's concern).
        assert child.stdout is not None
        recorded_for = 0.0
        for line in child.stdout:
            recorded_for = float(line)
            if recorded_for >= 4.0:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    saved = io.BytesIO()
    with path.open("rb") as source:
        report = recover(source, [identity], saved)
    assert not report.finished
    times: list[float] = []
    # The fragment being written when the power went is cut off: a player stops there.
    with av.open(io.BytesIO(saved.getvalue())) as container, \
            contextlib.suppress(av.error.InvalidDataError):
        times.extend(float(frame.time) for frame in container.decode(video=0))

    assert times, "nothing of the answer survived"
    print(f"recovered {times[-1]:.2f} s of {recorded_for:.2f} s")
    assert times[-1] >= recorded_for - 1.0, (times[-1], recorded_for)
