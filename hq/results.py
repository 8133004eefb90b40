"""What the lists, the funnel and the exports show of reviewers' work, and to whom.

The dashboard's rule is that a reviewer scores a candidate before seeing anyone else's
view of them (`review.sees_others`). Every place that shows other people's work holds it:
the candidate list, its sort by reviewer score, the funnel's "advanced" count and both
exports. For a candidate whose results the viewer may not see yet, the reviewers' mean,
their per-competency means, the decision (HQ's or the kiosk's) and the kiosk staff's
levels are left out and the row says `results_hidden` (false where there is nothing to
hide). How many reviews there are is shown: it is not anyone's opinion, and it tells a
reviewer where work is waiting.

`viewer=None` is the operator at HQ's command line (`kiosk-hq export-csv`), who holds
the database anyway and sees everything, like an admin.
"""

from __future__ import annotations

import functools
import json
import statistics
import tomllib
from typing import Any

import sqlalchemy as sa

from hq.accounts import User
from hq.review import sees_others
from hq.storage import HqStorage, devices, reviews, sessions, templates

SORTS = {
    "date": sessions.c.started_at.desc(),
    "kiosk": devices.c.name,
    "needs_review": sessions.c.needs_review.desc(),
}
SORT_NAMES = ("date", "reviewer_score", "suggested_score", "kiosk", "needs_review")


def _mean(levels: list[int]) -> float | None:
    return round(statistics.mean(levels), 2) if levels else None


def _visible(viewer: User | None, reviewers: set[int]) -> bool:
    return viewer is None or sees_others(viewer, viewer.id in reviewers)


def candidate_rows(storage: HqStorage, interview_id: str | None, sort: str = "date",
                   needs_review: bool | None = None, kiosk: str | None = None,
                   viewer: User | None = None) -> list[dict[str, Any]]:
    """The interview's (or, for None, every) session with suggested and reviewer means,
    filtered and sorted, with what `viewer` may not see yet left out."""
    query = (sa.select(*sessions.c, devices.c.name.label("kiosk"))
             .join(devices, devices.c.id == sessions.c.device_id))
    if interview_id is not None:
        query = query.where(sessions.c.interview_id == interview_id)
    if needs_review is not None:
        query = query.where(sessions.c.needs_review == needs_review)
    if kiosk:
        query = query.where(devices.c.name == kiosk)
    query = query.order_by(SORTS.get(sort, SORTS["date"]), sessions.c.session_id)
    with storage.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        given = conn.execute(sa.select(reviews.c.device_id, reviews.c.session_id,
                                       reviews.c.user_id, reviews.c.scores,
                                       reviews.c.decision)
                             .order_by(reviews.c.submitted_at)).all()
    by_session: dict[tuple[str, str], list[Any]] = {}
    for review in given:
        by_session.setdefault((review.device_id, review.session_id), []).append(review)
    for row in rows:
        mine = by_session.get((row["device_id"], row["session_id"]), [])
        _fill(row, mine, _visible(viewer, {r.user_id for r in mine}))
    if sort in ("reviewer_score", "suggested_score"):
        key = "reviewer_mean" if sort == "reviewer_score" else "suggested_mean"
        rows.sort(key=lambda r: (r[key] is None, -(r[key] or 0)))
    return rows


def _fill(row: dict[str, Any], given: list[Any], visible: bool) -> None:
    """Add the means and the decision to one session's row, or hide them."""
    row["scores"] = json.loads(row["scores"])
    suggested = [v["suggested"] for v in row["scores"].values() if v["suggested"] is not None]
    row["suggested_mean"] = _mean(suggested)
    row["reviews"] = len(given)
    held = bool(given) or row["decision"] is not None or any(
        v.get("reviewer") is not None for v in row["scores"].values())
    row["results_hidden"] = held and not visible
    if row["results_hidden"]:
        row["scores"] = {c: {**v, "reviewer": None} for c, v in row["scores"].items()}
        row.update(reviewer_mean=None, reviewer_scores={}, decision=None)
        return
    levels: dict[str, list[int]] = {}
    for review in given:
        for competency, level in json.loads(review.scores).items():
            levels.setdefault(competency, []).append(level)
    row["reviewer_mean"] = _mean([level for found in levels.values() for level in found])
    row["reviewer_scores"] = {c: _mean(found) for c, found in sorted(levels.items())}
    decisions = [r.decision for r in given if r.decision]
    # HQ's reviewers' latest decision, else the kiosk's.
    row["decision"] = decisions[-1] if decisions else row["decision"]


