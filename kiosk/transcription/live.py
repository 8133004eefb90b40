"""Transcription while the candidate speaks, so a follow-up probe can be decided at once.

Transcribing a 2-minute answer after it ends takes seconds on two cores; a probe must be on
screen within 2 s of the candidate keeping the take (issue 16). So the answer's 16 kHz
audio is fed here as it is recorded (`AnswerRecorder(on_speech=...)`), cut into chunks of
about `chunk_seconds` at the quietest short window before that mark (a pause between
words, not a word), and each chunk is transcribed on a background thread as soon as it is
complete. When the answer ends only the last, partial chunk is left to do.

The thread runs at a lowered OS priority (nice 10, as the worker process does), so the
recorder, which must not drop a frame, wins the CPU whenever both want it. The model's own
compute threads, though, are made by CTranslate2 when the model loads, with the priority of
the thread that loads it, and they do the heavy work: load the model with
`load_at_low_priority` for them to be lowered too.

This transcript only feeds the probe decision. It lives in memory and is never stored: the
transcript that is kept still comes from the worker process, from the whole answer. Audio
is held only until its chunk is transcribed.

The model's rules apply per chunk (`Transcriber.transcribe_samples`); whether a person
should check the answer is judged again over the whole (`review_reasons`). An answer of a
non-English session that the English-only model could not read in any chunk is unread as a
whole: no text at all, only where speech was, with the language flag, as the Transcriber
does for a whole answer (no invented English reaches a probe decision).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from kiosk.logs import get_logger, log_event
from kiosk.transcription.transcriber import (
    SAMPLE_RATE,
    Samples,
    Transcriber,
    language_flag,
    review_reasons,
)
from kiosk.transcription.transcript import Segment, Transcript, Word

_log = get_logger("transcription.live")

NICE = 10  # as the worker process: below the recorder and the window
# Where a chunk is cut: the quietest window this long, in the last SEARCH_SECONDS before
# the chunk's mark (or its second half, for short chunks).
WINDOW_SECONDS = 0.1
SEARCH_SECONDS = 3.0
FRAME = SAMPLE_RATE // 100  # 10 ms: the step of the search


def quietest_cut(samples: Samples, mark: int, search: int) -> int:
    """The sample index, at or before `mark`, in the middle of the quietest short window of
    the `search` samples before it: where a cut is least likely to split a word."""
    start = max(mark - search, mark // 2)
    frames = (mark - start) // FRAME
    window = max(1, round(WINDOW_SECONDS * SAMPLE_RATE) // FRAME)
    if frames <= window:
        return mark
    region = samples[mark - frames * FRAME:mark].astype(np.float64)
    energy = np.square(region).reshape(frames, FRAME).sum(axis=1)
    sums = np.convolve(energy, np.ones(window), mode="valid")  # one per window position
    # The latest of equally quiet windows: chunks stay as long as they can.
    best = len(sums) - 1 - int(np.argmin(sums[::-1]))
    return mark - frames * FRAME + (best + window // 2) * FRAME


def _lower_priority(nice: int) -> None:
    """This thread at `nice` (Linux: per thread); threads it makes inherit it. Best effort."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


def load_at_low_priority(model_dir: Path | None = None, *, threads: int = 2,
                         nice: int = NICE) -> Transcriber:
    """A Transcriber loaded on a thread at `nice`, so the model's compute threads, which
    CTranslate2 makes as it loads, inherit it (lowering the calling thread later does not
    reach them). Raises what `Transcriber` raises."""
    loaded: list[Transcriber] = []
    failed: list[BaseException] = []

    def load() -> None:
        _lower_priority(nice)
        try:
            loaded.append(Transcriber(model_dir, threads=threads))
        except BaseException as exc:  # handed to the caller as it is
            failed.append(exc)

    loader = threading.Thread(target=load, name="TranscriberLoad", daemon=True)
    loader.start()
    loader.join()
    if failed:
        raise failed[0]
    return loaded[0]


def _shifted(segment: Segment, seconds: float) -> Segment:
    return replace(segment, start=segment.start + seconds, end=segment.end + seconds,
                   words=tuple(Word(w.start + seconds, w.end + seconds, w.word, w.probability)
                               for w in segment.words))


