"""HQ ingest with many kiosks syncing at once, against a real HQ server, on SQLite and PostgreSQL.

For each database, one real HQ (`kiosk-hq serve` under Uvicorn, its own process, on loopback,
`--rate-limit` high enough never to throttle) and `--kiosks` simulated kiosks. Each kiosk
has its own Ed25519 key and enrolls over HTTP with its own one-time code. Before the clock
starts, each kiosk's records are built: `--sessions` sessions, each one session record
(the scorecard) and 3 transcript records, with realistic metadata and content really sealed
to HQ's recipient. The kiosks run as threads (one `HqClient` each) in `--processes` worker
processes. They all start together and each sends its records in priority order: every
scorecard first, then the transcripts. Transient errors are retried with a short backoff
and counted.

Reported: scorecards ingested per second (session records over the time from the start
until the last one was acknowledged), records per second, p50 and p99 request latency,
retries and errors. Then exactly-once is checked in HQ's database: every session and item
there once, nothing missing, nothing extra, every item at revision 1, its SHA-256 as sent;
a sample of records is sent again and must answer "already", leaving the counts unchanged.

Baseline, same run, same records: `hq.ingest.store_record` in-process on a fresh database of
the same kind, one thread, no HTTP, no signatures. The target (DESIGN.md) is at least 200
scorecards/s on SQLite on this machine, and nothing lost or duplicated on either database.

    .venv/bin/python bench/hq_load.py [--kiosks 50] [--sessions 40] [--db both] [--quick]

Exit status: 0 after a run in which nothing was lost or duplicated (however slow), 1 if
anything was lost, duplicated, altered or refused, 2 if HQ could not be started.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.client
import importlib.util
import json
import math
import multiprocessing as mp
import os
import platform
import random
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _machine import cpu_model  # bench/ is on the path when a script runs
from cryptography.hazmat.primitives.asymmetric import ed25519

from hq.devices import new_enroll_code
from hq.ingest import store_record
from hq.storage import HqStorage, items, sessions
from kiosk.reference import new_reference
from kiosk.vault import Recipient, seal_bytes
from sync import protocol
from sync.client import HqClient, Response, SyncError, TransientSyncError, check

PG_URL = "postgresql://127.0.0.1:5432/test"
PASSPHRASE = "hq load bench passphrase, not a secret"  # noqa: S105 - a throwaway test HQ
TARGET_SCORECARDS_PER_S = 200.0
TRANSCRIPTS_PER_SESSION = 3
MAX_RETRIES = 8
QUESTIONS = ("introduce-yourself", "difficult-customer", "why-this-role")
COMPETENCIES = ("communication", "problem-solving", "customer-focus", "reliability")
WORDS = ("I", "worked", "at", "the", "front", "desk", "of", "a", "busy", "clinic", "for",
         "two", "years", "and", "when", "a", "customer", "was", "upset", "listened", "first",
         "then", "explained", "what", "we", "could", "do", "example", "team", "queue",
         "because", "calm", "patient", "solved", "problem", "together", "shift", "manager")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=50, help="kiosks syncing at once (50)")
    parser.add_argument("--sessions", type=int, default=40, help="sessions per kiosk (40)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both",
                        help="which database(s) HQ runs on (default: both)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 10 kiosks x 10 sessions")
    parser.add_argument("--processes", type=int, default=5,
                        help="worker processes the kiosks' threads are spread over (5)")
    parser.add_argument("--resend", type=int, default=100,
                        help="records sent a second time to check they answer 'already' (100)")
    parser.add_argument("--rate-limit", type=float, default=10000.0,
                        help="HQ's per-kiosk requests/s limit, set not to throttle (10000)")
    parser.add_argument("--pg-url", default=PG_URL, help=f"PostgreSQL server ({PG_URL})")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where HQ's data directories go (default: the system temp dir)")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="sample the HQ server with py-spy during the timed phase and "
                             "write collapsed stacks to DIR (pip install py-spy)")
    parser.add_argument("--log-dir", type=Path, default=None,
                        help="keep each HQ's server log (its JSON access log) in this directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.kiosks, args.sessions = 10, 10
    if min(args.kiosks, args.sessions, args.processes) < 1 or args.kiosks > 10_000:
        parser.error("--sessions and --processes must be at least 1, --kiosks 1 to 10000")
    args.processes = min(args.processes, args.kiosks)
    return args


# --- the kiosks' records --------------------------------------------------------------------

def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _words(rng: random.Random, count: int) -> list[str]:
    return [rng.choice(WORDS) for _ in range(count)]


def _scorecard(rng: random.Random, reference: str, interview: str, template_sha: str,
               started: datetime, ended: datetime, levels: dict[str, int]) -> dict[str, Any]:
    """A scorecard shaped like `kiosk.scoring.scorecard.build`'s (docs/scorecard.md)."""
    questions = []
    for number, qid in enumerate(QUESTIONS, 1):
        excerpt = " ".join(_words(rng, 40))
        questions.append({
            "id": qid, "number": number, "prompt": f"Question {number}: " + " ".join(
                _words(rng, 14)) + "?", "answered": True, "mode": "video", "take": 1,
            "takes": rng.randint(1, 2), "seconds": round(rng.uniform(30, 120), 1),
            "ended_by": "candidate",
            "transcript": {"excerpt": excerpt, "language": "en", "needs_review": False,
                           "review_reasons": []},
            "delivery": {"question_id": qid, "speaking_seconds": round(rng.uniform(20, 100), 1),
                         "words": rng.randint(60, 250),
                         "words_per_minute": round(rng.uniform(110, 170), 1),
                         "longest_silence": round(rng.uniform(0.5, 4), 1),
                         "share_of_time_used": round(rng.uniform(0.4, 1), 2)},
            "recording": {"frames": rng.randint(900, 3600), "dropped_frames": 0,
                          "audio_gaps": 0, "drift": 0.01, "ended_by": "stop"},
            "highlights": [{"start": 12.3, "end": 13.1, "text": "for example",
                            "competency": rng.choice(COMPETENCIES)}]})
    competencies = [{
        "id": cid, "name": cid.replace("-", " ").title(), "weight": 1.0,
        "suggestion": {"level": level, "withheld": None,
                       "explanation": f"Suggested {level} of 5: " + " ".join(_words(rng, 14)),
                       "evidence": [{"question_id": rng.choice(QUESTIONS), "start": 12.3,
                                     "end": 13.1, "text": "for example",
                                     "indicator": "Gives a concrete example",
                                     "phrase": "for example"}]},
        "reviewer_score": None, "overrides_suggestion": False} for cid, level in levels.items()]
    return {
        "schema": "interview-kiosk/scorecard", "version": 1, "generated_at": _iso(ended),
        "interview": {"id": interview, "role": "Customer support associate",
                      "title": "Walk-in customer support", "template_sha256": template_sha},
        "candidate": {"reference": reference, "language": "en"},
        "session": {"status": "completed", "started_at": _iso(started),
                    "ended_at": _iso(ended), "breaks_taken": 0},
        "consents": {"recording": True, "retention": True, "ai_scoring": True,
                     "notice_version": "kiosk-notice-1", "given_at": _iso(started)},
        "accommodations": [],
        "ai_scoring": {"enabled_by_interview": True, "consented": True,
                       "label": "Suggestions for a human reviewer. They are not decisions."},
        "retention_days": 7, "questions": questions, "competencies": competencies,
        "review": {"decision": None, "notes": []}, "flags": []}


