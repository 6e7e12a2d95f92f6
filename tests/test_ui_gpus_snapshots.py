"""Snapshots of the GPUs screen from recorded NVML sessions (80×24 and 160×48).

Update with ``--snapshot-update`` and look at the SVGs before accepting them.
"""

from __future__ import annotations

import pytest

from tests.gpus_helpers import gpus_app, settle, use_recording


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_two_h100s_serving(snap_compare, monkeypatch, size) -> None:
    use_recording(monkeypatch, "2xh100")

    async def run_before(pilot) -> None:
        await settle(pilot, pilot.app, ticks=4)

    assert snap_compare(gpus_app(), terminal_size=size, run_before=run_before)


def test_no_driver(snap_compare, monkeypatch) -> None:
    use_recording(monkeypatch, "no-driver")

    async def run_before(pilot) -> None:
        await settle(pilot, pilot.app)

    assert snap_compare(gpus_app(), terminal_size=(80, 24), run_before=run_before)


def test_not_supported_fields_read_na(snap_compare, monkeypatch) -> None:
    use_recording(monkeypatch, "notsupported")

    async def run_before(pilot) -> None:
        await settle(pilot, pilot.app, ticks=2)

    assert snap_compare(gpus_app(), terminal_size=(80, 24), run_before=run_before)


def test_help_screen(snap_compare, monkeypatch) -> None:
    use_recording(monkeypatch, "h100")

    async def run_before(pilot) -> None:
        await settle(pilot, pilot.app)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(gpus_app(), terminal_size=(80, 24), run_before=run_before)


def test_light_theme(snap_compare, monkeypatch) -> None:
    use_recording(monkeypatch, "2xh100")
    monkeypatch.setenv("GPT_OSS_CONSOLE_THEME", "light")

    async def run_before(pilot) -> None:
        await settle(pilot, pilot.app, ticks=4)

    assert snap_compare(gpus_app(), terminal_size=(80, 24), run_before=run_before)


def test_busy_h200_is_planned_from_what_is_free(snap_compare, monkeypatch) -> None:
    """Issue 10 item 11 at 80×24: a process holds 20.6 GiB; the plan says so and plans from the rest."""
    use_recording(monkeypatch, "h200-busy")

    async def run_before(pilot) -> None:
        await settle(pilot, pilot.app, ticks=1)
        await pilot.press("p")  # the planner, below the charts and the processes
        await pilot.pause()

    assert snap_compare(gpus_app(), terminal_size=(80, 24), run_before=run_before)
