"""The screens before the questions: welcome, language, who you are, consent, adjustments."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from kiosk.errors import ConsentNeeded
from kiosk.flow import Step, estimated_minutes
from kiosk.privacy.compliance import profiles
from kiosk.session import BREAK_MULTIPLIER_CHOICES, EXTRA_TIME_CHOICES, Accommodations
from ui import i18n
from ui.screens.base import Screen
from ui.widgets import CheckRow, ReferenceCard, button, label, set_text

LANGUAGE_NAMES = {"en": "English", "hi": "हिन्दी"}


def choice_key(kind: str, value: float) -> str:
    """The catalog key that says what an adjustment's value means ("50% more time")."""
    return f"adjust.{kind}_" + f"{value:g}".replace(".", "_")


class NoticeArea(QScrollArea):
    """A scrolling notice that asks only for its minimum height: the screen gives it what is
    left, and the notice scrolls inside, instead of the whole screen growing past 800 px."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """As wide as it likes, as high as its minimum."""
        return QSize(super().sizeHint().width(), self.minimumHeight())


class WelcomeScreen(Screen):
    """Attract screen: the interview's name, its intro and length, Start, the languages."""

    steps = (Step.WELCOME,)

    def build(self) -> None:
        self.layout_.addStretch(1)
        self.title = label("title")
        self.intro = label()  # the template's own words: what this interview is
        self.length = label("prompt")
        for widget in (self.title, self.intro, self.length):
            self.layout_.addWidget(widget)
        self.scan = button(primary=True)  # at a campus drive: the invited come this way
        self.scan.clicked.connect(lambda: self.act(self.flow.scan_invitation))
        self.start = button(primary=self.flow.drive is None)
        self.start.clicked.connect(lambda: self.act(self.flow.start))
        self.resume = button()
        self.resume.clicked.connect(self.runtime.ask_resume)
        self.scan.setVisible(self.flow.drive is not None)
        self.start.setVisible(self.flow.walk_ins)
        self.row(self.scan, self.start, self.resume)
        self.languages = []
        for code in self.flow.template.languages:
            choice = button()
            set_text(choice, LANGUAGE_NAMES.get(code, code))
            choice.clicked.connect(lambda _=False, c=code: self._choose(c))
            self.languages.append(choice)
        if len(self.languages) > 1:
            self.row(*self.languages)
        self.notice = label("muted")
        self.layout_.addWidget(self.notice)
        self.layout_.addStretch(1)

    def _choose(self, code: str) -> None:
        self.act(lambda: self.flow.choose_language(code))
        i18n.set_language(code)

    def retranslate(self) -> None:
        template = self.flow.template
        set_text(self.title, template.title.get(i18n.language()))
        self.intro.setText(template.intro.get(i18n.language()))
        self.length.setText(i18n.tr("welcome.length", minutes=estimated_minutes(template)))
        set_text(self.scan, i18n.tr("invitation.scan"))
        set_text(self.start, i18n.tr("invitation.walk_in" if self.flow.drive is not None
                                     else "welcome.start"))
        set_text(self.resume, i18n.tr("welcome.resume"))
        self.notice.setText(i18n.tr("welcome.ai_notice"))


class IdentifyScreen(Screen):
    """A name and one way to reach the candidate."""

    steps = (Step.IDENTIFY, Step.LANGUAGE)

    def build(self) -> None:
        self.title = label("title")
        self.layout_.addWidget(self.title)
        self.confirm = label("muted")  # shown when the roster filled the fields in
        self.layout_.addWidget(self.confirm)
        self.name_label, self.contact_label = label(), label()
        self.name, self.contact = QLineEdit(), QLineEdit()
        for text, field in ((self.name_label, self.name), (self.contact_label, self.contact)):
            self.layout_.addWidget(text)
            self.layout_.addWidget(field)
            text.setBuddy(field)
        self.next = button(primary=True)
        self.next.clicked.connect(self._next)
        self.contact.returnPressed.connect(self._next)
        self.row(self.next)
        self.layout_.addStretch(1)

    def entered(self) -> None:
        super().entered()
        if self.flow.step is Step.LANGUAGE:  # the language was chosen on the welcome screen
            self.act(lambda: self.flow.choose_language(i18n.language()))
        prefill = self.flow.prefill
        self.name.setText(prefill[0] if prefill else "")
        self.contact.setText(prefill[1] if prefill else "")
        self.confirm.setVisible(prefill is not None)
        self.name.setFocus()

    def _next(self) -> None:
        self.act(lambda: self.flow.identify(self.name.text(), self.contact.text()))

    def retranslate(self) -> None:
        set_text(self.title, i18n.tr("identify.title"))
        self.confirm.setText(i18n.tr("invitation.confirm"))
        self.name_label.setText(i18n.tr("identify.name"))
        self.contact_label.setText(i18n.tr("identify.contact"))
        self.name.setAccessibleName(i18n.tr("identify.name"))
        self.contact.setAccessibleName(i18n.tr("identify.contact"))
        set_text(self.next, i18n.tr("common.next"))


