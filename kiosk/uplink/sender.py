"""The sync worker: drains the outbox to HQ whenever HQ can be reached.

One pass tells HQ how the kiosk is (a signed heartbeat, `kiosk.uplink.heartbeat`), fetches
HQ's configuration (templates and drives flow down), then sends every waiting entry in
priority order. The heartbeat goes first because HQ seals a drive's roster to the vault key
the heartbeat carries: so a kiosk's very first pass brings its roster.

HQ being down is normal: the pass stops at the first transient failure and the loop waits
with exponential backoff and full jitter (so fifty kiosks coming back online do not knock on
HQ in step). An entry HQ refuses for good is set aside and shown; one that refuses the whole
kiosk (revoked, clock wrong) stops syncing until staff act.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kiosk import keys
from kiosk.logs import get_logger, log_event
from kiosk.privacy import retention
from kiosk.store import SessionNotFoundError, Store
from kiosk.store import outbox as queue
from kiosk.store.skipped_rows import skip_row
from kiosk.uplink import enrollment, items
from kiosk.uplink.heartbeat import build_heartbeat
from kiosk.uplink.status import KioskStatus
from sync import protocol
from sync.client import HqClient, HqRefusedError, HqRejectedError, TransientSyncError
from sync.heartbeat import heartbeat_body

_log = get_logger("sync")

BASE_DELAY = 5.0
MAX_DELAY = 15 * 60.0


def backoff_delay(failures: int, base: float = BASE_DELAY, cap: float = MAX_DELAY,
                  rng: Callable[[], float] = random.random) -> float:
    """Full jitter: a uniform wait between 0 and min(cap, base * 2^failures)."""
    return float(rng() * min(cap, base * 2 ** min(failures, 30)))


@dataclass
class PassResult:
    """What one pass did."""

    sent: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    erased: int = 0                     # sessions erased on HQ's orders
    templates: list[str] = field(default_factory=list)
    stopped_by: str | None = None       # why the pass ended early
    transient: bool = False             # worth retrying after a backoff
    retry_after: float | None = None

    @property
    def total(self) -> int:
        """Items sent."""
        return sum(self.sent.values())


class SyncService:
    """Syncs one kiosk's store with HQ over `client`."""

    def __init__(self, store: Store, link: enrollment.HqLink, client: HqClient,
                 chunk_size: int = 1024 * 1024,
                 on_progress: Callable[[str, int, int], None] | None = None,
                 status: KioskStatus | None = None) -> None:
        self.store = store
        self.link = link
        self.client = client
        self.chunk_size = chunk_size
        self.on_progress = on_progress
        self.status = status or KioskStatus()   # without the app: every device "unknown"
        # Cleared while a candidate records: uploads wait rather than compete on 2 cores.
        self.gate = threading.Event()
        self.gate.set()

    def run_pass(self) -> PassResult:
        """Report to HQ, fetch configuration, then send what waits until done or HQ fails."""
        result = PassResult()
        for _, session_id in self.link.erasures:  # orders already received: no HQ needed
            self._erase_here(session_id, result)
        try:
            self._heartbeat()
            body, signature = self.client.config()
            result.templates, orders = enrollment.apply_config(self.store.data_dir, self.link,
                                                            body, signature)
            self.link = enrollment.load_link(self.store.data_dir) or self.link
            for order_id, session_id in orders:  # one by one: a failure skips only its own
                self._erase(order_id, session_id, result)
            while True:
                batch = queue.pending(self.store, limit=100)
                if not batch:
                    break
                for entry in batch:
                    self.gate.wait()
                    self._send(entry, result)
        except TransientSyncError as exc:
            result.stopped_by, result.transient = str(exc), True
            result.retry_after = exc.retry_after
        except HqRefusedError as exc:
            result.stopped_by = str(exc)
        except HqRejectedError as exc:  # HQ's configuration itself was refused
            result.stopped_by = str(exc)
        finally:
            self.client.close()
        if result.stopped_by is None:
            # Sessions HQ now has in full may have passed their retention meanwhile.
            retention.run(self.store)
        log_event(_log, "sync.pass", count=result.total, status=(
            "complete" if result.stopped_by is None else
            "will_retry" if result.transient else "stopped"))
        return result

    def _heartbeat(self) -> None:
        """Send the heartbeat. One that HQ refuses (an HQ older than heartbeats answers 404)
        is logged and the pass goes on: how the kiosk is must never hold back what candidates
        sent. A transient failure or a refused kiosk stops the pass like any request's."""
        try:
            body = heartbeat_body(build_heartbeat(self.store, self.status))
        except (OSError, sqlite3.Error, keys.KeysError) as exc:  # the disk or the key file
            log_event(_log, "sync.heartbeat_not_sent", reason=type(exc).__name__)
            return
        try:
            self.client.heartbeat(body)
        except HqRejectedError as exc:
            log_event(_log, "sync.heartbeat_refused", reason=exc.code)

    def _erase(self, order_id: str, session_id: str, result: PassResult) -> None:
        """Carry out HQ's signed erasure order, then confirm it (again, if it was lost). An
        order that cannot be carried out now is logged, audited and left for the next pass
        (HQ sends it in every configuration until it is confirmed); the others go on."""
        if not self._erase_here(session_id, result):
            return
        try:
            self.client.confirm_erasure(order_id)
        except HqRejectedError as exc:  # HQ does not know this order: this one only
            skip_row(self.store, "erasure_order", session_id, f"HQ answered {exc.code}")
            return
        log_event(_log, "sync.erasure_confirmed", session_id=session_id)

    def _erase_here(self, session_id: str, result: PassResult) -> bool:
        """Erase the session on the kiosk; False if that failed (logged, audited)."""
        try:
            self.store.erase(session_id, actor="hq-order")
            result.erased += 1
        except SessionNotFoundError:
            pass  # erased before (by retention, staff, or this order's earlier run)
        except Exception as exc:  # a disk or database fault, this order only
            skip_row(self.store, "erasure_order", session_id, type(exc).__name__)
            return False
        return True

    def _send(self, entry: queue.Entry, result: PassResult) -> None:
        hq = self.link.recipient
        try:
            follow: list[str] = []
            if entry.family == queue.SESSION:
                session = self.store.find(entry.session_id)
                assert session is not None
                self.client.put_record(items.session_record(self.store, session, hq))
                follow = items.recording_kinds(self.store, session)
            elif entry.family == queue.TRANSCRIPT:
                record = items.transcript_record(self.store, entry.session_id,
                                                      entry.parts[0], hq)
                if record is not None:
                    self.client.put_record(record)
            elif entry.family == queue.SELF_ID:
                found = items.self_id_record(self.store, entry.session_id, hq)
                if found is not None:
                    self.client.put_record(found)
            else:
                self._upload(entry)
        except TransientSyncError as exc:
            queue.mark_failed(self.store, entry, type(exc).__name__)
            raise
        except HqRefusedError as exc:
            queue.mark_failed(self.store, entry, exc.code)
            raise
        except (HqRejectedError, protocol.ProtocolError) as exc:
            code = getattr(exc, "code", "bad_item")
            queue.mark_rejected(self.store, entry, code)
            log_event(_log, "sync.item_rejected", session_id=entry.session_id,
                      reason=code)
            result.rejected += 1
            return
        queue.mark_sent(self.store, entry, follow)
        result.sent[entry.family] = result.sent.get(entry.family, 0) + 1

    def _upload(self, entry: queue.Entry) -> None:
        found = items.recording_file(self.store, entry)
        if found is None:
            return  # erased since it was queued: nothing to send, nothing to wait for

        def progress(done: int, total: int) -> None:
            self.gate.wait()
            if self.on_progress:
                self.on_progress(found.item_id, done, total)

        resumed = self.client.upload(found.item_id, found.session_id, found.meta, found.path,
                                     self.chunk_size, progress)
        if resumed:
            log_event(_log, "sync.upload_resumed", session_id=entry.session_id,
                      count=resumed)


