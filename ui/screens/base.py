"""What every candidate screen shares: the flow it views, live retranslation, calm errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from kiosk.errors import FlowError, InvalidInput
from kiosk.flow import CandidateFlow, Step
from ui import i18n
from ui.widgets import label

if TYPE_CHECKING:
    from ui.runtime import Runtime


class Screen(QWidget):
    """A thin view over the flow: it renders state and calls intents, never decides."""

    steps: ClassVar[tuple[Step, ...]] = ()

    def __init__(self, flow: CandidateFlow, runtime: Runtime) -> None:
        super().__init__()
        self.flow = flow
        self.runtime = runtime
        # The content scrolls rather than clipping or growing the window: larger text, a
        # long notice or a small screen must never push a button out of reach.
        body = QWidget()
        scroll = QScrollArea()
        scroll.setObjectName("page")  # the fit check (ui/tour.py) wants it never to scroll
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.layout_ = QVBoxLayout(body)
        self.layout_.setContentsMargins(56, 32, 56, 32)
        self.layout_.setSpacing(16)
        self.problem = label("muted")
        self.problem.setStyleSheet("color: #b42318;")
        self.build()
        self.layout_.addWidget(self.problem)
        self.retranslate()
        forget = i18n.on_language_change(self.retranslate)
        self.destroyed.connect(lambda *_: forget())

    def build(self) -> None:
        """Create the widgets (texts come from `retranslate`)."""

    def retranslate(self) -> None:
        """Set every text in the current language."""

    def refresh(self) -> None:
        """Show time-dependent state (called on every tick and event while visible)."""

    def entered(self) -> None:
        """The flow arrived at one of this screen's steps."""
        self.problem.clear()

    def act(self, intent: Callable[[], None]) -> None:
        """Run an intent; a refusal becomes a calm sentence, not a crash."""
        try:
            intent()
        except InvalidInput as exc:
            key = f"problem.{exc.field}"
            self.problem.setText(i18n.tr(key) if i18n.has(key) else str(exc))
        except FlowError as exc:
            self.problem.setText(str(exc))

    def row(self, *widgets: QWidget) -> QHBoxLayout:
        """A centred row of widgets, added to the screen."""
        layout = QHBoxLayout()
        layout.addStretch(1)
        for widget in widgets:
            layout.addWidget(widget)
        layout.addStretch(1)
        self.layout_.addLayout(layout)
        return layout

    def centred(self, widget: QWidget) -> None:
        """Add `widget` centred."""
        self.layout_.addWidget(widget, alignment=Qt.AlignmentFlag.AlignHCenter)
