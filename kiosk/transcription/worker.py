"""The transcription worker: a separate process, so a model crash never takes the kiosk down.

`WorkerProcess` starts `python -m kiosk.transcription.worker`, hands it the unlocked kiosk key
through a pipe (never the disk, argv or environment), and reads its progress as JSON lines.
The worker runs at low CPU priority, queues again any job a dead worker left running, then
takes jobs one by one: decrypt the answer's audio in memory, transcribe, store the transcript
(and, once every answer of a finished session is in, the score suggestions) in one
transaction. While an answer is being recorded on a machine with few cores, the kiosk pauses
it (SIGSTOP) and resumes it afterwards (SIGCONT).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from kiosk import keys
from kiosk.logs import configure_logging, get_logger, log_event
from kiosk.scoring.service import reader_ahead, score_session
from kiosk.store import Store
from kiosk.store import jobs as job_queue
from kiosk.store.repair import repair_media
from kiosk.store.results import save_transcript
from kiosk.transcription.transcriber import Transcriber
from kiosk.vault import Identity, SuiteId, VaultReader

IDLE_POLL_SECONDS = 0.3
_log = get_logger("worker")
Progress = dict[str, Any]


def _emit(out: IO[str], event: str, **fields: Any) -> None:
    out.write(json.dumps({"event": event, **fields}) + "\n")
    out.flush()


def transcribe_job(store: Store, transcriber: Transcriber, job: job_queue.Job) -> None:
    """Do one job: its result and its `done` mark land in one transaction."""
    session = store.find(job.session_id)
    if session is None or job.question_id not in session.answers:
        with store.transaction():
            job_queue.mark_done(store, job)  # erased or never answered: nothing to do
        return
    take = session.answers[job.question_id].chosen
    path = store.audio_path(session.id, job.question_id, take)
    ahead = reader_ahead(store, session.id)  # its evidence, read as it is transcribed
    try:
        with path.open("rb") as source, \
                VaultReader(source, [store.session_keys(session.id).identity]) as reader:
            transcript = transcriber.transcribe(reader, language=session.language,
                                                on_segment=ahead)
    finally:
        if ahead is not None:
            ahead.close()
    with store.transaction():
        save_transcript(store, session.id, job.question_id, take, transcript)
        job_queue.mark_done(store, job)
        score_session(store, session.id)


def run(data_dir: Path, identity: Identity, *, once: bool = False, out: IO[str] = sys.stdout,
        model_dir: Path | None = None, threads: int = 2) -> int:
    """Work until told to stop (or, with `once`, until the queue is empty)."""
    transcriber = Transcriber(model_dir, threads=threads)  # a bad model fails here, at once
    store = Store(data_dir, keys.recipients(data_dir), [identity])
    requeued = job_queue.requeue_abandoned(store)
    for mended in repair_media(store):  # recordings cut off by a crash become readable
        log_event(_log, "worker.media_repaired", session_id=mended.session_id,
                  count=mended.plaintext_bytes)
    log_event(_log, "worker.ready", count=requeued)
    _emit(out, "ready", requeued=requeued, backlog=job_queue.counts(store).get("queued", 0))
    parent = os.getppid()
    try:
        while True:
            if os.getppid() != parent:
                return 0  # the kiosk is gone: a worker must not outlive it
            job = job_queue.claim(store)
            if job is None:
                if once:
                    return 0
                time.sleep(IDLE_POLL_SECONDS)
                continue
            _emit(out, "started", job=job.id, kind=job.kind, question=job.question_id)
            started = time.monotonic()
            try:
                if job.kind == job_queue.SCORE:
                    with store.transaction():
                        score_session(store, job.session_id)
                        job_queue.mark_done(store, job)
                else:
                    transcribe_job(store, transcriber, job)
            except Exception as exc:  # one bad answer must not stop the others
                state = job_queue.mark_failed(store, job, type(exc).__name__)
                _log.exception("worker.job_failed",
                               extra={"kiosk_fields": {"session_id": job.session_id,
                                                       "question_id": job.question_id,
                                                       "status": state}})
                _emit(out, "failed", job=job.id, error=type(exc).__name__, state=state)
                continue
            counts = job_queue.counts(store)
            log_event(_log, "worker.job_done", session_id=job.session_id,
                      question_id=job.question_id, mode=job.kind,
                      seconds=round(time.monotonic() - started, 2))
            _emit(out, "done", job=job.id, seconds=round(time.monotonic() - started, 2),
                  backlog=counts.get("queued", 0) + counts.get("running", 0))
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m kiosk.transcription.worker --data-dir DIR [--once]`.

    The key arrives on standard input.
    """
    parser = argparse.ArgumentParser(prog="kiosk.transcription.worker")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--model-dir")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    suite, private = sys.stdin.readline().strip().split(":")
    identity = Identity(SuiteId(int(suite)), bytes.fromhex(private))
    os.nice(10)  # candidates' recording and the screen come first
    configure_logging(Path(args.data_dir))
    return run(Path(args.data_dir), identity, once=args.once, threads=args.threads,
               model_dir=Path(args.model_dir) if args.model_dir else None)


class WorkerProcess:
    """The kiosk's handle on its worker process."""

    def __init__(self, data_dir: Path, identity: Identity, *, once: bool = False,
                 on_progress: Callable[[Progress], None] | None = None,
                 model_dir: Path | None = None, threads: int = 2) -> None:
        argv = [sys.executable, "-m", "kiosk.transcription.worker", "--data-dir", str(data_dir),
                "--threads", str(threads)]
        if once:
            argv.append("--once")
        if model_dir:
            argv += ["--model-dir", str(model_dir)]
        self.events: list[Progress] = []
        self._on_progress = on_progress
        self._paused = False
        self.error_output = ""
        # glibc keeps per-thread malloc arenas and freed pages that the model's threads
        # leave behind; one arena and an eager trim halve the worker's resident memory
        # (419 -> 209 MiB after three 95 s answers, measured), which keeps the kiosk in budget.
        env = {**os.environ, "MALLOC_ARENA_MAX": "1", "MALLOC_TRIM_THRESHOLD_": "131072"}
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE,  # noqa: S603 - our own module
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{int(identity.suite)}:{identity.private_bytes().hex()}\n")
        self.process.stdin.close()
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,),
                                        daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events.append(event)
            if self._on_progress:
                self._on_progress(event)

    def pause(self) -> None:
        """Stop using the CPU while an answer is recorded (only where cores are few)."""
        if (os.cpu_count() or 1) <= 2 and self.process.poll() is None and not self._paused:
            self.process.send_signal(signal.SIGSTOP)
            self._paused = True

    def resume(self) -> None:
        """Carry on after recording."""
        if self._paused and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
        self._paused = False

    def stop(self) -> None:
        """End the worker; a job it was doing is retried by the next one."""
        if self.process.poll() is None:
            self.resume()
            self.process.terminate()
        self.wait()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the worker to exit; returns its status."""
        status = self.process.wait(timeout)
        self._reader.join(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()
        if self.process.stderr:
            self.error_output = self.process.stderr.read()
            self.process.stderr.close()
        return status


if __name__ == "__main__":
    sys.exit(main())