def open_client(data_dir: Path, unlocked: keys.UnlockedKeys) -> tuple[enrollment.HqLink, HqClient]:
    """The HQ link and a client signing with this kiosk's device key."""
    link = enrollment.require_link(data_dir)
    return link, HqClient(link.url, link.device_id, unlocked.signing,
                          hq_key=link.verify_key)


class SyncLoop:
    """Passes with backoff until stopped (the kiosk app runs one in a thread)."""

    def __init__(self, service: SyncService, interval: float = 60.0,
                 sleep: Callable[[float], bool] | None = None,
                 report: Callable[[PassResult], None] | None = None) -> None:
        self.service = service
        self.interval = interval
        self._report = report
        self._stop = threading.Event()
        self._sleep = sleep or (lambda seconds: self._stop.wait(seconds))
        self.last: PassResult | None = None

    def stop(self) -> None:
        """Finish the current request, then stop."""
        self._stop.set()

    def run(self) -> None:
        """Pass, wait (longer after each failure), pass again."""
        failures = 0
        while not self._stop.is_set():
            self.last = result = self.service.run_pass()
            if self._report is not None:
                self._report(result)
            if result.stopped_by is None:
                failures, delay = 0, self.interval
            elif result.transient:
                delay = max(result.retry_after or 0.0, backoff_delay(failures))
                failures += 1
            else:
                delay = MAX_DELAY  # refused: staff must act; try again now and then
            if self._sleep(delay):
                break
        log_event(_log, "sync.stopped")



class BackgroundSync:
    """The sync loop in a thread of the kiosk app, with its own store connection."""

    def __init__(self, data_dir: Path, unlocked: keys.UnlockedKeys,
                 interval: float = 60.0, status: KioskStatus | None = None) -> None:
        self._data_dir = data_dir
        self._unlocked = unlocked
        self._interval = interval
        self._status = status   # the app's: its devices, errors and interview
        self._loop: SyncLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiosk-sync", daemon=True)

    def start(self) -> None:
        """Begin syncing (returns at once)."""
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        store = Store(self._data_dir, keys.recipients(self._data_dir),
                      [self._unlocked.identity])
        try:
            link, client = open_client(self._data_dir, self._unlocked)
            self._loop = SyncLoop(SyncService(store, link, client, status=self._status),
                                  self._interval)
            self._ready.set()
            self._loop.run()
        finally:
            self._ready.set()
            store.close()

    def pause(self) -> None:
        """Hold uploads (a candidate is recording)."""
        if self._loop is not None:
            self._loop.service.gate.clear()

    def resume(self) -> None:
        """Let uploads go on."""
        if self._loop is not None:
            self._loop.service.gate.set()

    @property
    def last(self) -> PassResult | None:
        """The last pass's result, for the staff console."""
        return self._loop.last if self._loop else None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current request."""
        if self._loop is not None:
            self._loop.stop()
            self._loop.service.gate.set()
        self._thread.join(timeout)
