"""Drive the GPUs area from a recorded NVML session, deterministically.

The sampler reads the recording named by ``GPT_OSS_CONSOLE_NVML_REPLAY`` (as the
real program does) with a fixed clock, and ticks only when a test asks.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from pathlib import Path

from console.gpu import Sampler
from console.ui.app import ConsoleApp
from console.ui.areas import AREAS
from console.ui.gpus.pane import GpusPane

NVML_DATA = Path(__file__).parent / "data" / "nvml"
PROC_DATA = Path(__file__).parent / "data" / "proc"  # the recordings' machine's /proc
FIXED_TIME = 1_764_000_000.0


class ManualSampler(Sampler):
    """The real sampler at its real interval, minus the thread: it ticks when told
    (and once on the first start, as the real one does)."""

    def start(self):
        inventory = self.open()
        if inventory.gpus and self.snapshot is None:
            self.tick()
        return inventory


def use_recording(monkeypatch, name: str, factory=None) -> None:
    """The app's one sampler reads recording ``name`` (``factory``: a ManualSampler with a fixed clock)."""
    # No container lookup: the console's asks Docker about the recording's PIDs.
    monkeypatch.setattr(ConsoleApp, "container_lookup", None)
    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", str(NVML_DATA / f"{name}.json"))
    factory = factory or (lambda: ManualSampler(clock=lambda: FIXED_TIME))
    monkeypatch.setattr(ConsoleApp, "sampler_factory", staticmethod(factory))
    # The app's timeline and history on the samples' clock (history prunes by it).
    monkeypatch.setattr(ConsoleApp, "clock", staticmethod(lambda: FIXED_TIME))
    # The recordings' PIDs may be anyone's here: host columns come from their machine's /proc.
    monkeypatch.setattr(ConsoleApp, "host_factory", staticmethod(recorded_host))


def recorded_host():
    from console.host import HostReader

    return HostReader(str(PROC_DATA), clock=lambda: FIXED_TIME)


def gpus_app() -> ConsoleApp:
    """The shell with only the GPUs area, so other areas' tabs do not change these screens."""
    return ConsoleApp(areas=[a for a in AREAS if a.name == "gpus"])


async def wait_opened(pilot, app: ConsoleApp, timeout: float = 30.0) -> GpusPane:
    """Until NVML has answered and the table, first sample and planner are all in
    place; a slow machine waits longer, and one that never gets there fails here
    rather than in a snapshot of a half-built screen."""
    pane = app.pane("gpus")
    deadline = time.monotonic() + timeout

    def ready() -> bool:
        inv = pane.inventory
        if inv is None or not pane.query("#gpus-plan"):
            return False
        if not inv.gpus:
            return True
        planner = pane.query_one("#gpus-plan")
        return (pane.sampler.snapshot is not None and bool(pane.query("#gpus-table"))
                and (pane._detected is None or planner.detected is not None))

    while not ready():
        assert time.monotonic() < deadline, f"the GPUs pane was not ready after {timeout:g} s"
        await pilot.pause(0.02)
    await pilot.pause()
    return pane


async def settle(pilot, app: ConsoleApp, ticks: int = 0) -> GpusPane:
    """Open, take ``ticks`` more samples, and let every message land."""
    pane = await wait_opened(pilot, app)
    for _ in range(ticks):
        pane.sampler.tick()
    await pilot.pause()
    await pilot.pause()
    return pane


@asynccontextmanager
async def gpus_open(monkeypatch, recording: str, *, ticks: int = 0, size: tuple[int, int] = (80, 24)):
    """The GPUs-only shell on ``recording``, opened and settled: yields (pilot, app, pane).
    Tests that patch the pane after ``use_recording`` set it up by hand instead."""
    use_recording(monkeypatch, recording)
    app = gpus_app()
    async with app.run_test(size=size) as pilot:
        yield pilot, app, await settle(pilot, app, ticks=ticks)
