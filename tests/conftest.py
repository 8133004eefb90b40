"""Every test starts from a fresh data directory and default settings, never the developer's."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from kiosk.logs import LOGGER_NAME
from kiosk.paths import CACHE_DIR_ENV, cache_dir

# One cache of the templates' example vectors for the whole run, subprocesses included, even
# in tests that give the kiosk a HOME of their own (it holds no candidate data).
os.environ.setdefault(CACHE_DIR_ENV, str(cache_dir()))


@pytest.fixture(autouse=True)
def fresh_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the kiosk at an empty data directory for the length of the test."""
    data_dir = tmp_path / "kiosk-data"
    monkeypatch.setenv("KIOSK_DATA_DIR", str(data_dir))
    yield data_dir
    root = logging.getLogger(LOGGER_NAME)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()


# Property tests must not fail because the machine is busy: Hypothesis's per-example deadline
# and its "generating data is slow" health check both time the machine, not the code.
settings.register_profile("kiosk", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("kiosk")
