"""What runs behind the screens: sources, the recorder, the store and the worker.

The screens call this; it never touches a widget. Capture and encoding run on their own
threads and the worker in its own process; anything they report comes back to the GUI
thread through the `Bridge`, the one way in.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import os
import queue
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot

from capture.check import FACE_SAMPLES, CheckResult, check_frames, check_levels
from capture.media import DeviceError, DeviceLostError, SinkFullError
from capture.recorder import (
    AUDIO_COPY_SEGMENT_SIZE,
    VIDEO_SEGMENT_SIZE,
    AnswerRecorder,
    TakeStats,
)
from capture.sources import FileSource, Source, SyntheticSource
from kiosk.errors import FlowError
from kiosk.flow import (
    CandidateFlow,
    FlowEvent,
    FollowUpNeeded,
    RecordingStarted,
    RecordingStopped,
    SessionWiped,
)
from kiosk.keys import UnlockedKeys
from kiosk.privacy import self_id
from kiosk.probing import Decision, FollowUpDecider
from kiosk.session import follow_up_key
from kiosk.store import Store
from kiosk.templates import AnswerMode
from kiosk.transcription.sample_speech import SampleVoice
from kiosk.transcription.transcriber import SAMPLE_RATE
from kiosk.transcription.worker import WorkerProcess
from kiosk.uplink.sender import BackgroundSync
from kiosk.uplink.status import DEVICES, KioskStatus
from kiosk.vault import VaultReader, VaultWriter, create
from ui import i18n
from ui.invitations import InvitationReader


class Bridge(QObject):
    """Runs callables on the GUI thread, whichever thread asks.

    The callables wait in a plain thread-safe queue; only an argument-less signal crosses
    threads, queued to a slot of this object, which lives on the GUI thread. So no Python
    object travels inside a Qt event (a `Signal(object)` wraps it in one, to be released on
    whichever thread Qt drops the event, even after the interpreter has gone), the slot's
    thread does not depend on how the binding treats a lambda with no receiver, and work
    still waiting at close is dropped with the queue, by Python, under its lock.
    """

    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._pending: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._wake.connect(self._run_pending, Qt.ConnectionType.QueuedConnection)

    def call_soon(self, function: Callable[[], None]) -> None:
        """Queue `function` for the GUI thread."""
        self._pending.put(function)
        self._wake.emit()

    @Slot()
    def _run_pending(self) -> None:
        while True:
            try:
                function = self._pending.get_nowait()
            except queue.Empty:
                return
            function()


# The device check of live devices judges the preview: a few frames spread over about two
# seconds (the refresh keeps one in each of its 25 ticks a second, at most this many), and
# the sound levels of those ticks, at least a second's worth before it says anything.
LIVE_CHECK_FRAMES = 50
LIVE_CHECK_LEVELS = 100
LIVE_CHECK_MIN_LEVELS = 25

DECISION_CAP = 30.0  # seconds a follow-up decision may take before the decider gives up
M_ARENA_MAX = -8  # glibc's mallopt parameter
MALLOC_ARENAS = 2


def limit_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """Let glibc's allocator keep at most `count` arenas in this process (unless the
    environment says otherwise); False where that cannot be done (not glibc).

    glibc gives a thread that allocates under contention an arena of its own, up to eight
    per core, and an arena keeps its high-water mark. Each take starts capture and encoder
    threads, and playback starts Qt's media threads, so the kiosk grew all day: about 450 MiB
    after 100 candidates, against 270 MiB with two arenas (bench/window_soak.py,
    docs/benchmarks.md). The worker process runs with one arena for the same reason.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):
        return False


