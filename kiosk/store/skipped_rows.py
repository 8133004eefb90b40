"""Background jobs on the kiosk go row by row: a row a job cannot handle is logged, audited
and skipped, and the job goes on with the others (retention, HQ's erasure orders).

The log line and the audit entry name the job, the session id and what went wrong (a field
or an error class), never anything the row holds about a candidate.
"""

from __future__ import annotations

from kiosk.logs import get_logger, log_event
from kiosk.store import Store

_log = get_logger("jobs")


def skip_row(store: Store, job: str, session_id: str, reason: str) -> None:
    """Record that `job` skipped the row of `session_id` because of `reason`."""
    log_event(_log, "job.row_skipped", session_id=session_id, reason=f"{job}: {reason}"[:200])
    try:
        with store.transaction():
            store.audit.append("job.row_skipped", {"job": job, "session_id": session_id,
                                                   "reason": reason[:200]}, job)
    except Exception:  # the database may be what failed; the log has it
        _log.exception("job.audit_failed")
