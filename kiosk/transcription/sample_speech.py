"""Speech the kiosk makes itself: espeak-ng reading text, decoded in memory.

Used by the headless demo's scripted candidate, by the kiosk window's sample media (a kiosk
with no microphone), and by tests. Nothing touches the disk: espeak-ng writes its WAV to a
pipe, and the samples stay in memory.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import threading
from collections.abc import Iterable

from kiosk.demo.answers import sample_answer
from kiosk.errors import ConfigError
from kiosk.transcription.transcriber import Samples, decode_audio


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


class SampleVoice:
    """The sample answers, spoken, for sample media: made in the background ahead of the
    questions (a take must not wait for espeak-ng), then kept in memory.

    Without espeak-ng there is no voice (`samples` gives None) and the sample media stays a
    quiet tone, as the screens then say.
    """

    def __init__(self, question_ids: Iterable[str]) -> None:
        self._ids = ["practice", *question_ids]
        self._spoken: dict[str, Samples] = {}
        self._lock = threading.Lock()
        self.available = espeak_available()

    def prepare(self) -> threading.Thread:
        """Speak every answer on a background thread (started and returned)."""
        # The decoder's first import loads shared libraries under the import lock and the
        # GIL. Done on a thread while the GUI thread loads Qt's media plugins (whose load can
        # call back into Python), the two waited on each other for ever: import it here.
        import av  # noqa: F401

        thread = threading.Thread(target=self._speak_all, name="SampleVoice", daemon=True)
        thread.start()
        return thread

    def _speak_all(self) -> None:
        for question_id in self._ids:
            if self.samples(question_id) is None:
                return

    def samples(self, question_id: str | None, *, wait: bool = True) -> Samples | None:
        """The spoken sample answer to `question_id` (None: the practice question); without
        `wait`, only one already spoken (a preview must not hold up the screen)."""
        key = question_id or "practice"
        if not self._lock.acquire(blocking=wait):
            return self._spoken.get(key)
        try:  # one espeak-ng at a time; a take waits for the one under way
            if key not in self._spoken and self.available and wait:
                try:
                    self._spoken[key] = synthesise(sample_answer(key))
                except ConfigError:
                    self.available = False
            return self._spoken.get(key)
        finally:
            self._lock.release()
