"""Strict parsing of what a browser sends the dashboard: forms, query values, path parts.

Everything here is hostile until parsed: numbers are ASCII digits of bounded length (so
`²` or a 5,000-digit number is a refusal, not a crash), dates are `YYYY-MM-DD` within
sensible bounds, ids match the pattern they were made with, and text has no control
characters (PostgreSQL refuses NUL in text, so one would otherwise be a server error).

    BadInputError   a value is malformed: the page says which (400)
    NotFoundError   a path names nothing that can exist (404)
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sync import protocol

MAX_FIELDS = 40
NOTE_LIMIT = 5000
DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LEVEL = re.compile(r"[1-5]")
REQUEST_NUMBER = re.compile(r"[1-9][0-9]{0,8}")     # below 10⁹: fits every integer column
DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
OLDEST_REQUEST = timedelta(days=5 * 366)             # older than this is a typing mistake
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")


class BadInputError(Exception):
    """A form field or query value that is not what the page asked for."""


class NotFoundError(Exception):
    """A path that cannot name anything here."""


def parse_form(body: bytes, content_type: str | None) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body as one value per field name."""
    if not body:
        return {}
    if (content_type or "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise BadInputError("the form must be sent as application/x-www-form-urlencoded")
    try:
        text = body.decode("ascii")  # percent-encoded: anything else is not a browser's form
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                                       encoding="utf-8", errors="strict",
                                       max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise BadInputError("the form is not readable text, or has too many fields") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise BadInputError(f"the form field {_shown(name)} was sent twice")
        fields[name] = value
    return fields


def one_line(value: str | None, what: str, limit: int = 200) -> str:
    """A short single-line value (may be empty)."""
    value = value or ""
    if len(value) > limit or _CONTROL_ONE_LINE.search(value):
        raise BadInputError(f"{what} must be one line of at most {limit} characters")
    return value


def note(value: str | None) -> str:
    """A reviewer's note: text of at most NOTE_LIMIT characters, line breaks allowed."""
    value = (value or "").replace("\r\n", "\n")
    if len(value) > NOTE_LIMIT:
        raise BadInputError(f"a note may be at most {NOTE_LIMIT} characters "
                            f"(this one has {len(value)})")
    if _CONTROL.search(value):
        raise BadInputError("the note holds control characters")
    return value


def level(value: str, competency: str) -> int:
    """A reviewer's level: exactly one ASCII digit from 1 to 5."""
    if not LEVEL.fullmatch(value):
        raise BadInputError(f"the level for {_shown(competency)} must be 1, 2, 3, 4 or 5")
    return int(value)


def choice(value: str | None, allowed: Iterable[str], what: str) -> str | None:
    """One of `allowed`, or None for an empty or missing value."""
    if not value:
        return None
    options = tuple(allowed)
    if value not in options:
        raise BadInputError(f"{what} must be one of: {', '.join(options)}")
    return value


def received_on(value: str | None, today: date | None = None) -> datetime | None:
    """The day a candidate made a request (`YYYY-MM-DD`): not in the future (a day's grace
    for time zones), not more than about five years ago. Midnight UTC of that day."""
    if not value:
        return None
    today = today or datetime.now(UTC).date()
    match = DATE.fullmatch(value)
    try:
        day = date(*(int(part) for part in match.groups())) if match else None
    except ValueError:
        day = None
    if day is None:
        raise BadInputError("the day the request came in is a date like 2026-03-01")
    if day > today + timedelta(days=1) or day < today - OLDEST_REQUEST:
        raise BadInputError("the day the request came in must be a real day in the last "
                            "five years, not in the future")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def request_number(value: str) -> int:
    """A request's number from a path."""
    if not REQUEST_NUMBER.fullmatch(value):
        raise NotFoundError("there is no such request")
    return int(value)


def path_id(value: str, pattern: re.Pattern[str], what: str) -> str:
    """An id from a path, matching the pattern such ids are made with."""
    if not pattern.fullmatch(value):
        raise NotFoundError(f"there is no such {what}")
    return value


def session_path(device: str, session: str) -> tuple[str, str]:
    """(device id, session id) from a path."""
    return (path_id(device, DEVICE_ID, "kiosk"),
            path_id(session, protocol.SESSION_ID, "session"))


def _shown(name: str) -> str:
    """A field name quoted for a message, cut short and free of control characters."""
    return repr(_CONTROL_ONE_LINE.sub("?", name[:40]))