def kiosk_names(storage: HqStorage, interview_id: str) -> list[str]:
    """The kiosks that sent sessions of this interview (for the filter)."""
    with storage.read() as conn:
        return sorted(conn.execute(sa.select(devices.c.name).distinct().join(
            sessions, sessions.c.device_id == devices.c.id).where(
            sessions.c.interview_id == interview_id)).scalars())


def funnel(storage: HqStorage, viewer: User | None = None) -> list[dict[str, Any]]:
    """Per interview: started, completed, abandoned (and where), reviewed, advanced.

    "Advanced" counts decisions, so for a viewer it counts only the candidates whose
    results they may see (`advanced_of_visible` says so); with one candidate in an
    interview a count would otherwise be that candidate's decision.
    """
    with storage.read() as conn:
        rows = conn.execute(sa.select(sessions.c.interview_id, sessions.c.status,
                                      sessions.c.answered, sessions.c.questions,
                                      sessions.c.device_id, sessions.c.session_id,
                                      sessions.c.decision)).all()
        reviewed = conn.execute(sa.select(reviews.c.device_id, reviews.c.session_id,
                                          reviews.c.user_id, reviews.c.decision)
                                .order_by(reviews.c.submitted_at)).all()
    by_session: dict[tuple[str, str], list[Any]] = {}
    for review in reviewed:
        by_session.setdefault((review.device_id, review.session_id), []).append(review)
    titles = interview_titles(storage)
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = result.setdefault(row.interview_id, {
            "interview_id": row.interview_id, "title": titles.get(row.interview_id),
            "started": 0, "completed": 0, "abandoned": 0, "abandoned_at": {},
            "reviewed": 0, "advanced": 0, "advanced_of_visible": viewer is not None
            and viewer.role != "admin"})
        entry["started"] += 1
        if row.status == "completed":
            entry["completed"] += 1
        else:
            entry["abandoned"] += 1
            at = f"question {row.answered + 1}"
            entry["abandoned_at"][at] = entry["abandoned_at"].get(at, 0) + 1
        given = by_session.get((row.device_id, row.session_id), [])
        entry["reviewed"] += bool(given)
        if _visible(viewer, {r.user_id for r in given}):
            decisions = [r.decision for r in given if r.decision] or [row.decision]
            entry["advanced"] += decisions[-1] == "advance"
    return sorted(result.values(), key=lambda e: (e["title"] or e["interview_id"]).lower())


def interview_titles(storage: HqStorage) -> dict[str, str]:
    """Interview id -> its title: from the templates HQ published, else the bundled ones.
    An interview known by neither is shown by its id."""
    found = dict(_bundled_titles())
    with storage.read() as conn:
        for row in conn.execute(sa.select(templates.c.id, templates.c.toml)):
            _title_into(found, row.id, row.toml)
    return found


@functools.cache
def _bundled_titles() -> tuple[tuple[str, str], ...]:
    from kiosk.templates import bundled_template_paths

    found: dict[str, str] = {}
    for path in bundled_template_paths():
        _title_into(found, path.stem, path.read_text(encoding="utf-8"))
    return tuple(found.items())


def _title_into(found: dict[str, str], template_id: str, text: str) -> None:
    try:
        title = tomllib.loads(text).get("title")
    except (tomllib.TOMLDecodeError, AttributeError):
        return
    if isinstance(title, dict):
        title = title.get("en") or next(iter(title.values()), None)
    if isinstance(title, str) and title.strip():
        found[template_id] = title.strip()[:200]
