"""The GPUs and Metrics areas with an hour of history read back from the database (recorded
from tests/data/nvml/2xh100-hour.json: load, bench bursts, a restart), at 80×24 and 160×48,
over the 1 h window. Update with ``--snapshot-update`` and look at the SVGs first."""

from __future__ import annotations

import pytest

from tests.gpus_helpers import gpus_app, settle, use_recording
from tests.history_helpers import record_hour, until_loaded
from tests.metrics_helpers import metrics_app

SIZES = [(80, 24), (160, 48)]
IDS = ["80x24", "160x48"]


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_gpus_with_an_hour_of_history(snap_compare, monkeypatch, size) -> None:
    record_hour()
    use_recording(monkeypatch, "2xh100")
    monkeypatch.setenv("TZ", "UTC")

    async def run_before(pilot) -> None:
        import time

        time.tzset()
        await settle(pilot, pilot.app, ticks=1)
        await until_loaded(pilot, pilot.app)
        await pilot.press("right_square_bracket")  # 5 m → 1 h
        await pilot.pause()

    assert snap_compare(gpus_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_metrics_with_an_hour_of_history(snap_compare, quiet_metrics, monkeypatch, size) -> None:
    record_hour()

    async def run_before(pilot) -> None:
        await until_loaded(pilot, pilot.app)
        pane = pilot.app.pane("metrics")
        pane.focus()
        await pilot.press("right_square_bracket")
        await pilot.pause()

    assert snap_compare(metrics_app(), terminal_size=size, run_before=run_before)


async def test_the_hour_is_read_back_at_start(monkeypatch) -> None:
    record_hour()
    use_recording(monkeypatch, "2xh100")
    app = gpus_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app, ticks=1)
        await until_loaded(pilot, app)
        tl = app.history.timeline
        points = tl.snapshot("gpu0.util")[1]
        assert len(points) == 722  # the recorded hour (one tick every 5 s), then two live ticks
        assert points[-3][1] == 95 and points[-2][1] == 64  # the last burst, then 2xh100.json's first tick
        assert [e.kind for e in tl.events()] == ["start", "ready", "bench", "bench", "restart", "ready"]
        await pilot.press("right_square_bracket")  # the last hour
        await pilot.pause()
        chart = app.query_one("#gpus-charts").text()
        assert "↻" in chart and "◆" in chart  # the events on the charts' axis