class Runtime:
    """Recording, storing and transcribing for one kiosk window."""

    def __init__(self, store: Store, *, worker: WorkerProcess | None = None,
                 video: Path | None = None, sample_media: bool = True,
                 sync: BackgroundSync | None = None,
                 unlocked: UnlockedKeys | None = None,
                 live_source: Callable[[AnswerMode], Source] | None = None,
                 decider: Callable[[CandidateFlow], FollowUpDecider | None] | None = None,
                 invitations: InvitationReader | None = None,
                 status: KioskStatus | None = None) -> None:
        limit_malloc_arenas()  # before any take starts its threads
        self.store = store
        self.unlocked = unlocked  # the device key signs export bundles
        self.worker = worker
        self.sync = sync
        if worker is not None:  # a write that finds the worker paused mid-transaction wakes it
            store.on_locked = worker.resume
        self.bridge = Bridge()
        self._video = video
        self._sample_media = sample_media
        # A self-view is a mirror, as people expect; a labelled sample picture is not.
        self.mirror = not sample_media and video is None
        self.flow: CandidateFlow | None = None
        self._recorder: AnswerRecorder | None = None
        self._sinks: list[VaultWriter] = []
        self._paths: list[Path] = []  # the take's vault files, while it is recorded
        self._take: tuple[str, int] | None = None
        self.ask_resume: Callable[[], None] = lambda: None
        self.invitations = invitations  # at a campus drive: scanning and checking invites
        self.last_stats: TakeStats | None = None
        self.last_error: str | None = None  # for the staff console, never for candidates
        self._practice_media: io.BytesIO | None = None
        # Sample media speaks the demo's sample answers, so a first try shows transcription
        # and scoring; the voice is synthetic and labelled, never a person's.
        self.sample_voice: SampleVoice | None = None
        self._live_source = live_source or _device_source
        # What the device-check preview showed of a live camera and microphone: the check
        # judges these, as they arrive, instead of opening the devices a second time.
        self._seen_frames: deque[np.ndarray] = deque(maxlen=LIVE_CHECK_FRAMES)
        self._seen_levels: deque[tuple[float, float]] = deque(maxlen=LIVE_CHECK_LEVELS)
        self._last_seen: np.ndarray | None = None
        self._make_decider = decider or _decider
        self.decider: FollowUpDecider | None = None
        # What HQ hears in each heartbeat: devices, errors (code words), the interview.
        self.status = status or KioskStatus()
        if sample_media:  # the app found no camera at start
            self.status.device("camera", "absent")

    def attach(self, flow: CandidateFlow) -> None:
        """Follow `flow`'s recording events."""
        self.flow = flow
        flow.subscribe(self._on_event)
        self.status.interview(flow.template.id)
        self.decider = self._make_decider(flow)
        if self.decider is not None:
            self.decider.prepare()  # models load in the background, before any candidate
        if self._sample_media and self._video is None:
            self.sample_voice = SampleVoice(
                key for q in flow.template.questions
                for key in ((q.id, follow_up_key(q.id)) if q.probes else (q.id,)))
            self.sample_voice.prepare()

    # --- what screens ask -------------------------------------------------------------

    def source_note(self) -> str:
        """Which camera and microphone are used, in plain words."""
        return i18n.tr("check.sample_media") if self._sample_media else ""

    def new_source(self, mode: AnswerMode, question_id: str | None = None, *,
                   preview: bool = False) -> Source:
        """A fresh source for a take (sample media on a machine without devices: a labelled
        picture and the sample answer to `question_id`, spoken, when espeak-ng is there)."""
        picture = mode is AnswerMode.VIDEO
        if self._video is not None:
            return FileSource(self._video, loop=True, video=picture)
        if not self._sample_media:
            return self._live_source(mode)
        voice = self.sample_voice
        speech = voice.samples(question_id, wait=not preview) if voice is not None else None
        if speech is None:
            return SyntheticSource(1280 if picture else 0, 720, 30.0,
                                   label="SAMPLE MEDIA - no camera" if picture else None)
        return SyntheticSource(1280 if picture else 0, 720, 30.0, audio_rate=SAMPLE_RATE,
                               speech=speech, label="SAMPLE MEDIA - sample voice"
                               if picture else None)

    def preview(self) -> tuple[np.ndarray | None, float]:
        """The newest small frame and the sound level, if something is being recorded."""
        if self._recorder is None:
            return None, -120.0
        preview = self._recorder.preview()
        if preview.image is not None and preview.image is not self._last_seen:
            self._last_seen = preview.image
            self._seen_frames.append(preview.image)
        self._seen_levels.append((preview.rms_dbfs, preview.peak_dbfs))
        return preview.image, preview.rms_dbfs

    def start_preview(self, picture: bool = True) -> None:
        """Show the camera and the sound level on the device check (nothing is kept)."""
        if self._recorder is None:
            self._seen_frames.clear()
            self._seen_levels.clear()
            self._last_seen = None
            mode = AnswerMode.VIDEO if picture else AnswerMode.AUDIO
            self._recorder = AnswerRecorder(self.new_source(mode, preview=True), _Discard())
            self._recorder.start()

    def stop_preview(self) -> None:
        """Stop the device-check preview and drop what it recorded."""
        if self._recorder is not None and not self._sinks and self._take is None:
            self._recorder.stop()
            self._recorder = None

    def live_check_ready(self, camera: bool) -> bool:
        """Whether the preview of live devices has shown enough to be judged (sample media
        and a video file are judged at once)."""
        if self._sample_media or self._video is not None:
            return True
        frames_ok = not camera or len(self._seen_frames) >= FACE_SAMPLES
        return frames_ok and len(self._seen_levels) >= LIVE_CHECK_MIN_LEVELS

    def device_check(self) -> list[CheckResult]:
        """The device check; with sample media it says so instead of judging a test picture.

        Live devices are judged on what their preview has shown so far (`live_check_ready`);
        a video file on its first frames.
        """
        if self._sample_media and self._video is None:
            return [CheckResult("camera", True, i18n.tr("check.sample_camera"), None, None),
                    CheckResult("microphone", True, i18n.tr("check.sample_microphone"),
                                None, None)]
        if self._video is None:
            found = [*check_frames(list(self._seen_frames)),
                     *check_levels(list(self._seen_levels))]
            # A device that passed works; one that did not may only be covered, or facing a
            # quiet candidate, so a failed check is not reported as a lost device.
            for result in found:
                if result.name in DEVICES and result.ok:
                    self.status.device(result.name, "ok")
            return found
        source = self.new_source(AnswerMode.VIDEO)
        frames = [source.image(0)] if isinstance(source, SyntheticSource) else []
        if isinstance(source, FileSource):
            frames = _first_frames(source.path)
        return check_frames(frames)

    # --- recording ----------------------------------------------------------------------

    def _on_event(self, event: FlowEvent) -> None:
        if isinstance(event, SessionWiped):
            # Nothing of this candidate may stay in memory for the next one.
            self._practice_media = None
            self.last_stats = None
            if self.decider is not None:
                self.decider.forget()
        elif isinstance(event, FollowUpNeeded):
            self._decide(event)
        elif isinstance(event, RecordingStarted) and event.mode is not AnswerMode.TEXT:
            self._start(event)
        elif isinstance(event, RecordingStopped):
            self._stop(event)

    def _start(self, event: RecordingStarted) -> None:
        flow = self.flow
        assert flow is not None
        self.stop_preview()
        if self.worker is not None:
            self.worker.pause()  # the candidate's recording comes first on a small machine
        if self.sync is not None:
            self.sync.pause()
        session = flow.session()
        if event.practice or session is None or event.question_id is None:
            sinks: list[VaultWriter] = []
            self._practice_media = io.BytesIO()  # practice is never stored: memory only
            video_sink: object = self._practice_media
            audio_sink: object = None
        else:
            recipients = self.store.media_recipients(session.id)
            paths = [self.store.video_path(session.id, event.question_id, event.take),
                     self.store.audio_path(session.id, event.question_id, event.take)]
            for path in paths:
                _set_aside(path)
            sinks = [create(paths[0], recipients, segment_size=VIDEO_SEGMENT_SIZE),
                     create(paths[1], recipients, segment_size=AUDIO_COPY_SEGMENT_SIZE)]
            self._paths = paths
            video_sink, audio_sink = sinks
            self._take = (event.question_id, event.take)
        self._sinks = sinks
        hear = None
        if self.decider is not None and event.question_id is not None and not event.practice:
            hear = self.decider.hear(event.question_id, event.take, flow.language)
        self._recorder = AnswerRecorder(self.new_source(event.mode, event.question_id),
                                        video_sink, audio_sink, on_failure=self._failed,
                                        on_speech=hear)
        self._recorder.start()

    def _failed(self, error: DeviceError) -> None:
        # On the encoder's thread: hand over to the GUI thread, where the flow lives.
        self.last_error = f"{type(error).__name__}: {error}"
        self.status.error(_error_code(error))
        if isinstance(error, DeviceLostError) and error.device in DEVICES:
            self.status.device(error.device, "lost")

        def tell_flow() -> None:
            if self.flow is not None and self.flow.step.value == "answer":
                self.flow.recording_failed()
        self.bridge.call_soon(tell_flow)

    def _stop(self, event: RecordingStopped) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        stats = recorder.stop()
        self.last_stats = stats
        # The worker and sync go on before anything is written: a worker paused inside a
        # transaction of its own would hold the database's write lock.
        if self.worker is not None:
            self.worker.resume()
        if self.sync is not None:
            self.sync.resume()
        dropped = event.ended_by == "abort"  # a take cut off by a wipe is not kept (flow rule)
        for sink in self._sinks:
            if stats.ended_by == "sink_full" or dropped:
                sink.abandon()
            else:
                sink.close()  # final segment and fsync: finished before the flow stores the take
        if dropped:
            for path in self._paths:
                path.unlink(missing_ok=True)
        flow = self.flow
        session = flow.session() if flow is not None else None
        if self._take is not None and session is not None and self._sinks and not dropped:
            self.store.save_recording_stats(session.id, *self._take, asdict(stats))
        if self.decider is not None and self._take is not None:
            self.decider.ended(*self._take, dropped=dropped)
        self._sinks, self._take, self._paths = [], None, []

    def _decide(self, event: FollowUpNeeded) -> None:
        """Ask the decider about a kept answer; its decision comes back on the GUI thread,
        where it is used only if the flow still waits for that very answer."""
        flow, decider = self.flow, self.decider
        if flow is None or decider is None:
            return  # no decider: the flow's wait runs out and it goes on without a probe
        session = flow.session()
        answer = session.answers.get(event.question_id) if session else None
        text = answer.chosen_take.text if answer is not None else None

        def apply(decision: Decision) -> None:
            # Another answer's, or too late: the flow has made its own decision.
            with contextlib.suppress(FlowError):
                flow.follow_up_decided(decision.question_id, decision.outcome,
                                       decision.probe_id)

        # The flow's clock says what is in time (it goes on after its wait and refuses a
        # late decision); the cap only ends a decider's threads that could never be in time.
        decider.decide(event.question_id, event.take, flow.language, text, DECISION_CAP,
                       lambda decision: self.bridge.call_soon(lambda: apply(decision)))

    def room_for(self, seconds: float) -> bool:
        """Whether an answer of `seconds` fits on disk (checked before each question)."""
        from capture.disk import check_space

        space = check_space(self.store.data_dir, seconds)
        if not space.ok:
            self.last_error = (f"disk nearly full: {space.free_bytes / 1e6:.0f} MB free, "
                               f"{space.needed_bytes / 1e6:.0f} MB needed for the next answer")
            self.status.error("disk.nearly_full")
        return space.ok

    def take_media(self) -> bytes | None:
        """The latest take's recording, decrypted in memory only, for the review screen."""
        flow = self.flow
        if flow is None or not flow.takes:
            return None
        if flow.in_practice:
            return self._practice_media.getvalue() if self._practice_media else None
        session = flow.session()
        question = flow.question
        if session is None or question is None:
            return None
        path = self.store.video_path(session.id, getattr(question, "id", ""),
                                     flow.takes[-1].number)
        if not path.exists():
            return None
        identity = self.store.session_identity(session.id)
        with path.open("rb") as source, VaultReader(source, [identity]) as reader:
            return reader.read_range(0, reader.size)

    def save_self_id(self, answers: dict[str, str]) -> None:
        """Keep the finished candidate's voluntary self-identification (apart from scores)."""
        flow = self.flow
        session = flow.session() if flow is not None else None
        if flow is None or session is None:
            return
        self_id.save(self.store, flow.template, session.id, answers)

    def shut_down(self) -> None:
        """Stop recording and the worker."""
        if self.invitations is not None:
            self.invitations.stop()
        if self._recorder is not None:
            self._recorder.stop()
            for sink in self._sinks:
                sink.close()
        if self.worker is not None:
            self.worker.stop()
        if self.sync is not None:
            self.sync.stop()
        if self.decider is not None:
            self.decider.close()


