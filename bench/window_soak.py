"""Soak the real kiosk window with scripted candidates: no crash, no lost take, flat memory.

    .venv/bin/python bench/window_soak.py --candidates 200             # offscreen
    .venv/bin/python bench/window_soak.py --candidates 200 --x :101    # Xvfb + xdotool

The kiosk runs in a child process (`bench/soak_kiosk.py`): the real window, runtime, store,
vault, recorder with sample media and, unless `--no-worker`, the transcription worker. This
process only watches: a child that aborts (a signal, "Fatal Python error") counts as a
crash, and a new child goes on with the next candidates on the same data directory, as a
kiosk restarted after a crash would. Every take a child reported as finished must then be
in the store, with its finished vault file or its typed text, and every answer it kept
must name the take that was kept: anything else is a lost take.

Memory is the child's resident set after each candidate. The slope is fitted by least
squares after a warm-up (the first 10 % of candidates, at least 10: caches, the first
recordings' codec buffers, the model in the worker's own process does not count). The
threshold is 0.25 MiB a candidate: a kiosk seeing 200 candidates a day then grows by less
than 50 MiB a day, and the process is restarted at the start of each day.
Exit status: 0 if no crash, no lost take, no stuck script and a slope under the threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk import keys  # noqa: E402
from kiosk.store import Store  # noqa: E402
from kiosk.uplink import enrollment  # noqa: E402
from kiosk.vault import VaultReader  # noqa: E402

CHILD = ROOT / "bench" / "soak_kiosk.py"
PASSPHRASE = "soak passphrase for staff"  # noqa: S105 - a throw-away test kiosk
SLOPE_LIMIT_MIB = 0.25
# Each candidate reports within seconds; minutes of silence is a hang, not a slow machine.
SILENCE_SECONDS = float(os.environ.get("SOAK_SILENCE_SECONDS", "300"))
MAX_CHILDREN = 20  # stop restarting after this many processes (something is badly wrong)


@dataclass
class Soak:
    """What the children reported."""

    candidates: list[dict[str, Any]] = field(default_factory=list)
    takes: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    processes: int = 0
    hands: str = ""
    platform: str = ""


def prepare(data_dir: Path) -> None:
    """A kiosk with keys, enrolled with an HQ (so staff can export), and its store."""
    data_dir.mkdir(parents=True, exist_ok=True)
    keys.init_keys(data_dir, PASSPHRASE, keys.KdfParams(8192, 1, 1))
    unlocked = keys.unlock(data_dir, PASSPHRASE)
    hq = keys.unlock(data_dir, PASSPHRASE).identity  # the bundle is sealed to "HQ" too
    enrollment.save_link(data_dir, enrollment.HqLink(
        url="https://hq.invalid", device_id="soak-kiosk", hq_recipient=hq.recipient.to_text(),
        hq_signing_key=__import__("base64").b64encode(
            unlocked.signing.public_key().public_bytes_raw()).decode(),
        enrolled_at="2026-12-01"))
    Store(data_dir, keys.recipients(data_dir)).close()


def run_child(soak: Soak, args: argparse.Namespace, data_dir: Path, first: int, count: int,
              log: Path) -> None:
    """One kiosk process, until it closes the kiosk or dies."""
    argv = [sys.executable, str(CHILD), str(data_dir), "--seed", str(args.seed), "--first",
            str(first), "--count", str(count), "--staff-every", str(args.staff_every)]
    env = {**os.environ, "SOAK_PASSPHRASE": PASSPHRASE, "PYTHONFAULTHANDLER": "1",
           **dict(setting.split("=", 1) for setting in args.child_env)}
    if args.x:
        argv += ["--x", args.x]
        env["DISPLAY"] = args.x
        env.pop("QT_QPA_PLATFORM", None)
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    if args.no_worker:
        argv.append("--no-worker")
    if args.video:
        argv += ["--video", str(args.video)]
    soak.processes += 1
    with log.open("a") as errors:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True,
                                   env=env, cwd=ROOT)
        assert process.stdout is not None
        for line in lines_or_silence(process, SILENCE_SECONDS):
            if line is None:  # nothing for minutes: the window is hung, not slow
                soak.stuck.append(f"no word from the kiosk for {SILENCE_SECONDS:.0f} s")
                process.send_signal(signal.SIGUSR1)  # its threads' stacks, into the log
                time.sleep(1)
                process.kill()
                break
            fact = json.loads(line)
            kind = fact.pop("kind")
            if kind == "candidate":
                soak.candidates.append(fact)
                if not args.quiet and len(soak.candidates) % 10 == 0:
                    print(f"  {len(soak.candidates)} candidates, "
                          f"{fact['rss_kib'] / 1024:.0f} MiB", flush=True)
            elif kind == "take":
                soak.takes.append(fact)
            elif kind == "kept":
                soak.kept.append(fact)
            elif kind == "stuck":
                soak.stuck.append(fact["waiting_for"])
            elif kind == "started":
                soak.hands, soak.platform = fact["hands"], fact["platform"]
        status = process.wait()
    fatal = "Fatal Python error" in log.read_text(errors="replace")
    if fatal or (status != 0 and not soak.stuck):
        soak.crashes.append(f"process {soak.processes} ended with status {status}"
                            + (" (Fatal Python error)" if fatal else ""))


def lines_or_silence(process: subprocess.Popen[str], seconds: float) -> Iterator[str | None]:
    """The child's lines as they come; None once it has said nothing for `seconds`."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")  # the end

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=seconds)
        except queue.Empty:
            yield None
            return
        if not line:
            return
        yield line


