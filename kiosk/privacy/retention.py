"""Retention on the kiosk: sessions past their interview's retention are erased.

Erasure is by key destruction (`Store.erase`): the session's sealed keys, rows and files go,
and the audit log records that it happened, not who it was. A session HQ should have is
never erased before HQ has confirmed all of it: such a session waits, and `kiosk retention
run` says how many wait. Rejected candidates are kept for the shorter period their policy
gives. Demo sessions are kept only as long as the demo's own policy says. The run goes
session by session: one whose times or template cannot be read, or whose erasure fails, is
logged, audited and skipped (`kiosk.store.skipped_rows`), and the others are still erased.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kiosk.logs import get_logger, log_event
from kiosk.scoring.service import template_of
from kiosk.store import Store
from kiosk.store import outbox as queue
from kiosk.store.results import decision
from kiosk.store.skipped_rows import skip_row
from kiosk.templates import DEMO_TEMPLATE_ID
from kiosk.uplink.enrollment import load_link

_log = get_logger("retention")


@dataclass
class RetentionResult:
    """What a retention run did."""

    erased: list[str] = field(default_factory=list)           # session ids
    waiting_for_hq: list[str] = field(default_factory=list)   # due, but HQ lacks some of it
    skipped: list[str] = field(default_factory=list)          # could not be judged or erased


def due_sessions(store: Store, now: datetime | None = None,
                 skipped: list[str] | None = None) -> list[tuple[str, str]]:
    """(session id, template id) of every session past its retention. A session that cannot
    be judged is skipped (logged, audited, and added to `skipped` when given)."""
    now = now or datetime.now(UTC)
    found = []
    for sid, template_id, sha, started, updated, ended in store.connection.execute(
            "SELECT id, template_id, template_sha256, started_at, updated_at, ended_at "
            "FROM sessions").fetchall():
        try:
            policy = template_of(store, template_id, sha).policy
            since = datetime.fromisoformat(ended or updated or started)
            due = since + timedelta(days=policy.retention_for(decision(store, sid))) <= now
        except Exception as exc:  # one unreadable session must not stop the run
            skip_row(store, "retention", sid, type(exc).__name__)
            if skipped is not None:
                skipped.append(sid)
            continue
        if due:
            found.append((sid, template_id))
    return found


def run(store: Store, now: datetime | None = None, dry_run: bool = False) -> RetentionResult:
    """Erase every session past its retention that HQ (if any) has in full."""
    result = RetentionResult()
    enrolled = load_link(store.data_dir) is not None
    for sid, template_id in due_sessions(store, now, result.skipped):
        if (enrolled and template_id != DEMO_TEMPLATE_ID
                and not queue.fully_sent(store, sid)):
            result.waiting_for_hq.append(sid)
            continue
        if not dry_run:
            try:
                store.erase(sid, actor="retention")
            except Exception as exc:  # a disk fault: this session, next run
                skip_row(store, "retention", sid, type(exc).__name__)
                result.skipped.append(sid)
                continue
        result.erased.append(sid)
    if result.erased or result.waiting_for_hq or result.skipped:
        log_event(_log, "retention.run", count=len(result.erased),
                  status=f"{len(result.waiting_for_hq)} waiting for HQ, "
                         f"{len(result.skipped)} skipped")
    return result
