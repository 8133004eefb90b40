"""The kiosk window opens on a real X server (Xvfb), not only on Qt's offscreen platform."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None,
                                reason="Xvfb is not installed: run make test, which installs it")


def test_the_kiosk_app_starts_on_xvfb_and_stays_up(tmp_path: Path) -> None:
    display = f":{90 + os.getpid() % 9}"
    with subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as xvfb:
        try:
            time.sleep(1.0)
            env = {**os.environ, "DISPLAY": display}
            env.pop("QT_QPA_PLATFORM", None)
            env.pop("KIOSK_DATA_DIR", None)  # a temporary demo kiosk, as make run makes
            app = subprocess.Popen(
                [str(Path(sys.executable).parent / "kiosk-app"), "--windowed"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                time.sleep(6.0)
                alive = app.poll() is None
            finally:
                app.terminate()
                output = app.communicate(timeout=20)[0]
            assert alive, f"the kiosk window did not stay up on X:\n{output[-2000:]}"
            assert "Demo kiosk in" in output
            assert "could not load the Qt platform plugin" not in output.lower()
        finally:
            xvfb.terminate()
            xvfb.wait(timeout=10)