def lost_takes(soak: Soak, data_dir: Path) -> list[str]:
    """Every take and kept answer the children reported, looked for in the store."""
    unlocked = keys.unlock(data_dir, PASSPHRASE)
    store = Store(data_dir, keys.recipients(data_dir), [unlocked.identity])
    lost = []
    try:
        sessions: dict[str, Any] = {}
        for take in soak.takes:
            ref = take["reference"]
            session = sessions.get(ref) or sessions.setdefault(ref, store.find(ref))
            if session is None:
                lost.append(f"{ref}: the whole session")
                continue
            question = take["question"]
            held = [t for t in (session.answers[question].takes if question in session.answers
                                else session.recorded.get(question, []))
                    if t.number == take["take"]]
            if not held:
                lost.append(f"{ref} {question} take {take['take']}: no row")
            elif take["mode"] == "text":
                if held[0].text != take["text"]:
                    lost.append(f"{ref} {question} take {take['take']}: text differs")
            elif not finished_vault(store, session.id, question, take["take"]):
                lost.append(f"{ref} {question} take {take['take']}: recording not finished")
        for kept in soak.kept:
            session = sessions.get(kept["reference"]) or store.find(kept["reference"])
            answer = session.answers.get(kept["question"]) if session else None
            if answer is None or answer.chosen != kept["take"]:
                lost.append(f"{kept['reference']} {kept['question']}: kept take "
                            f"{kept['take']} is not the answer")
    finally:
        store.close()
    return lost


def finished_vault(store: Store, session_id: str, question: str, take: int) -> bool:
    """Whether the take's recording decrypts to its end (a cut-off file does not)."""
    path = store.video_path(session_id, question, take)
    try:
        with path.open("rb") as source, VaultReader(
                source, [store.session_identity(session_id)]) as reader:
            return reader.read_range(0, reader.size)[4:8] == b"ftyp"
    except Exception:  # any failure to read it back means it is lost
        return False


