"""Reading a drive's roster from the placement cell's CSV: every row checked, all or nothing.

The first line names the columns: `name` and `contact`, and optionally `roll` (also
spelled `roll number` or `roll_no`), in any order and case. A name is required; a contact
is an email address or a phone number. Every problem is reported with the line it is on
(`RosterError.problems`), and when there is any, nothing is imported. Blank lines are
skipped. The messages never quote a cell: they are about a person.

    RosterError     the file cannot be imported; `problems` lists (line, message)
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sync.drive_config import MAX_CONTACT, MAX_NAME, MAX_ROLL, MAX_ROSTER

MAX_FILE_BYTES = 2 * 1024 * 1024
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}"
                   r"(?:\.[A-Za-z0-9-]{1,63})+")
PHONE = re.compile(r"\+?[0-9(][0-9 ().-]{5,22}[0-9]")
_COLUMNS = {"name": "name", "contact": "contact", "roll": "roll", "roll number": "roll",
            "roll_number": "roll", "roll no": "roll", "roll_no": "roll"}
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class RosterError(Exception):
    """A roster that cannot be imported; `problems` lists every (line, message)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the roster; nothing was imported")
        self.problems = problems


@dataclass(frozen=True)
class RosterRow:
    """One invited candidate from the file, with the line it was on."""

    line: int
    name: str
    contact: str
    roll: str | None


def contact_problem(contact: str) -> str | None:
    """Why `contact` is not an email address or a phone number, or None if it is one."""
    if not contact:
        return "a contact is required (an email address or a phone number)"
    if len(contact) > MAX_CONTACT:
        return f"the contact is longer than {MAX_CONTACT} characters"
    if "@" in contact:
        return None if EMAIL.fullmatch(contact) else "the contact is not an email address"
    digits = sum(char.isdigit() for char in contact)
    if PHONE.fullmatch(contact) and 7 <= digits <= 15:
        return None
    return "the contact must be an email address or a phone number (7 to 15 digits)"


def _text(value: str, what: str, limit: int) -> tuple[str, str | None]:
    cleaned = " ".join(value.split())
    if _UNPRINTABLE.search(value):
        return cleaned, f"the {what} holds a control character"
    if len(cleaned) > limit:
        return cleaned, f"the {what} is longer than {limit} characters"
    return cleaned, None


def _header(row: list[str]) -> tuple[dict[str, int], str | None]:
    names = [" ".join(cell.strip().lower().split()) for cell in row]
    found: dict[str, int] = {}
    for index, name in enumerate(names):
        column = _COLUMNS.get(name)
        if column is None:
            return {}, (f"column {index + 1} of the header is not one of name, contact, "
                        "roll")
        if column in found:
            return {}, f"the header names the {column} column twice"
        found[column] = index
    if "name" not in found or "contact" not in found:
        return {}, "the first line must name the columns: name, contact and optionally roll"
    return found, None


def parse_roster_csv(data: bytes) -> list[RosterRow]:
    """Every row of the file, checked; RosterError with every problem if any row is bad."""
    if len(data) > MAX_FILE_BYTES:
        raise RosterError([(1, f"the file is larger than {MAX_FILE_BYTES // 1024} KiB")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise RosterError([(line, "this line is not UTF-8 text (save the sheet as "
                                  "CSV UTF-8)")]) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[tuple[int, str]] = []
    rows: list[RosterRow] = []
    columns: dict[str, int] | None = None
    seen: dict[str, int] = {}
    next_line = 1
    try:
        for record in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if columns is None:
                columns, problem = _header(record)
                if problem:
                    raise RosterError([(line, problem)])
                continue
            if len(record) != len(columns):
                problems.append((line, f"this line has {len(record)} fields; the header "
                                       f"names {len(columns)}"))
                continue
            row = _row(line, record, columns, seen, problems)
            if row is not None:
                rows.append(row)
            if len(rows) > MAX_ROSTER:
                raise RosterError([(line, f"a drive invites at most {MAX_ROSTER} "
                                          "candidates")])
    except csv.Error as exc:
        problems.append((reader.line_num, f"the file is not valid CSV here ({exc})"))
    if columns is None and not problems:
        problems.append((1, "the file is empty"))
    elif not rows and not problems:
        problems.append((next_line, "the roster names no candidates"))
    if problems:
        raise RosterError(problems)
    return rows


def _row(line: int, record: list[str], columns: dict[str, int], seen: dict[str, int],
         problems: list[tuple[int, str]]) -> RosterRow | None:
    before = len(problems)
    name, problem = _text(record[columns["name"]], "name", MAX_NAME)
    if problem or not name:
        problems.append((line, problem or "a name is required"))
    contact, problem = _text(record[columns["contact"]], "contact", MAX_CONTACT)
    problem = problem or contact_problem(contact)
    if problem:
        problems.append((line, problem))
    key = contact.lower() if "@" in contact else "".join(c for c in contact if c.isdigit())
    if not problem and key in seen:
        problems.append((line, f"the same contact as line {seen[key]}"))
    seen.setdefault(key, line)
    roll = None
    if "roll" in columns:
        roll, problem = _text(record[columns["roll"]], "roll number", MAX_ROLL)
        if problem:
            problems.append((line, problem))
        roll = roll or None
    if len(problems) > before:
        return None
    return RosterRow(line, name, contact, roll)
