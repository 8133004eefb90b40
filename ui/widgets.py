"""Small widgets the screens share: buttons, labels, wrapping check boxes, countdown ring,
level meter, QR code and the reference-code card."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui import i18n


def button(primary: bool = False) -> QPushButton:
    """A touch-sized button (its text and accessible name are set by `retranslate`)."""
    widget = QPushButton()
    if primary:
        widget.setObjectName("primary")
    # Never narrower than its text: a squeezed button cuts its words ("port for HQ (USB").
    widget.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
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


def set_text(widget: QPushButton | QLabel | CheckRow, text: str) -> None:
    """Set the text and the screen-reader name together."""
    widget.setText(text)
    widget.setAccessibleName(text)


class _TapLabel(QLabel):
    """A label that ticks its check box when tapped, as a check box's own text does."""

    def __init__(self, box: QCheckBox) -> None:
        super().__init__()
        self._box = box

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        """A tap on the text is a tap on the box."""
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
                event.position().toPoint()):
            self._box.toggle()
        super().mouseReleaseEvent(event)


class CheckRow(QWidget):
    """A check box whose text wraps: a QCheckBox's own text never does, so a long consent
    sentence was cut at the window's edge."""

    def __init__(self) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        self.box = QCheckBox()
        self.label = _TapLabel(self.box)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setBuddy(self.box)
        self.label.setCursor(Qt.CursorShape.PointingHandCursor)
        layout.addWidget(self.box, alignment=Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, stretch=1)

    def setText(self, text: str) -> None:  # noqa: N802 - as QCheckBox names it
        """The sentence beside the box (also the box's name for screen readers)."""
        self.label.setText(text)
        self.box.setAccessibleName(text)

    def text(self) -> str:
        """The sentence beside the box."""
        return self.label.text()

    def isChecked(self) -> bool:  # noqa: N802 - as QCheckBox names it
        """Whether the box is ticked."""
        return self.box.isChecked()

    def setChecked(self, checked: bool) -> None:  # noqa: N802 - as QCheckBox names it
        """Tick or clear the box."""
        self.box.setChecked(checked)


class CountdownRing(QWidget):
    """Seconds left, as a number inside a ring that empties."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumSize(160, 160)
        self._left, self._total = 0.0, 1.0
        self._said = -1

    def show_time(self, left: float, total: float) -> None:
        """Show `left` of `total` seconds (a screen reader hears "N seconds left")."""
        self._left, self._total = max(0.0, left), max(total, 0.001)
        seconds = int(self._left + 0.99)
        if seconds != self._said:  # once a second, not on every tick
            self._said = seconds
            self.setAccessibleDescription(i18n.tr("timer.seconds_left", seconds=seconds))
        self.update()

    def set_purpose(self, name: str) -> None:
        """What the ring counts down ("Time to think"), for screen readers."""
        self.setAccessibleName(name)
        self._said = -1  # the description follows in the new language at the next tick
        self.setAccessibleDescription(i18n.tr("timer.seconds_left",
                                              seconds=int(self._left + 0.99)))

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


def code_guide(pixmap: QPixmap) -> None:
    """Draw where an invitation's QR code should be held: a square in the middle, as large as
    the code must look for the scanner to read it at the camera's resolution."""
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(255, 255, 255, 220), 3, Qt.PenStyle.DashLine))
    width, height = pixmap.width(), pixmap.height()
    side = height * 0.55
    painter.drawRect(QRectF((width - side) / 2, (height - side) / 2, side, side))
    painter.end()


class ReferenceCard(QFrame):
    """The candidate's reference code as text and QR, and why to keep it: shown as soon as
    the session exists, so an interrupted candidate can come back without staff."""

    def __init__(self, qr_size: int = 150) -> None:
        super().__init__()
        self.setObjectName("card")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._qr_size = qr_size
        self._shown: str | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 12, 24, 12)
        layout.setSpacing(20)
        self.qr = QLabel()
        self.qr.setFixedSize(qr_size, qr_size)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.qr)
        words = QVBoxLayout()
        self.heading = label("muted")
        self.code = label("code", wrap=False)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.keep = label()
        for widget in (self.heading, self.code, self.keep):
            words.addWidget(widget)
        words.addStretch(1)
        layout.addLayout(words, stretch=1)
        self.retranslate()

    def show_reference(self, reference: str | None) -> None:
        """Show `reference` (the card hides while there is none)."""
        if reference != self._shown:
            self._shown = reference
            set_text(self.code, reference or "")
            if reference:
                self.qr.setPixmap(qr_pixmap(reference, self._qr_size))
            else:
                self.qr.clear()
        self.setVisible(bool(reference))

    def retranslate(self) -> None:
        """Texts in the current language."""
        self.heading.setText(i18n.tr("reference.heading"))
        self.keep.setText(i18n.tr("reference.keep"))
        self.qr.setAccessibleName(i18n.tr("finished.qr"))