def _transcript(rng: random.Random, qid: str) -> dict[str, Any]:
    """A question's transcript shaped like `Transcript.to_json` (about 2 KB)."""
    words: list[dict[str, Any]] = []
    at = rng.uniform(0.5, 2)
    for word in _words(rng, 20):
        words.append({"start": round(at, 3), "end": round(at + 0.3, 3), "word": " " + word,
                      "probability": round(rng.uniform(0.6, 1), 4)})
        at += rng.uniform(0.3, 0.6)
    segments = [{"start": chunk[0]["start"], "end": chunk[-1]["end"],
                 "text": "".join(w["word"] for w in chunk), "avg_logprob": -0.21,
                 "no_speech_prob": 0.01, "words": chunk}
                for chunk in (words[:10], words[10:])]
    return {"question_id": qid, "transcript": {
        "text": "".join(w["word"] for w in words).strip(), "language": "en",
        "language_probability": 0.99, "duration": round(at + 1, 3), "needs_review": False,
        "review_reasons": [], "model": "tiny.en", "segments": segments}}


def _seal(doc: dict[str, Any], hq: Recipient) -> bytes:
    return seal_bytes(json.dumps(doc, ensure_ascii=False).encode(), [hq])


def session_records(rng: random.Random, hq: Recipient) -> list[protocol.Record]:
    """One completed session as a kiosk sends it: its scorecard and 3 transcripts."""
    session_id = uuid.uuid4().hex
    reference, interview = new_reference(), "walk-in-customer-support-associate"
    template_sha = hashlib.sha256(interview.encode()).hexdigest()
    started = datetime(2026, 11, 30, 9, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 9000))
    ended = started + timedelta(minutes=rng.randint(6, 20))
    levels = {cid: rng.randint(1, 5) for cid in COMPETENCIES}
    meta = protocol.session_meta({
        "reference": reference, "interview_id": interview, "template_sha256": template_sha,
        "language": "en", "status": "completed", "started_at": started.isoformat(),
        "ended_at": ended.isoformat(), "decision": None, "needs_review": rng.random() < 0.2,
        "questions": len(QUESTIONS), "answered": len(QUESTIONS),
        "scores": {cid: {"suggested": level, "reviewer": None}
                   for cid, level in levels.items()}})
    card = _scorecard(rng, reference, interview, template_sha, started, ended, levels)
    sealed = _seal({"scorecard": card,
                    "candidate": {"name": "Meera Iyer", "contact": "meera@example.org"},
                    "accommodations": {}, "typed_answers": {},
                    "session_keys": seal_bytes(os.urandom(96), [hq]).hex()}, hq)
    records = [protocol.Record(protocol.item_id(session_id, "session"), "session", session_id,
                               meta, sealed)]
    for qid in QUESTIONS[:TRANSCRIPTS_PER_SESSION]:
        records.append(protocol.Record(
            protocol.item_id(session_id, "transcript", qid), "transcript", session_id,
            protocol.transcript_meta({"question_id": qid, "needs_review": False}),
            _seal(_transcript(rng, qid), hq)))
    return records


