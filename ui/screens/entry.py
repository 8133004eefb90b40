"""The screens before the questions: welcome, language, who you are, consent, adjustments."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFrame, QLineEdit, QScrollArea

from kiosk.compliance import profiles
from kiosk.flow import Step
from kiosk.session import Accommodations
from ui import i18n
from ui.screens.base import Screen
from ui.widgets import button, label, set_text

LANGUAGE_NAMES = {"en": "English", "hi": "हिन्दी"}


class WelcomeScreen(Screen):
    """Attract screen: the interview's name, Start, and the language buttons."""

    steps = (Step.WELCOME,)

    def build(self) -> None:
        self.layout_.addStretch(1)
        self.title = label("title")
        self.intro = label("prompt")
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.intro)
        self.start = button(primary=True)
        self.start.clicked.connect(lambda: self.act(self.flow.start))
        self.resume = button()
        self.resume.clicked.connect(self.runtime.ask_resume)
        self.row(self.start, self.resume)
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
        self.intro.setText(i18n.tr("welcome.invite"))
        set_text(self.start, i18n.tr("welcome.start"))
        set_text(self.resume, i18n.tr("welcome.resume"))
        self.notice.setText(i18n.tr("welcome.ai_notice"))


class IdentifyScreen(Screen):
    """A name and one way to reach the candidate."""

    steps = (Step.IDENTIFY, Step.LANGUAGE)

    def build(self) -> None:
        self.title = label("title")
        self.layout_.addWidget(self.title)
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
        self.name.clear()
        self.contact.clear()
        self.name.setFocus()

    def _next(self) -> None:
        self.act(lambda: self.flow.identify(self.name.text(), self.contact.text()))

    def retranslate(self) -> None:
        set_text(self.title, i18n.tr("identify.title"))
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
        self.scroll = QScrollArea()  # the full notice is long: it scrolls, never clips
        self.scroll.setWidget(self.details)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setMinimumHeight(160)
        self.scroll.hide()
        self.more = button()
        self.more.clicked.connect(lambda: self.scroll.setVisible(not self.scroll.isVisible()))
        self.layout_.addWidget(self.more)
        self.layout_.addWidget(self.scroll, stretch=1)
        self.recording, self.retention, self.ai = QCheckBox(), QCheckBox(), QCheckBox()
        for box in (self.recording, self.retention, self.ai):
            self.layout_.addWidget(box)
        self.ai.setVisible(self.flow.template.policy.ai_scoring)
        self.agree = button(primary=True)
        self.agree.clicked.connect(self._answer)
        self.decline = button()
        self.decline.clicked.connect(lambda: self.act(lambda: self.flow.give_consent(
            recording=False, retention=False,
            ai_scoring=False if self.flow.template.policy.ai_scoring else None)))
        self.row(self.decline, self.agree)

    def entered(self) -> None:
        super().entered()
        for box in (self.recording, self.retention, self.ai):
            box.setChecked(False)
        self.scroll.hide()

    def _answer(self) -> None:
        ai = self.ai.isChecked() if self.flow.template.policy.ai_scoring else None
        self.act(lambda: self.flow.give_consent(recording=self.recording.isChecked(),
                                                retention=self.retention.isChecked(),
                                                ai_scoring=ai))

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
                         (self.retention, "consent.retention"), (self.ai, "consent.ai")):
            set_text(box, i18n.tr(key, days=days))
        set_text(self.agree, i18n.tr("consent.continue"))
        set_text(self.decline, i18n.tr("consent.decline"))


class AccommodationsScreen(Screen):
    """'I need an adjustment': extra time, extra retakes, typed answers, longer breaks."""

    steps = (Step.ACCOMMODATIONS,)

    def build(self) -> None:
        self.title = label("title")
        self.explain = label()
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.explain)
        self.extra_time, self.breaks = QComboBox(), QComboBox()
        for value in (1.0, 1.25, 1.5, 2.0):
            self.extra_time.addItem(f"× {value:g}", value)
        for value in (1.0, 1.5, 2.0, 3.0):
            self.breaks.addItem(f"× {value:g}", value)
        self.time_label, self.breaks_label = label(), label()
        self.retakes, self.typed = QCheckBox(), QCheckBox()
        for widget in (self.time_label, self.extra_time, self.retakes, self.typed,
                       self.breaks_label, self.breaks):
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
