"""A short window soak (bench/window_soak.py): scripted candidates through the real window,
in a child process, so an abort is a crash counted, not a test run lost. It asserts what
must never happen (a crash, a lost take, a script stuck waiting for the window), never how
fast anything was; the memory slope needs the full run (docs/benchmarks.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def soak(tmp_path: Path, *options: str) -> dict:
    figures = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "window_soak.py"), "--quiet",
                           "--no-worker", "--json", str(figures), *options],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert figures.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(figures.read_text())


def test_twelve_candidates_offscreen_no_crash_no_lost_take(tmp_path: Path) -> None:
    figures = soak(tmp_path, "--candidates", "12", "--seed", "1201", "--staff-every", "0.2")
    assert figures["crashes"] == 0, figures["crash_details"]
    assert figures["stuck"] == []
    assert figures["lost_takes"] == 0, figures["lost_details"]
    assert figures["candidates"] == 12 and figures["takes_reported"] > 12
    assert figures["actions"]["follow_ups"] >= 1  # the demo's follow-up, asked and answered


@pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
                    reason="Xvfb and xdotool are needed: scripts/system-packages.sh test")
def test_candidates_on_a_real_x_server_with_real_input(tmp_path: Path) -> None:
    figures = soak(tmp_path, "--candidates", "5", "--seed", "1202", "--x", "auto")
    assert figures["hands"] == "xdotool" and figures["platform"] == "xcb"
    assert figures["crashes"] == 0, figures["crash_details"]
    assert figures["stuck"] == []
    assert figures["lost_takes"] == 0, figures["lost_details"]
    assert figures["candidates"] == 5
