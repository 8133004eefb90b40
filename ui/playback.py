"""Playing a recording back from memory: decrypted bytes in, picture and sound out, no file."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QUrl
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget


class MemoryPlayer:
    """A video widget and a player that read from an in-memory buffer."""

    def __init__(self, width: int = 480, height: int = 270) -> None:
        self.video = QVideoWidget()
        self.video.setMinimumSize(width, height)
        self.video.hide()
        self.player: QMediaPlayer | None = None
        self._buffer: QBuffer | None = None
        self._audio: QAudioOutput | None = None

    def play(self, data: bytes) -> None:
        """Play `data` (an MP4) from memory."""
        self.stop()
        self._buffer = QBuffer()
        self._buffer.setData(QByteArray(data))
        self._buffer.open(QBuffer.OpenModeFlag.ReadOnly)
        self.player = QMediaPlayer()
        self._audio = QAudioOutput()
        self.player.setAudioOutput(self._audio)
        self.player.setVideoOutput(self.video)
        self.player.setSourceDevice(self._buffer, QUrl("answer.mp4"))
        self.video.show()
        self.player.play()

    def stop(self) -> None:
        """Stop and drop the decrypted bytes.

        The order is fixed, because the player's decoding threads read the buffer: stop,
        detach the source, destroy the player (these objects have no Qt parent, so dropping
        the last Python reference deletes them now, not at some later event), then the
        sound output, and only then close and empty the buffer. Nothing of a playback
        outlives this call, so closing the window never finds a player still reading.
        """
        player, self.player = self.player, None
        if player is not None:
            player.stop()
            # Let go of the buffer first (setSourceDevice(None) can block offscreen).
            player.setSource(QUrl())
            del player
        self._audio = None
        if self._buffer is not None:
            self._buffer.close()
            self._buffer.setData(QByteArray())
            self._buffer = None
        self.video.hide()