def slope(values: list[float]) -> float:
    """Least-squares slope of `values` against their index."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    return num / sum((x - mean_x) ** 2 for x in range(n))


def report(soak: Soak, lost: list[str], args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    """The figures, as a dict (printed, and written as JSON with --json)."""
    rss = [c["rss_kib"] / 1024 for c in soak.candidates]
    warm = max(10, len(rss) // 10)
    fitted = slope(rss[warm:]) if len(rss) > warm + 1 else 0.0
    counts: dict[str, int] = {}
    for candidate in soak.candidates:
        for key in ("takes", "retakes", "watched", "idle_wipes", "still_here", "timeouts",
                    "breaks", "follow_ups"):
            counts[key] = counts.get(key, 0) + candidate.get(key, 0)
        for key in ("resumed", "declined", "typed", "practice"):
            counts[key] = counts.get(key, 0) + int(candidate[key])
        counts["hindi"] = counts.get("hindi", 0) + int(candidate["language"] == "hi")
    return {
        "seed": args.seed, "hands": soak.hands, "platform": soak.platform,
        "worker": not args.no_worker, "candidates": len(soak.candidates),
        "processes": soak.processes, "crashes": len(soak.crashes),
        "crash_details": soak.crashes, "stuck": soak.stuck, "takes_reported": len(soak.takes),
        "answers_kept": len(soak.kept), "lost_takes": len(lost), "lost_details": lost[:20],
        "rss_first_mib": round(rss[0], 1) if rss else None,
        "rss_after_warmup_mib": round(rss[warm], 1) if len(rss) > warm else None,
        "rss_last_mib": round(rss[-1], 1) if rss else None,
        "slope_mib_per_candidate": round(fitted, 4), "slope_limit": SLOPE_LIMIT_MIB,
        "warmup_candidates": warm,
        "slope_second_half": round(slope(rss[len(rss) // 2:]), 4) if len(rss) > 4 else 0.0,
        "actions": counts, "seconds": round(seconds, 1),
        "rss_mib": [round(value, 1) for value in rss],
        "python_blocks": [c.get("python_blocks") for c in soak.candidates],
    }


def start_x(display: str) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on `display` ("auto": a free one), 1280x800, no window manager."""
    read, write = os.pipe()
    where = [display] if display != "auto" else []
    server = subprocess.Popen(["Xvfb", *where, "-displayfd", str(write), "-screen", "0",
                               "1280x800x24", "-nolisten", "tcp"], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as numbers:
        number = numbers.readline().strip()  # written once the server accepts clients
    if not number:
        server.kill()
        raise SystemExit(f"Xvfb did not start on {display}")
    return server, f":{number}"


def main(argv: list[str] | None = None) -> int:
    """Run the soak; print the figures; exit 0 only if nothing crashed or was lost."""
    parser = argparse.ArgumentParser(prog="window_soak", description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("--x", metavar="DISPLAY",
                        help="start Xvfb on DISPLAY (auto: a free one), drive it with xdotool")
    parser.add_argument("--no-worker", action="store_true",
                        help="no transcription worker process (faster)")
    parser.add_argument("--video", type=Path, help="a video file as sample media")
    parser.add_argument("--staff-every", type=float, default=0.1,
                        help="chance staff use the console after a candidate")
    parser.add_argument("--data-dir", type=Path, help="keep the kiosk here (default: temp)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--child-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the kiosk process (a comparison)")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 10**6)
    print(f"window soak: seed {args.seed}, {args.candidates} candidates, "
          f"{'Xvfb ' + args.x + ' + xdotool' if args.x else 'offscreen'}", flush=True)
    if args.x and shutil.which("xdotool") is None:
        raise SystemExit("xdotool is not installed (scripts/system-packages.sh test)")
    scratch = tempfile.TemporaryDirectory(prefix="window-soak-")
    data_dir = args.data_dir or Path(scratch.name) / "kiosk"
    prepare(data_dir)
    log = Path(scratch.name) / "children.log"
    server = None
    if args.x:
        server, args.x = start_x(args.x)
    soak = Soak()
    started = time.monotonic()
    try:
        while len(soak.candidates) < args.candidates and soak.processes < MAX_CHILDREN \
                and not soak.stuck:
            done = len(soak.candidates)
            run_child(soak, args, data_dir, done, args.candidates - done, log)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
    lost = lost_takes(soak, data_dir)
    figures = report(soak, lost, args, time.monotonic() - started)
    print(json.dumps(figures, indent=2), flush=True)
    if soak.crashes or soak.stuck:
        print(f"--- the children's standard error (last 4000 characters) ---\n"
              f"{log.read_text(errors='replace')[-4000:]}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    scratch.cleanup()
    bad = (figures["crashes"] or figures["lost_takes"] or soak.stuck
           or figures["candidates"] < args.candidates
           or figures["slope_mib_per_candidate"] >= SLOPE_LIMIT_MIB)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