def kiosk_records(count: int, hq: Recipient, rng: random.Random) -> list[protocol.Record]:
    """A kiosk's outbox in priority order: every scorecard, then every transcript."""
    built = [session_records(rng, hq) for _ in range(count)]
    return [one[0] for one in built] + [r for one in built for r in one[1:]]


# --- HQ, its database, enrollment -----------------------------------------------------------

def postgres_version(url: str) -> str | None:
    """The PostgreSQL server's version, or None (with the reason printed) if unreachable."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except Exception as exc:  # any failure at all means: skip PostgreSQL
        print(f"hq_load: PostgreSQL SKIPPED: no server at {url} ({type(exc).__name__}: "
              f"{str(exc).strip()[:200]})", flush=True)
        return None
    return str(row[0]) if row else "unknown"


@contextlib.contextmanager
def database(kind: str, directory: Path, pg_url: str) -> Iterator[str]:
    """A fresh database URL: a SQLite file in `directory`, or a new PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'hq.sqlite3'}"
        return
    import psycopg

    schema = f"hq_load_{secrets.token_hex(6)}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{pg_url}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class HqProcess:
    """A real HQ: `kiosk-hq init`, then `kiosk-hq serve` in its own process."""

    data_dir: Path
    db: str
    rate_limit: float
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where kiosks reach it."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The server's stderr: its JSON access log."""
        return self.data_dir / "server.log"

    def _cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "hq.cli", "--data-dir", str(self.data_dir),
                "--db", self.db, *args]

    def start(self) -> None:
        """Initialise HQ, start serving; return when it accepts connections."""
        secret = self.data_dir / "passphrase"
        secret.write_text(PASSPHRASE, encoding="utf-8")
        subprocess.run(self._cli("init", "--passphrase-file", str(secret)), check=True,
                       capture_output=True, timeout=120)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self._cli("serve", "--port", str(self.port), "--passphrase-file", str(secret),
                          "--rate-limit", str(self.rate_limit)),
                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("HQ exited: " + self.log_path.read_text()[-2000:])
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.1)
        raise RuntimeError("HQ did not start listening within 60 s")

    def stop(self) -> None:
        """SIGTERM, then wait."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
            self.process = None

    def sessions_listed(self) -> list[dict[str, Any]]:
        """What `kiosk-hq sessions list --json` shows an admin."""
        done = subprocess.run(self._cli("sessions", "list", "--json"), check=True,
                              capture_output=True, text=True, timeout=300)
        listed: list[dict[str, Any]] = json.loads(done.stdout)
        return listed


def enroll_from(source: str, url: str, code: str, name: str,
                public_key: ed25519.Ed25519PublicKey) -> protocol.Enrollment:
    """`sync.client.enroll`, but from a loopback address of the kiosk's own.

    HQ limits enrollment attempts per client address (0.2/s, bursts of 10), as it should
    against guessing; 50 kiosks from 127.0.0.1 would wait 200 s. Real kiosks enroll from
    their own sites, so each simulated one gets its own 127.x.y.z source address.
    """
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30,
                                      source_address=(source, 0))
    body = protocol.dumps({"code": code, "name": name, "public_key": base64.b64encode(
        public_key.public_bytes_raw()).decode()})
    try:
        conn.request("POST", protocol.ENROLL_PATH, body=body, headers={
            "Content-Type": "application/json", "Content-Length": str(len(body))})
        answer = conn.getresponse()
        data = answer.read()
    finally:
        conn.close()
    check(Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data),
          "enrollment")
    return protocol.parse_enrollment(data)


@dataclass(frozen=True)
class Kiosk:
    """One simulated kiosk: who it is to HQ, its key, and its outbox."""

    device_id: str
    key: bytes  # raw Ed25519 private key (picklable, for the worker processes)
    records: tuple[protocol.Record, ...]


def enroll_kiosks(hq: HqProcess, count: int, sessions_each: int) -> list[Kiosk]:
    """Enroll `count` kiosks over HTTP, each with its own code and key; build their records."""
    storage = HqStorage(hq.db)
    rng = random.Random()  # noqa: S311 - made-up content, not secrets
    kiosks = []
    try:
        for number in range(count):
            code, _ = new_enroll_code(storage)
            key = ed25519.Ed25519PrivateKey.generate()
            source = f"127.0.{number // 250 + 1}.{number % 250 + 1}"
            enrolled = enroll_from(source, hq.url, code, f"Load kiosk {number + 1}",
                                   key.public_key())
            records = kiosk_records(sessions_each, Recipient.from_text(enrolled.hq_recipient),
                                    rng)
            kiosks.append(Kiosk(enrolled.device_id, key.private_bytes_raw(), tuple(records)))
    finally:
        storage.dispose()
    return kiosks


# --- the timed phase: worker processes, one thread per kiosk --------------------------------

@dataclass(frozen=True)
class Sent:
    """One record's fate: when HQ acknowledged it and what it answered."""

    is_session: bool
    acked: float            # time.monotonic(): CLOCK_MONOTONIC, the same in every process
    latencies: tuple[float, ...]  # every HTTP attempt, in seconds
    answer: str             # new | already | updated | error: ...