class ConsentScreen(Screen):
    """The notice, short first, and each consent asked on its own."""

    steps = (Step.CONSENT,)

    def build(self) -> None:
        self.title = label("title")
        self.summary = label()
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.summary)
        self.details = label("muted")
        self.scroll = NoticeArea()  # the full notice is long: it scrolls, never clips
        self.scroll.setWidget(self.details)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setMinimumHeight(140)
        self.scroll.hide()
        self.more = button()
        self.more.clicked.connect(lambda: self.scroll.setVisible(not self.scroll.isVisible()))
        self.layout_.addWidget(self.more)
        self.layout_.addWidget(self.scroll, stretch=1)
        self.recording, self.retention, self.ai = CheckRow(), CheckRow(), CheckRow()
        for box in (self.recording, self.retention, self.ai):
            self.layout_.addWidget(box)
        self.ai.setVisible(self.flow.template.policy.ai_scoring)
        self.agree = button(primary=True)
        self.agree.clicked.connect(self._answer)
        self.decline = button()
        self.decline.clicked.connect(lambda: self.act(self.flow.decline_consent))
        self.row(self.decline, self.agree)
        # "Continue" without a needed consent: the flow refuses, and this asks, in plain
        # words, whether the candidate meant to end, with a way back.
        self.confirm = QFrame()
        self.confirm.setObjectName("card")
        inside = QVBoxLayout(self.confirm)
        inside.setContentsMargins(24, 16, 24, 16)
        self.need = label("strong")
        self.need_choice = label()
        inside.addWidget(self.need)
        inside.addWidget(self.need_choice)
        self.go_back = button(primary=True)
        self.go_back.clicked.connect(self._back)
        self.end = button()
        self.end.clicked.connect(lambda: self.act(self.flow.decline_consent))
        self.layout_.addWidget(self.confirm)
        self.row(self.end, self.go_back)
        self.confirm.hide()
        self._missing: tuple[str, ...] = ()
        self._back()

    def entered(self) -> None:
        super().entered()
        for box in (self.recording, self.retention, self.ai):
            box.setChecked(False)
        self.scroll.hide()
        self._back()

    def _answer(self) -> None:
        ai = self.ai.isChecked() if self.flow.template.policy.ai_scoring else None

        def consent() -> None:
            try:
                self.flow.give_consent(recording=self.recording.isChecked(),
                                       retention=self.retention.isChecked(), ai_scoring=ai)
            except ConsentNeeded as refused:
                self._ask(refused.missing)
        self.act(consent)

    def _ask(self, missing: tuple[str, ...]) -> None:
        """Show what is missing and the two ways on, instead of Continue."""
        self._missing = missing
        self.retranslate()
        self._asking(True)
        self.go_back.setFocus()

    def _back(self) -> None:
        self._missing = ()
        self._asking(False)

    def _asking(self, asking: bool) -> None:
        """The question and its two buttons, or Continue and No, thank you."""
        widgets: tuple[QWidget, ...] = (self.confirm, self.go_back, self.end)
        for widget in widgets:
            widget.setVisible(asking)
        for widget in (self.agree, self.decline):
            widget.setVisible(not asking)

    def retranslate(self) -> None:
        days = self.flow.template.policy.retention_days
        set_text(self.title, i18n.tr("consent.title"))
        self.summary.setText(i18n.tr("consent.summary", days=days))
        details = i18n.tr("consent.details", days=days)
        profile = profiles().get(self.flow.template.policy.compliance or "")
        if profile is not None:  # the jurisdiction's own notice, before the kiosk's details
            details = f"{profile.notice_text(i18n.language(), days)}\n\n{details}"
        self.details.setText(details)
        set_text(self.more, i18n.tr("consent.more"))
        for box, key in ((self.recording, "consent.recording"),
                         (self.retention, "consent.retention"),
                         (self.ai, "consent.ai_follow_up" if any(
                             q.probes for q in self.flow.template.questions) else "consent.ai")):
            set_text(box, i18n.tr(key, days=days))
        set_text(self.agree, i18n.tr("consent.continue"))
        set_text(self.decline, i18n.tr("consent.decline"))
        need: dict[tuple[str, ...], str] = {("recording",): "consent.need_recording",
                                            ("retention",): "consent.need_retention"}
        self.need.setText(i18n.tr(need.get(self._missing, "consent.need_both"), days=days))
        self.need_choice.setText(i18n.tr("consent.need_choice"))
        set_text(self.go_back, i18n.tr("consent.go_back"))
        set_text(self.end, i18n.tr("consent.end"))


