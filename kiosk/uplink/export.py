"""`kiosk export`: everything HQ should have, in one signed bundle for a USB stick.

The bundle holds the same items the online sync sends — records sealed to HQ's key, the
recordings' vault files as they are — so HQ takes them in the same way and counts each item
once however it arrived. Exporting does not mark anything as sent: the kiosk cannot know the
stick reached HQ, and HQ answers "already" when the sync later offers the same items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from kiosk import keys
from kiosk.errors import KioskError
from kiosk.session import SessionStatus
from kiosk.store import Store
from kiosk.store.outbox import Entry
from kiosk.store.results import transcripts
from kiosk.templates import DEMO_TEMPLATE_ID
from kiosk.uplink import enrollment
from kiosk.uplink import items as sync_items
from sync import protocol
from sync.bundle import EntrySpec, write_bundle


def _session_ids(store: Store, since: datetime | None) -> list[str]:
    rows = store.connection.execute(
        "SELECT id, ended_at FROM sessions WHERE status = ? AND template_id != ? "
        "ORDER BY ended_at", (SessionStatus.COMPLETED.value, DEMO_TEMPLATE_ID)).fetchall()
    return [sid for sid, ended in rows
            if since is None or (ended and datetime.fromisoformat(ended) >= since)]


def _entries(store: Store, link: enrollment.HqLink, session_ids: list[str]) -> Iterator[EntrySpec]:
    hq = link.recipient
    for sid in session_ids:
        session = store.find(sid)
        assert session is not None
        record = sync_items.session_record(store, session, hq)
        yield EntrySpec(record.item_id, "session", {"session_id": sid},
                        protocol.record_body(record))
        for question_id in transcripts(store, sid):
            found = sync_items.transcript_record(store, sid, question_id, hq)
            if found is not None:
                yield EntrySpec(found.item_id, "transcript", {"session_id": sid},
                                protocol.record_body(found))
        answers = sync_items.self_id_record(store, sid, hq)
        if answers is not None:
            yield EntrySpec(answers.item_id, "selfid", {"session_id": sid},
                            protocol.record_body(answers))
        for number, kind in enumerate(sync_items.recording_kinds(store, session)):
            recording = sync_items.recording_file(store, Entry(number, sid, kind, 0))
            if recording is not None:
                yield EntrySpec(recording.item_id, "recording",
                                {"session_id": sid, "meta": recording.meta}, recording.path)


def export_bundle(store: Store, unlocked: keys.UnlockedKeys, directory: Path,
                  since: datetime | None = None,
                  progress: Callable[[int, int], None] | None = None) -> tuple[Path, int]:
    """Write the bundle into `directory`; return its path and how many sessions it holds."""
    link = enrollment.require_link(store.data_dir)
    session_ids = _session_ids(store, since)
    entries = list(_entries(store, link, session_ids))
    try:
        path = write_bundle(directory, link.device_id, unlocked.signing, entries,
                            since=since.isoformat() if since else None, progress=progress)
    except FileExistsError:
        raise KioskError("a bundle with this second's name is already there; "
                         "try again in a moment") from None
    except OSError as exc:
        raise KioskError(f"cannot write the bundle to {directory}: {exc.strerror} "
                         f"(is the stick full or read-only?)") from None
    with store.transaction():
        store.audit.append("sessions.exported", {"count": len(session_ids),
                                                 "bundle": path.name})
    return path, len(session_ids)