def _send_all(url: str, kiosk: Kiosk, start: Any, out: list[Sent]) -> None:
    client = HqClient(url, kiosk.device_id,
                      ed25519.Ed25519PrivateKey.from_private_bytes(kiosk.key))
    start.wait()
    for record in kiosk.records:
        latencies: list[float] = []
        while True:
            began = time.monotonic()
            try:
                answer = client.put_record(record)
            except TransientSyncError as exc:
                latencies.append(time.monotonic() - began)
                if len(latencies) > MAX_RETRIES:
                    answer = f"error: {exc}"
                    break
                time.sleep(exc.retry_after or min(1.0, 0.05 * 2 ** (len(latencies) - 1)))
                continue
            except SyncError as exc:
                latencies.append(time.monotonic() - began)
                answer = f"error: {exc}"
                break
            latencies.append(time.monotonic() - began)
            break
        out.append(Sent(record.kind == "session", time.monotonic(), tuple(latencies), answer))
    client.close()


def _worker(url: str, kiosks: list[Kiosk], start: Any, ready: Any, results: Any) -> None:
    outcomes: list[list[Sent]] = [[] for _ in kiosks]
    threads = [threading.Thread(target=_send_all, args=(url, kiosk, start, out), daemon=True)
               for kiosk, out in zip(kiosks, outcomes, strict=True)]
    for thread in threads:
        thread.start()
    ready.put(len(threads))
    start.wait()
    cpu = time.process_time()
    for thread in threads:
        thread.join()
    results.put(([sent for out in outcomes for sent in out], time.process_time() - cpu))


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # not guest: already in user


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time so far of every local PostgreSQL process (backends come and go: roughly)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == "postgres":
                total += process_cpu_seconds(int(proc.name))
    return total


