"""The soak's hands on the real window: Qt test events offscreen, xdotool on a real X server.

Both kinds act asynchronously, as a person does: an action is sent and the script then waits
for what it should lead to. Offscreen, each action is posted to the event loop (a click that
opens a modal dialog runs that dialog's loop, and the script goes on inside it, answering
the dialog as it would on X). On X, xdotool moves the real pointer and presses real keys
through the XTEST extension; the X server delivers them to the window like any input.
"""

from __future__ import annotations

import subprocess
from typing import Protocol

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QPushButton,
    QScrollArea,
    QWidget,
)

KEYS = {"Return": Qt.Key.Key_Return, "Escape": Qt.Key.Key_Escape}


class Hands(Protocol):
    """What a scripted candidate (or member of staff) can do with the window."""

    name: str

    def click(self, widget: QWidget) -> None:
        """Click the middle of `widget`."""

    def click_row(self, table: QAbstractItemView, row: int) -> None:
        """Click the first cell of a table's `row`."""

    def type(self, widget: QWidget, text: str) -> None:
        """Focus `widget` and type `text` (ASCII) into it."""

    def key(self, widget: QWidget, key: str) -> None:
        """Press `key` ("Return", "Escape") in `widget`."""

    def staff_gesture(self, window: QWidget) -> None:
        """Ctrl+Alt+S, the staff entry."""


def target(widget: QWidget) -> QPoint:
    """Where a person presses `widget`: a check box by its box (its text may not reach the
    middle of a full-width row), anything else in the middle."""
    if isinstance(widget, QAbstractButton) and widget.isCheckable() \
            and not isinstance(widget, QPushButton):
        return QPoint(min(10, widget.width() // 2), widget.height() // 2)
    return widget.rect().center()


def _into_view(widget: QWidget) -> None:
    """Scroll the screen so `widget` can be seen (and so clicked where it is)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(widget)
        parent = parent.parentWidget()


class QtHands:
    """Qt test events, posted to the event loop (for the offscreen platform)."""

    name = "qt"

    def click(self, widget: QWidget) -> None:
        _into_view(widget)
        QTimer.singleShot(0, lambda: QTest.mouseClick(widget, Qt.MouseButton.LeftButton,
                                                      pos=target(widget)))

    def click_row(self, table: QAbstractItemView, row: int) -> None:
        model = table.model()
        centre = table.visualRect(model.index(row, 0)).center()
        QTimer.singleShot(0, lambda: QTest.mouseClick(table.viewport(),
                                                      Qt.MouseButton.LeftButton, pos=centre))

    def type(self, widget: QWidget, text: str) -> None:
        def typing() -> None:
            widget.setFocus()
            QTest.keyClicks(widget, text)
        QTimer.singleShot(0, typing)

    def key(self, widget: QWidget, key: str) -> None:
        QTimer.singleShot(0, lambda: QTest.keyClick(widget, KEYS[key]))

    def staff_gesture(self, window: QWidget) -> None:
        modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        QTimer.singleShot(0, lambda: QTest.keyClick(window, Qt.Key.Key_S, modifiers))


class XHands:
    """xdotool on the X server the window is on (Xvfb, no window manager)."""

    name = "xdotool"

    def __init__(self, display: str) -> None:
        self._env = {"DISPLAY": display}

    def _run(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self._env, check=True, timeout=10)

    def _point(self, widget: QWidget, at: QPoint | None = None) -> QPoint:
        _into_view(widget)
        return widget.mapToGlobal(at if at is not None else target(widget))

    def click(self, widget: QWidget) -> None:
        point = self._point(widget)
        # No --sync: it waits for the pointer to move, for ever if it is already there. One
        # connection keeps the order: the click lands where the pointer was moved to.
        self._run("mousemove", str(point.x()), str(point.y()), "click", "1")

    def click_row(self, table: QAbstractItemView, row: int) -> None:
        centre = table.visualRect(table.model().index(row, 0)).center()
        point = self._point(table.viewport(), centre)
        self._run("mousemove", str(point.x()), str(point.y()), "click", "1")

    def type(self, widget: QWidget, text: str) -> None:
        self.click(widget)  # focus it as a person would (and the window, with no WM)
        self._run("type", "--delay", "2", text)

    def key(self, widget: QWidget, key: str) -> None:
        self._run("key", key)

    def staff_gesture(self, window: QWidget) -> None:
        self._run("key", "ctrl+alt+s")


def modal() -> QWidget | None:
    """The modal dialog that is open, if any."""
    return QApplication.activeModalWidget()
