"""At a campus drive: scan the invitation's QR code, or type the code printed under it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QLineEdit

from kiosk.errors import InvitationError
from kiosk.flow import Step
from ui import i18n
from ui.screens.base import Screen
from ui.widgets import button, code_guide, image_pixmap, label, set_text

if TYPE_CHECKING:
    from ui.invitations import InvitationReader


class InvitationScreen(Screen):
    """The camera looks for the QR code while the candidate may type the code instead."""

    steps = (Step.INVITATION,)

    def build(self) -> None:
        self.title = label("title")
        self.explain = label()
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.explain)
        self.preview = QLabel()
        self.preview.setFixedSize(480, 270)
        self.centred(self.preview)
        self.status = label("muted")
        self.layout_.addWidget(self.status)
        self.code_label = label()
        self.code = QLineEdit()
        self.code.setMaxLength(40)
        self.code_label.setBuddy(self.code)
        self.layout_.addWidget(self.code_label)
        self.layout_.addWidget(self.code)
        self.back = button()
        self.back.clicked.connect(lambda: self.act(self.flow.leave_invitation))
        self.use_code = button(primary=True)
        self.use_code.clicked.connect(lambda: self._present(self.code.text()))
        self.code.returnPressed.connect(lambda: self._present(self.code.text()))
        self.row(self.back, self.use_code)
        self.layout_.addStretch(1)
        self._shown: object = None  # the camera picture on screen now

    @property
    def _reader(self) -> InvitationReader | None:
        return self.runtime.invitations

    def entered(self) -> None:
        super().entered()
        self.code.clear()
        self.preview.clear()
        self._shown = None
        reader = self._reader
        can_scan = reader is not None and reader.can_scan
        self.preview.setVisible(can_scan)
        if reader is not None and can_scan:
            reader.start()
        self.retranslate()
        (self.code if not can_scan else self.use_code).setFocus()

    def hideEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        """Leaving the screen lets the camera go; nothing it saw is kept."""
        if self._reader is not None:
            self._reader.stop()

    def _present(self, text: str) -> None:
        reader = self._reader
        if reader is None or not text.strip():
            return
        try:
            invited = reader.check(text)
        except InvitationError as exc:
            key = f"invitation_refused.{exc.reason}"
            self.problem.setText(i18n.tr(key) if i18n.has(key) else str(exc))
            reader.rearm()
            return
        self.act(lambda: self.flow.accept_invitation(invited))

    def refresh(self) -> None:
        reader = self._reader
        if reader is None:
            return
        if reader.camera_lost and self.preview.isVisible():
            self.preview.hide()
            self.explain.setText(i18n.tr("invitation.no_camera"))
            self.status.setText("")
        image = reader.preview()
        if image is not None and image is not self._shown and not reader.camera_lost:
            self._shown = image  # a new camera picture: the screen ticks faster than it
            pixmap = image_pixmap(image, mirror=False).scaled(self.preview.size())
            code_guide(pixmap)
            self.preview.setPixmap(pixmap)
        found = reader.take_found()
        if found is not None and self.flow.step is Step.INVITATION:
            self._present(found)

    def retranslate(self) -> None:
        reader = self._reader
        can_scan = reader is not None and reader.can_scan
        set_text(self.title, i18n.tr("invitation.title"))
        self.explain.setText(i18n.tr("invitation.explain" if can_scan
                                     else "invitation.no_camera"))
        self.status.setText(i18n.tr("invitation.looking") if can_scan else "")
        self.code_label.setText(i18n.tr("invitation.code"))
        self.code.setAccessibleName(i18n.tr("invitation.code"))
        set_text(self.back, i18n.tr("invitation.back"))
        set_text(self.use_code, i18n.tr("invitation.use_code"))
