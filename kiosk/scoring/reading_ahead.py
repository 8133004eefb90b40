"""Reading an answer's sentences for meaning while the rest of it is still transcribed.

The worker hands each segment over as the transcriber recognises it; a thread of its own
encodes the segment's sentences (`meaning.read_ahead`) while Whisper decodes the next one,
in the CPU time transcription leaves idle. The model remembers the vectors, in memory only,
so once the transcript is whole its evidence is ready a moment later
(docs/benchmarks.md, "Evidence by meaning"). Early work is only a saving: if it fails, it is
logged by kind and stops, and scoring reads what is missing itself.
"""

from __future__ import annotations

import logging
import queue
import threading

from kiosk.logs import get_logger, log_event
from kiosk.scoring.meaning import SentenceEncoder, read_ahead
from kiosk.transcription.transcript import Segment

_log = get_logger("scoring")


class ReaderAhead:
    """A callable for `Transcriber.transcribe(on_segment=...)`; `close` when it is done."""

    def __init__(self, model: SentenceEncoder) -> None:
        self._model = model
        self._segments: queue.SimpleQueue[Segment | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._read, name="ReaderAhead", daemon=True)
        self._thread.start()

    def __call__(self, segment: Segment) -> None:
        """Take a segment (returns at once: the transcriber goes on with the next)."""
        self._segments.put(segment)

    def close(self, timeout: float = 30.0) -> None:
        """Read what is queued, then stop; waits at most `timeout` s (scoring would then
        read the rest itself)."""
        self._segments.put(None)
        self._thread.join(timeout)

    def _read(self) -> None:
        failed = False
        while (segment := self._segments.get()) is not None:
            if failed:
                continue  # drain: the worker's close must not wait on a dead reader
            try:
                read_ahead(self._model, (segment,))
            except Exception as exc:  # a saving lost, nothing else
                log_event(_log, "scoring.read_ahead_failed", level=logging.WARNING,
                          error_type=type(exc).__name__)
                failed = True