@dataclass(frozen=True)
class Run:
    """The timed phase: when it began, every record's fate, and who spent the CPU."""

    began: float
    sent: list[Sent]
    server_cpu: float
    kiosks_cpu: float
    machine_cpu: float      # every process on the machine, this benchmark's included
    postgres_cpu: float     # local PostgreSQL processes


def run_kiosks(url: str, kiosks: list[Kiosk], processes: int, server_pid: int,
               profile: Path | None = None) -> Run:
    """Start every kiosk at once; wait until each has sent everything.

    With `profile`, py-spy samples the HQ server for the whole timed phase and writes
    collapsed stacks there (for flamegraph.pl or speedscope). Only samples of the thread
    holding the GIL count (`--gil`): one Python process runs one thread at a time, so these
    show where its CPU goes.
    """
    context = mp.get_context("spawn")
    start, ready, results = context.Event(), context.Queue(), context.Queue()
    workers = [context.Process(target=_worker, args=(url, kiosks[i::processes], start, ready,
                                                     results), daemon=True)
               for i in range(processes)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=300)
    spy = None
    if profile is not None:
        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record",
                                "--pid", str(server_pid), "--rate", "100", "--nonblocking", "--gil",
                                "--format", "raw",
                                "--output", str(profile)], stdout=subprocess.DEVNULL)
        time.sleep(1.0)  # let py-spy attach before the clock starts
    time.sleep(0.2)  # every thread is parked on the event
    server_cpu, machine_cpu = process_cpu_seconds(server_pid), machine_busy_seconds()
    postgres_cpu = postgres_cpu_seconds()
    began = time.monotonic()
    start.set()
    collected = [results.get(timeout=3600) for _ in workers]
    server_cpu = process_cpu_seconds(server_pid) - server_cpu
    machine_cpu = machine_busy_seconds() - machine_cpu
    postgres_cpu = postgres_cpu_seconds() - postgres_cpu
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    for worker in workers:
        worker.join(timeout=60)
    return Run(began, [one for sent, _ in collected for one in sent], server_cpu,
               sum(cpu for _, cpu in collected), machine_cpu, postgres_cpu)


# --- checking exactly-once ------------------------------------------------------------------

@dataclass
class Check:
    """What HQ's database holds against what was sent."""

    sessions: int = 0
    items: int = 0
    revised: int = 0        # items with revisions != 1
    missing: int = 0        # sent, not there
    unexpected: int = 0     # there, never sent
    altered: int = 0        # there, but not the bytes sent
    listed: int = 0         # sessions in `kiosk-hq sessions list --json` with all 4 items
    resent: int = 0
    resent_already: int = 0
    unchanged_after_resend: bool = False

    def problems(self, expected_sessions: int, expected_items: int) -> list[str]:
        """Everything that is not exactly-once."""
        found = []
        if self.sessions != expected_sessions:
            found.append(f"{self.sessions} sessions rows, expected {expected_sessions}")
        if self.items != expected_items:
            found.append(f"{self.items} items, expected {expected_items}")
        for count, what in ((self.revised, "items with revisions != 1"),
                            (self.missing, "records missing"),
                            (self.unexpected, "unexpected items"),
                            (self.altered, "items whose bytes differ from those sent")):
            if count:
                found.append(f"{count} {what}")
        if self.listed != expected_sessions:
            found.append(f"sessions list shows {self.listed} complete sessions, "
                         f"expected {expected_sessions}")
        if self.resent_already != self.resent:
            found.append(f"{self.resent - self.resent_already} of {self.resent} resent "
                         f"records did not answer 'already'")
        if not self.unchanged_after_resend:
            found.append("the counts changed after resending")
        return found


