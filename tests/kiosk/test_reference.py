"""Reference codes are random, readable and forgiving to type."""

from __future__ import annotations

import pytest

from kiosk.reference import ALPHABET, new_reference, normalize_reference


def test_new_codes_use_the_unambiguous_alphabet() -> None:
    codes = {new_reference() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == 9 and code[4] == "-"
        assert set(code.replace("-", "")) <= set(ALPHABET)
        assert not set(code) & set("ILOU")


@pytest.mark.parametrize(("typed", "expected"), [
    ("abcd-2345", "ABCD-2345"),
    (" AbCd 2345 ", "ABCD-2345"),
    ("OOOO-IIII", "0000-1111"),
    ("llll0000", "1111-0000"),
])
def test_typing_is_forgiving(typed: str, expected: str) -> None:
    assert normalize_reference(typed) == expected


@pytest.mark.parametrize("typed", ["", "ABCD-234", "ABCD-23456", "ABCD-234U", "ÀBCD-2345"])
def test_impossible_codes(typed: str) -> None:
    assert normalize_reference(typed) is None
