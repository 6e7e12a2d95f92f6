"""Background GPU sampling with a bounded history.

A daemon thread reads every GPU each ``interval`` seconds and swaps in an
immutable ``Snapshot``, so readers (the UI, the CLI) never wait on NVML.
Subscribers get a callback per tick, called on the sampling thread (the UI
posts a Textual message from it). History keeps at least 10 minutes per GPU.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from typing import Callable

from console.gpu.data import GpuSample, Inventory, Snapshot
from console.gpu.nvml import open_backend
from console.gpu.telemetry import Device, open_inventory, read_sample

log = logging.getLogger(__name__)

HISTORY_SECONDS = 600


class Sampler:
    """``Sampler(backend=None, interval=1.0)``; ``start()`` → ``Inventory``.

    ``backend=None`` opens real NVML, or the replay named by
    ``GPT_OSS_CONSOLE_NVML_REPLAY``. ``clock`` stamps samples (pass a fixed one
    for deterministic snapshots).
    """

    def __init__(
        self,
        backend=None,
        *,
        interval: float = 1.0,
        history_seconds: float = HISTORY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < interval < float("inf"):  # nan and inf too
            raise ValueError("interval must be > 0")
        self.backend = backend if backend is not None else open_backend()
        self._interval = interval
        self._history_seconds = history_seconds
        self._clock = clock
        self._inventory: Inventory | None = None
        self._devices: list[Device] = []
        self._snapshot: Snapshot | None = None
        self._history: dict[int, deque[GpuSample]] = {}
        self._history_lock = threading.Lock()
        self._tick_lock = threading.Lock()
        self._subscribers: list[Callable[[Snapshot], None]] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._opened = False

    # -- lifecycle
    def open(self) -> Inventory:
        """Initialise NVML and read the inventory (no thread). Idempotent."""
        if self._inventory is None:
            self._inventory, self._devices = open_inventory(self.backend)
            self._opened = self._inventory.error is None or bool(self._devices)
            maxlen = max(1, math.ceil(self._history_seconds / self._interval))
            self._history = {d.index: deque(maxlen=maxlen) for d in self._devices}
        return self._inventory

    def start(self) -> Inventory:
        """Open, take a first sample, and sample in the background from then on.
        With no GPU (``inventory.error``) no thread is started."""
        inv = self.open()
        if self._thread is None and self._devices:
            if not self._opened:  # started again after stop(): NVML was shut down
                self.backend.init()
                self._opened = True
            self.tick()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="gpu-sampler", daemon=True)
            self._thread.start()
        return inv

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        self._thread = None
        if self._opened:
            try:
                self.backend.shutdown()
            except Exception:  # shutting down a lost driver must not fail the app
                pass
            self._opened = False

    def __enter__(self) -> "Sampler":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- reading
    @property
    def inventory(self) -> Inventory:
        return self.open()

    @property
    def snapshot(self) -> Snapshot | None:
        """The latest tick (immutable; swapped, never mutated)."""
        return self._snapshot

    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        if not 0 < seconds < float("inf"):
            raise ValueError("interval must be > 0")
        self._interval = seconds
        maxlen = max(1, math.ceil(self._history_seconds / seconds))
        with self._history_lock:
            for i, d in list(self._history.items()):
                if d.maxlen != maxlen:
                    self._history[i] = deque(d, maxlen=maxlen)
        self._wake.set()

    def history(self, index: int) -> tuple[GpuSample, ...]:
        """Samples of one GPU, oldest first."""
        with self._history_lock:
            d = self._history.get(index)
            return tuple(d) if d is not None else ()

    def subscribe(self, callback: Callable[[Snapshot], None]) -> Callable[[], None]:
        """Call ``callback(snapshot)`` after every tick; returns an unsubscribe function."""
        self._subscribers = [*self._subscribers, callback]

        def unsubscribe() -> None:
            self._subscribers = [c for c in self._subscribers if c is not callback]

        return unsubscribe

    # -- sampling
    def tick(self) -> Snapshot:
        """Sample every GPU once now (also what the thread does each interval)."""
        self.open()
        with self._tick_lock:
            now = self._clock()
            backend = self.backend
            samples = tuple(read_sample(backend, d, now) for d in self._devices)
            self._seq += 1
            snap = Snapshot(self._seq, now, samples)
            with self._history_lock:
                for s in samples:
                    self._history[s.index].append(s)
            self._snapshot = snap
        for cb in self._subscribers:
            try:
                cb(snap)
            except Exception:  # a broken subscriber must not stop sampling
                log.exception("GPU sample subscriber failed")
        return snap

    def _run(self) -> None:
        next_at = time.monotonic() + self._interval
        while not self._stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                self._wake.wait(delay)
                if self._wake.is_set():
                    self._wake.clear()
                    if self._stop.is_set():
                        break
                    next_at = time.monotonic() + self._interval  # interval changed
                    continue
            try:
                self.tick()
            except Exception:  # never let the thread die: log and go on
                log.exception("GPU sampling failed")
            next_at += self._interval
            if next_at < time.monotonic():  # fell behind (suspended): don't burst
                next_at = time.monotonic() + self._interval
