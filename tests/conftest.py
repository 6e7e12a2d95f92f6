"""Shared test configuration.

Tests never skip silently: under ``CI=true`` a missing engine or peer is a
failure (``need``), elsewhere a skip that names what is missing.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = [
    "tests.fixtures.docker_engine",
    "tests.fixtures.peers",
    "tests.fixtures.fleet_lab",
    "tests.fixtures.jitter",
    "tests.fixtures.snapshot_text",
    "tests.metrics_helpers",  # the quiet_metrics fixture
]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Property tests (hypothesis): at least 200 generated cases per surface under CI, never a
# deadline (a loaded CI box is slow, not wrong); locally a quicker pass. A test that needs
# more cases says so with its own settings(max_examples=...).
_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=_QUIET)
settings.register_profile("dev", max_examples=40, deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if IN_CI else "dev"))


def need(condition: bool, what: str) -> None:
    """Skip (locally) or fail (CI) when a real component the test needs is absent."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required component missing under CI: {what}", pytrace=False)
    pytest.skip(f"missing: {what}")


@pytest.fixture(autouse=True)
def _private_state(tmp_path_factory, monkeypatch):
    """The console's state, data and config folders (history database, saved chats, remembered
    UI state, profiles) fresh for each test, never the operator's; a test that needs them
    elsewhere sets them again."""
    base = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
