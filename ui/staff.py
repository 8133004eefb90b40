"""The staff console: health, today's sessions, review with suggested scores, erase, lock.

Opened from the kiosk window by the hidden gesture and the staff PIN. Staff text is English
(candidates never see it). Every staff action goes to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressDialog,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from capture.disk import check_space
from kiosk.errors import InvitationError, KioskError, TemplateError
from kiosk.reference import normalize_reference
from kiosk.scoring import mmss
from kiosk.scoring.scorecard import build, how_found, render
from kiosk.session import asked_question, follow_up_key
from kiosk.settings import Settings
from kiosk.store import jobs as job_queue
from kiosk.store import outbox
from kiosk.store.invites import grant_override
from kiosk.store.results import (
    DECISIONS,
    add_note,
    set_decision,
    set_reviewer_score,
    transcripts,
)
from kiosk.templates import is_from_hq, load_template, template_paths
from kiosk.uplink.enrollment import load_link
from kiosk.uplink.export import export_bundle
from kiosk.uplink.removable import removable_media_folder
from kiosk.vault import VaultReader
from ui.playback import MemoryPlayer
from ui.runtime import Runtime
from ui.widgets import button, label, set_text

COLUMNS = ("Reference", "Status", "Started (UTC)", "Answers", "Stopped at")
RECENT = 200  # sessions listed, newest first
PLAYER_SIZE = (320, 180)  # 16:9, beside the scorecard


class StaffConsole(QWidget):
    """What on-site staff see after the PIN."""

    def __init__(self, runtime: Runtime, on_lock: Callable[[], None],
                 on_quit: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName("staff")  # smaller type than the candidates' screens (theme.py)
        self.runtime = runtime
        self.store = runtime.store
        # The console scrolls inside the window: a playing answer or a long message never
        # makes it taller than the screen (which pushed the export message out of sight).
        page = QWidget()
        scroll = QScrollArea()
        scroll.setObjectName("page")
        scroll.setWidget(page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(32, 20, 32, 20)
        top = QHBoxLayout()
        title = label("title")
        set_text(title, "Staff console")
        top.addWidget(title)
        top.addStretch(1)
        self.lock = button(primary=True)
        set_text(self.lock, "Lock: back to candidates")
        self.lock.clicked.connect(on_lock)
        self.quit = button()
        set_text(self.quit, "Close the kiosk")
        self.quit.clicked.connect(on_quit)
        self.export = button()
        set_text(self.export, "Export for HQ (USB)…")
        self.export.clicked.connect(self.export_for_hq)
        top.addWidget(self.export)
        self.allow_invite = button()
        set_text(self.allow_invite, "Allow an invitation again…")
        self.allow_invite.clicked.connect(self.allow_invitation_again)
        self.allow_invite.setVisible(runtime.invitations is not None)
        top.addWidget(self.allow_invite)
        top.addWidget(self.lock)
        top.addWidget(self.quit)
        layout.addLayout(top)
        self.health = label("muted")
        layout.addWidget(self.health)
        self.message = label("message")  # under the buttons, where a result is looked for
        self.message.setAccessibleName("Result of the last action")
        layout.addWidget(self.message)
        body = QHBoxLayout()
        layout.addLayout(body, stretch=1)
        sessions = QVBoxLayout()
        body.addLayout(sessions, stretch=3)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setAccessibleName("Recent sessions")
        self.table.itemSelectionChanged.connect(self.show_selected)
        sessions.addWidget(self.table, stretch=2)
        self.card = QPlainTextEdit()
        self.card.setReadOnly(True)
        self.card.setAccessibleName("Scorecard of the selected session")
        sessions.addWidget(self.card, stretch=3)
        evidence_title = label(wrap=False)
        set_text(evidence_title, "Evidence: select a piece to play the answer from there")
        sessions.addWidget(evidence_title)
        self.evidence = QListWidget()
        self.evidence.setWordWrap(True)
        self.evidence.setAccessibleName("Evidence in the answers")
        evidence_title.setBuddy(self.evidence)
        self.evidence.itemClicked.connect(self.play_evidence)
        self.evidence.itemActivated.connect(self.play_evidence)  # Enter, for the keyboard
        sessions.addWidget(self.evidence, stretch=2)
        controls = QVBoxLayout()
        controls.addLayout(self._controls())
        self.playback = MemoryPlayer(*PLAYER_SIZE)
        self.playback.video.setFixedSize(*PLAYER_SIZE)  # bounded: playing never resizes
        controls.addWidget(self.playback.video, alignment=Qt.AlignmentFlag.AlignHCenter)
        controls.addStretch(1)
        body.addLayout(controls, stretch=2)
        self.list_interviews()

    def _controls(self) -> QGridLayout:
        """Review and kiosk controls, each with a visible label (its screen-reader name too)."""
        grid = QGridLayout()
        grid.setVerticalSpacing(10)
        grid.setColumnStretch(1, 1)  # the boxes take the room: titles are long
        self.answer = QComboBox()
        self.watch = button()
        set_text(self.watch, "Watch this answer")
        self.watch.clicked.connect(self.watch_answer)
        self.competency = QComboBox()
        self.score = QSpinBox()
        self.score.setRange(1, 5)
        self.save = button()
        set_text(self.save, "Save my score")
        self.save.clicked.connect(self.save_score)
        self.note = QLineEdit()
        self.note.setPlaceholderText("A note for the hiring team")
        self.add_note = button()
        set_text(self.add_note, "Add note")
        self.add_note.clicked.connect(self.save_note)
        self.decision = QComboBox()
        for choice in DECISIONS:
            self.decision.addItem(choice.capitalize(), choice)
        self.decide = button()
        set_text(self.decide, "Decide")
        self.decide.clicked.connect(self.save_decision)
        self.erase = button()
        set_text(self.erase, "Erase this session…")
        self.erase.clicked.connect(self.erase_selected)
        self.interview = QComboBox()
        self.use_interview = button()
        set_text(self.use_interview, "Use from the next start")
        self.use_interview.clicked.connect(self.choose_interview)
        rows: list[tuple[str, QWidget | None, QWidget | None]] = [
            ("Answer", self.answer, self.watch), ("Competency", self.competency, None),
            ("Score (1 to 5)", self.score, self.save), ("Note", self.note, self.add_note),
            ("Decision", self.decision, self.decide), ("", None, self.erase),
            ("Interview", self.interview, self.use_interview)]
        self.field_labels: dict[str, QLabel] = {}
        for row, (name, field, action) in enumerate(rows):
            if field is not None:
                text = label(wrap=False)
                set_text(text, name)
                text.setBuddy(field)
                field.setAccessibleName(name)
                grid.addWidget(text, row, 0)
                grid.addWidget(field, row, 1)
                self.field_labels[name] = text
            if action is not None:
                grid.addWidget(action, row, 2)
        for combo in (self.answer, self.competency, self.decision, self.interview):
            # Long titles are cut inside the box (the list shows them whole), never the row.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        return grid

    def refresh(self) -> None:
        """Read health and today's sessions again."""
        space = check_space(self.store.data_dir, 180)
        counts = job_queue.counts(self.store)
        media = "sample media (no camera or microphone found)" if self.runtime.source_note() \
            else "camera and microphone"
        last = self.runtime.last_error or "none"
        self.health.setText(
            f"Recording from: {media}.  Disk: {space.free_bytes / 1e9:.1f} GB free, about "
            f"{space.minutes_left:.0f} minutes of recording left.  Transcription waiting: "
            f"{counts.get('queued', 0) + counts.get('running', 0)} (failed: "
            f"{counts.get('failed', 0)}).  Sync: {self.sync_line()}.  Last error: {last}.")
        rows = self.store.connection.execute(
            "SELECT s.reference, s.status, s.started_at, COUNT(a.question_id), "
            "s.stopped_at_step FROM sessions s LEFT JOIN answers a ON a.session_id = s.id "
            "GROUP BY s.id ORDER BY s.started_at DESC LIMIT ?", (RECENT,)).fetchall()
        self.table.clearSelection()  # the card is cleared below: no row may look chosen
        self.table.setRowCount(len(rows))
        self.evidence.clear()
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                text = "" if value is None else str(value)[:19 if column == 2 else None]
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.card.clear()
        self.list_interviews()

    def list_interviews(self) -> None:
        """The interviews this kiosk can run, by title, HQ's marked, the chosen one selected."""
        flow = self.runtime.flow
        running = flow.template.id if flow is not None else None
        chosen = str(Settings.load(self.store.data_dir).get("interview.template"))
        self.interview.clear()
        for path in template_paths(self.store.data_dir):
            try:
                template = load_template(path)
            except TemplateError:  # installed ones were checked; a damaged file is skipped
                continue
            title = template.title.get(template.default_language)
            marks = [mark for mark, applies in (("from HQ", is_from_hq(path)),
                                                ("in use now", template.id == running),
                                                ("from the next start", template.id == chosen
                                                 and template.id != running)) if applies]
            self.interview.addItem(f"{title} ({', '.join(marks)})" if marks else title,
                                   template.id)
            self.interview.setItemData(self.interview.count() - 1, title,
                                       Qt.ItemDataRole.ToolTipRole)
        self.interview.setCurrentIndex(max(0, self.interview.findData(chosen)))

    def sync_line(self) -> str:
        """What waits for HQ, and how the last attempt went (counts only)."""
        if load_link(self.store.data_dir) is None:
            return "not enrolled with HQ (kiosk enroll)"
        state = outbox.status(self.store)
        waiting = sum(state.waiting.values())
        line = f"{waiting} waiting for HQ, {state.sent} confirmed"
        if state.rejected:
            line += f", {len(state.rejected)} refused (kiosk sync status)"
        last = self.runtime.sync.last if self.runtime.sync is not None else None
        if last is not None and last.stopped_by:
            problem = "HQ unreachable, will retry" if last.transient else "refused by HQ"
            line += f"; last attempt: {problem}"
        return line

    def selected(self) -> str | None:
        """The reference code of the selected session."""
        items = self.table.selectedItems()
        return items[0].text() if items else None

    def show_selected(self) -> None:
        """Show the selected session's scorecard."""
        reference = self.selected()
        if reference is None:
            return
        try:
            card = build(self.store, self.store.session_id(reference))
        except KioskError as exc:
            self.message.setText(str(exc))
            return
        session_id = self.store.session_id(reference)
        heard = transcripts(self.store, session_id)
        lines = [render(card), "", "Transcripts (times from the start of each answer):"]
        answers = _answers(card)
        for key, (named, _) in answers.items():
            transcript = heard.get(key)
            if transcript is not None:
                lines.append(f"  {named} {asked_question(key)}")
                lines.extend(f"    [{mmss(segment.start)}] {segment.text}"
                             for segment in transcript.segments)
        self.card.setPlainText("\n".join(lines))
        self.list_evidence(card)
        self.competency.clear()
        for competency in card["competencies"]:
            self.competency.addItem(competency["name"], competency["id"])
        self.answer.clear()
        for key, (named, answer) in answers.items():
            if answer.get("mode") in ("video", "audio"):
                self.answer.addItem(f"{named} {asked_question(key)}", (key, answer["take"]))

    def list_evidence(self, card: dict[str, Any]) -> None:
        """Each piece of evidence: where, the sentence, the indicator and how it was found."""
        self.evidence.clear()
        answers = _answers(card)
        order = {key: n for n, key in enumerate(answers)}
        pieces = [(competency["name"], item)
                  for competency in card["competencies"]
                  if competency["suggestion"] for item in competency["suggestion"]["evidence"]
                  if item["question_id"] in answers]
        pieces.sort(key=lambda piece: (order[piece[1]["question_id"]], piece[1]["start"]))
        for name, item in pieces:
            where, question = answers[item["question_id"]]
            entry = QListWidgetItem(
                f"{where} at {mmss(item['start'])} · {name}: "
                f"{item.get('indicator') or 'evidence'}\n“{item['text']}”\n{how_found(item)}")
            playable = question.get("mode") in ("video", "audio")
            entry.setData(Qt.ItemDataRole.UserRole,
                          (item["question_id"], question.get("take"), float(item["start"]))
                          if playable else None)
            self.evidence.addItem(entry)

    def play_evidence(self, item: QListWidgetItem) -> None:
        """Play the answer the evidence is in, from where it was said."""
        choice = item.data(Qt.ItemDataRole.UserRole)
        if choice is None:
            self.message.setText("That answer was typed: there is no recording to play.")
            return
        question_id, take, start = choice
        self._play(question_id, take, start)

    def save_score(self) -> None:
        """Keep the reviewer's score beside the suggestion (audited)."""
        reference = self.selected()
        if reference is None or self.competency.currentData() is None:
            self.message.setText("Choose a session and a competency first.")
            return
        set_reviewer_score(self.store, self.store.session_id(reference),
                           self.competency.currentData(), self.score.value())
        self.message.setText("Score saved.")
        self.show_selected()

    def watch_answer(self) -> None:
        """Play the chosen answer, decrypted into memory only."""
        choice = self.answer.currentData()
        if self.selected() is None or choice is None:
            self.message.setText("Choose a session and an answer first.")
            return
        self._play(*choice)

    def _play(self, question_id: str, take: int, start: float = 0.0) -> None:
        """Decrypt one answer's recording into memory and play it from `start` (audited)."""
        reference = self.selected()
        if reference is None:
            self.message.setText("Choose a session first.")
            return
        session_id = self.store.session_id(reference)
        path = self.store.video_path(session_id, question_id, take)
        if not path.exists():
            self.message.setText("That answer has no recording on this kiosk.")
            return
        identity = self.store.session_identity(session_id)
        with path.open("rb") as source, VaultReader(source, [identity]) as reader:
            data = reader.read_range(0, reader.size)
        # From the start: seeking a stream still loading crashed Qt's media backend (a native
        # segfault seen in the test suite), so the reviewer is told where the evidence is.
        self.playback.play(data)
        self._audit("review.watched", session_id=session_id)
        if start > 0:
            self.message.setText(f"Playing from the start; the evidence is at {mmss(start)}.")

    def stop_playback(self) -> None:
        """Stop and drop the decrypted recording."""
        self.playback.stop()

    def choose_interview(self) -> None:
        """The interview for the next start of the kiosk (audited as a settings change)."""
        choice = self.interview.currentData()
        title = self.interview.currentData(Qt.ItemDataRole.ToolTipRole)
        Settings.load(self.store.data_dir).set("interview.template", choice)
        self._audit("settings.changed", setting="interview.template", value=choice)
        self.list_interviews()
        self.message.setText(f"'{title}' will be used from the next start of the kiosk.")

    def _audit(self, action: str, **details: object) -> None:
        with self.store.transaction():
            self.store.audit.append(action, details)

    def save_note(self) -> None:
        """Keep a reviewer's note (encrypted with the session)."""
        reference = self.selected()
        if reference is None or not self.note.text().strip():
            self.message.setText("Choose a session and write a note first.")
            return
        add_note(self.store, self.store.session_id(reference), self.note.text())
        self.note.clear()
        self.message.setText("Note added.")
        self.show_selected()

    def save_decision(self) -> None:
        """Advance, hold or reject: a person's decision, separate from any suggestion."""
        reference = self.selected()
        if reference is None:
            self.message.setText("Choose a session first.")
            return
        set_decision(self.store, self.store.session_id(reference), self.decision.currentData())
        self.message.setText("Decision saved.")
        self.show_selected()

    def choose_folder(self) -> str:
        """Where to write the bundle (a dialog; tests replace it)."""
        return QFileDialog.getExistingDirectory(self, "Choose the USB stick or folder",
                                                str(removable_media_folder()))

    def export_for_hq(self) -> None:
        """Write a signed bundle for a site with no network, with a progress bar."""
        unlocked = self.runtime.unlocked
        if load_link(self.store.data_dir) is None or unlocked is None:
            self.message.setText("This kiosk is not enrolled with HQ, so a bundle could not be "
                                 "read there. Enroll it first (kiosk enroll URL CODE).")
            return
        folder = self.choose_folder()
        if not folder:
            return
        progress = QProgressDialog("Writing the bundle for HQ…", "", 0, 100, self)
        progress.setCancelButton(None)
        progress.setMinimumDuration(0)

        def step(done: int, total: int) -> None:
            progress.setValue(done * 100 // max(total, 1))
            QApplication.processEvents()

        try:
            path, count = export_bundle(self.store, unlocked, Path(folder), progress=step)
        except KioskError as exc:
            self.message.setText(f"Not exported: {exc}")
            return
        finally:
            progress.close()
        noun = "session" if count == 1 else "sessions"
        self.message.setText(f"Wrote {count} {noun} to {path.name} in {folder}. Take it to "
                             f"HQ; only HQ can read it (kiosk-hq import).")

    def ask_invite_code(self) -> str | None:
        """The invite code staff type (a dialog; tests replace it)."""
        typed, ok = QInputDialog.getText(
            self, "Allow an invitation again",
            "This candidate completed the interview with their invitation. To let them take "
            "it once more (audited), type the invite code printed on the invitation:")
        return typed if ok else None

    def allow_invitation_again(self) -> None:
        """Let an invite that completed its interview start one more session (audited)."""
        invitations = self.runtime.invitations
        typed = self.ask_invite_code() if invitations is not None else None
        if invitations is None or not typed:
            return
        try:
            invite = invitations.desk.invite_of(typed)
        except InvitationError as exc:
            self.message.setText(f"Not allowed: {exc}")
            return
        grant_override(self.store, invite)
        self.message.setText("Allowed: the next scan of that invitation starts a new "
                             "interview (once). This was recorded in the audit log.")

    def erase_selected(self) -> None:
        """Erase the selected session after staff type its code again."""
        reference = self.selected()
        if reference is None:
            return
        typed, ok = QInputDialog.getText(self, "Erase session",
                                         f"Type {reference} to erase it for good:")
        if not ok or normalize_reference(typed) != reference:
            self.message.setText("Not erased.")
            return
        erasure = self.store.erase(reference)
        self.message.setText(f"Erased: {erasure.rows} records and {erasure.files} files.")
        self.refresh()


def _answers(card: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every answer of a scorecard, in order, by its key: a question's, then its follow-up's
    (when one was answered), each with how a reviewer names it ("Q2", "Q2 follow-up")."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for question in card["questions"]:
        found[question["id"]] = (f"Q{question['number']}", question)
        follow_up = question.get("follow_up") or {}
        if follow_up.get("answered"):
            found[follow_up_key(question["id"])] = (f"Q{question['number']} follow-up",
                                                    follow_up)
    return found
