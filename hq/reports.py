"""What HQ can tell an admin without opening anything sealed: sessions and their scores."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import sqlalchemy as sa

from hq.accounts import User
from hq.results import candidate_rows
from hq.storage import HqStorage, devices, items, sessions


def session_rows(storage: HqStorage) -> list[dict[str, Any]]:
    """Every session received, newest first, with its kiosk's name and what arrived of it."""
    counts = (sa.select(items.c.device_id, items.c.session_id,
                        sa.func.count().label("arrived"))
              .group_by(items.c.device_id, items.c.session_id).subquery())
    query = (sa.select(*sessions.c, devices.c.name.label("kiosk"), counts.c.arrived)
             .join(devices, devices.c.id == sessions.c.device_id)
             .join(counts, (counts.c.device_id == sessions.c.device_id)
                   & (counts.c.session_id == sessions.c.session_id))
             .order_by(sessions.c.started_at.desc()))
    with storage.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [{**row, "scores": json.loads(row["scores"]),
             "needs_review": bool(row["needs_review"])} for row in rows]


CSV_FIELDS = ("reference", "interview_id", "kiosk", "device_id", "session_id", "status",
              "started_at", "ended_at", "questions", "answered", "needs_review",
              "suggested_mean", "reviewer_mean", "reviews", "decision", "results_hidden")
PER_COMPETENCY = ("suggested", "reviewer", "kiosk_reviewer")


def scorecards_csv(storage: HqStorage, interview_id: str | None = None,
                   viewer: User | None = None) -> str:
    """One line per session (of one interview, or all): the clear index, HQ's reviewers'
    mean, count and decision, and per competency three columns: the suggested level,
    HQ's reviewers' mean level and the kiosk staff's level. What `viewer` may not see
    yet is left empty, and `results_hidden` says so (`hq.results`). The same file from
    `kiosk-hq export-csv` and from an admin's dashboard."""
    rows = candidate_rows(storage, interview_id, viewer=viewer)
    competencies = sorted({c for row in rows for c in row["scores"]})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_FIELDS, *(f"{c}_{kind}" for c in competencies
                                    for kind in PER_COMPETENCY)])
    for row in rows:
        levels = []
        for competency in competencies:
            kiosk = row["scores"].get(competency, {})
            levels += [kiosk.get("suggested"), row["reviewer_scores"].get(competency),
                       kiosk.get("reviewer")]
        writer.writerow([_cell(row[field]) for field in CSV_FIELDS]
                        + ["" if level is None else level for level in levels])
    return out.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is written as text instead.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