def _expected(kiosks: Sequence[Kiosk]) -> dict[tuple[str, str], str]:
    return {(k.device_id, r.item_id): hashlib.sha256(r.sealed).hexdigest()
            for k in kiosks for r in k.records}


def _counts(storage: HqStorage) -> tuple[int, int, dict[tuple[str, str], tuple[str, int]]]:
    with storage.read() as conn:
        rows = conn.execute(sa.select(items.c.device_id, items.c.item_id, items.c.sha256,
                                      items.c.revisions)).all()
        session_count = conn.execute(sa.select(sa.func.count()).select_from(sessions)).scalar()
    found = {(row.device_id, row.item_id): (row.sha256, row.revisions) for row in rows}
    return int(session_count or 0), len(rows), found


def check_exactly_once(hq: HqProcess, kiosks: list[Kiosk], resend: int) -> Check:
    """Compare HQ's database with what was sent; resend a sample and compare again."""
    expected = _expected(kiosks)
    storage = HqStorage(hq.db)
    try:
        result = Check()
        result.sessions, result.items, found = _counts(storage)
        result.missing = len(expected.keys() - found.keys())
        result.unexpected = len(found.keys() - expected.keys())
        result.revised = sum(1 for _, revisions in found.values() if revisions != 1)
        result.altered = sum(1 for key, (sha, _) in found.items()
                             if key in expected and expected[key] != sha)
        per_session = 1 + TRANSCRIPTS_PER_SESSION
        result.listed = sum(1 for row in hq.sessions_listed() if row["arrived"] == per_session)
        rng = random.Random()  # noqa: S311 - made-up content, not secrets
        pool = [(kiosk, record) for kiosk in kiosks for record in kiosk.records]
        for kiosk, record in rng.sample(pool, min(resend, len(pool))):
            client = HqClient(hq.url, kiosk.device_id,
                              ed25519.Ed25519PrivateKey.from_private_bytes(kiosk.key))
            try:
                result.resent_already += client.put_record(record) == "already"
            except SyncError as exc:
                print(f"hq_load: resending {record.item_id} failed: {exc}", file=sys.stderr)
            finally:
                client.close()
            result.resent += 1
        again_sessions, again_items, again = _counts(storage)
        result.unchanged_after_resend = (again_sessions, again_items, again) == (
            result.sessions, result.items, found)
    finally:
        storage.dispose()
    return result


# --- baseline: in-process ingest, one thread, no HTTP ---------------------------------------

def baseline(url: str, kiosks: list[Kiosk]) -> tuple[float, float]:
    """Seconds to store every scorecard, and every record, with `store_record` directly."""
    storage = HqStorage(url)
    storage.migrate()
    try:
        began = time.perf_counter()
        for kiosk in kiosks:
            for record in kiosk.records:
                if record.kind == "session":
                    store_record(storage, kiosk.device_id, record)
        scorecards = time.perf_counter() - began
        for kiosk in kiosks:
            for record in kiosk.records:
                if record.kind != "session":
                    store_record(storage, kiosk.device_id, record)
        return scorecards, time.perf_counter() - began
    finally:
        storage.dispose()


# --- one database, start to finish ----------------------------------------------------------

