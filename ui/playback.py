"""Playing a recording back from memory: decrypted bytes in, picture and sound out, no file."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QUrl
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget


class MemoryPlayer:
    """A video widget and a player that read from an in-memory buffer.

    Lifetimes are owned by Qt, explicitly: the player is a child of the video widget, and the
    buffer and the sound output are children of the player. So the player is destroyed
    first (its destructor stops its decoding threads), and only then the buffer they read
    from. Stopping never calls into the player from Python: `stop()` hands the player to
    `deleteLater`, and the event loop destroys it with no Python code on the stack. That
    matters: the FFmpeg backend's audio thread, while stopping, destroys objects connected to
    the Python-made QAudioOutput and so needs the Python lock (shiboken looks for Python
    overrides of its virtual methods). `player.stop()` called from Python held that lock
    while waiting for that thread: the kiosk froze on "Use this answer" after "Watch my
    answer" under X, about one stop in fifty (found by bench/window_soak.py).
    """

    def __init__(self, width: int = 480, height: int = 270) -> None:
        self.video = QVideoWidget()
        self.video.setMinimumSize(width, height)
        self.video.hide()
        self.player: QMediaPlayer | None = None

    def play(self, data: bytes) -> None:
        """Play `data` (an MP4) from memory."""
        self.stop()
        player = QMediaPlayer(self.video)
        buffer = QBuffer(player)
        buffer.setData(QByteArray(data))
        buffer.open(QBuffer.OpenModeFlag.ReadOnly)
        player.setAudioOutput(QAudioOutput(player))
        player.setVideoOutput(self.video)
        player.setSourceDevice(buffer, QUrl("answer.mp4"))
        self.video.show()
        player.play()
        self.player = player

    def stop(self) -> None:
        """Stop and drop the decrypted bytes (with the player, when the event loop next runs)."""
        player, self.player = self.player, None
        if player is not None:
            player.deleteLater()
        self.video.hide()
