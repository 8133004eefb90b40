"""The question being answered: its takes so far, the one chosen, the one being recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kiosk.session import Take
from kiosk.templates import AnswerMode


@dataclass
class Attempt:
    """Takes of one question (or of the practice question) before they are submitted."""

    takes: list[Take] = field(default_factory=list)
    chosen: int | None = None
    draft: str = ""  # text typed so far in a text answer
    _started: tuple[float, datetime] | None = None

    @property
    def next_take(self) -> int:
        """The number the next take will have."""
        return len(self.takes) + 1

    def start_take(self, at: float, wall: datetime) -> None:
        """A take starts at monotonic `at` (wall time `wall`)."""
        self._started = (at, wall)
        self.draft = ""

    def stop_take(self, at: float, mode: AnswerMode, limit: float, ended_by: str) -> Take:
        """The take in progress ends; it becomes the chosen one."""
        assert self._started is not None, "no take is being recorded"
        started, wall = self._started
        take = Take(number=self.next_take, mode=mode, started_at=wall,
                    seconds=min(at - started, limit), ended_by=ended_by,
                    text=self.draft if mode is AnswerMode.TEXT else None)
        self.takes.append(take)
        self.chosen = take.number
        self._started = None
        return take
