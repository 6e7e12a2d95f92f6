"""Bounded time series and events on one wall-clock axis (``time.time()`` seconds).

Wall time, not monotonic: container events come from Docker with wall-clock
stamps, the GPU sampler and metrics scraper stamp with ``time.time()``, and the
history database (console/history) keeps the same stamps across restarts.

Each series keeps two tiers in memory, both bounded: every point of the last
hour (``RAW_SECONDS``) and one maximum per minute for the last day
(``MINUTE_SECONDS``), so a 24 h chart never walks 86,400 points. Points live in
``array('d')`` pairs: a chart column is two C-level bisects and a ``max`` over a
slice, which keeps a redraw of 32 series well under a millisecond each.
All methods are thread-safe — workers add, the UI reads.
"""

from __future__ import annotations

import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable

RAW_SECONDS = 3900.0  # an hour and a bit: the 1 h chart always has its left edge
MINUTE_SECONDS = 25 * 3600.0  # the 24 h chart, and a margin
DEFAULT_POINTS = 8000  # at most this many raw points per series (0.5 s sampling for an hour)
GAP_FACTOR = 3.0  # a point stands for the time until the next one, up to this many sampling steps


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


class _Tier:
    """(t, v) points in two arrays, oldest first; trimmed from the front in halves."""

    __slots__ = ("ts", "vs", "maxlen", "keep_s")

    def __init__(self, maxlen: int, keep_s: float) -> None:
        self.ts = array("d")
        self.vs = array("d")
        self.maxlen = maxlen
        self.keep_s = keep_s

    def append(self, t: float, v: float) -> None:
        ts = self.ts
        ts.append(t)
        self.vs.append(v)
        # Trim rarely and in bulk (a memmove), not one point per append.
        if len(ts) > self.maxlen + self.maxlen // 4 or ts[0] < t - self.keep_s * 1.25:
            cut = max(len(ts) - self.maxlen, bisect_left(ts, t - self.keep_s))
            del ts[:cut]
            del self.vs[:cut]

    def prepend(self, ts: Iterable[float], vs: Iterable[float]) -> int:
        """Older points (from the history database) in front of what is there; returns how many."""
        first = self.ts[0] if self.ts else float("inf")
        old_t, old_v = array("d"), array("d")
        for t, v in zip(ts, vs):
            if t < first and (not old_t or t > old_t[-1]):
                old_t.append(t)
                old_v.append(v)
        if old_t:
            old_t.extend(self.ts)
            old_v.extend(self.vs)
            self.ts, self.vs = old_t, old_v
            if len(self.ts) > self.maxlen:
                del self.ts[: len(self.ts) - self.maxlen]
                del self.vs[: len(self.vs) - self.maxlen]
        return len(old_t)


