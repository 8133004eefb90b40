"""Speech the kiosk makes itself: espeak-ng reading text, decoded in memory.

Used by the headless demo's scripted candidate and by tests. Nothing touches the disk:
espeak-ng writes its WAV to a pipe.
"""

from __future__ import annotations

import io
import shutil
import subprocess

from kiosk.errors import ConfigError
from kiosk.transcribe import Samples, decode_audio


def espeak_available() -> bool:
    """Whether espeak-ng is installed."""
    return shutil.which("espeak-ng") is not None


def synthesise(text: str, voice: str = "en-us", words_per_minute: int = 150) -> Samples:
    """`text` spoken by espeak-ng, as 16 kHz mono float32 samples."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise ConfigError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    # The text is one argument, never parsed by a shell.
    done = subprocess.run([binary, "-v", voice, "-s", str(words_per_minute), "--stdout", text],  # noqa: S603
                          capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout:
        raise ConfigError(f"espeak-ng failed: {done.stderr.decode(errors='replace').strip()}")
    return decode_audio(io.BytesIO(done.stdout))