class LiveTranscriber:
    """Transcribes one answer chunk by chunk while it is recorded (see the module)."""

    def __init__(self, transcriber: Transcriber, *, language: str | None,
                 chunk_seconds: float = 8.0, search_seconds: float = SEARCH_SECONDS,
                 nice: int = NICE) -> None:
        if chunk_seconds < 1.0:
            raise ValueError("chunk_seconds must be at least 1 s")
        self._transcriber = transcriber
        self._language = language
        self._chunk = round(chunk_seconds * SAMPLE_RATE)
        self._search = round(search_seconds * SAMPLE_RATE)
        self._nice = nice
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        # Shared with the thread, under the lock.
        self._blocks: list[Samples] = []
        self._queued = 0  # samples in _blocks
        self._wanted = self._chunk  # what the thread waits for before it wakes
        self._finished = False
        self._stopped = False  # cancelled, or transcription failed: take no more audio
        self._thread: threading.Thread | None = None
        # Written by the thread, read once `_done` is set (or, as counts, at any time).
        self._done = threading.Event()
        self._result: Transcript | None = None
        self.chunks_done = 0  # chunks transcribed so far
        self.seconds_done = 0.0  # of the answer, from its start
        self.chunks_before_finish = 0  # of them, done when finish() was called

    # --- what the recorder and the flow call ---------------------------------------------

    def feed(self, samples: np.ndarray) -> None:
        """Add 16 kHz mono float32 samples (any thread; holds the caller for an append)."""
        block = np.array(samples, dtype=np.float32).reshape(-1)  # a copy: the caller's is theirs
        with self._lock:
            if self._finished or self._stopped or not len(block):
                return
            self._blocks.append(block)
            self._queued += len(block)
            self._start()
            if self._queued >= self._wanted:
                self._arrived.notify()

    def finish(self) -> None:
        """No more audio: the thread transcribes what is left, then the result is ready."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
            self.chunks_before_finish = self.chunks_done
            self._start()
            self._arrived.notify()

    def result(self, timeout: float) -> Transcript | None:
        """The whole answer's transcript, waiting up to `timeout` s for it; None if it is not
        ready by then, or transcription failed or was cancelled."""
        self._done.wait(timeout)
        return self._result if self._done.is_set() else None

    def cancel(self) -> None:
        """Stop and drop all audio (a retake, a wipe); the thread ends after the chunk it is
        transcribing, if any. Returns at once."""
        with self._lock:
            self._stopped = True
            self._blocks, self._queued = [], 0
            self._arrived.notify()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the background thread to end; whether it has (or never started)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # --- the background thread ------------------------------------------------------------

    def _start(self) -> None:
        """Start the thread on first use (under the lock)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="LiveTranscriber",
                                            daemon=True)
            self._thread.start()

    def _take(self, wanted: int) -> tuple[list[Samples], bool] | None:
        """Wait for `wanted` more samples or the end; what arrived and whether the answer has
        ended. None once cancelled."""
        with self._arrived:
            self._wanted = wanted
            while not (self._stopped or self._finished or self._queued >= wanted):
                self._arrived.wait()
            if self._stopped:
                return None
            blocks, self._blocks, self._queued = self._blocks, [], 0
            return blocks, self._finished

    def _run(self) -> None:
        _lower_priority(self._nice)  # the model's own threads: see load_at_low_priority
        try:
            self._result = self._transcribe_as_it_comes()
        except Exception as exc:  # whatever the model did, the interview goes on without
            log_event(_log, "live_transcription.failed", level=logging.WARNING,
                      error_type=type(exc).__name__)
            with self._lock:
                self._stopped = True
                self._blocks, self._queued = [], 0
            self._result = None
        self._done.set()

    def _transcribe_as_it_comes(self) -> Transcript | None:
        pending: Samples = np.zeros(0, np.float32)  # arrived, not yet transcribed
        offset = 0  # samples of the answer before `pending`
        chunks: list[Transcript] = []
        while True:
            taken = self._take(self._chunk - len(pending))
            if taken is None:
                return None
            blocks, finished = taken
            pending = np.concatenate([pending, *blocks]) if blocks else pending
            while len(pending) >= self._chunk:
                cut = quietest_cut(pending, self._chunk, self._search)
                chunks.append(self._transcribe(pending[:cut], offset))
                offset += cut
                pending = pending[cut:]
                if self._cancelled():
                    return None
            if finished:
                if len(pending):
                    chunks.append(self._transcribe(pending, offset))
                return self._joined(chunks, (offset + len(pending)) / SAMPLE_RATE)

    def _cancelled(self) -> bool:
        with self._lock:
            return self._stopped

    def _transcribe(self, chunk: Samples, offset: int) -> Transcript:
        transcript = self._transcriber.transcribe_samples(chunk, language=self._language)
        seconds = offset / SAMPLE_RATE
        self.seconds_done = (offset + len(chunk)) / SAMPLE_RATE
        self.chunks_done += 1
        return replace(transcript, segments=tuple(_shifted(s, seconds)
                                                  for s in transcript.segments))

    def _joined(self, chunks: list[Transcript], duration: float) -> Transcript:
        """One transcript of the whole answer from its chunks' (see the module)."""
        model = self._transcriber.info.name
        segments = tuple(s for chunk in chunks for s in chunk.segments)
        flag = language_flag(self._language) if self._language else None
        if flag is not None and any(flag in chunk.review_reasons for chunk in chunks):
            spans = tuple(Segment(start=s.start, end=s.end, text="", words=()) for s in segments)
            return Transcript(text="", language=self._language or "", duration=duration,
                              segments=spans, needs_review=True, review_reasons=(flag,),
                              model=model, language_probability=0.0)
        reasons = review_reasons(segments, duration)
        spoken = [chunk for chunk in chunks if chunk.segments] or chunks
        first = spoken[0] if spoken else None
        return Transcript(
            text=" ".join(s.text for s in segments if s.text).strip(),
            language=first.language if first else (self._language or "en"),
            language_probability=first.language_probability if first else 1.0,
            duration=duration, segments=segments, needs_review=bool(reasons),
            review_reasons=tuple(reasons), model=model)