@dataclass
class Outcome:
    """Everything measured on one database."""

    db: str
    scorecards: int
    records: int
    scorecard_seconds: float
    total_seconds: float
    latencies: list[float]
    retries: int
    errors: list[str]
    answers: dict[str, int]
    baseline_scorecard_seconds: float
    baseline_total_seconds: float
    check: Check
    server_cpu: float       # CPU seconds the HQ process used during the timed phase
    kiosks_cpu: float       # the same, for all the kiosks' worker processes together
    machine_cpu: float      # the same, for the whole machine
    postgres_cpu: float     # the same, for the local PostgreSQL server's processes


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_database(kind: str, args: argparse.Namespace, workdir: Path) -> Outcome:
    """One HQ on one database: enroll, sync under load, check, then the baseline."""
    directory = workdir / kind
    directory.mkdir()
    with database(kind, directory, args.pg_url) as url:
        hq = HqProcess(directory, url, args.rate_limit)
        hq.start()
        try:
            print(f"[{kind}] HQ at {hq.url}; enrolling {args.kiosks} kiosks and sealing "
                  f"their records ...", flush=True)
            kiosks = enroll_kiosks(hq, args.kiosks, args.sessions)
            sizes = {kind_: [len(r.sealed) for k in kiosks for r in k.records
                             if r.kind == kind_] for kind_ in ("session", "transcript")}
            print(f"[{kind}] sealed sizes: scorecard mean "
                  f"{sum(sizes['session']) / len(sizes['session']):.0f} B, transcript mean "
                  f"{sum(sizes['transcript']) / len(sizes['transcript']):.0f} B; "
                  f"{args.kiosks} kiosks in {args.processes} processes, go", flush=True)
            assert hq.process is not None
            profile = None
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                profile = args.profile / f"hq_load-{kind}-server.txt"
            run = run_kiosks(hq.url, kiosks, args.processes, hq.process.pid, profile)
            if profile is not None:
                print(f"[{kind}] py-spy profile of the server in {profile}")
            print(f"[{kind}] checking exactly-once ...", flush=True)
            checked = check_exactly_once(hq, kiosks, args.resend)
        finally:
            hq.stop()
            if args.log_dir:
                args.log_dir.mkdir(parents=True, exist_ok=True)
                kept = args.log_dir / f"hq_load-{kind}-server.log"
                kept.write_bytes(hq.log_path.read_bytes())
                print(f"[{kind}] server log kept at {kept}")
    (directory / "baseline").mkdir()
    with database(kind, directory / "baseline", args.pg_url) as base_url:
        print(f"[{kind}] baseline: store_record in-process ...", flush=True)
        base_scorecards, base_total = baseline(base_url, kiosks)
    sent, began = run.sent, run.began
    answers: dict[str, int] = {}
    for one in sent:
        key = "error" if one.answer.startswith("error") else one.answer
        answers[key] = answers.get(key, 0) + 1
    return Outcome(
        kind, sum(1 for s in sent if s.is_session), len(sent),
        max(s.acked for s in sent if s.is_session) - began, max(s.acked for s in sent) - began,
        [latency for s in sent for latency in s.latencies],
        sum(len(s.latencies) - 1 for s in sent),
        [s.answer for s in sent if s.answer.startswith("error")], answers,
        base_scorecards, base_total, checked, run.server_cpu, run.kiosks_cpu,
        run.machine_cpu, run.postgres_cpu)


# --- reporting ------------------------------------------------------------------------------

def machine_line(pg: str) -> str:
    """One line naming the machine and the software measured."""
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return (f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, PostgreSQL {pg}, "
            f"FastAPI {version('fastapi')}, Starlette {version('starlette')}, "
            f"Uvicorn {version('uvicorn')} ({parser}), SQLAlchemy {version('sqlalchemy')}, "
            f"psycopg {version('psycopg')}")


