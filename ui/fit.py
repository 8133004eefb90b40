"""The fit check: nothing on a screen is cut off, squeezed below its text, or off the window.

`misfits(window)` walks every visible widget of the window as it is now. A label must be as
high as its wrapped text needs, a button or a one-line label as large as its text, a combo
box at least its minimum; every widget must lie inside the window, and a screen's own scroll
area (object name "page") must not need scrolling. Content that scrolls by design (the full
notice, a table, a text box) is judged by its scroll area, not line by line.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QComboBox,
    QLabel,
    QScrollArea,
    QWidget,
)

PAGE = "page"  # the object name of a screen's own scroll area: it must never need to scroll


def misfits(window: QWidget) -> list[str]:
    """Every visible widget that is cut off, squeezed below its text, or outside `window`;
    and every screen that needs scrolling to be seen whole."""
    bounds = window.rect()
    problems = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or _scrolls_inside(widget, window):
            continue
        name = _describe(widget)
        if isinstance(widget, QScrollArea) and widget.objectName() == PAGE:
            bar = widget.verticalScrollBar()
            if bar.isVisible() and bar.maximum() > 0:
                problems.append(f"{name} needs scrolling ({bar.maximum()} px more)")
        place = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
        if not bounds.contains(place):
            problems.append(f"{name} at {_rect(place)} is outside the window {_rect(bounds)}")
        problem = _squeezed(widget)
        if problem:
            problems.append(f"{name} {problem}")
    return problems


def _squeezed(widget: QWidget) -> str:
    """How `widget` is smaller than its text needs, if it is."""
    if isinstance(widget, QLabel) and widget.text():
        if widget.wordWrap():
            needed = widget.heightForWidth(widget.width())
            if widget.height() + 1 < needed:
                return f"is {widget.height()} px high but its text needs {needed}"
            return ""
        hint = widget.sizeHint()
    elif isinstance(widget, QAbstractButton) and widget.text():
        hint = widget.sizeHint()
    elif isinstance(widget, QComboBox):
        hint = widget.minimumSizeHint()
    else:
        return ""
    if widget.width() + 1 < hint.width() or widget.height() + 1 < hint.height():
        return f"is {widget.width()}×{widget.height()} but needs {hint.width()}×{hint.height()}"
    return ""


def _scrolls_inside(widget: QWidget, window: QWidget) -> bool:
    """Whether `widget` is content that scrolls by design (a notice, a table, a text box)."""
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        grand = parent.parentWidget()
        if isinstance(grand, QAbstractScrollArea) and grand.viewport() is parent \
                and grand.objectName() != PAGE:
            return True
        parent = grand
    return False


def _describe(widget: QWidget) -> str:
    text = widget.text() if isinstance(widget, QLabel | QAbstractButton) else ""
    said = f" {text[:40]!r}" if text else ""
    return f"{type(widget).__name__}{said}"


def _rect(rect: QRect) -> str:
    return f"{rect.width()}×{rect.height()}+{rect.x()}+{rect.y()}"
