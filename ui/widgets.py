"""Small widgets the screens share: buttons, labels, countdown ring, level meter, QR code."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QWidget


def button(primary: bool = False) -> QPushButton:
    """A touch-sized button (its text and accessible name are set by `retranslate`)."""
    widget = QPushButton()
    if primary:
        widget.setObjectName("primary")
    widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    widget.setCursor(Qt.CursorShape.PointingHandCursor)
    return widget


def label(kind: str = "", wrap: bool = True) -> QLabel:
    """A label styled by kind: title, prompt, muted, big, recording (see theme)."""
    widget = QLabel()
    if kind:
        widget.setObjectName(kind)
    widget.setWordWrap(wrap)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    return widget


def set_text(widget: QPushButton | QLabel, text: str) -> None:
    """Set the text and the screen-reader name together."""
    widget.setText(text)
    widget.setAccessibleName(text)


class CountdownRing(QWidget):
    """Seconds left, as a number inside a ring that empties."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumSize(160, 160)
        self._left, self._total = 0.0, 1.0

    def show_time(self, left: float, total: float) -> None:
        """Show `left` of `total` seconds."""
        self._left, self._total = max(0.0, left), max(total, 0.001)
        self.setAccessibleName(f"{int(self._left + 0.99)}")
        self.update()

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        """Draw the ring and the number."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height()) - 16
        box = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        painter.setPen(QPen(QColor("#d5d0c4"), 12))
        painter.drawEllipse(box)
        painter.setPen(QPen(QColor("#1f6f8b"), 12))
        painter.drawArc(box, 90 * 16, int(-360 * 16 * self._left / self._total))
        font = painter.font()
        font.setPixelSize(int(side / 3))
        painter.setFont(font)
        painter.setPen(self.palette().text().color())
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, str(int(self._left + 0.99)))


class LevelMeter(QWidget):
    """The microphone level, as a bar from -60 dBFS to 0."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumSize(240, 24)
        self._fraction = 0.0

    def show_level(self, rms_dbfs: float) -> None:
        """Show a level in dBFS."""
        self._fraction = min(1.0, max(0.0, (rms_dbfs + 60) / 60))
        self.update()

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        """Draw the bar."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#d5d0c4"))
        filled = self.rect().adjusted(0, 0, -int(self.width() * (1 - self._fraction)), 0)
        painter.fillRect(filled, QColor("#2e7d32"))


def image_pixmap(image: np.ndarray, mirror: bool = True) -> QPixmap:
    """A BGR frame as a pixmap (mirrored, as people expect of a self-view)."""
    rgb = np.ascontiguousarray(image[:, ::-1, ::-1] if mirror else image[:, :, ::-1])
    height, width = rgb.shape[:2]
    qimage = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


def qr_pixmap(text: str, size: int = 240) -> QPixmap:
    """`text` as a QR code (for the reference code on the finished screen)."""
    import segno

    matrix = np.array([list(row) for row in segno.make(text, error="m").matrix], dtype=bool)
    modules = matrix.shape[0] + 8  # a quiet zone of four modules each side
    scale = max(1, size // modules)
    image = QImage(modules * scale, modules * scale, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    for y, x in zip(*np.nonzero(matrix), strict=True):
        painter.fillRect((int(x) + 4) * scale, (int(y) + 4) * scale, scale, scale, QColor("black"))
    painter.end()
    return QPixmap.fromImage(image)


def face_guide(pixmap: QPixmap) -> None:
    """Draw where a face should sit: an oval in the middle, as the device check judges."""
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(255, 255, 255, 200), 3, Qt.PenStyle.DashLine))
    width, height = pixmap.width(), pixmap.height()
    painter.drawEllipse(QRectF(width * 0.35, height * 0.15, width * 0.30, height * 0.60))
    painter.end()
