"""Follow-up decisions and answers in the encrypted store: kept, audited, erased."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.clock import FakeClock
from kiosk.flow import CandidateFlow, Step
from kiosk.session import FollowUpOutcome
from kiosk.store import Store
from kiosk.vault import Identity
from tests.kiosk.conftest import TIMINGS, Harness, probe_template

KIOSK = Identity.generate()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path, [KIOSK.recipient], [KIOSK])
    yield opened
    opened.close()


def with_follow_up(store: Store, answer: str = "Hello, I would say.") -> str:
    """A finished session whose first question's typed follow-up was asked and answered."""
    clock = FakeClock()
    flow = CandidateFlow(probe_template(mode="text"), clock=clock, archive=store,
                         timings=TIMINGS)
    harness = Harness(flow, clock, store)  # type: ignore[arg-type]
    harness.to(Step.FOLLOW_UP_CHECK)
    flow.follow_up_decided("q-one", FollowUpOutcome.ASKED, "greeting")
    flow.ready()
    flow.update_text(answer)
    flow.finish_answer()
    flow.submit()
    while flow.step is not Step.FINISHED:
        harness.answer_current()
    return flow.reference or ""


def test_the_decision_and_the_follow_ups_answer_come_back(tmp_path: Path,
                                                         store: Store) -> None:
    reference = with_follow_up(store, "Hello and welcome, I would say with a smile.")
    store.close()
    reopened = Store(tmp_path, [KIOSK.recipient], [KIOSK])
    try:
        session = reopened.find(reference)
        assert session is not None
        decided = session.follow_ups["q-one"]
        assert (decided.outcome, decided.probe_id) == (FollowUpOutcome.ASKED, "greeting")
        assert decided.decided_at is not None
        follow_up = session.answers["q-one.probe"]
        assert follow_up.chosen_take.text == "Hello and welcome, I would say with a smile."
        # The typed follow-up is encrypted like every answer: not in the file in the clear.
        raw = (tmp_path / "kiosk.db").read_bytes()
        assert b"with a smile" not in raw
    finally:
        reopened.close()


def test_each_decision_is_audited_once_without_content(store: Store) -> None:
    with_follow_up(store, "Greetings from the front desk.")
    entries = [e for e in store.audit.entries() if e.action == "follow_up.decided"]
    assert len(entries) == 1  # saved many times, audited when first decided
    assert set(entries[0].details) == {"session_id", "question_id", "outcome", "probe_id"}
    assert entries[0].details["outcome"] == "asked"
    assert "front desk" not in str(entries[0].details)


def test_erasure_takes_the_follow_ups_with_it(store: Store) -> None:
    reference = with_follow_up(store)
    store.erase(reference)
    left = store.connection.execute("SELECT COUNT(*) FROM follow_ups").fetchone()[0]
    assert left == 0
