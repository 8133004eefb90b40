"""The kiosk neither aborts nor loses a take: real windows in processes of their own.

Issue 12 item 2: `Fatal Python error: none_dealloc: deallocating None` on a review screen and
at "Close the kiosk" (the binding dropped references to None; see ui/qt_binding.py).
Issue 12 item 4: a take under review survives the kiosk being killed, and the session
resumes with it by reference code.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import keys
from kiosk.store import Store
from kiosk.vault import VaultReader
from tests.ui.kiosk_child import PASS

CHILD = Path(__file__).with_name("kiosk_child.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kiosk_dir(tmp_path: Path) -> Path:
    keys.init_keys(tmp_path, PASS, keys.KdfParams(8192, 1, 1))
    Store(tmp_path, keys.recipients(tmp_path)).close()
    return tmp_path


def child(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONFAULTHANDLER": "1"}
    return subprocess.Popen([sys.executable, str(CHILD), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_long_review_then_playback_and_close_ends_cleanly(kiosk_dir: Path) -> None:
    """The exact sequences that aborted, long enough that a binding dropping a reference to
    None per call would have dropped twice as many as None had."""
    process = child("review-then-close", str(kiosk_dir))
    out, err = process.communicate(timeout=240)
    assert "Fatal Python error" not in err, err[-3000:]
    assert process.returncode == 0, f"exit {process.returncode}\n{out[-2000:]}\n{err[-3000:]}"
    assert "painting" in out


def test_dropped_references_to_none_cannot_deallocate_it() -> None:
    """The guard's mechanism, whatever binding is installed: after `make_immortal`, dropping
    three times as many references as None had is survived (without it: none_dealloc)."""
    code = (
        "import ctypes, sys\n"
        "from ui.qt_binding import RESERVE, make_immortal\n"
        "have = sys.getrefcount(None) % RESERVE\n"
        "make_immortal()\n"
        "for _ in range(3 * have):\n"
        "    ctypes.pythonapi.Py_DecRef(ctypes.py_object(None))\n"
        "print('survived', have)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0 and "survived" in done.stdout, done.stderr[-2000:]


def test_the_binding_check_reports_what_it_found() -> None:
    from ui import qt_binding

    check = qt_binding.CHECK
    assert check.protected == bool(check.drops)
    if check.protected:  # a binding that drops references: None cannot run out now
        assert sys.getrefcount(None) > qt_binding.RESERVE
        assert "reinstall" in (qt_binding.staff_note() or "")
    else:
        assert qt_binding.staff_note() is None


@pytest.mark.parametrize("mode", ["video", "audio", "text"])
def test_a_take_under_review_survives_sigkill_and_resumes(kiosk_dir: Path, mode: str) -> None:
    dying = child("die-on-review", str(kiosk_dir), mode)
    try:
        assert dying.stdout is not None
        line = dying.stdout.readline()
        assert line, dying.communicate(timeout=30)[1][-3000:]
        state = json.loads(line)
        assert state["step"] == "review"
    finally:
        dying.send_signal(signal.SIGKILL)  # no wipe, no close: the process is just gone
        dying.communicate(timeout=30)
    assert dying.returncode == -signal.SIGKILL
    question = {"video": 1, "audio": 2, "text": 1}[mode]
    unlocked = keys.unlock(kiosk_dir, PASS)
    store = Store(kiosk_dir, keys.recipients(kiosk_dir), [unlocked.identity])
    try:
        session = store.find(state["reference"])
        assert session is not None
        question_id = [q.id for q in session_questions(store, session.template_sha256)][
            question - 1]
        [take] = session.recorded[question_id]  # the row was committed before the kill
        if mode == "text":
            assert take.text == "Stock rotation first, then the shelf labels."
        else:  # and its recording is a finished vault file, not a cut-off one
            path = store.video_path(session.id, question_id, 1)
            with path.open("rb") as source, VaultReader(
                    source, [store.session_identity(session.id)]) as reader:
                assert reader.read_range(0, reader.size)[4:8] == b"ftyp"
    finally:
        store.close()
    resumed = child("resume", str(kiosk_dir), state["reference"])
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err[-3000:]
    landed = json.loads(out.strip().splitlines()[-1])
    assert landed["step"] == "review" and landed["question"] == question
    assert landed["takes"] == [1]
    if mode == "text":
        assert landed["text"] == "Stock rotation first, then the shelf labels."
    else:
        assert landed["media_bytes"] > 1000 and landed["watch"] is True


def session_questions(store: Store, sha256: str) -> list:
    template = store.kept_template(sha256)
    if template is None:
        from kiosk.templates import find_template

        template = find_template("demo")
    return list(template.questions)


def test_the_bridge_runs_work_from_other_threads_on_the_gui_thread(qtbot) -> None:
    import threading

    from ui.runtime import Bridge

    bridge = Bridge()
    ran: list[str] = []
    senders = [threading.Thread(target=bridge.call_soon, name=f"encoder-{n}",
                                args=(lambda: ran.append(threading.current_thread().name),))
               for n in range(20)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    qtbot.waitUntil(lambda: len(ran) == 20, timeout=5000)
    assert set(ran) == {threading.main_thread().name}


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed: make test")
def test_stopping_playback_never_freezes_the_window_on_x() -> None:
    """'Use this answer' while the take plays back stopped the player from Python, which
    held the Python lock while the player waited for a thread that needed it: a freeze,
    about one stop in fifty, on X only (found by bench/window_soak.py)."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0",
                               "1280x800x24", "-nolisten", "tcp"], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as numbers:
            display = f":{numbers.readline().strip()}"
        env = {**os.environ, "DISPLAY": display}
        env.pop("QT_QPA_PLATFORM", None)
        done = subprocess.run([sys.executable, str(CHILD), "play-and-stop", "150"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=600)
        assert "Timeout" not in done.stderr, done.stderr[-3000:]
        assert done.returncode == 0 and "stopped 150 times" in done.stdout, done.stderr[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=10)
