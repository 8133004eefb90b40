"""The kiosk window: one stack of candidate screens driven by the flow, in kiosk mode.

The window shows the screen for the flow's step, ticks the flow ten times a second, shows
the idle warning, and keeps the candidate in: frameless full screen, no close, no Escape.
Staff leave with a hidden gesture (five taps in the top-left corner, or Ctrl+Alt+S) and the
staff passphrase.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk import staff
from kiosk.errors import FlowError
from kiosk.flow import CandidateFlow, FlowEvent, IdleCleared, IdleWarning, StepChanged
from kiosk.logs import get_logger
from ui import i18n, qt_binding
from ui.fullscreen import show_full_screen
from ui.runtime import Runtime
from ui.screens.base import Screen
from ui.screens.entry import (
    AccommodationsScreen,
    ConsentScreen,
    DeclinedScreen,
    IdentifyScreen,
    WelcomeScreen,
)
from ui.screens.interview import (
    BreakScreen,
    DeviceCheckScreen,
    FinishedScreen,
    FollowUpCheckScreen,
    QuestionScreen,
    ReviewScreen,
)
from ui.screens.invitation import InvitationScreen
from ui.staff import StaffConsole
from ui.widgets import button, label, set_text

SCREENS: tuple[type[Screen], ...] = (
    WelcomeScreen, InvitationScreen, IdentifyScreen, ConsentScreen, AccommodationsScreen,
    DeviceCheckScreen, QuestionScreen, ReviewScreen, FollowUpCheckScreen, BreakScreen,
    FinishedScreen, DeclinedScreen,
)
TICK_MS = 40  # 25 refreshes a second: the self-view stays smooth, timers stay exact
_log = get_logger("ui")
STAFF_TAPS = 5
STAFF_TAP_SECONDS = 3.0


class IdleOverlay(QFrame):
    """'Are you still there?' over whatever screen is showing."""

    def __init__(self, parent: QWidget, still_here: Callable[[], None]) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        self.text = label("title")
        layout.addWidget(self.text)
        self.yes = button(primary=True)
        self.yes.clicked.connect(still_here)
        layout.addWidget(self.yes)
        self.hide()

    def retranslate(self) -> None:
        """Texts in the current language."""
        self.text.setText(i18n.tr("idle.question"))
        set_text(self.yes, i18n.tr("idle.still_here"))


class KioskWindow(QWidget):
    """The candidate-facing window."""

    def __init__(self, flow: CandidateFlow, runtime: Runtime, *, kiosk_mode: bool = True,
                 staff_check: Callable[[str], bool] = lambda _: False) -> None:
        super().__init__()
        self.flow, self.runtime = flow, runtime
        self._kiosk_mode = kiosk_mode
        self._staff_check = staff_check
        self._allow_close = not kiosk_mode
        self._taps: list[float] = []
        self.setWindowTitle("Interview Kiosk")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack)
        runtime.ask_resume = self.ask_resume
        runtime.attach(flow)
        self.screens = {kind: kind(flow, runtime) for kind in SCREENS}
        self.by_step = {step: screen for screen in self.screens.values()
                        for step in screen.steps}
        for screen in self.screens.values():
            self.stack.addWidget(screen)
        self.console = StaffConsole(runtime, on_lock=self._lock, on_quit=self._quit)
        self.stack.addWidget(self.console)
        self.overlay = IdleOverlay(self, lambda: flow.touch())
        self.overlay.retranslate()
        forget = i18n.on_language_change(self.overlay.retranslate)
        self.destroyed.connect(lambda *_: forget())
        flow.subscribe(self._on_event)
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer runs up to 5% late
        self.timer.timeout.connect(self._tick)
        self.timer.start(TICK_MS)
        self.runtime.last_error = qt_binding.staff_note() or runtime.last_error
        self._show_step()
        if kiosk_mode:
            self.setWindowFlag(Qt.WindowType.FramelessWindowHint)
            self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)

    def showFullScreen(self) -> None:  # noqa: N802 - Qt's name
        """Full screen on the screen's whole geometry, with or without a window manager."""
        show_full_screen(self)

    @property
    def current(self) -> Screen:
        """The screen showing now."""
        widget = self.stack.currentWidget()
        assert isinstance(widget, Screen)
        return widget

    def _on_event(self, event: FlowEvent) -> None:
        if isinstance(event, StepChanged):
            self._show_step()
        elif isinstance(event, IdleWarning):
            self.overlay.setGeometry(self.width() // 6, self.height() // 3,
                                     self.width() * 2 // 3, self.height() // 3)
            self.overlay.show()
            self.overlay.raise_()
        elif isinstance(event, IdleCleared):
            self.overlay.hide()

    def _show_step(self) -> None:
        screen = self.by_step[self.flow.step]
        if self.flow.step.value == "welcome":
            self.overlay.hide()
            i18n.set_language(self.flow.language)  # nothing of the last candidate remains
        self.stack.setCurrentWidget(screen)
        screen.entered()
        screen.refresh()

    def _tick(self) -> None:
        if self.stack.currentWidget() is self.console:
            return  # the candidate flow waits while staff work
        self.flow.tick()
        self.current.refresh()

    # --- kiosk mode -------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        """Any touch keeps the session alive; taps in the corner open the staff entry."""
        if self.stack.currentWidget() is not self.console:
            self.flow.touch()
        if event.position().x() < 80 and event.position().y() < 80:
            now = time.monotonic()
            self._taps = [t for t in self._taps if now - t < STAFF_TAP_SECONDS] + [now]
            if len(self._taps) >= STAFF_TAPS:
                self._taps = []
                self.staff_entry()
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        """Keys keep the session alive; Escape does nothing; Ctrl+Alt+S is staff entry."""
        self.flow.touch()
        modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        if event.key() == Qt.Key.Key_S and event.modifiers() == modifiers:
            self.staff_entry()
            return
        if event.key() == Qt.Key.Key_Escape and self._kiosk_mode:
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """In kiosk mode the window closes only after staff entry."""
        if self._allow_close:
            self.tear_down()
            event.accept()
        else:
            event.ignore()

    def tear_down(self) -> None:
        """Stop, in order, what runs behind the screens: the tick, any playback (a player
        decoding a decrypted answer), then recording, the worker and sync."""
        self.timer.stop()
        self.console.stop_playback()
        review = self.screens[ReviewScreen]
        assert isinstance(review, ReviewScreen)
        review.playback.stop()
        self.runtime.shut_down()

    def staff_entry(self) -> None:
        """Ask for the staff PIN (or, with none set, the passphrase) until it is right, staff
        cancel, or entry locks; then open the console."""
        data_dir = self.runtime.store.data_dir
        uses_pin = staff.has_pin(data_dir)
        prompt = i18n.tr("staff.pin_prompt") if uses_pin else i18n.tr("staff.prompt")
        while True:
            text, ok = QInputDialog.getText(self, i18n.tr("staff.title"), prompt,
                                            QLineEdit.EchoMode.Password)
            if not ok:
                return
            try:
                right = staff.check_pin(data_dir, text) if uses_pin else self._staff_check(text)
            except staff.StaffLockedError as exc:
                self._audit("staff.entry_failed", locked=True)
                QMessageBox.warning(self, i18n.tr("staff.title"), str(exc))
                return
            if right:
                break
            self._audit("staff.entry_failed", locked=False)
            prompt = i18n.tr("staff.wrong_pin") if uses_pin else i18n.tr("staff.wrong_passphrase")
        self._audit("staff.entered")
        if self.flow.step.value != "welcome":
            self.flow.abort()  # the candidate's session is kept and can be resumed
        self.console.refresh()
        self.stack.setCurrentWidget(self.console)

    def _audit(self, action: str, **details: object) -> None:
        store = self.runtime.store
        with store.transaction():
            store.audit.append(action, details)

    def _lock(self) -> None:
        self.console.stop_playback()
        self._audit("staff.locked")
        self._show_step()

    def _quit(self) -> None:
        self._audit("staff.exited")
        self._allow_close = True
        self.close()

    def report_unexpected(self, kind: type[BaseException], error: BaseException,
                          trace: TracebackType | None) -> None:
        """The one error path for surprises: a calm sentence here, the detail for staff."""
        _log.error("ui.unexpected_error", exc_info=(kind, error, trace))
        self.runtime.last_error = f"{kind.__name__} (details in the kiosk log)"
        self.runtime.status.error("ui.unexpected_error")
        if self.stack.currentWidget() is not self.console:
            self.current.problem.setText(i18n.tr("problem.unexpected"))

    def ask_resume(self) -> None:
        """'I have a reference code': resume an interrupted session."""
        code, ok = QInputDialog.getText(self, i18n.tr("welcome.resume"),
                                        i18n.tr("welcome.resume_prompt"))
        if ok:
            try:
                self.flow.resume(code)
            except FlowError as exc:
                self.current.problem.setText(str(exc))