class AccommodationsScreen(Screen):
    """'I need an adjustment': extra time, extra retakes, typed answers, longer breaks."""

    steps = (Step.ACCOMMODATIONS,)

    def build(self) -> None:
        # The session exists from here: its code, so an interruption is not the end of it.
        self.reference = ReferenceCard()
        self.layout_.addWidget(self.reference)
        self.title = label("title")
        self.explain = label()
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.explain)
        self.extra_time, self.breaks = QComboBox(), QComboBox()
        for value in EXTRA_TIME_CHOICES:
            self.extra_time.addItem("", value)
        for value in BREAK_MULTIPLIER_CHOICES:
            self.breaks.addItem("", value)
        self.time_label, self.breaks_label = label(), label()
        self.time_label.setBuddy(self.extra_time)
        self.breaks_label.setBuddy(self.breaks)
        self.retakes, self.typed = CheckRow(), CheckRow()
        choices = QGridLayout()  # each question beside its answer: the screen fits at 800 px
        choices.setHorizontalSpacing(24)
        choices.setColumnStretch(2, 1)
        for row, (text, choice) in enumerate(((self.time_label, self.extra_time),
                                              (self.breaks_label, self.breaks))):
            choices.addWidget(text, row, 0)
            choices.addWidget(choice, row, 1)
        self.layout_.addLayout(choices)
        for widget in (self.retakes, self.typed):
            self.layout_.addWidget(widget)
        self.none = button()
        self.none.clicked.connect(lambda: self.act(self.flow.set_accommodations))
        self.apply = button(primary=True)
        self.apply.clicked.connect(self._apply)
        self.row(self.none, self.apply)

    def _apply(self) -> None:
        chosen = Accommodations(extra_time=self.extra_time.currentData(),
                                extra_retakes=2 if self.retakes.isChecked() else 0,
                                text_answers=self.typed.isChecked(),
                                break_multiplier=self.breaks.currentData())
        self.act(lambda: self.flow.set_accommodations(chosen))

    def entered(self) -> None:
        super().entered()
        self.reference.show_reference(self.flow.reference)
        self.extra_time.setCurrentIndex(0)
        self.breaks.setCurrentIndex(0)
        self.retakes.setChecked(False)
        self.typed.setChecked(False)

    def retranslate(self) -> None:
        set_text(self.title, i18n.tr("adjust.title"))
        self.explain.setText(i18n.tr("adjust.explain"))
        self.time_label.setText(i18n.tr("adjust.extra_time"))
        self.breaks_label.setText(i18n.tr("adjust.breaks"))
        self.extra_time.setAccessibleName(i18n.tr("adjust.extra_time"))
        self.breaks.setAccessibleName(i18n.tr("adjust.breaks"))
        for choice, kind in ((self.extra_time, "time"), (self.breaks, "breaks")):
            for index in range(choice.count()):
                choice.setItemText(index, i18n.tr(choice_key(kind, choice.itemData(index))))
        self.reference.retranslate()
        set_text(self.retakes, i18n.tr("adjust.retakes"))
        set_text(self.typed, i18n.tr("adjust.typed"))
        set_text(self.none, i18n.tr("adjust.none"))
        set_text(self.apply, i18n.tr("adjust.apply"))


class DeclinedScreen(Screen):
    """A polite goodbye when a needed consent was declined."""

    steps = (Step.DECLINED,)

    def build(self) -> None:
        self.layout_.addStretch(1)
        self.title = label("title")
        self.body = label("prompt")
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.body)
        self.done = button(primary=True)
        self.done.clicked.connect(lambda: self.act(self.flow.reset))
        self.row(self.done)
        self.layout_.addStretch(1)

    def retranslate(self) -> None:
        set_text(self.title, i18n.tr("declined.title"))
        self.body.setText(i18n.tr("declined.body"))
        set_text(self.done, i18n.tr("common.done"))
