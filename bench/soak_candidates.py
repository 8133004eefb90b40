"""A scripted candidate for the window soak: random but legal actions, from a seeded RNG.

Each candidate takes part as a person might: picks a language (switching the screens live),
sometimes comes back with a reference code, declines or consents, asks for typed answers
or extra retakes, does or skips the practice question, answers video, audio and typed
questions, retakes, watches a take back, takes a break, lets a timer run out, or walks away
(an idle wipe). Between candidates, staff sometimes open the console, watch an answer and
export for HQ. Every action goes through the window's own widgets; the script only
chooses what to press and waits for the window to get there.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from bench.soak_hands import modal
from kiosk.flow import Step
from kiosk.templates import AnswerMode
from ui import i18n

if TYPE_CHECKING:
    from bench.soak_kiosk import SoakKiosk

Wait = tuple[Callable[[], bool], str] | None
NAMES = ("Asha Verghese", "Rohan Iyer", "Meera Pillai", "Imran Sheikh", "Kavya Menon",
         "Arjun Das", "Neha Kulkarni", "Vikram Rao")
SENTENCES = ("I listened first and then repeated what the customer needed.",
             "The countdown was easy to follow and the buttons were large.",
             "I would check the stock list before promising a delivery date.",
             "At my last job I trained two new colleagues on the till.")
WAITING = (Step.IDENTIFY, Step.CONSENT, Step.ACCOMMODATIONS, Step.DEVICE_CHECK, Step.READ)


def pause(seconds: float) -> Wait:
    """Let real time pass (the sample media records in real time)."""
    until = time.monotonic() + seconds
    return (lambda: time.monotonic() >= until, f"{seconds:.1f} s to pass")


def playing(playback: Any) -> bool:
    """Whether a player has been started."""
    return playback.player is not None


def shown(widget: QWidget | None) -> bool:
    """Whether `widget` is on screen (on X: mapped, so input can reach it)."""
    handle = widget.windowHandle() if widget is not None else None
    return handle is not None and widget is not None and widget.isVisible() \
        and handle.isExposed()


def answer_dialog(kiosk: SoakKiosk, text: str) -> Iterator[Wait]:
    """Type `text` into the input dialog that is open, and press Return."""
    yield (lambda: isinstance(modal(), QInputDialog) and shown(modal()), "an input dialog")
    dialog = modal()
    assert dialog is not None
    dialog.activateWindow()  # no window manager gives it the keyboard
    field = dialog.findChild(QLineEdit)
    assert field is not None
    kiosk.hands.type(field, text)
    yield (lambda: field.text() == text, "the dialog's text to be typed")
    kiosk.hands.key(field, "Return")
    yield (lambda: modal() is None, "the dialog to close")


def open_console(kiosk: SoakKiosk) -> Iterator[Wait]:
    """The staff gesture and the passphrase: the console opens."""
    kiosk.hands.staff_gesture(kiosk.window)
    yield from answer_dialog(kiosk, kiosk.passphrase)
    console = kiosk.window.console
    yield (lambda: kiosk.window.stack.currentWidget() is console, "the staff console")


class Candidate:
    """One person at the kiosk, whose choices come from `rng`."""

    def __init__(self, kiosk: SoakKiosk, rng: random.Random, number: int) -> None:
        self.kiosk, self.rng, self.number = kiosk, rng, number
        self.flow, self.window, self.hands = kiosk.flow, kiosk.window, kiosk.hands
        self.did: dict[str, Any] = {"takes": 0, "retakes": 0, "watched": 0, "idle_wipes": 0,
                                    "still_here": 0, "timeouts": 0, "breaks": 0,
                                    "language": "en", "resumed": False, "declined": False,
                                    "typed": False, "practice": False, "follow_ups": 0}

    def summary(self) -> dict[str, Any]:
        """What this candidate did, for the soak's counts."""
        return dict(self.did)

    @property
    def screen(self) -> Any:
        return self.window.current

    def at(self, *steps: Step) -> Wait:
        names = "/".join(s.value for s in steps)
        return (lambda: self.flow.step in steps and not self.window.overlay.isVisible(),
                f"step {names}")

    def press(self, widget: QWidget, then: Wait) -> Iterator[Wait]:
        label = widget.text() if hasattr(widget, "text") else type(widget).__name__
        yield (lambda: widget.isVisible() and widget.isEnabled(),
               f"'{label}' to show (at step {self.flow.step.value})")
        # A wrapping check row (ui.widgets.CheckRow) is ticked by its box, as a person would.
        self.hands.click(getattr(widget, "box", widget))
        yield then

    # --- the journey ------------------------------------------------------------------

    def take_part(self) -> Iterator[Wait]:
        """From the welcome screen back to it."""
        yield self.at(Step.WELCOME)
        yield from self.choose_language()
        pending = self.kiosk.__dict__.setdefault("resumable", [])
        if pending and self.rng.random() < 0.6:
            yield from self.resume(pending.pop(0))
        else:
            yield from self.press(self.screen.start, self.at(Step.IDENTIFY))
            if not (yield from self.identify()):
                return
            if not (yield from self.consent()):
                return
            if not (yield from self.adjustments()):
                return
        if not (yield from self.device_check()):
            return
        yield from self.questions()

    def choose_language(self) -> Iterator[Wait]:
        language = "hi" if self.rng.random() < 0.3 else "en"
        self.did["language"] = language
        if i18n.language() != language:
            button = self.screen.languages[["en", "hi"].index(language)]
            yield from self.press(button, (lambda: i18n.language() == language,
                                           f"the screens in {language}"))

    def resume(self, reference: str) -> Iterator[Wait]:
        self.did["resumed"] = True
        self.hands.click(self.screen.resume)  # "I have a reference code"
        yield from answer_dialog(self.kiosk, reference)
        yield self.at(Step.DEVICE_CHECK)

    def walk_away(self) -> Iterator[Wait]:
        """Leave the kiosk alone until it asks; then answer, or let it wipe."""
        extra = self.flow.accommodations.extra_time
        reference = self.flow.reference
        overlay = self.window.overlay
        step = self.flow.step.value
        # Input already sent (xdotool's last key or click) must reach the window first, or
        # it would count as the candidate still being there: a person walks away after
        # their last press has landed.
        yield pause(0.3)
        self.kiosk.advance(self.flow.timings.idle_seconds * extra + 0.5)
        yield (lambda: overlay.isVisible() or self.flow.step is Step.WELCOME,
               f"'Are you still there?' (left at {step})")
        if self.flow.step is Step.WELCOME:
            raise AssertionError(f"wiped without a warning at {step}")
        if self.rng.random() < 0.5:
            self.did["still_here"] += 1
            yield from self.press(overlay.yes, (lambda: not overlay.isVisible(),
                                                "the idle question to go"))
            return True
        self.did["idle_wipes"] += 1
        self.kiosk.advance(self.flow.timings.idle_warning_seconds + 0.5)
        yield self.at(Step.WELCOME)
        if reference and self.rng.random() < 0.7:
            self.kiosk.__dict__.setdefault("resumable", []).append(reference)
        return False

    def maybe_walk_away(self) -> Iterator[Wait]:
        if self.flow.step in WAITING and self.rng.random() < 0.04:
            return (yield from self.walk_away())
        return True

    def identify(self) -> Iterator[Wait]:
        name, contact = self.rng.choice(NAMES), f"candidate{self.number}@example.com"
        screen = self.screen
        self.hands.type(screen.name, name)
        yield (lambda: screen.name.text() == name, "the name to be typed")
        self.hands.type(screen.contact, contact)
        yield (lambda: screen.contact.text() == contact, "the contact to be typed")
        if not (yield from self.maybe_walk_away()):
            return False
        yield from self.press(screen.next, self.at(Step.CONSENT))
        return (yield from self.maybe_walk_away())

    def consent(self) -> Iterator[Wait]:
        screen = self.screen
        if self.rng.random() < 0.04:
            self.did["declined"] = True
            yield from self.press(screen.decline, self.at(Step.DECLINED))
            yield from self.press(self.screen.done, self.at(Step.WELCOME))
            return False
        if self.rng.random() < 0.1:
            # Going on without ticking: the screen asks, and "Go back" changes nothing.
            yield from self.press(screen.agree, (screen.go_back.isVisible, "the consent question"))
            yield from self.press(screen.go_back, (lambda: not screen.go_back.isVisible(),
                                                   "the consent question to close"))
        for box in (screen.recording, screen.retention, screen.ai):
            if box.isVisible() and not box.isChecked():
                yield from self.press(box, (box.isChecked, "a box to be ticked"))
        yield from self.press(screen.agree, self.at(Step.ACCOMMODATIONS))
        return (yield from self.maybe_walk_away())

    def adjustments(self) -> Iterator[Wait]:
        screen = self.screen
        typed, retakes = self.rng.random() < 0.2, self.rng.random() < 0.2
        self.did["typed"] = typed
        for wanted, box in ((typed, screen.typed), (retakes, screen.retakes)):
            if wanted:
                yield from self.press(box, (box.isChecked, "a box to be ticked"))
        yield from self.press(screen.apply if typed or retakes else screen.none,
                              self.at(Step.DEVICE_CHECK))
        return (yield from self.maybe_walk_away())

    def device_check(self) -> Iterator[Wait]:
        yield from self.press(self.screen.go, self.at(Step.READ, Step.REVIEW, Step.FINISHED))
        if self.flow.step is Step.READ and self.flow.in_practice:
            if self.rng.random() < 0.3:
                self.did["practice"] = True
                yield from self.answer()
            else:
                yield from self.press(self.screen.secondary, self.at(Step.READ))
        return True

    def questions(self) -> Iterator[Wait]:
        while self.flow.step in (Step.READ, Step.REVIEW, Step.FOLLOW_UP_CHECK, Step.THINK):
            if self.flow.step is Step.FOLLOW_UP_CHECK:
                yield from self.follow_up_check()
            elif self.flow.step is Step.THINK:  # a follow-up, asked at once
                self.did["follow_ups"] += 1
                yield from self.think()
            elif self.flow.step is Step.READ:
                if not (yield from self.maybe_walk_away()):
                    return
                if self.rng.random() < 0.08 and not self.flow.in_practice:
                    self.did["breaks"] += 1
                    yield from self.press(self.screen.secondary, self.at(Step.BREAK))
                    yield from self.press(self.screen.back, self.at(Step.READ))
                yield from self.answer()
            else:
                yield from self.review()  # resumed on the review of a take
        if self.flow.step is Step.FINISHED:
            if self.rng.random() < 0.8:
                yield from self.press(self.screen.done, self.at(Step.WELCOME))
            else:
                self.did["timeouts"] += 1
                self.kiosk.advance(self.flow.timings.finished_seconds + 0.5)
                yield self.at(Step.WELCOME)

    def follow_up_check(self) -> Iterator[Wait]:
        """A kept answer of a question with follow-ups: the kiosk decides (or its wait runs
        out, as the fake clock moves only when the script says)."""
        if self.rng.random() < 0.2:
            self.did["timeouts"] += 1
            self.kiosk.advance(self.flow.time_left() or 0)
        else:
            until = time.monotonic() + 60
            yield (lambda: self.flow.step is not Step.FOLLOW_UP_CHECK
                   or time.monotonic() > until, "the follow-up decision")
            if self.flow.step is Step.FOLLOW_UP_CHECK:
                self.kiosk.advance(self.flow.time_left() or 0)
        yield self.at(Step.THINK, Step.READ, Step.FINISHED)

    def answer(self) -> Iterator[Wait]:
        """From the question card through recording (or typing) to its review, and on."""
        yield from self.press(self.screen.primary, self.at(Step.THINK))
        yield from self.think()

    def think(self) -> Iterator[Wait]:
        """From the question's (or follow-up's) prompt to its review, and on."""
        if self.rng.random() < 0.1:
            self.did["timeouts"] += 1
            self.kiosk.advance(self.flow.time_left() or 0)
        else:
            self.hands.click(self.screen.primary)  # "I'm ready"
        yield self.at(Step.COUNTDOWN, Step.ANSWER)
        yield from self.record()
        yield from self.review()

    def record(self) -> Iterator[Wait]:
        if self.flow.step is Step.COUNTDOWN:
            self.kiosk.advance(self.flow.timings.countdown_seconds)
            yield self.at(Step.ANSWER)
        screen = self.screen
        if self.flow.mode is AnswerMode.TEXT:
            text = self.rng.choice(SENTENCES)
            self.hands.type(screen.typed, text)
            yield (lambda: self.flow.draft_text == text, "the answer to be typed")
        else:
            yield pause(self.rng.uniform(0.25, 0.7))
        if self.rng.random() < 0.1:
            self.did["timeouts"] += 1
            self.kiosk.advance(self.flow.time_left() or 0)  # the answer time runs out
        else:
            self.hands.click(screen.primary)  # "Finish answer" / "Hand in"
        yield self.at(Step.REVIEW)
        self.did["takes"] += 1

    def review(self) -> Iterator[Wait]:
        while self.flow.step is Step.REVIEW:
            screen = self.screen
            if screen.watch.isVisible() and self.rng.random() < 0.3:
                self.did["watched"] += 1
                yield from self.press(screen.watch, (partial(playing, screen.playback),
                                                     "playback to start"))
                yield pause(0.3)
            if screen.again.isVisible() and self.rng.random() < 0.35:
                self.did["retakes"] += 1
                yield from self.press(screen.again, self.at(Step.COUNTDOWN, Step.ANSWER))
                yield from self.record()
                continue
            leave = self.at(Step.READ, Step.FINISHED, Step.FOLLOW_UP_CHECK, Step.THINK)
            if self.rng.random() < 0.1:
                self.did["timeouts"] += 1
                self.kiosk.advance(self.flow.time_left() or 0)  # review time runs out
                yield leave
            else:
                yield from self.press(screen.use, leave)

    # --- staff ------------------------------------------------------------------------

    def staff_visit(self, export: bool) -> Iterator[Wait]:
        """Staff open the console, watch an answer, maybe export for HQ, and lock."""
        yield from open_console(self.kiosk)
        console = self.window.console
        if console.table.rowCount():
            self.hands.click_row(console.table, 0)
            yield (lambda: bool(console.card.toPlainText()), "a scorecard")
            if console.answer.count():
                yield from self.press(console.watch, (
                    lambda: console.playback.player is not None, "playback to start"))
                yield pause(0.4)
        if export:
            with tempfile.TemporaryDirectory(prefix="soak-usb-") as stick:
                # The folder chooser is the desktop's own dialog; the soak names the stick.
                console.choose_folder = lambda: stick  # type: ignore[method-assign]

                def exported() -> bool:  # (the message of an earlier export may still show)
                    text = console.message.text()
                    return text.startswith("Not exported") or any(
                        text.startswith("Wrote") and bundle.name in text
                        for bundle in Path(stick).glob("*.ikbundle"))

                yield from self.press(console.export, (exported, "the export to finish"))
                assert console.message.text().startswith("Wrote"), console.message.text()
        yield from self.press(console.lock, self.at(Step.WELCOME))
