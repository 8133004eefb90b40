"""The kiosk's local store: SQLite (WAL, synchronous=FULL, secure_delete) owned by one writer.

`Store` is the flow's `SessionArchive`: every save writes the whole session in one
transaction, and a completed session's outbox entry goes in the same transaction. Each
take is also committed on its own the moment it ends (`save_take`), before the candidate
decides to use it. Candidate
columns are encrypted under the session's own keys (`kiosk.store.cipher`); erasing a
session destroys those keys, deletes its rows and files, and truncates the WAL so no copy
of the sealed keys is left in the database files.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from kiosk.errors import KioskError
from kiosk.session import (
    Accommodations,
    Answer,
    CandidateDetails,
    Consents,
    FollowUp,
    FollowUpOutcome,
    Session,
    SessionStatus,
    Take,
)
from kiosk.store import jobs
from kiosk.store.audit import AuditLog
from kiosk.store.cipher import SessionKeys
from kiosk.store.schema import migrate
from kiosk.templates import AnswerMode, InterviewTemplate, parse_template
from kiosk.vault import Identity, Recipient

DATABASE_FILE = "kiosk.db"
AUDIT_HEAD_FILE = "audit.head"
MEDIA_DIR = "media"


class StoreError(KioskError):
    """The local store cannot do what was asked."""


class LockedError(StoreError):
    """Reading candidate data needs the kiosk unlocked with the staff passphrase."""


class SessionNotFoundError(StoreError):
    """No session has that reference code or id."""


@dataclass(frozen=True)
class Erasure:
    """What erasing one session removed."""

    session_id: str
    rows: int
    files: int


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Store:
    """One kiosk's database and media folder. Use it from one thread: it owns the writer."""

    def __init__(self, data_dir: Path, recipients: Sequence[Recipient],
                 identities: Sequence[Identity] = (), notice_version: str = "") -> None:
        self.data_dir = data_dir
        self.media_root = data_dir / MEDIA_DIR
        self._recipients = list(recipients)
        self._identities = list(identities)
        self._notice_version = notice_version
        self._keys: dict[str, SessionKeys] = {}
        self._templates: dict[str, InterviewTemplate] = {}
        self._db = sqlite3.connect(data_dir / DATABASE_FILE, isolation_level=None)
        self._closed = False
        try:
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON",
                           "foreign_keys=ON"):
                self._db.execute(f"PRAGMA {pragma}")
            self.migrations_applied = migrate(self._db)
        except BaseException:
            self._db.close()
            raise
        self.db = sqlite_utils.Database(self._db)
        self.audit = AuditLog(self._db, data_dir / AUDIT_HEAD_FILE)
        # Called when another process holds the write lock too long (the app wakes its
        # paused worker here); None: the write fails with the lock error.
        self.on_locked: Callable[[], None] | None = None

    def close(self) -> None:
        """Checkpoint the WAL into the database and close (again: nothing)."""
        if self._closed:
            return
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
        self._closed = True

    @property
    def connection(self) -> sqlite3.Connection:
        """The one connection (for the store's own modules: jobs, results)."""
        return self._db

    def unlock(self, identities: Sequence[Identity]) -> None:
        """Allow reading candidate data with these (the kiosk's) identities."""
        self._identities = list(identities)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the audit head is pinned after it commits."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            # Another process kept the write lock past the busy timeout. On a kiosk that is
            # the worker, paused (SIGSTOP) while an answer was recorded, perhaps inside a
            # transaction of its own: wake it, then wait again (found by the window soak).
            if self.on_locked is None or "locked" not in str(exc):
                raise
            self.on_locked()
            self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self.audit.pin_head()

    # --- keys and media -------------------------------------------------------------------

    def _session_keys(self, session_id: str, create: bool = False) -> SessionKeys:
        keys = self._keys.get(session_id)
        if keys is not None:
            return keys
        row = self._db.execute("SELECT sealed FROM session_keys WHERE session_id = ?",
                               (session_id,)).fetchone()
        if row is None:
            if not create:
                raise SessionNotFoundError("that session has no keys (it was erased)")
            keys = SessionKeys.generate()
            self._db.execute("INSERT INTO session_keys VALUES (?, ?)",
                             (session_id, keys.seal(self._recipients)))
        else:
            if not self._identities:
                raise LockedError("the kiosk is locked: unlock it with the staff passphrase")
            keys = SessionKeys.unseal(row[0], self._identities)
        self._keys[session_id] = keys
        return keys

    def media_dir(self, session_id: str) -> Path:
        """Where the session's vault files go (created owner-only)."""
        path = self.media_root / session_id
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def video_path(self, session_id: str, question_id: str, take: int) -> Path:
        """Where a take's recording (H.264 + AAC, fragmented MP4, in a vault file) lives."""
        return self.media_dir(session_id) / f"{question_id}.take{take}.video.vault"

    def audio_path(self, session_id: str, question_id: str, take: int) -> Path:
        """Where a take's 16 kHz audio copy (AAC in a vault file) lives."""
        return self.media_dir(session_id) / f"{question_id}.take{take}.audio.vault"

    def session_keys(self, session_id: str) -> SessionKeys:
        """The session's keys (needs the kiosk unlocked unless created in this process)."""
        return self._session_keys(session_id)

    def save_recording_stats(self, session_id: str, question_id: str, take: int,
                             stats: Mapping[str, object]) -> None:
        """Keep a take's capture facts (dropped frames, audio gaps, drift) with the take."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO recordings VALUES (?, ?, ?, ?, ?)",
                       (session_id, question_id, take, datetime.now(UTC).isoformat(),
                        json.dumps(dict(stats))))

    def recording_stats(self, session_id: str) -> dict[tuple[str, int], dict[str, object]]:
        """Capture facts of every recorded take of a session, by (question, take)."""
        return {(question_id, take): json.loads(stats) for question_id, take, stats in
                self._db.execute("SELECT question_id, take, stats FROM recordings "
                                 "WHERE session_id = ?", (session_id,))}

    def media_recipients(self, session_id: str) -> list[Recipient]:
        """Who the session's recordings are sealed to: its own key, then HQ's (if enrolled)."""
        own = self._session_keys(session_id).identity.recipient
        return [own, *self._recipients[1:]]

    def session_identity(self, session_id: str) -> Identity:
        """The identity that opens the session's recordings (needs the kiosk unlocked)."""
        return self._session_keys(session_id).identity

    def keep_template(self, template: InterviewTemplate) -> None:
        """Keep the template's exact text, so its sessions are scored against that version."""
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO templates VALUES (?, ?, ?, ?)",
                       (template.sha256, template.id, template.text.encode("utf-8"),
                        datetime.now(UTC).isoformat()))

    def kept_template(self, sha256: str) -> InterviewTemplate | None:
        """The template with this digest, as kept when its sessions ran (parsed once: a
        digest names one text forever, and retention and sync ask for every session's)."""
        if sha256 not in self._templates:
            row = self._db.execute("SELECT toml, id FROM templates WHERE sha256 = ?",
                                   (sha256,)).fetchone()
            if row is None:
                return None
            self._templates[sha256] = parse_template(bytes(row[0]), f"{row[1]} (kept)")
        return self._templates[sha256]

    # --- SessionArchive -------------------------------------------------------------------

    def save(self, session: Session) -> None:
        """Write the whole session in one transaction (plus its outbox entry when complete)."""
        with self.transaction() as db:
            keys = self._session_keys(session.id, create=True)
            sid = session.id

            def enc(value: str, column: str) -> bytes:
                return keys.encrypt(value, f"{column}:{sid}")

            db.execute(
                "INSERT OR REPLACE INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (sid, session.reference, session.template_id, session.template_sha256,
                 session.language, session.status.value, _time(session.started_at),
                 _time(session.updated_at), _time(session.ended_at), session.interruption,
                 session.stopped_at_step, session.breaks_taken,
                 enc(session.candidate.name, "sessions.name"),
                 enc(session.candidate.contact, "sessions.contact"),
                 enc(json.dumps(asdict(session.accommodations)), "sessions.accommodations")))
            consents = session.consents
            for item, given in (("recording", consents.recording),
                                ("retention", consents.retention),
                                ("ai_scoring", consents.ai_scoring)):
                db.execute("INSERT OR REPLACE INTO consents VALUES (?,?,?,?,?)",
                           (sid, item, int(given), consents.notice_version or self._notice_version,
                            _time(consents.given_at)))
            for answer in session.answers.values():
                db.execute("INSERT OR REPLACE INTO answers VALUES (?,?,?,?)",
                           (sid, answer.question_id, answer.chosen, _time(answer.submitted_at)))
                if self.audio_path(sid, answer.question_id, answer.chosen).exists():
                    # Queued with the answer itself: if the kiosk dies now, the job is there.
                    jobs.enqueue(self, jobs.TRANSCRIBE, sid, answer.question_id)
                for take in answer.takes:
                    self._write_take(db, keys, sid, answer.question_id, take)
            for question_id, takes in session.recorded.items():
                for take in takes:
                    self._write_take(db, keys, sid, question_id, take)
            decided = {row[0] for row in db.execute(
                "SELECT question_id FROM follow_ups WHERE session_id = ?", (sid,))}
            for follow_up in session.follow_ups.values():
                db.execute("INSERT OR REPLACE INTO follow_ups VALUES (?,?,?,?,?)",
                           (sid, follow_up.question_id, follow_up.outcome.value,
                            follow_up.probe_id, _time(follow_up.decided_at)))
                if follow_up.question_id not in decided:  # automated processing: audited
                    self.audit.append("follow_up.decided", {
                        "session_id": sid, "question_id": follow_up.question_id,
                        "outcome": follow_up.outcome.value, "probe_id": follow_up.probe_id},
                        "kiosk")
            if session.drive is not None:
                db.execute("INSERT OR REPLACE INTO drive_sessions VALUES (?,?,?)",
                           (sid, session.drive, session.invite))
            if session.status in (SessionStatus.COMPLETED, SessionStatus.INTERRUPTED):
                self._queue_for_hq(db, session)

    def save_take(self, session: Session, question_id: str, take: Take) -> None:
        """Commit one finished take, before the candidate decides to use it: a kiosk that
        dies on the review screen keeps it, and the session resumes with it. A typed take's
        text is encrypted like every answer. Whether it is kept is the answers row, later."""
        with self.transaction() as db:
            self._write_take(db, self._session_keys(session.id, create=True), session.id,
                             question_id, take)

    @staticmethod
    def _write_take(db: sqlite3.Connection, keys: SessionKeys, sid: str, question_id: str,
                    take: Take) -> None:
        where = f"takes.text:{sid}/{question_id}/{take.number}"
        text = keys.encrypt(take.text, where) if take.text is not None else None
        db.execute(
            "INSERT OR REPLACE INTO takes (session_id, question_id, number, mode, "
            "started_at, seconds, ended_by, text_enc) VALUES (?,?,?,?,?,?,?,?)",
            (sid, question_id, take.number, take.mode.value, _time(take.started_at),
             take.seconds, take.ended_by, text))

    def _queue_for_hq(self, db: sqlite3.Connection, session: Session) -> None:
        """A finished session goes to HQ; so does an abandoned one (HQ counts where people
        stop). One resumed and completed later goes again, as a revision."""
        sid = session.id
        queued = db.execute("SELECT sent_at FROM outbox WHERE session_id = ? AND "
                            "kind = 'session'", (sid,)).fetchone()
        if queued is None:
            db.execute("INSERT INTO outbox (session_id, kind, priority, created_at) "
                       "VALUES (?, 'session', 0, ?)",
                       (sid, _time(session.ended_at or session.updated_at)))
        elif session.status is SessionStatus.COMPLETED and queued[0] is not None:
            db.execute("UPDATE outbox SET sent_at = NULL, rejected_at = NULL WHERE "
                       "session_id = ? AND kind = 'session'", (sid,))
        if session.status is SessionStatus.COMPLETED:
            # Queued after this session's transcriptions, so it usually runs last.
            jobs.enqueue(self, jobs.SCORE, sid)

    def find(self, reference: str) -> Session | None:
        """The session with this reference code (or internal id), decrypted; None if none."""
        row = self._db.execute("SELECT * FROM sessions WHERE reference = ? OR id = ?",
                               (reference, reference)).fetchone()
        if row is None:
            return None
        (sid, ref, template_id, sha, language, status, started, updated, ended, interruption,
         stopped, breaks, name, contact, accommodations) = row
        keys = self._session_keys(sid)
        consents = {item: (bool(given), version, at) for item, given, version, at in
                    self._db.execute("SELECT item, given, notice_version, given_at FROM "
                                     "consents WHERE session_id = ?", (sid,))}
        given_at = _parse(consents["recording"][2])
        assert given_at is not None
        session = Session(
            id=sid, reference=ref, template_id=template_id, template_sha256=sha,
            language=language,
            candidate=CandidateDetails(keys.decrypt(name, f"sessions.name:{sid}"),
                                       keys.decrypt(contact, f"sessions.contact:{sid}")),
            consents=Consents(recording=consents["recording"][0],
                              retention=consents["retention"][0],
                              ai_scoring=consents["ai_scoring"][0], given_at=given_at,
                              notice_version=consents["recording"][1]),
            started_at=_parse(started) or given_at,
            accommodations=Accommodations(**json.loads(keys.decrypt(
                accommodations, f"sessions.accommodations:{sid}"))),
            status=SessionStatus(status), updated_at=_parse(updated), ended_at=_parse(ended),
            interruption=interruption, stopped_at_step=stopped, breaks_taken=breaks,
        )
        takes: dict[str, list[Take]] = {}
        for question_id, number, mode, at, seconds, ended_by, text in self._db.execute(
                "SELECT question_id, number, mode, started_at, seconds, ended_by, text_enc "
                "FROM takes WHERE session_id = ? ORDER BY question_id, number", (sid,)):
            takes.setdefault(question_id, []).append(Take(
                number=number, mode=AnswerMode(mode), started_at=_parse(at) or given_at,
                seconds=seconds, ended_by=ended_by,
                text=None if text is None else keys.decrypt(
                    text, f"takes.text:{sid}/{question_id}/{number}")))
        for question_id, chosen, submitted in self._db.execute(
                "SELECT question_id, chosen_take, submitted_at FROM answers WHERE "
                "session_id = ? ORDER BY submitted_at", (sid,)):
            submitted_at = _parse(submitted)
            assert submitted_at is not None
            session.answers[question_id] = Answer(question_id, takes.pop(question_id, []),
                                                  chosen, submitted_at)
        session.recorded = takes  # finished takes of questions not yet submitted
        at_drive = self._db.execute("SELECT drive, invite FROM drive_sessions WHERE "
                                    "session_id = ?", (sid,)).fetchone()
        if at_drive is not None:
            session.drive, session.invite = at_drive
        for question_id, outcome, probe_id, decided in self._db.execute(
                "SELECT question_id, outcome, probe_id, decided_at FROM follow_ups WHERE "
                "session_id = ? ORDER BY decided_at", (sid,)):
            session.follow_ups[question_id] = FollowUp(question_id, FollowUpOutcome(outcome),
                                                       probe_id, _parse(decided))
        return session

    def session_id(self, reference_or_id: str) -> str:
        """The internal id of the session with this reference code (or id)."""
        row = self._db.execute("SELECT id FROM sessions WHERE reference = ? OR id = ?",
                               (reference_or_id, reference_or_id)).fetchone()
        if row is None:
            raise SessionNotFoundError("no session has that reference code")
        return str(row[0])

    # --- erasure --------------------------------------------------------------------------

    def erase(self, reference_or_id: str, actor: str = "staff") -> Erasure:
        """Destroy a session's keys, rows and files; audit that it happened, not who it was."""
        sid = self.session_id(reference_or_id)
        media = self.media_root / sid
        files = sum(1 for p in media.rglob("*") if p.is_file()) if media.exists() else 0
        with self.transaction() as db:
            rows = 0
            for table in ("takes", "answers", "consents", "transcripts", "scores", "notes",
                          "outbox", "jobs", "recordings", "decisions", "self_ids",
                          "record_revisions", "follow_ups", "drive_sessions", "session_keys",
                          "sessions"):
                column = "id" if table == "sessions" else "session_id"
                rows += db.execute(f"DELETE FROM {table} WHERE {column} = ?",  # noqa: S608
                                   (sid,)).rowcount
            self.audit.append("session.erased",
                              {"session_id": sid, "rows": rows, "files": files}, actor)
        self._keys.pop(sid, None)
        shutil.rmtree(media, ignore_errors=True)
        # Old page images (with the sealed keys) may sit in the WAL: fold it in and empty it.
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return Erasure(sid, rows, files)
