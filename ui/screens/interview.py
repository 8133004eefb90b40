"""The screens of the interview itself: device check, questions, review, break, finished."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
)

from kiosk.flow import Step
from kiosk.privacy import self_id
from kiosk.templates import AnswerMode
from ui import i18n
from ui.playback import MemoryPlayer
from ui.screens.base import Screen
from ui.widgets import (
    CountdownRing,
    LevelMeter,
    ReferenceCard,
    button,
    face_guide,
    image_pixmap,
    label,
    qr_pixmap,
    set_text,
)

CAMERA_CHECKS = frozenset({"camera", "face", "lighting"})
# How often, and how many times, the check looks again while a live preview is starting
# (a camera can take a second or two to deliver its first frames): then it judges what it has.
LIVE_CHECK_POLL_MS = 250
LIVE_CHECK_POLLS = 24


class DeviceCheckScreen(Screen):
    """Camera preview, sound level and each check with its plain-language fix: only for the
    devices the questions ahead need (the flow says which), so a candidate who types is
    never told the camera cannot see them."""

    steps = (Step.DEVICE_CHECK,)

    def build(self) -> None:
        self.title = label("title")
        self.layout_.addWidget(self.title)
        self.source_note = label("muted")
        self.layout_.addWidget(self.source_note)
        self.preview = QLabel()
        self.preview.setFixedSize(480, 270)
        self.centred(self.preview)
        self.meter = LevelMeter()
        self.centred(self.meter)
        self.results = label()
        self.layout_.addWidget(self.results)
        self.check = button()
        self.check.clicked.connect(self._check)
        self.go = button(primary=True)
        self.go.clicked.connect(self._go)
        self.row(self.check, self.go)
        self.layout_.addStretch(1)  # with nothing to check, Next follows the sentence
        # Live devices are judged on what their preview shows, so the check waits for it.
        self._poll = QTimer(self)
        self._poll.setSingleShot(True)
        self._poll.setInterval(LIVE_CHECK_POLL_MS)
        self._poll.timeout.connect(self._check)
        self._polls = 0

    def entered(self) -> None:
        super().entered()
        camera, microphone = self.flow.required_devices()
        self.preview.setVisible(camera)
        self.meter.setVisible(microphone)
        self.check.setVisible(camera or microphone)
        self.retranslate()
        self._polls = 0
        if camera or microphone:
            self.runtime.start_preview(picture=camera)
        self._check()

    def hideEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        """Leaving the check stops the preview; nothing it showed is kept."""
        self._poll.stop()
        self.runtime.stop_preview()

    def _check(self) -> None:
        need_camera, need_microphone = self.flow.required_devices()
        if (need_camera or need_microphone) and self._polls < LIVE_CHECK_POLLS \
                and not self.runtime.live_check_ready(need_camera):
            self._polls += 1
            self.results.setText(i18n.tr("check.checking"))
            self._poll.start()
            return
        self._polls = 0
        found = self.runtime.device_check() if need_camera or need_microphone else []
        results = [r for r in found if (need_camera if r.name in CAMERA_CHECKS
                                        else need_microphone)]
        lines = [("✓ " if r.ok else "✗ ") + check_says(r.message)
                 + ("" if r.ok or not r.fix else f" {check_says(r.fix)}") for r in results]
        self.results.setText("\n".join(lines))
        camera = all(r.ok for r in results if r.name == "camera")
        microphone = all(r.ok for r in results if r.name == "microphone")
        self.act(lambda: self.flow.report_devices(camera=camera and need_camera,
                                                  microphone=microphone and need_microphone))

    def _go(self) -> None:
        self.act(self.flow.devices_ready)

    def refresh(self) -> None:
        image, level = self.runtime.preview()
        if image is not None:
            pixmap = image_pixmap(image, self.runtime.mirror).scaled(self.preview.size())
            face_guide(pixmap)
            self.preview.setPixmap(pixmap)
        self.meter.show_level(level)

    def retranslate(self) -> None:
        set_text(self.title, i18n.tr("check.title"))
        camera, microphone = self.flow.required_devices()
        needs = "" if camera else "check.voice_only" if microphone else "check.typed_only"
        self.source_note.setText(i18n.tr(needs) if needs else self.runtime.source_note())
        set_text(self.check, i18n.tr("check.again"))
        set_text(self.go, i18n.tr("common.next"))


class QuestionScreen(Screen):
    """One question: the card, thinking time, 3-2-1, then recording (or typing)."""

    steps = (Step.READ, Step.THINK, Step.COUNTDOWN, Step.ANSWER)

    def build(self) -> None:
        self.heading = label("muted")
        self.layout_.addWidget(self.heading)
        self.prompt = label("prompt")
        self.layout_.addWidget(self.prompt)
        self.big = label("big")
        self.centred(self.big)
        self.ring = CountdownRing()
        self.selfview = QLabel()
        self.selfview.setFixedSize(320, 180)
        self.row(self.ring, self.selfview)  # side by side: the screen fits at 800 px
        self.recording = label("recording")
        self.centred(self.recording)
        self.sample_note = label("muted")  # sample media says so while it "answers"
        self.layout_.addWidget(self.sample_note)
        self.typed = QPlainTextEdit()
        self.typed.textChanged.connect(self._typed)
        self.layout_.addWidget(self.typed)
        self.primary = button(primary=True)
        self.primary.clicked.connect(self._primary)
        self.secondary = button()
        self.secondary.clicked.connect(self._secondary)
        self.row(self.secondary, self.primary)
        self.layout_.addStretch(1)  # spare room goes below, not between the lines

    def entered(self) -> None:
        super().entered()
        if self.flow.step is Step.ANSWER and self.flow.mode is AnswerMode.TEXT:
            self.typed.blockSignals(True)
            self.typed.setPlainText("")
            self.typed.blockSignals(False)
            self.typed.setFocus()
        self.retranslate()

    def _typed(self) -> None:
        if self.flow.step is Step.ANSWER:
            self.act(lambda: self.flow.update_text(self.typed.toPlainText()))

    def _primary(self) -> None:
        step = self.flow.step
        question = self.flow.question
        if step is Step.READ and question is not None and not self.runtime.room_for(
                question.answer_seconds * self.flow.accommodations.extra_time):
            self.problem.setText(i18n.tr("problem.disk_full"))
            return  # nothing is started that could not be kept
        intent = {Step.READ: self.flow.begin_question, Step.THINK: self.flow.ready,
                  Step.ANSWER: self.flow.finish_answer}.get(step)
        if intent:
            self.act(intent)

    def _secondary(self) -> None:
        if self.flow.step is Step.READ:
            self.act(self.flow.skip_practice if self.flow.in_practice else self.flow.take_break)

    def refresh(self) -> None:
        flow, step = self.flow, self.flow.step
        left = flow.time_left()
        question = flow.follow_up or flow.question
        if question is not None and left is not None:
            total = {Step.THINK: question.think_seconds, Step.ANSWER: question.answer_seconds}
            self.ring.show_time(left, total.get(step, left) * flow.accommodations.extra_time)
        if step is Step.COUNTDOWN and left is not None:
            self.big.setText(str(int(left + 0.99)))
        if step is Step.ANSWER and flow.mode is not AnswerMode.TEXT:
            image, _ = self.runtime.preview()
            if image is not None:
                pixmap = image_pixmap(image, self.runtime.mirror)
                self.selfview.setPixmap(pixmap.scaled(self.selfview.size()))

    def retranslate(self) -> None:
        flow, step = self.flow, self.flow.step
        question = flow.question
        texting = flow.mode is AnswerMode.TEXT if question is not None else False
        probe = flow.follow_up
        self.heading.setText(i18n.tr("question.practice") if flow.in_practice else
                             i18n.tr("question.follow_up", number=flow.question_number)
                             if probe is not None else
                             i18n.tr("question.number", number=flow.question_number,
                                     count=flow.question_count))
        showing = step in (Step.THINK, Step.COUNTDOWN, Step.ANSWER) and question is not None
        asked = probe or question
        self.prompt.setText(asked.prompt.get(i18n.language()) if showing and asked
                            else i18n.tr("question.ready", think=int(getattr(
                                question, "think_seconds", 0)), answer=int(getattr(
                                    question, "answer_seconds", 0))))
        self.big.setVisible(step is Step.COUNTDOWN)
        self.ring.setVisible(step in (Step.THINK, Step.ANSWER))
        picture = question is not None and flow.mode is AnswerMode.VIDEO
        self.recording.setVisible(step is Step.ANSWER and not texting)
        self.recording.setText(i18n.tr("question.recording"))
        sample = bool(self.runtime.source_note())
        self.sample_note.setVisible(step is Step.ANSWER and not texting and sample)
        self.sample_note.setText(i18n.tr("question.sample_voice"))
        self.ring.set_purpose(i18n.tr("timer.answer" if step is Step.ANSWER else "timer.think"))
        self.selfview.setVisible(step is Step.ANSWER and picture)
        self.typed.setVisible(step is Step.ANSWER and texting)
        self.typed.setAccessibleName(i18n.tr("question.type_here"))
        primary = {Step.READ: "question.show", Step.THINK: "question.im_ready",
                   Step.ANSWER: "question.hand_in" if texting else "question.finish"}.get(step)
        self.primary.setVisible(primary is not None)
        if primary:
            set_text(self.primary, i18n.tr(primary))
        self.secondary.setVisible(step is Step.READ)
        set_text(self.secondary, i18n.tr("question.skip_practice") if flow.in_practice
                 else i18n.tr("question.break"))


class FollowUpCheckScreen(Screen):
    """The moment after an answer is kept while the kiosk decides whether to ask a
    follow-up (two seconds at most): calm, and saying nothing about the answer."""

    steps = (Step.FOLLOW_UP_CHECK,)

    def build(self) -> None:
        self.layout_.addStretch(1)
        self.title = label("title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.layout_.addWidget(self.title)
        self.layout_.addStretch(1)

    def retranslate(self) -> None:
        set_text(self.title, i18n.tr("question.follow_up_wait"))


class ReviewScreen(Screen):
    """The take just made: use it, or try again while retakes are left."""

    steps = (Step.REVIEW,)

    def build(self) -> None:
        self.layout_.addStretch(1)
        self.title = label("title")
        self.body = label()
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.body)
        self.ring = CountdownRing()
        self.centred(self.ring)
        self.playback = MemoryPlayer()
        self.centred(self.playback.video)
        self.watch = button()
        self.watch.clicked.connect(self._watch)
        self.again = button()
        self.again.clicked.connect(lambda: self.act(self.flow.retake))
        self.use = button(primary=True)
        self.use.clicked.connect(lambda: self.act(self.flow.submit))
        self.row(self.watch, self.again, self.use)
        self.layout_.addStretch(1)

    def entered(self) -> None:
        super().entered()
        self._stop_playback()
        self.retranslate()

    def hideEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        """Leaving review drops the decrypted recording from memory."""
        self._stop_playback()

    def _watch(self) -> None:
        """Play the take back, decrypted into memory only (never a file)."""
        data = self.runtime.take_media()
        if not data:
            self.problem.setText(i18n.tr("review.no_playback"))
            return
        self.playback.play(data)
        if self.flow.mode is AnswerMode.AUDIO:
            self.playback.video.hide()  # a sound has no picture: no black box to stare at

    def _stop_playback(self) -> None:
        self.playback.stop()

    def refresh(self) -> None:
        left = self.flow.time_left()
        if left is not None:
            self.ring.show_time(left, self.flow.timings.review_seconds
                                * self.flow.accommodations.extra_time)

    def retranslate(self) -> None:
        flow = self.flow
        takes = flow.takes
        set_text(self.title, i18n.tr("review.title"))
        latest = takes[-1] if takes else None
        if latest is not None and latest.ended_by == "device":
            self.body.setText(i18n.tr("review.device_lost"))
        elif latest is not None and latest.text is not None:
            self.body.setText(latest.text)
        else:
            self.body.setText(i18n.tr("review.recorded", seconds=int(latest.seconds)
                                      if latest else 0))
        left = flow.takes_left
        self.again.setVisible(left is None or left > 0)
        set_text(self.again, i18n.tr("review.again") if left is None
                 else i18n.tr("review.again_one_left" if left == 1 else "review.again_left",
                              left=left))
        set_text(self.use, i18n.tr("review.use"))
        latest_text = takes[-1].text if takes else None
        self.watch.setVisible(latest_text is None and bool(takes)
                              and takes[-1].ended_by != "device")
        heard = flow.question is not None and flow.mode is AnswerMode.AUDIO
        set_text(self.watch, i18n.tr("review.listen" if heard else "review.watch"))
        self.ring.set_purpose(i18n.tr("timer.review"))


class BreakScreen(Screen):
    """A pause between questions."""

    steps = (Step.BREAK,)

    def build(self) -> None:
        self.layout_.addStretch(1)
        self.title = label("title")
        self.layout_.addWidget(self.title)
        self.ring = CountdownRing()
        self.centred(self.ring)
        self.back = button(primary=True)
        self.back.clicked.connect(lambda: self.act(self.flow.end_break))
        self.row(self.back)
        self.reference = ReferenceCard()  # a break is when people get called away
        self.layout_.addWidget(self.reference)
        self.layout_.addStretch(1)

    def entered(self) -> None:
        super().entered()
        self.reference.show_reference(self.flow.reference)

    def refresh(self) -> None:
        left = self.flow.time_left()
        if left is not None:
            self.ring.show_time(left, self.flow.timings.break_seconds
                                * self.flow.accommodations.break_multiplier)

    def retranslate(self) -> None:
        set_text(self.title, i18n.tr("break.title"))
        set_text(self.back, i18n.tr("break.back"))
        self.ring.set_purpose(i18n.tr("timer.break"))
        self.reference.retranslate()


class FinishedScreen(Screen):
    """Thank you, the reference code (text and QR), what happens next, deletion, and an
    optional, clearly separate self-identification for fairness checks."""

    steps = (Step.FINISHED,)

    def build(self) -> None:
        self.title = label("title")
        self.layout_.addWidget(self.title)
        # The code beside its QR, not under it: with the self-identification below, the
        # screen still fits at 800 px, Done included.
        self.code = label("big", wrap=False)
        self.qr = QLabel()
        self.next_steps = label()
        beside = QHBoxLayout()
        beside.setSpacing(32)
        beside.addWidget(self.qr, alignment=Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        words.addWidget(self.code)
        words.addWidget(self.next_steps)
        words.addStretch(1)
        beside.addLayout(words, stretch=1)
        self.layout_.addLayout(beside)
        self.self_id = QGroupBox()
        form = QFormLayout(self.self_id)
        self.self_id_intro = label("muted")
        form.addRow(self.self_id_intro)
        self.choices: dict[str, QComboBox] = {}
        self.questions: dict[str, QLabel] = {}
        for question, answers in self_id.questions(self.flow.template).items():
            choice = QComboBox()
            choice.addItem("", "")  # "prefer not to say", set in retranslate
            for answer in answers:
                choice.addItem(answer, answer)  # the profile's own word is what is kept
            self.choices[question] = choice
            self.questions[question] = QLabel()
            self.questions[question].setWordWrap(True)
            form.addRow(self.questions[question], choice)
        self.save_self_id = button()
        self.save_self_id.clicked.connect(self.keep_self_id)
        form.addRow(self.save_self_id)
        self.self_id.setVisible(bool(self.choices))
        self.layout_.addWidget(self.self_id)
        self.done = button(primary=True)
        self.done.clicked.connect(lambda: self.act(self.flow.reset))
        self.row(self.done)

    def keep_self_id(self) -> None:
        answers = {q: str(c.currentData()) for q, c in self.choices.items() if c.currentData()}
        self.runtime.save_self_id(answers)
        set_text(self.save_self_id, i18n.tr("finished.self_id_saved"))
        self.save_self_id.setEnabled(False)

    def entered(self) -> None:
        super().entered()
        reference = self.flow.reference or ""
        set_text(self.code, reference)
        self.qr.setPixmap(qr_pixmap(reference, 200))
        self.qr.setAccessibleName(i18n.tr("finished.qr"))
        for choice in self.choices.values():
            choice.setCurrentIndex(0)
        self.save_self_id.setEnabled(True)
        self.retranslate()

    def retranslate(self) -> None:
        set_text(self.title, i18n.tr("finished.title"))
        self.next_steps.setText(i18n.tr("finished.next",
                                        days=self.flow.template.policy.retention_days))
        self.self_id.setTitle(i18n.tr("finished.self_id_title"))
        self.self_id_intro.setText(i18n.tr("finished.self_id_intro"))
        for question, choice in self.choices.items():
            asked = self_id_text("question", question, question.replace("_", " ").capitalize())
            self.questions[question].setText(asked)
            choice.setAccessibleName(asked)
            choice.setItemText(0, i18n.tr("finished.self_id_skip"))
            for index in range(1, choice.count()):
                answer = str(choice.itemData(index))
                choice.setItemText(index, self_id_text("answer", answer, answer))
        if self.save_self_id.isEnabled():
            set_text(self.save_self_id, i18n.tr("finished.self_id_save"))
        set_text(self.done, i18n.tr("common.done"))


def self_id_text(kind: str, word: str, otherwise: str) -> str:
    """A self-ID question or answer in the candidate's language; a profile's word that no
    catalog has yet is shown as the profile wrote it."""
    key = f"self_id_{kind}.{word}"
    return i18n.tr(key) if i18n.has(key) else otherwise


def check_says(sentence: str) -> str:
    """A device check's sentence (capture knows only English) in the candidate's language."""
    key = f"check_says.{sentence}"
    return i18n.tr(key) if i18n.has(key) else sentence