class Series:
    """A named quantity: its spec, the raw tier and the per-minute maxima."""

    def __init__(self, spec: SeriesSpec, maxlen: int = DEFAULT_POINTS):
        self.spec = spec
        self.raw = _Tier(maxlen, RAW_SECONDS)
        self.minutes = _Tier(int(MINUTE_SECONDS // 60) + 2, MINUTE_SECONDS)
        self._minute = -1  # the minute being gathered, and its maximum so far
        self._minute_max = 0.0
        # (bucket width, tier) -> (first bucket, the buckets of the last resample, first bucket not final)
        self._cache: dict[tuple[float, float], tuple[int, list, int]] = {}

    def add(self, t: float, value: float) -> None:
        raw = self.raw
        if raw.ts and t < raw.ts[-1]:
            return  # out of order (a late sample): the axis only moves forward
        value = float(value)
        raw.append(t, value)
        m = int(t // 60)
        if m != self._minute:
            if self._minute >= 0:
                self.minutes.append(self._minute * 60.0, self._minute_max)
            self._minute, self._minute_max = m, value
        elif value > self._minute_max:
            self._minute_max = value

    def load(self, raw: tuple[Iterable[float], Iterable[float]] | None = None,
             minutes: tuple[Iterable[float], Iterable[float]] | None = None) -> int:
        """Put recorded points before the live ones (a restart's history); returns raw points added."""
        n = self.raw.prepend(*raw) if raw else 0
        self._cache.clear()
        if minutes:
            self.minutes.prepend(*minutes)
        return n

    @property
    def points(self) -> list[tuple[float, float]]:
        return list(zip(self.raw.ts, self.raw.vs))

    @property
    def latest(self) -> tuple[float, float] | None:
        return (self.raw.ts[-1], self.raw.vs[-1]) if self.raw.ts else None

    def window(self, t0: float, t1: float) -> list[tuple[float, float]]:
        ts = self.raw.ts
        a, b = bisect_left(ts, t0), bisect_right(ts, t1)
        return list(zip(ts[a:b], self.raw.vs[a:b]))

    def _tier_for(self, t0: float, t1: float) -> tuple[array, array, float]:
        """The raw points when they reach back to ``t0`` (or the window is short), else the minute maxima
        with the minute being gathered on the end. Also the spacing of the chosen points."""
        raw = self.raw
        if t1 - t0 <= RAW_SECONDS or not self.minutes.ts and (not raw.ts or raw.ts[0] <= t0):
            return raw.ts, raw.vs, 0.0
        ts, vs = self.minutes.ts, self.minutes.vs
        if self._minute >= 0:
            ts, vs = ts + array("d", (self._minute * 60.0,)), vs + array("d", (self._minute_max,))
        return ts, vs, 60.0

    def resample(self, t0: float, t1: float, n: int, how: str = "max") -> list[float | None]:
        """``n`` buckets across [t0, t1]; each holds the max (or last) value that fell in it.

        Max, not mean: a one-second spike of queued requests must stay visible when a
        window squeezes 3,600 points into 60 columns. A bucket no point fell in (the
        window is finer than the sampling: 60 samples over 120 columns) holds the point
        before it, unless that point is more than ``GAP_FACTOR`` sampling steps old: a
        real gap (the console was not running) stays empty.

        Buckets whose edges are whole multiples of their width (what ``chart`` asks for)
        are remembered once complete, so a chart redrawn every second computes only
        the newest of them.
        """
        if n <= 0 or t1 <= t0:
            return []
        width = (t1 - t0) / n
        ts, vs, step = self._tier_for(t0, t1)
        k0 = t0 / width
        aligned = how == "max" and abs(k0 - round(k0)) < 1e-6
        done = 0  # buckets at the start of the window that are final and were computed before
        if aligned:
            k0 = round(k0)
            done_k = int(ts[-1] // width) if ts else k0  # buckets before this one are final
            cached = self._cache.get((width, step))
            if cached is not None and cached[0] <= k0 < cached[0] + len(cached[1]):
                have = cached[1][k0 - cached[0]: min(len(cached[1]), done_k - cached[0], cached[2] - cached[0])]
                done = min(len(have), n)
        out: list[float | None] = (have[:done] if done else []) + [None] * (n - done)
        lo, end = bisect_left(ts, t0 + done * width), bisect_right(ts, t1)
        a = bisect_left(ts, t0)
        if end - a >= 2:
            step_ = max(step, (ts[end - 1] - ts[a]) / (end - a - 1))
        else:
            step_ = step or width
        hold = GAP_FACTOR * step_
        prev_t, prev_v = (ts[lo - 1], vs[lo - 1]) if lo > 0 else (None, None)
        last = how == "last"
        i = done
        for i in range(i, n):
            start = t0 + i * width
            b = bisect_left(ts, start + width, lo, end) if i < n - 1 else end
            if b > lo:
                out[i] = vs[b - 1] if last else max(vs[lo:b])
                prev_t, prev_v = ts[b - 1], vs[b - 1]
                lo = b
            elif prev_t is not None and start - prev_t <= hold:
                out[i] = prev_v  # between two samples: the earlier one still holds
        if aligned:
            # Remember this window: the next redraw reuses every bucket that was already final.
            self._cache[(width, step)] = (k0, out, done_k)
            if len(self._cache) > 8:  # a few window sizes at a time
                self._cache.pop(next(iter(self._cache)))
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
        self.on_event: Callable[[Event], None] | None = None  # each new event (not loaded ones): the recorder

    # -- writing -------------------------------------------------------------------------
    def add(self, name: str, t: float | None, value: float | None, spec: SeriesSpec | None = None) -> None:
        if value is None:
            return
        with self._lock:
            s = self._series.get(name)
            if s is None:
                s = self._series[name] = Series(spec or SeriesSpec(name), self._maxlen)
            elif spec is not None and spec.hi != s.spec.hi:
                s.spec = spec  # e.g. a GPU's memory total, known once it answered
            s.add(self.clock() if t is None else t, value)
            self.version += 1

    def add_event(self, kind: str, text: str, t: float | None = None, source: str = "") -> Event:
        """The event-ingest API: container lifecycle (start, ready, restart, exit, oom),
        bench runs, anything worth a mark on the axis."""
        ev = Event(self.clock() if t is None else t, kind, text, source)
        self._put_events([ev])
        if self.on_event is not None:
            self.on_event(ev)
        return ev

    def _put_events(self, events: Iterable[Event]) -> None:
        with self._lock:
            merged = sorted([*self._events, *events], key=lambda e: e.t)
            self._events = deque(merged, maxlen=self._events.maxlen)
            self.version += 1

    def load(self, name: str, spec: SeriesSpec, raw=None, minutes=None) -> None:
        """Recorded points of one series (``(times, values)`` per tier), older than anything live."""
        with self._lock:
            s = self._series.get(name)
            if s is None:
                s = self._series[name] = Series(spec, self._maxlen)
            s.load(raw, minutes)
            self.version += 1

    def load_events(self, events: Iterable[Event]) -> None:
        known = {(e.t, e.kind, e.text) for e in self.events()}
        self._put_events(e for e in events if (e.t, e.kind, e.text) not in known)

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
            return (s.spec, s.points) if s else None

    def resample(self, name: str, t0: float, t1: float, n: int) -> list[float | None]:
        with self._lock:
            s = self._series.get(name)
            return s.resample(t0, t1, n) if s else [None] * n

    def latest(self, name: str) -> float | None:
        with self._lock:
            s = self._series.get(name)
            return s.latest[1] if s and s.latest else None

    def latest_at(self, name: str) -> tuple[float, float] | None:
        with self._lock:
            s = self._series.get(name)
            return s.latest if s else None

    def spec(self, name: str) -> SeriesSpec | None:
        with self._lock:
            s = self._series.get(name)
            return s.spec if s else None

    def events(self, t0: float | None = None, t1: float | None = None) -> list[Event]:
        with self._lock:
            return [e for e in self._events if (t0 is None or e.t >= t0) and (t1 is None or e.t <= t1)]

    # -- feeding from the console's cores ----------------------------------------------------
    def ingest_gpu_snapshot(self, snap: Any, power_limits: dict[int, float] | None = None) -> None:
        """A ``console.gpu.Snapshot``: per GPU, the values of ``GPU_SERIES`` (power as % of the
        limit when ``power_limits`` says it, by GPU index)."""
        limits = power_limits or {}
        for s in getattr(snap, "samples", ()):
            if getattr(s, "lost", False):
                continue
            i = s.index
            for key, spec_of, value_of in GPU_SERIES:
                v = value_of(s)
                if v is not None:
                    self.add(f"gpu{i}.{key}", s.time, v, spec_of(s))
            limit = limits.get(i)
            if limit and s.power_w is not None:
                self.add(f"gpu{i}.power_pct", s.time, s.power_w / limit * 100, SeriesSpec(f"GPU{i} power", "%", 0.0, 100.0))

    def ingest_metrics(self, view: Any) -> None:
        """A ``console.server.metrics.MetricsView``: gauges, counter rates, interval latencies."""
        t = view.snapshot.wall
        for name, value in metrics_values(view).items():
            self.add(name, t, value, SERVER_SPECS[name])

    def ingest_container(self, kind: str, name: str, detail: str = "", t: float | None = None) -> Event:
        """A container lifecycle event (H4's runtime reports these: start, ready, restart, exit, oom)."""
        words = {"start": "started", "ready": "ready", "restart": "restarted", "exit": "exited",
                 "oom": "killed: out of memory", "stop": "stopped", "die": "exited"}.get(kind, kind)
        return self.add_event(kind, f"{name} {words}" + (f" ({detail})" if detail else ""), t, source=name)

    def names_matching(self, prefixes: Iterable[str]) -> list[str]:
        pre = tuple(prefixes)
        return [n for n in self.names() if n.startswith(pre)]


GiB = 2**30


def _vram_spec(s) -> SeriesSpec:
    return SeriesSpec(f"GPU{s.index} VRAM", "GiB", 0.0, s.memory_total / GiB if s.memory_total else None)


# Per GPU: series key, its spec (from the sample), its value (None: not measured).
GPU_SERIES: tuple[tuple[str, Callable, Callable], ...] = (
    ("vram", _vram_spec, lambda s: None if s.memory_used is None else s.memory_used / GiB),
    ("vram_pct", lambda s: SeriesSpec(f"GPU{s.index} VRAM", "%", 0.0, 100.0),
     lambda s: s.memory_used / s.memory_total * 100 if s.memory_used is not None and s.memory_total else None),
    ("util", lambda s: SeriesSpec(f"GPU{s.index} util", "%", 0.0, 100.0), lambda s: s.util_gpu),
    ("power", lambda s: SeriesSpec(f"GPU{s.index} power", "W", 0.0, None), lambda s: s.power_w),
    ("temp", lambda s: SeriesSpec(f"GPU{s.index} temp", "°C", 0.0, 100.0), lambda s: s.temperature),
    ("membw", lambda s: SeriesSpec(f"GPU{s.index} mem-bw", "%", 0.0, 100.0), lambda s: s.util_memory),
)

# The server's own gauges are labelled as the server's ("srv gen tok/s"), apart from the
# rates the console measures between two scrapes of the counters ("out tok/s").
SERVER_SPECS: dict[str, SeriesSpec] = {
    "srv.running": SeriesSpec("running", "req", 0.0),
    "srv.queued": SeriesSpec("queued", "req", 0.0),
    "srv.kv": SeriesSpec("KV usage", "%", 0.0, 100.0),
    "srv.swa": SeriesSpec("SWA usage", "%", 0.0, 100.0),
    "srv.cache_hit": SeriesSpec("cache hit", "%", 0.0, 100.0),
    "srv.gen_tps": SeriesSpec("srv gen tok/s", "tok/s", 0.0),
    "srv.prompt_tps": SeriesSpec("prompt tok/s", "tok/s", 0.0),
    "srv.out_tps": SeriesSpec("out tok/s", "tok/s", 0.0),
    **{f"srv.{h}_{q}": SeriesSpec(f"{h.upper()} {q}", "ms", 0.0)
       for h in ("ttft", "itl", "e2e") for q in ("p50", "p90", "p99")},
}


def metrics_values(view: Any) -> dict[str, float]:
    """The chartable numbers of one ``MetricsView``, by series name (absent: not measured)."""
    g = view.snapshot.gauges
    out: dict[str, float | None] = {
        "srv.running": g.get("running"),
        "srv.queued": g.get("queued"),
        "srv.kv": None if g.get("token_usage") is None else g["token_usage"] * 100,
        "srv.swa": None if g.get("swa_token_usage") is None else g["swa_token_usage"] * 100,
        "srv.cache_hit": None if g.get("cache_hit_rate") is None else g["cache_hit_rate"] * 100,
        "srv.gen_tps": g.get("gen_throughput"),
        "srv.prompt_tps": view.rates.get("prompt_tokens"),
        "srv.out_tps": view.rates.get("generation_tokens"),
    }
    for h in ("ttft", "itl", "e2e"):
        lat = view.latency.get(h, {}).get("interval")
        if lat and lat.get("count"):
            for q in ("p50", "p90", "p99"):
                if lat.get(q) is not None:
                    out[f"srv.{h}_{q}"] = lat[q] * 1000
    return {k: float(v) for k, v in out.items() if v is not None}
