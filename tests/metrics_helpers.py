"""The Metrics area alone, quiet: no GPU, no Docker, a fixed clock and UTC, so its
screens are the same on every run (the Metrics and bench-screen tests share it)."""

from __future__ import annotations

import time

import pytest

from console.ui.app import ConsoleApp
from console.ui.areas import AREAS
from console.ui.metrics.pane import MetricsPane
from tests.gpus_helpers import use_recording

NOW = 1_764_000_000.0


def metrics_app() -> ConsoleApp:
    return ConsoleApp(areas=[a for a in AREAS if a.name == "metrics"])


@pytest.fixture
def quiet_metrics(monkeypatch):
    """No GPU (a recording without a driver), no Docker, a fixed clock and UTC."""
    use_recording(monkeypatch, "no-driver")
    monkeypatch.setattr(MetricsPane, "docker_follower", None)
    monkeypatch.setattr(MetricsPane, "clock", staticmethod(lambda: NOW))
    monkeypatch.setattr(ConsoleApp, "clock", staticmethod(lambda: NOW))  # the app's timeline and history
    monkeypatch.delenv("GPT_OSS_CONSOLE_BASE_URL", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
