"""The window's sample media speaks a labelled sample answer (issue 12, item 8), so a first
try shows transcription: it was a silent tone ("no speech was recognised")."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.transcription.sample_speech import SampleVoice, espeak_available
from kiosk.transcription.transcriber import SAMPLE_RATE, Transcriber
from kiosk.vault import VaultReader
from tests.ui.test_journey import Kiosk

needs_espeak = pytest.mark.skipif(not espeak_available(),
                                  reason="espeak-ng is not installed: run make test, which "
                                         "installs it")


@needs_espeak
def test_a_take_with_sample_media_is_heard_and_transcribed(qtbot, tmp_path: Path) -> None:
    kiosk = Kiosk(qtbot, tmp_path)
    kiosk.to_questions()
    kiosk.speak(seconds=3.5)  # the recorder takes the sample voice through a real Source
    screen = kiosk.screen
    assert screen.sample_note.isVisible() and screen.sample_note.text().startswith(
        "SAMPLE MEDIA")
    image, _ = kiosk.runtime.preview()
    assert image is not None  # the picture carries its own "SAMPLE MEDIA" label
    kiosk.click(screen.primary)
    kiosk.click(kiosk.screen.use)
    session = kiosk.flow.session()
    assert session is not None
    path = kiosk.store.audio_path(session.id, "introduce-yourself", 1)
    with path.open("rb") as source, \
            VaultReader(source, [kiosk.store.session_identity(session.id)]) as reader:
        transcript = Transcriber().transcribe(reader)
    heard = transcript.text.lower()
    assert "my name is" in heard, heard


@needs_espeak
def test_the_sample_voice_is_made_in_memory_ahead_of_the_questions(tmp_path: Path,
                                                                    monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    voice = SampleVoice(["introduce-yourself", "no-such-question"])
    voice.prepare().join(timeout=120)
    spoken = voice.samples("introduce-yourself")
    assert spoken is not None and len(spoken) > 5 * SAMPLE_RATE
    assert voice.samples(None) is not None  # the practice question has its own answer
    assert voice.samples("no-such-question") is not None  # a general sample answer
    assert list(tmp_path.iterdir()) == []  # nothing written: espeak-ng speaks into a pipe


def test_without_espeak_the_sample_media_stays_a_tone(monkeypatch) -> None:
    monkeypatch.setattr("kiosk.transcription.sample_speech.shutil.which", lambda name: None)
    voice = SampleVoice(["introduce-yourself"])
    assert not voice.available and voice.samples("introduce-yourself") is None


def test_a_preview_does_not_wait_for_the_voice() -> None:
    voice = SampleVoice(["introduce-yourself"])
    with voice._lock:  # espeak-ng busy on another answer
        assert voice.samples("introduce-yourself", wait=False) is None
