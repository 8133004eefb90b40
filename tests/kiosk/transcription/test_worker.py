"""The transcription worker: a separate process that finishes every job exactly once."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from capture.audio_file import encode_aac
from kiosk import keys
from kiosk.flow import CandidateFlow, RecordingStopped
from kiosk.scoring import scorecard
from kiosk.store import Store
from kiosk.store import jobs as job_queue
from kiosk.store.results import scores, transcripts
from kiosk.transcription.sample_speech import espeak_available, synthesise
from kiosk.transcription.transcriber import SAMPLE_RATE
from kiosk.transcription.worker import WorkerProcess
from kiosk.vault import create
from tests.kiosk.conftest import take_demo_interview

pytestmark = pytest.mark.skipif(not espeak_available(),
                                reason="espeak-ng is not installed: run make test")

PASS = "worker test passphrase"
FAST = keys.KdfParams(memory_kib=8 * 1024, iterations=1, lanes=1)
ANSWERS = {
    "introduce-yourself": "Hello, I am a final year student. For example, I organised our "
                          "college tech fest with a team of twelve people.",
    "something-you-learned-recently": "Recently I learned to cook biryani. I watched my "
                                      "grandmother, practised every weekend, and now I teach "
                                      "my friends.",
}


def record_session(data_dir: Path, answers: dict[str, str], *, ai: bool = True,
                   language: str = "en", voice: str = "en-us") -> str:
    """A scripted candidate takes the demo interview; spoken answers go into vault files."""
    store = Store(data_dir, keys.recipients(data_dir))

    def record(flow: CandidateFlow, event: object) -> None:
        if isinstance(event, RecordingStopped) and event.question_id in answers:
            session = flow.session()
            assert session is not None
            path = store.audio_path(session.id, event.question_id, event.take)
            with create(path, store.media_recipients(session.id)) as writer:
                encode_aac(synthesise(answers[event.question_id], voice), SAMPLE_RATE, writer)

    session = take_demo_interview(store, ai=ai, on_event=record, language=language)
    store.close()
    return session.id


@pytest.fixture
def kiosk_dir(tmp_path: Path) -> tuple[Path, keys.UnlockedKeys]:
    keys.init_keys(tmp_path, PASS, FAST)
    Store(tmp_path, keys.recipients(tmp_path)).close()
    return tmp_path, keys.unlock(tmp_path, PASS)


def job_states(data_dir: Path) -> dict[str, int]:
    db = sqlite3.connect(data_dir / "kiosk.db")
    try:
        return dict(db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"))
    finally:
        db.close()


def test_the_worker_transcribes_and_scores_a_finished_session(kiosk_dir) -> None:
    data_dir, unlocked = kiosk_dir
    session_id = record_session(data_dir, ANSWERS)
    assert job_states(data_dir) == {"queued": 3}  # two answers and scoring, with the answers
    worker = WorkerProcess(data_dir, unlocked.identity, once=True)
    assert worker.wait(timeout=600) == 0, worker.error_output
    assert [(e["event"], e.get("kind")) for e in worker.events] == [
        ("ready", None), ("started", "transcribe"), ("done", None), ("started", "transcribe"),
        ("done", None), ("started", "score"), ("done", None)]
    assert worker.events[-1]["backlog"] == 0
    store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
    found = transcripts(store, session_id)
    assert set(found) == set(ANSWERS)
    heard = found["introduce-yourself"].text.lower()
    assert "student" in heard and "example" in heard
    suggested = scores(store, session_id)
    assert set(suggested) == {"communication", "self-reflection"}
    assert all(s["reviewer"] is None for s in suggested.values())
    store.close()


def test_hindi_answers_go_to_a_person_with_no_invented_english(kiosk_dir) -> None:
    data_dir, unlocked = kiosk_dir
    hindi = {"introduce-yourself": "मेरा नाम राहुल है और मैं पिछले तीन साल से ग्राहक सेवा में "
                                   "काम कर रहा हूँ।",
             "something-you-learned-recently": "धन्यवाद।"}
    session_id = record_session(data_dir, hindi, language="hi", voice="hi")
    worker = WorkerProcess(data_dir, unlocked.identity, once=True)
    assert worker.wait(timeout=600) == 0, worker.error_output
    store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
    found = transcripts(store, session_id)
    assert all(t.text == "" and t.words == [] for t in found.values())
    assert all(t.review_reasons == ("may have answered in Hindi: a person listens",)
               for t in found.values())
    card = scorecard.build(store, session_id)
    store.close()
    for question in card["questions"][:2]:
        assert question["transcript"]["excerpt"] == ""
        assert question["delivery"]["speaking_seconds"] > 0.5  # speech, not a silent answer
    assert "question 1: a person should check the transcript (may have answered in Hindi: " \
           "a person listens)" in card["flags"]
    for competency in card["competencies"]:  # withheld, never scored down, no evidence
        assert competency["suggestion"]["level"] is None
        assert competency["suggestion"]["evidence"] == []
    shown = scorecard.render(card)
    assert "(no transcript: may have answered in Hindi: a person listens)" in shown


def test_no_suggestions_when_the_candidate_declined_ai(kiosk_dir) -> None:
    data_dir, unlocked = kiosk_dir
    session_id = record_session(data_dir, ANSWERS, ai=False)
    WorkerProcess(data_dir, unlocked.identity, once=True).wait(timeout=600)
    store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
    assert set(transcripts(store, session_id)) == set(ANSWERS)  # transcribed, for people
    assert scores(store, session_id) == {}
    store.close()


def test_a_killed_worker_job_is_retried_and_finishes_once(kiosk_dir) -> None:
    data_dir, unlocked = kiosk_dir
    long_answer = " ".join(["I listened to the customer and then I offered a refund."] * 12)
    session_id = record_session(data_dir, {"introduce-yourself": long_answer})
    worker = WorkerProcess(data_dir, unlocked.identity)
    deadline = time.monotonic() + 600  # a hang guard: loading the model can take minutes
    while job_states(data_dir).get("running", 0) == 0:
        assert time.monotonic() < deadline, "the worker never started the job"
        time.sleep(0.05)
    worker.process.send_signal(signal.SIGKILL)
    worker.wait(timeout=60)
    assert job_states(data_dir) == {"running": 1, "queued": 1}  # caught mid-job
    again = WorkerProcess(data_dir, unlocked.identity, once=True)
    assert again.wait(timeout=600) == 0, again.error_output
    assert again.events[0] == {"event": "ready", "requeued": 1, "backlog": 2}
    assert job_states(data_dir) == {"done": 2}
    db = sqlite3.connect(data_dir / "kiosk.db")
    assert db.execute("SELECT COUNT(*) FROM transcripts WHERE session_id = ?",
                      (session_id,)).fetchone()[0] == 1
    assert db.execute("SELECT attempts FROM jobs WHERE kind = 'transcribe'").fetchone()[0] == 2
    db.close()


def test_a_bad_model_stops_the_worker_at_start_up(kiosk_dir, tmp_path: Path) -> None:
    data_dir, unlocked = kiosk_dir
    worker = WorkerProcess(data_dir, unlocked.identity, once=True,
                           model_dir=tmp_path / "no-model-here")
    assert worker.wait(timeout=600) != 0
    assert "ModelError" in worker.error_output and "does not exist" in worker.error_output
    assert worker.events == []


def test_pause_and_resume(kiosk_dir) -> None:
    data_dir, unlocked = kiosk_dir
    worker = WorkerProcess(data_dir, unlocked.identity)
    stat = Path(f"/proc/{worker.process.pid}/stat")

    def settles_to(wanted: bool) -> bool:
        deadline = time.monotonic() + 60  # a hang guard: a busy machine is waited for
        while time.monotonic() < deadline:
            if (stat.read_text().split()[2] == "T") == wanted:
                return True
            time.sleep(0.01)
        return False

    try:
        worker.pause()
        assert settles_to(True), "the worker did not stop"
        worker.resume()
        assert settles_to(False), "the worker did not go on"
    finally:
        worker.stop()


def test_jobs_are_idempotent(kiosk_dir) -> None:
    data_dir, _ = kiosk_dir
    store = Store(data_dir, keys.recipients(data_dir))
    with store.transaction():
        for _ in range(3):
            job_queue.enqueue(store, job_queue.TRANSCRIBE, "s1", "q1")
    assert job_queue.counts(store) == {"queued": 1}
    store.close()


def test_the_worker_does_not_outlive_the_kiosk(kiosk_dir) -> None:
    import subprocess
    import sys

    data_dir, _ = kiosk_dir
    parent = subprocess.run(
        [sys.executable, "-c", (
            "import sys, os, time\n"
            "from pathlib import Path\n"
            "from kiosk import keys\n"
            "from kiosk.transcription.worker import WorkerProcess\n"
            f"u = keys.unlock(Path({str(data_dir)!r}), {PASS!r})\n"
            "w = WorkerProcess(Path(" + repr(str(data_dir)) + "), u.identity)\n"
            "while not w.events: time.sleep(0.05)\n"
            "print(w.process.pid, flush=True)\n"
            "os._exit(0)\n")],
        capture_output=True, text=True, check=True, timeout=600)
    pid = int(parent.stdout.split()[-1])
    deadline = time.monotonic() + 60  # a hang guard: a busy machine is waited for
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat").read_text().split()
        if stat[2] == "Z":
            break  # exited, waiting only to be reaped
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists() or \
        Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
