"""Reading a drive's roster (hq.roster): every problem with its line, nothing half-read."""

from __future__ import annotations

import pytest

from hq.roster import RosterError, contact_problem, parse_roster_csv


def _problems(text: str | bytes) -> list[tuple[int, str]]:
    with pytest.raises(RosterError) as refused:
        parse_roster_csv(text.encode() if isinstance(text, str) else text)
    return refused.value.problems


def test_a_good_roster_gives_every_row_with_its_line() -> None:
    rows = parse_roster_csv(
        "Roll No,Name,Contact\n"
        "21CS001,Asha Rao,asha@example.edu\n"
        "\n"
        '21CS002,"Rao, Vikram",+91 98765 43210\n'
        ',Meera  Iyer , meera.iyer@example.edu\n'.encode("utf-8-sig"))
    assert [(r.line, r.name, r.contact, r.roll) for r in rows] == [
        (2, "Asha Rao", "asha@example.edu", "21CS001"),
        (4, "Rao, Vikram", "+91 98765 43210", "21CS002"),
        (5, "Meera Iyer", "meera.iyer@example.edu", None)]


def test_the_roll_column_is_optional() -> None:
    rows = parse_roster_csv(b"contact,name\n0987654321,Ravi\n")
    assert rows[0].roll is None and rows[0].name == "Ravi"


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_returned() -> None:
    problems = _problems(
        "name,contact,roll\n"
        "Asha,asha@example.edu,1\n"          # 2: fine
        ",someone@example.edu,2\n"            # 3: no name
        "Vikram,not a contact,3\n"            # 4: bad contact
        "Meera,,4\n"                          # 5: no contact
        "Ravi,asha@EXAMPLE.edu,5\n"           # 6: same contact as line 2
        "Too,many,fields,here\n"              # 7: four fields
        '"Multi\nline",x@example.edu,6\n'     # 8-9: a line break inside a name
        "Sunil,12345,7\n")                    # 10: too few digits
    assert problems == [
        (3, "a name is required"),
        (4, "the contact must be an email address or a phone number (7 to 15 digits)"),
        (5, "a contact is required (an email address or a phone number)"),
        (6, "the same contact as line 2"),
        (7, "this line has 4 fields; the header names 3"),
        (8, "the name holds a control character"),
        (10, "the contact must be an email address or a phone number (7 to 15 digits)")]


@pytest.mark.parametrize(("text", "expected"), [
    (b"", [(1, "the file is empty")]),
    (b"\n\n", [(1, "the file is empty")]),
    (b"Asha,asha@example.edu\n", [(1, "column 1 of the header is not one of name, contact, "
                                      "roll")]),
    (b"name,name\n", [(1, "the header names the name column twice")]),
    (b"name,roll\nA,1\n", [(1, "the first line must name the columns: name, contact and "
                              "optionally roll")]),
    (b"name,contact\nA,a@example.edu\n\xff\xfeB,b@example.edu\n",
     [(3, "this line is not UTF-8 text (save the sheet as CSV UTF-8)")]),
    (b"name,contact\nA\x07,a@example.edu\n", [(2, "the name holds a control character")]),
])
def test_files_that_are_not_rosters(text: bytes, expected: list[tuple[int, str]]) -> None:
    assert _problems(text) == expected


def test_a_name_too_long_is_refused_without_quoting_it() -> None:
    problems = _problems("name,contact\n" + "x" * 200 + ",a@example.edu\n")
    assert problems == [(2, "the name is longer than 120 characters")]
    assert "xxx" not in str(problems)


@pytest.mark.parametrize("contact", ["a@example.edu", "first.last+tag@dept.example.ac.in",
                                     "+91 98765 43210", "(080) 2345-6789", "9876543210"])
def test_contacts_that_are_accepted(contact: str) -> None:
    assert contact_problem(contact) is None


@pytest.mark.parametrize("contact", ["a@b", "@example.edu", "a@@example.edu", "12-34",
                                     "+91 98765 43210 98765 43210", "call me", "a b@x.org"])
def test_contacts_that_are_refused(contact: str) -> None:
    assert contact_problem(contact) is not None
