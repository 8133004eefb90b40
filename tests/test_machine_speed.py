"""No test fails because the machine is slow: the checks that would time the machine are off.

Timed behaviour is measured in bench/, as ratios against a baseline measured in the same run;
tests wait for events (a line from a child, a window on the display, a file), never for a
fixed time, and what they assert does not depend on how long anything took.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck

ROOT = Path(__file__).resolve().parent.parent


def property_tests() -> Iterator[tuple[str, Any]]:
    """Every Hypothesis test in the suite, by name."""
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module = importlib.import_module(name)
        for attribute, test in vars(module).items():
            if getattr(test, "is_hypothesis_test", False):
                yield f"{name}::{attribute}", test


PROPERTY_TESTS = list(property_tests())


def test_the_property_tests_are_found() -> None:
    assert len(PROPERTY_TESTS) > 10


@pytest.mark.parametrize(("name", "test"), PROPERTY_TESTS, ids=[n for n, _ in PROPERTY_TESTS])
def test_no_property_test_times_the_machine(name: str, test: Any) -> None:
    chosen = test._hypothesis_internal_use_settings
    assert chosen.deadline is None, f"{name}: a deadline per example fails on a busy machine"
    assert HealthCheck.too_slow in chosen.suppress_health_check, (
        f"{name}: the too_slow health check fails on a busy machine")
