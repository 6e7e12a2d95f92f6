"""An hour of history recorded the way the console records it, for the charts' tests and snapshots.

``record_hour()`` replays ``tests/data/nvml/2xh100-hour.json`` (two H100s serving gpt-oss-120b:
load, bench bursts, a restart) through the real ``Sampler`` and ``Recorder`` into the XDG state
dir's history database, one tick every 5 s ending just before ``FIXED_TIME``, with the server's
/metrics of the same story every 10 s and the container and bench events.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from console.gpu import Sampler
from console.gpu.replay import RecordedNvml
from console.history import default_path
from console.history.recorder import Recorder
from console.server import metrics as M
from console.timeline.timeline import Event
from tests.gpus_helpers import FIXED_TIME, NVML_DATA

URL = "http://127.0.0.1:8000"
STEP = 5.0
TICKS = 720  # the recording's hour


def _busy(t: float) -> bool:
    return 900 <= t < 1500 or 1800 <= t < 2100 or t >= 3000


def _serving(t: float) -> bool:
    return 420 <= t < 2400 or t >= 2580


def metrics_view(t: float, wall: float) -> M.MetricsView:
    """The server's /metrics at second ``t`` of the hour (gauges, rates, latency quantiles)."""
    busy = _busy(t)
    wave = 0.5 + 0.5 * math.sin(t / 90)
    gauges = {"running": (12 + 4 * wave) if busy else 0.0, "queued": (3 * wave) if busy else 0.0,
              "token_usage": (0.35 + 0.1 * wave) if busy else 0.01, "swa_token_usage": 0.2 if busy else 0.0,
              "cache_hit_rate": 0.3, "gen_throughput": (1300 + 80 * wave) if busy else 0.0}
    snap = M.MetricsSnapshot(at=wall, wall=wall, gauges=gauges, counters={"requests": t // 10, "aborted": 0.0})
    q = lambda p50, spread: {"p50": p50, "p90": p50 * spread, "p99": p50 * spread * 1.6,  # noqa: E731
                             "count": 40 if busy else 0}
    latency = {"ttft": {"interval": q(0.11 + 0.05 * wave, 1.8) if busy else {"count": 0}},
               "itl": {"interval": q(0.0045 + 0.001 * wave, 1.3) if busy else {"count": 0}}}
    rates = {"generation_tokens": (1250 + 90 * wave) if busy else 0.0, "prompt_tokens": (800 * wave) if busy else 0.0}
    return M.MetricsView(snap, 10.0, rates, latency)


def record_hour(end: float = FIXED_TIME - STEP, path: Path | None = None, recording: str = "2xh100-hour") -> Path:
    """Record the hour ending at ``end`` into ``path`` (default: the state dir's database)."""
    path = path or default_path()
    start = end - STEP * (TICKS - 1)
    clock = [start]
    sampler = Sampler(RecordedNvml.load(NVML_DATA / f"{recording}.json"), clock=lambda: clock[0])
    inventory = sampler.open()
    recorder = Recorder(path, clock=lambda: clock[0])
    recorder.inventory(inventory)
    recorder.open()
    sampler.subscribe(recorder.gpu_snapshot)
    for i in range(TICKS):
        t = i * STEP
        sampler.tick()
        if _serving(t) and i % 2 == 0:
            recorder.metrics(metrics_view(t, clock[0]), URL)
        if i % 60 == 59:
            recorder.flush()
        clock[0] += STEP
    for t, kind, text, source in (
        (300, "start", "gpt-oss-120b started", "gpt-oss-120b"),
        (420, "ready", f"server ready at {URL}", "launch"),
        (900, "bench", "bench started (c=16)", "bench"),
        (1500, "bench", "bench done: best 1402 out tok/s", "bench"),
        (2400, "restart", "gpt-oss-120b restarted", "gpt-oss-120b"),
        (2580, "ready", f"server ready at {URL}", "launch"),
    ):
        recorder.event(Event(start + t, kind, text, source))
    clock[0] = end
    recorder.flush()
    recorder.close()
    sampler.stop()
    return path


async def until_loaded(pilot, app, timeout: float = 30.0) -> None:
    """Until the app has read its history database back (the recorder's thread does it)."""
    deadline = time.monotonic() + timeout
    while not app.history.loaded:
        assert app.history.problem is None, app.history.problem
        assert time.monotonic() < deadline, f"the history was not loaded after {timeout:g} s"
        await pilot.pause(0.05)
    await pilot.pause()  # the app's own redraw on loading (ConsoleApp._history_loaded) lands
    await pilot.pause()
