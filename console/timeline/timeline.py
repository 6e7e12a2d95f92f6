"""Bounded time series and events on one wall-clock axis (``time.time()`` seconds).

Wall time, not monotonic: container events come from Docker with wall-clock
stamps, and the GPU sampler and metrics scraper stamp with ``time.time()``.
Every series is a ring buffer (``deque(maxlen)``): memory stays flat however
long the console runs. All methods are thread-safe — workers add, the UI reads.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable

DEFAULT_POINTS = 3600  # one hour at one point per second


@dataclass(frozen=True)
class Event:
    t: float
    kind: str  # "start" | "ready" | "restart" | "exit" | "oom" | "stop" | "bench" | "note" | ...
    text: str
    source: str = ""  # container name, "bench", ...


@dataclass(frozen=True)
class SeriesSpec:
    label: str  # short, for an 80-column chart row
    unit: str = ""  # "%", "GiB", "tok/s", "ms", ""
    lo: float | None = 0.0  # fixed lower bound of the scale (None: from the data)
    hi: float | None = None  # fixed upper bound (None: from the data)


class Series:
    """(t, value) points, oldest first, capped at ``maxlen``."""

    def __init__(self, spec: SeriesSpec, maxlen: int = DEFAULT_POINTS):
        self.spec = spec
        self.points: deque[tuple[float, float]] = deque(maxlen=maxlen)

    def add(self, t: float, value: float) -> None:
        if self.points and t < self.points[-1][0]:
            return  # out of order (a late sample): the axis only moves forward
        self.points.append((t, float(value)))

    @property
    def latest(self) -> tuple[float, float] | None:
        return self.points[-1] if self.points else None

    def window(self, t0: float, t1: float) -> list[tuple[float, float]]:
        return [(t, v) for t, v in self.points if t0 <= t <= t1]

    def resample(self, t0: float, t1: float, n: int, how: str = "max") -> list[float | None]:
        """``n`` buckets across [t0, t1]; each holds the max (or last) value that fell in it.

        Max, not mean: a one-second spike of queued requests must stay visible when a
        15-minute window squeezes 900 points into 60 columns.
        """
        if n <= 0 or t1 <= t0:
            return []
        out: list[float | None] = [None] * n
        width = (t1 - t0) / n
        for t, v in self.points:
            if t < t0 or t > t1:
                continue
            i = min(n - 1, int((t - t0) / width))
            cur = out[i]
            out[i] = v if cur is None or how == "last" else max(cur, v)
        return out


class Timeline:
    def __init__(self, maxlen: int = DEFAULT_POINTS, max_events: int = 500,
                 clock: Callable[[], float] = time.time):
        self._maxlen = maxlen
        self._series: dict[str, Series] = {}
        self._events: deque[Event] = deque(maxlen=max_events)
        self._lock = threading.Lock()
        self.clock = clock
        self.version = 0  # bumps on every change: cheap "anything new?" for a redraw timer

    # -- writing -------------------------------------------------------------------------
    def add(self, name: str, t: float | None, value: float | None, spec: SeriesSpec | None = None) -> None:
        if value is None:
            return
        with self._lock:
            s = self._series.get(name)
            if s is None:
                s = self._series[name] = Series(spec or SeriesSpec(name), self._maxlen)
            s.add(self.clock() if t is None else t, value)
            self.version += 1

    def add_event(self, kind: str, text: str, t: float | None = None, source: str = "") -> Event:
        """The event-ingest API: container lifecycle (start, ready, restart, exit, oom),
        bench runs, anything worth a mark on the axis."""
        ev = Event(self.clock() if t is None else t, kind, text, source)
        with self._lock:
            self._events.append(ev)
            self.version += 1
        return ev

    # -- reading -------------------------------------------------------------------------
    def names(self) -> list[str]:
        with self._lock:
            return list(self._series)

    def series(self, name: str) -> Series | None:
        with self._lock:
            return self._series.get(name)

    def snapshot(self, name: str) -> tuple[SeriesSpec, list[tuple[float, float]]] | None:
        with self._lock:
            s = self._series.get(name)
            return (s.spec, list(s.points)) if s else None

    def resample(self, name: str, t0: float, t1: float, n: int) -> list[float | None]:
        with self._lock:
            s = self._series.get(name)
            return s.resample(t0, t1, n) if s else [None] * n

    def latest(self, name: str) -> float | None:
        with self._lock:
            s = self._series.get(name)
            return s.latest[1] if s and s.latest else None

    def spec(self, name: str) -> SeriesSpec | None:
        with self._lock:
            s = self._series.get(name)
            return s.spec if s else None

    def events(self, t0: float | None = None, t1: float | None = None) -> list[Event]:
        with self._lock:
            return [e for e in self._events if (t0 is None or e.t >= t0) and (t1 is None or e.t <= t1)]

    # -- feeding from the console's cores ----------------------------------------------------
    def ingest_gpu_snapshot(self, snap: Any) -> None:
        """A ``console.gpu.Snapshot``: VRAM used (GiB) and utilisation (%) per GPU."""
        for s in getattr(snap, "samples", ()):
            if getattr(s, "lost", False):
                continue
            i = s.index
            if s.memory_used is not None:
                hi = s.memory_total / 2**30 if s.memory_total else None
                self.add(f"gpu{i}.vram", s.time, s.memory_used / 2**30, SeriesSpec(f"GPU{i} VRAM", "GiB", 0.0, hi))
            if s.util_gpu is not None:
                self.add(f"gpu{i}.util", s.time, s.util_gpu, SeriesSpec(f"GPU{i} util", "%", 0.0, 100.0))

    def ingest_metrics(self, view: Any) -> None:
        """A ``console.server.metrics.MetricsView``: gauges, counter rates, interval latencies."""
        snap = view.snapshot
        t = snap.wall
        g = snap.gauges
        self.add("srv.running", t, g.get("running"), SeriesSpec("running", "req", 0.0))
        self.add("srv.queued", t, g.get("queued"), SeriesSpec("queued", "req", 0.0))
        usage = g.get("token_usage")
        self.add("srv.kv", t, None if usage is None else usage * 100, SeriesSpec("KV usage", "%", 0.0, 100.0))
        swa = g.get("swa_token_usage")
        self.add("srv.swa", t, None if swa is None else swa * 100, SeriesSpec("SWA usage", "%", 0.0, 100.0))
        hit = g.get("cache_hit_rate")
        self.add("srv.cache_hit", t, None if hit is None else hit * 100, SeriesSpec("cache hit", "%", 0.0, 100.0))
        self.add("srv.gen_tps", t, g.get("gen_throughput"), SeriesSpec("gen tok/s", "tok/s", 0.0))
        self.add("srv.prompt_tps", t, view.rates.get("prompt_tokens"), SeriesSpec("prompt tok/s", "tok/s", 0.0))
        self.add("srv.out_tps", t, view.rates.get("generation_tokens"), SeriesSpec("out tok/s", "tok/s", 0.0))
        for name, label in (("ttft", "TTFT p50"), ("itl", "ITL p50"), ("e2e", "E2E p50")):
            lat = view.latency.get(name, {}).get("interval")
            if lat and lat.get("count") and lat.get("p50") is not None:
                self.add(f"srv.{name}_p50", t, lat["p50"] * 1000, SeriesSpec(label, "ms", 0.0))

    def ingest_container(self, kind: str, name: str, detail: str = "", t: float | None = None) -> Event:
        """A container lifecycle event (H4's runtime reports these: start, ready, restart, exit, oom)."""
        words = {"start": "started", "ready": "ready", "restart": "restarted", "exit": "exited",
                 "oom": "killed: out of memory", "stop": "stopped", "die": "exited"}.get(kind, kind)
        return self.add_event(kind, f"{name} {words}" + (f" ({detail})" if detail else ""), t, source=name)

    def names_matching(self, prefixes: Iterable[str]) -> list[str]:
        pre = tuple(prefixes)
        return [n for n in self.names() if n.startswith(pre)]
