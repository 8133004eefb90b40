"""The kiosk's heartbeat: what it tells HQ of itself with each sync pass (`sync.heartbeat`).

Each member is read when the heartbeat is built, from the kiosk's own state:

    app_version                 the installed package's version
    interview_id, drive         the running app's status (`kiosk.uplink.status`)
    camera, microphone, *_since, last_error        the same
    last_candidate_at           the newest session's start (demo sessions are not candidates)
    transcription_backlog       transcription jobs queued or running
    outbox_backlog              outbox entries waiting for HQ (as `kiosk sync status` counts)
    recording_minutes_left      the disk-space check's estimate for the data directory
    recipient                   the kiosk's own vault recipient (public: no passphrase)

Counts, times, states and code words only: nothing in it names or describes a candidate.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from capture.disk import check_space
from kiosk import keys
from kiosk.store import Store, jobs, outbox
from kiosk.templates.bundled import DEMO_TEMPLATE_ID
from kiosk.uplink.status import DeviceState, KioskStatus
from sync.heartbeat import VERSION, Heartbeat

PACKAGE = "interview-kiosk"


@functools.cache
def app_version() -> str:
    """The kiosk software's version ("unknown" when it runs uninstalled)."""
    try:
        found = version(PACKAGE)
    except PackageNotFoundError:
        return "unknown"
    return found if VERSION.fullmatch(found) else "unknown"


def _iso(at: datetime) -> str:
    """With an offset always: HQ refuses a time without one (a naive one is UTC here)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat(timespec="milliseconds")


def _since(device: DeviceState) -> str | None:
    return None if device.since is None else _iso(device.since)


def last_candidate_at(store: Store) -> str | None:
    """When the newest session (not a demo) started, or None."""
    row = store.connection.execute("SELECT MAX(started_at) FROM sessions WHERE template_id != ?",
                                   (DEMO_TEMPLATE_ID,)).fetchone()
    return _iso(datetime.fromisoformat(row[0])) if row and row[0] else None


def recording_minutes_left(store: Store) -> int | None:
    """Whole minutes of recording the data directory's disk holds, or None if unknown."""
    try:
        return int(check_space(store.data_dir, 0).minutes_left)
    except OSError:
        return None


def build_heartbeat(store: Store, status: KioskStatus,
                    now: datetime | None = None) -> Heartbeat:
    """This kiosk's heartbeat as of now (`now`: the kiosk's clock, for HQ's offset)."""
    seen = status.snapshot()
    error = None if seen.last_error is None else {"at": _iso(seen.last_error[0]),
                                                   "code": seen.last_error[1]}
    return Heartbeat(
        sent_at=_iso(now or datetime.now(UTC)),
        app_version=app_version(),
        interview_id=seen.interview_id,
        drive=seen.drive,
        last_candidate_at=last_candidate_at(store),
        transcription_backlog=jobs.waiting(store, jobs.TRANSCRIBE),
        outbox_backlog=sum(outbox.status(store).waiting.values()),
        recording_minutes_left=recording_minutes_left(store),
        camera=seen.camera.state, camera_since=_since(seen.camera),
        microphone=seen.microphone.state, microphone_since=_since(seen.microphone),
        last_error=error,
        recipient=keys.load_public(store.data_dir).recipient.to_text())