def code_line() -> str:
    """Which code was measured: the commit, and a digest of HQ's and sync's sources as run."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*root.glob("hq/**/*.py"), *root.glob("sync/**/*.py")]):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return f"code: commit {commit}, hq/ and sync/ sources as run: sha256 {digest.hexdigest()[:12]}"


def format_tables(outcomes: list[Outcome]) -> str:
    """Markdown tables: throughput against baseline and target, then exactly-once."""
    lines = ["| database | scorecards/s | records/s | p50 ms | p99 ms | retries | errors "
             "| baseline scorecards/s | baseline records/s | ours/baseline | "
             f"scorecards/s ÷ {TARGET_SCORECARDS_PER_S:.0f} |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for o in outcomes:
        ours_sc, ours_all = o.scorecards / o.scorecard_seconds, o.records / o.total_seconds
        base_sc = o.scorecards / o.baseline_scorecard_seconds
        base_all = o.records / o.baseline_total_seconds
        lines.append(
            f"| {o.db} | {ours_sc:.0f} | {ours_all:.0f} | "
            f"{percentile(o.latencies, 0.5) * 1000:.1f} | "
            f"{percentile(o.latencies, 0.99) * 1000:.1f} | {o.retries} | {len(o.errors)} | "
            f"{base_sc:.0f} | {base_all:.0f} | {ours_all / base_all:.2f} | "
            f"{ours_sc / TARGET_SCORECARDS_PER_S:.2f} |")
    lines += ["", "| database | sessions rows | items | revisions ≠ 1 | missing | unexpected "
              "| altered | listed complete | resent → already | counts unchanged |",
              "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|"]
    for o in outcomes:
        c = o.check
        lines.append(f"| {o.db} | {c.sessions} | {c.items} | {c.revised} | {c.missing} | "
                     f"{c.unexpected} | {c.altered} | {c.listed} | "
                     f"{c.resent_already}/{c.resent} | "
                     f"{'yes' if c.unchanged_after_resend else 'NO'} |")
    return "\n".join(lines)


def report(outcome: Outcome, expected_sessions: int) -> list[str]:
    """Print what happened on one database and where the CPU went; return what failed."""
    print(f"[{outcome.db}] answers during the run: {outcome.answers}; "
          f"{outcome.scorecards} scorecards in {outcome.scorecard_seconds:.2f} s, "
          f"all {outcome.records} records in {outcome.total_seconds:.2f} s; "
          f"baseline {outcome.baseline_scorecard_seconds:.2f} s and "
          f"{outcome.baseline_total_seconds:.2f} s", flush=True)
    seconds = outcome.total_seconds
    others = (outcome.machine_cpu - outcome.server_cpu - outcome.kiosks_cpu
              - outcome.postgres_cpu)
    print(f"[{outcome.db}] CPU during the timed phase ({seconds:.1f} s, {os.cpu_count()} "
          f"cores): HQ server {outcome.server_cpu:.1f} s "
          f"({outcome.server_cpu / seconds:.0%} of one core, "
          f"{outcome.server_cpu / outcome.records * 1000:.2f} ms per request), "
          f"kiosk workers {outcome.kiosks_cpu:.1f} s, PostgreSQL {outcome.postgres_cpu:.1f} s, "
          f"everything else on the machine {max(0.0, others):.1f} s", flush=True)
    problems = outcome.check.problems(expected_sessions,
                                      expected_sessions * (1 + TRANSCRIPTS_PER_SESSION))
    return problems + sorted(set(outcome.errors))[:5]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results; see the module docstring for exit codes."""
    args = parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    pg = "not used"
    if "postgresql" in kinds:
        pg = postgres_version(args.pg_url) or "not reached"
        if pg == "not reached":
            kinds.remove("postgresql")
    if not kinds:
        return 0
    print(machine_line(pg))
    print(code_line())
    print("load average before the run: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print(f"{args.kiosks} kiosks x {args.sessions} sessions x "
          f"{1 + TRANSCRIPTS_PER_SESSION} records; target {TARGET_SCORECARDS_PER_S:.0f} "
          f"scorecards/s on SQLite", flush=True)
    outcomes, failed = [], False
    with tempfile.TemporaryDirectory(prefix="hq-load-", dir=args.work_dir) as workdir:
        for kind in kinds:
            try:
                outcome = run_database(kind, args, Path(workdir))
            except (RuntimeError, SyncError, subprocess.CalledProcessError) as exc:
                detail = getattr(exc, "stderr", b"") or b""
                print(f"hq_load: [{kind}] HQ could not be run: {exc} "
                      f"{detail.decode(errors='replace')[-1000:]}", file=sys.stderr)
                return 2
            outcomes.append(outcome)
            problems = report(outcome, args.kiosks * args.sessions)
            for problem in problems:
                print(f"hq_load: [{kind}] FAILED: {problem}", file=sys.stderr)
            failed = failed or bool(problems)
    print(format_tables(outcomes))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
