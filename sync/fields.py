"""Field parsers shared by every message and sealed record: one place that says what a
time, an id, a count or a piece of text from a kiosk may be.

Each parser takes a value straight from `json.loads` and the field's name (a dotted path,
so the error names it), and returns the value typed and bounded, or raises ProtocolError.
None of them echo the value in the error: it may be candidate data.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any


class ProtocolError(ValueError):
    """A message does not have the shape the protocol gives it."""


SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
QUESTION_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# An answer is a question's, or the answer to that question's follow-up probe, which the
# kiosk keeps under the question's id and this suffix (kiosk.session.follow_up_key). Every
# record that names an answer (transcripts, recordings, typed answers, evidence) names it so.
FOLLOW_UP_SUFFIX = ".probe"
ANSWER_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}(?:\.probe)?")
ANSWER_KEY_LENGTH = 64 + len(FOLLOW_UP_SUFFIX)
ITEM_ID = re.compile(r"[A-Za-z0-9._:/-]{1,200}")
DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
REFERENCE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
LANGUAGE = re.compile(r"[a-z]{2,3}")
# ISO 8601 as the kiosk writes it (datetime.isoformat): a date, a time, and an offset.
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                        r"(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# Control characters but tab, newline and carriage return; C1 controls; lone surrogates
# (which JSON's \ud800 escapes can produce, and neither UTF-8 nor PostgreSQL can hold).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def asked_question(answer_key: str) -> str:
    """The question an answer key belongs to: itself, or the question its follow-up
    followed."""
    return answer_key.removesuffix(FOLLOW_UP_SUFFIX)


def encodable(doc: object, where: str) -> None:
    """Refuse JSON that held a lone surrogate (`"\\ud800"` parses, but is not text: it
    cannot be written as UTF-8, into PostgreSQL, or into a zip)."""
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(f"{where} holds a broken character (a lone surrogate)") from None
    except (ValueError, RecursionError):
        raise ProtocolError(f"{where} is nested too deep") from None


def json_object(raw: bytes, where: str, limit: int) -> dict[str, Any]:
    """`raw` as one strict JSON object: at most `limit` bytes, UTF-8, no NaN or Infinity, no
    member named twice, nothing PostgreSQL cannot hold. Every body and sealed record is read so.
    """
    if len(raw) > limit:
        raise ProtocolError(f"{where} is larger than {limit} bytes")
    try:
        doc = json.loads(raw.decode("utf-8"),
                         parse_constant=lambda name: _no_constant(name, where),
                         object_pairs_hook=lambda pairs: _no_repeats(pairs, where))
    except ProtocolError:
        raise
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, or a 4300-digit number
        raise ProtocolError(f"{where} is not JSON") from None
    encodable(doc, where)
    return obj(doc, where)


def _no_constant(name: str, where: str) -> None:
    raise ProtocolError(f"{name} is not allowed in {where}")


def _no_repeats(pairs: list[tuple[str, Any]], where: str) -> dict[str, Any]:
    # Two readers of {"a": 1, "a": 2} may disagree on which one counts; refuse both.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ProtocolError(f"a JSON object in {where} names one member twice")
    return result


def obj(value: object, where: str, keys: Collection[str] | None = None,
        required: Collection[str] = ()) -> dict[str, Any]:
    """A JSON object; with `keys`, no member outside them and every `required` one present."""
    if not isinstance(value, dict):
        raise ProtocolError(f"{where} must be a JSON object")
    if keys is not None:
        extra = [key for key in value if key not in keys]
        if extra:
            raise ProtocolError(f"{where} has a member the protocol does not know")
        missing = [key for key in required if key not in value]
        if missing:
            raise ProtocolError(f"{where}.{missing[0]} is missing")
    return value


def array(value: object, where: str, limit: int) -> list[Any]:
    """A JSON array of at most `limit` elements."""
    if not isinstance(value, list):
        raise ProtocolError(f"{where} must be a list")
    if len(value) > limit:
        raise ProtocolError(f"{where} has more than {limit} elements")
    return value


def text(value: object, where: str, limit: int, pattern: re.Pattern[str] | None = None,
         empty: bool = False) -> str:
    """A string of at most `limit` characters, printable (no control characters, no lone
    surrogates), matching `pattern` in full when one is given."""
    if not isinstance(value, str) or len(value) > limit or (not value and not empty):
        raise ProtocolError(f"{where} must be text of {0 if empty else 1} to {limit} "
                            "characters")
    if pattern is not None:
        if not pattern.fullmatch(value):
            raise ProtocolError(f"{where} has characters or a form the protocol does not "
                                "allow")
        return value
    if _UNPRINTABLE.search(value):
        raise ProtocolError(f"{where} holds a control character or a broken one")
    return value


def optional_text(value: object, where: str, limit: int) -> str | None:
    """Text, or null."""
    return None if value is None else text(value, where, limit, empty=True)


def integer(value: object, where: str, low: int, high: int) -> int:
    """A JSON integer (not a boolean, not 3.0) from `low` to `high`."""
    if type(value) is not int or not low <= value <= high:
        raise ProtocolError(f"{where} must be a whole number from {low} to {high}")
    return value


def optional_integer(value: object, where: str, low: int, high: int) -> int | None:
    """An integer, or null."""
    return None if value is None else integer(value, where, low, high)


def number(value: object, where: str, low: float, high: float) -> float:
    """A finite JSON number (integer or fraction, not a boolean) from `low` to `high`."""
    if not isinstance(value, int | float) or isinstance(value, bool) \
            or not math.isfinite(value) or not low <= value <= high:
        raise ProtocolError(f"{where} must be a number from {low:g} to {high:g}")
    return float(value)


def optional_number(value: object, where: str, low: float, high: float) -> float | None:
    """A number, or null."""
    return None if value is None else number(value, where, low, high)


def boolean(value: object, where: str) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise ProtocolError(f"{where} must be true or false")
    return value


def choice(value: object, where: str, allowed: Collection[str]) -> str:
    """One of `allowed`."""
    if not isinstance(value, str) or value not in allowed:
        raise ProtocolError(f"{where} must be one of {', '.join(sorted(allowed))}")
    return value


def optional_choice(value: object, where: str, allowed: Collection[str]) -> str | None:
    """One of `allowed`, or null."""
    return None if value is None else choice(value, where, allowed)


def level(value: object, where: str) -> int | None:
    """A rubric level from 1 to 5, or null."""
    return optional_integer(value, where, 1, 5)


def parse_time(value: object, where: str) -> datetime:
    """An ISO 8601 time with a date, a time of day and an offset (`Z` or `+05:30`), from
    2000 to 2100. Not bounded by HQ's clock: a kiosk whose clock ran ahead must not lose its
    sessions, and retention at HQ never counts from later than HQ received one."""
    if not isinstance(value, str) or len(value) > 40 or not _TIMESTAMP.fullmatch(value):
        raise ProtocolError(f"{where} must be an ISO 8601 time with an offset, like "
                            "2026-11-30T09:00:00+00:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ProtocolError(f"{where} is not a real date and time") from None
    if not EARLIEST <= parsed < LATEST:
        raise ProtocolError(f"{where} is not between 2000 and 2100")
    return parsed


def timestamp(value: object, where: str) -> str:
    """`parse_time`, given back as UTC ISO 8601 text (so text order is time order)."""
    return parse_time(value, where).astimezone(UTC).isoformat()


def optional_timestamp(value: object, where: str) -> str | None:
    """A timestamp, or null."""
    return None if value is None else timestamp(value, where)


def mapping(value: object, where: str, limit: int, key: re.Pattern[str]) -> dict[str, Any]:
    """An object of at most `limit` members whose names match `key`."""
    found = obj(value, where)
    if len(found) > limit:
        raise ProtocolError(f"{where} has more than {limit} members")
    for name in found:
        if not key.fullmatch(name):
            raise ProtocolError(f"{where} has a member name the protocol does not allow")
    return found
