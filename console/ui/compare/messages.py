"""Messages the compare screen's worker posts to it."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class CompareUpdate(Message):
    """One event of the run (``console.compare.run``: PhaseStarted, CheckRun, RunDone, MeasureDone, EndpointDown)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class CompareFinished(Message):
    """The run's result, or why there is none."""

    def __init__(self, result: dict | None, error: str | None = None, hint: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.error = error
        self.hint = hint
