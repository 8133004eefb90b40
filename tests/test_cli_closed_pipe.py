"""`kiosk … | head` and `kiosk-hq … | head`: a reader that stops early is no internal error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("argv", [["kiosk", "templates", "list"],
                                  ["kiosk-hq", "sessions", "list", "--json"]])
def test_a_reader_that_went_away_gets_no_traceback(argv: list[str], tmp_path: Path) -> None:
    with subprocess.Popen([str(BIN / argv[0]), "--data-dir", str(tmp_path), *argv[1:]],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as app:
        assert app.stdout is not None and app.stderr is not None
        app.stdout.close()  # before the command has printed anything: no write finds a reader
        errors = app.stderr.read().decode()
        assert app.wait(timeout=600) == 141, errors
    assert "internal error" not in errors and "Traceback" not in errors
    assert "Exception ignored" not in errors, errors
