"""Full screen that holds with or without a window manager.

`showFullScreen()` only asks the window manager for full screen. A bare X server (an `xinit`
kiosk session, Xvfb) has none to ask, so the window kept its natural size in a corner and
cut its screens off. Here the window also takes its screen's whole geometry itself, and
again whenever that screen changes size (a rotated or replaced monitor, `xrandr`) or the
window lands on another screen. With a window manager this agrees with what it does anyway.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRect
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import QWidget


class ScreenFollower(QObject):
    """Keeps a full-screen window on its screen's whole geometry (a child of the window, so
    its connections end with it)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._screen: QScreen | None = None
        handle = window.windowHandle()
        if handle is not None:
            handle.screenChanged.connect(self._on_screen_changed)
        self._on_screen_changed(window.screen())

    def _on_screen_changed(self, screen: QScreen | None) -> None:
        if self._screen is not None:
            self._screen.geometryChanged.disconnect(self._on_geometry_changed)
        self._screen = screen
        if screen is not None:
            screen.geometryChanged.connect(self._on_geometry_changed)
            self._on_geometry_changed(screen.geometry())

    def _on_geometry_changed(self, geometry: QRect) -> None:
        # Only windows shown full screen have a follower, and a kiosk never leaves it.
        if self._window.geometry() != geometry:
            self._window.setGeometry(geometry)


def show_full_screen(window: QWidget) -> ScreenFollower:
    """Show `window` over its whole screen, window manager or not, and keep it so."""
    window.setGeometry(window.screen().geometry())
    QWidget.showFullScreen(window)  # the window manager's full screen, where there is one
    follower = window.findChild(ScreenFollower)
    return follower if follower is not None else ScreenFollower(window)
