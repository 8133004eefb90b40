"""The kiosk's follow-up decider: what it hears, what it decides, and when it says nothing.

A fake speech model stands in where the test is about the decider's own rules (a typed
answer, a failure, a wipe); the real bundled model and espeak-ng speech decide the demo's
follow-up end to end. No test asserts on time.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from kiosk.probing import Decision, FollowUpDecider
from kiosk.session import FollowUpOutcome
from kiosk.templates import find_template
from kiosk.transcription.sample_speech import espeak_available, synthesise
from kiosk.transcription.transcriber import SAMPLE_RATE
from kiosk.transcription.transcript import Segment, Transcript, Word
from tests.kiosk.conftest import probe_template, small_template

WAIT = 120.0  # a bound for a stuck thread, never a figure asserted on
LEARNED = "something-you-learned-recently"


class Words:
    """A speech model that hears the words it is given, or fails when told to."""

    def __init__(self, text: str = "", fail: bool = False) -> None:
        self.text, self.fail, self.calls = text, fail, 0
        self.info = SimpleNamespace(name="words as given")

    def transcribe_samples(self, samples: np.ndarray, *, language: str | None = None,
                           prompt: str | None = None) -> Transcript:
        self.calls += 1
        if self.fail:
            raise RuntimeError("the model broke")
        words = tuple(Word(i * 0.3, i * 0.3 + 0.3, w, 0.9)
                      for i, w in enumerate(self.text.split()))
        duration = len(samples) / SAMPLE_RATE
        return Transcript(text=self.text, language="en", duration=duration,
                          segments=(Segment(0.0, duration, self.text, words),) if words else ())


def ask(decider: FollowUpDecider, question_id: str, take: int = 1, text: str | None = None,
        within: float = WAIT) -> Decision | None:
    """Ask for a decision and wait for it (None: the decider said nothing)."""
    done = threading.Event()
    got: list[Decision] = []

    def keep(decision: Decision) -> None:
        got.append(decision)
        done.set()
    decider.decide(question_id, take, "en", text, within, keep)
    done.wait(10 if within >= WAIT else within + 1)  # past `within`, nothing may come
    return got[0] if got else None


def ready(speech: Words) -> FollowUpDecider:
    decider = FollowUpDecider(probe_template(), load_transcriber=lambda: speech,
                              load_model=lambda: None)
    assert decider.wait_ready(WAIT)
    return decider


def hear(decider: FollowUpDecider, key: str, take: int, seconds: float = 2.0) -> None:
    feed = decider.hear(key, take, "en")
    assert feed is not None
    feed(np.zeros(int(seconds * SAMPLE_RATE), np.float32))
    decider.ended(key, take)


def test_an_interview_without_probes_needs_nothing_loaded() -> None:
    loaded: list[str] = []
    decider = FollowUpDecider(small_template(), load_transcriber=lambda: loaded.append("x"))
    decider.prepare()
    assert not decider.needed and decider.wait_ready(0) and loaded == []
    assert decider.hear("q-one", 1, "en") is None


def test_a_heard_take_is_decided_by_its_words() -> None:
    decider = ready(Words("I would walk up and smile at them"))
    hear(decider, "q-one", 1)
    decision = ask(decider, "q-one")
    assert decision is not None
    assert (decision.outcome, decision.probe_id) == (FollowUpOutcome.ASKED, "greeting")


def test_the_chosen_take_is_the_one_decided() -> None:
    speech = Words("hello")
    decider = ready(speech)
    hear(decider, "q-one", 1)  # "hello": too short, the first probe
    assert decider.settle("q-one", 1, WAIT)
    speech.text = "hello there I would walk up and smile at them"
    hear(decider, "q-one", 2)  # greets, and long enough: nothing to ask
    assert ask(decider, "q-one", take=1).probe_id == "say-more"  # type: ignore[union-attr]
    second = ask(decider, "q-one", take=2)
    assert second is not None and second.outcome is FollowUpOutcome.NOT_NEEDED


def test_a_typed_answer_is_judged_as_typed() -> None:
    speech = Words("never used")
    decider = ready(speech)
    decision = ask(decider, "q-one", text="Hello, welcome in, how can I help you today?")
    assert decision is not None and decision.outcome is FollowUpOutcome.NOT_NEEDED
    assert speech.calls == 0


@pytest.mark.parametrize("why", ["not heard", "model fails", "wiped"])
def test_no_decision_rather_than_a_wrong_one(why: str) -> None:
    speech = Words("hello there", fail=why == "model fails")
    decider = ready(speech)
    if why != "not heard":
        hear(decider, "q-one", 1)
    if why == "wiped":
        decider.forget()
    assert ask(decider, "q-one", within=0.5) is None


def test_a_recording_dropped_by_a_wipe_is_forgotten() -> None:
    decider = ready(Words("hello"))
    feed = decider.hear("q-one", 1, "en")
    assert feed is not None
    decider.ended("q-one", 1, dropped=True)
    assert ask(decider, "q-one", within=0.5) is None


def test_without_a_speech_model_there_is_no_decision_and_no_crash() -> None:
    def broken() -> object:
        raise OSError("no model here")
    decider = FollowUpDecider(probe_template(), load_transcriber=broken,
                              load_model=lambda: None)
    assert decider.wait_ready(WAIT)
    assert decider.hear("q-one", 1, "en") is None
    assert ask(decider, "q-one", within=0.5) is None
    typed = ask(decider, "q-one", text="Hello and welcome, please come in and sit down.")
    assert typed is not None and typed.outcome is FollowUpOutcome.NOT_NEEDED


def test_closing_stops_preparing_and_waits_for_it() -> None:
    # A kiosk closed while its models still load must not exit under their native threads
    # (the C++ runtime aborts the process): close() stops between steps and waits.
    loading, release = threading.Event(), threading.Event()
    fitted: list[str] = []

    def slow_speech() -> Words:
        loading.set()
        release.wait(WAIT)
        return Words("hello")

    decider = FollowUpDecider(probe_template(), load_transcriber=slow_speech,
                              load_model=lambda: fitted.append("loaded"))  # type: ignore[func-returns-value]
    decider.prepare()
    assert loading.wait(WAIT)
    closer = threading.Thread(target=decider.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # it waits for the load under way...
    release.set()
    closer.join(WAIT)
    assert not closer.is_alive() and fitted == []  # ...and starts nothing after it
    assert decider.wait_ready(0)


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed: run make "
                                                   "test, which installs it")
def test_the_demo_follow_up_with_the_real_models() -> None:
    """The bundled speech and evidence models hear a spoken answer with no next step."""
    demo = find_template("demo")
    decider = FollowUpDecider(demo)
    assert decider.wait_ready(WAIT)
    speech = synthesise("Recently I learned to make simple spreadsheets with formulas. I "
                        "watched short videos and practised every evening.")
    feed = decider.hear(LEARNED, 1, "en")
    assert feed is not None
    for start in range(0, len(speech), SAMPLE_RATE // 10):
        feed(speech[start:start + SAMPLE_RATE // 10])
    decider.ended(LEARNED, 1)
    assert decider.settle(LEARNED, 1, WAIT)
    decision = ask(decider, LEARNED)
    assert decision is not None
    assert (decision.outcome, decision.probe_id) == (FollowUpOutcome.ASKED, "next-step")


def test_a_take_recorded_while_the_model_still_loads_is_still_decided() -> None:
    """The first candidate after the kiosk starts may answer before the speech model is
    loaded: the take is kept from its first sample and heard once the model is there."""
    loaded = threading.Event()
    speech = Words("I would walk up and smile at them")

    def slow() -> Words:
        assert loaded.wait(WAIT)
        return speech

    decider = FollowUpDecider(probe_template(), load_transcriber=slow, load_model=lambda: None)
    decider.prepare()
    assert not decider.wait_ready(0)
    hear(decider, "q-one", 1)  # the whole take, before the model is there
    assert speech.calls == 0
    loaded.set()
    decision = ask(decider, "q-one")
    assert decision is not None
    assert (decision.outcome, decision.probe_id) == (FollowUpOutcome.ASKED, "greeting")
