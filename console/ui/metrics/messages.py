"""Messages the Metrics area's workers post to it."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class MetricsScraped(Message):
    """One scrape of /metrics (a ``console.server.metrics.MetricsView``)."""

    def __init__(self, view: Any, base_url: str | None = None) -> None:
        super().__init__()
        self.view = view
        self.base_url = base_url  # the server scraped (a late answer from the previous one is dropped)


class MetricsProblem(Message):
    """The scrape failed: ``disabled`` when the server has no /metrics (404)."""

    def __init__(self, message: str, hint: str | None, disabled: bool = False) -> None:
        super().__init__()
        self.message = message
        self.hint = hint
        self.disabled = disabled


class BenchUpdate(Message):
    """Progress of a bench run: ``LevelStarted``, ``Progress`` or ``LevelDone`` from console.bench."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class BenchFinished(Message):
    def __init__(self, result: dict | None, error: str | None = None, hint: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.error = error
        self.hint = hint