def _error_code(error: DeviceError) -> str:
    """The code word HQ hears for a take that failed (the message stays on the kiosk)."""
    if isinstance(error, DeviceLostError):
        return f"{error.device}.lost" if error.device in DEVICES else "device.lost"
    return "disk.full" if isinstance(error, SinkFullError) else "device.failed"


def _decider(flow: CandidateFlow) -> FollowUpDecider | None:
    """The follow-up decider of an interview with probes (None for one without)."""
    decider = FollowUpDecider(flow.template)
    return decider if decider.needed else None


def _set_aside(path: Path) -> None:
    """A take's file left by a kiosk that died while recording it has no row (the take never
    ended): keep it under another name rather than fail the new take, or overwrite it."""
    if path.exists():
        path.rename(path.with_name(f"{path.name}.cut-off-{path.stat().st_mtime_ns}"))


def _device_source(mode: AnswerMode) -> Source:
    """The kiosk's camera (for a video answer) and microphone."""
    from capture.devices import CameraSource, DeviceSource, MicrophoneSource

    return DeviceSource(CameraSource() if mode is AnswerMode.VIDEO else None,
                        MicrophoneSource())


def _first_frames(path: Path, count: int = 25) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
                for _, frame in zip(range(count), container.decode(video=0), strict=False)]


class _Discard:
    """A sink that keeps nothing: the device check's preview is for the eyes only."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        """Nothing to flush."""
