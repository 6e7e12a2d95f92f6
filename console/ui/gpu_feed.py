"""The console's one GPU sampler, shared by every area that shows GPUs.

The GPUs and Metrics areas watch the same cards: one ``console.gpu.Sampler``
(one NVML session, one sampling thread) feeds both. The app owns a ``GpuFeed``;
the first area to ask opens the sampler from a worker thread (NVML is imported
and initialised there, never on the UI thread), later areas get the same one.
An area unsubscribes when it unmounts; the sampler stops when the app exits.
"""

from __future__ import annotations

import threading
from typing import Callable

SAMPLE_INTERVAL = 1.0  # seconds; the GPUs area's + and - change it for everyone


def default_sampler():
    from console.gpu import Sampler

    return Sampler(interval=SAMPLE_INTERVAL)


class _InOrder:
    """Hands a subscriber each snapshot once, oldest first: the catch-up on
    subscribing and a tick of the sampling thread may race for the same one."""

    def __init__(self, callback: Callable) -> None:
        self.callback = callback
        self.seq = 0
        self.lock = threading.Lock()

    def __call__(self, snapshot) -> None:
        with self.lock:
            if snapshot.seq <= self.seq:
                return
            self.seq = snapshot.seq
            self.callback(snapshot)


class GpuFeed:
    """``open()`` → the shared sampler (blocking: call it from a worker thread);
    ``subscribe(callback)`` → unsubscribe; ``close()`` when the app exits."""

    def __init__(self, factory: Callable[[], object] = default_sampler, *,
                 on_open: Callable[[object], None] | None = None,
                 on_tick: Callable[[object], None] | None = None) -> None:
        self._factory = factory
        # The app's history: the inventory once, then every tick (on the sampling thread).
        self._on_open = on_open
        self._on_tick = on_tick
        self._lock = threading.Lock()  # one sampler, however many areas open at once
        self._closed = False
        self.sampler = None  # None until the first open()

    def open(self):
        """The sampler, created and NVML opened the first time (its inventory
        is ready; it may not sample yet). None once the app is exiting."""
        with self._lock:
            if self._closed:
                return None
            if self.sampler is None:
                sampler = self._factory()
                inventory = sampler.open()
                if self._on_open is not None:
                    self._on_open(inventory)
                if self._on_tick is not None:
                    sampler.subscribe(self._on_tick)
                self.sampler = sampler
            return self.sampler

    def subscribe(self, callback: Callable) -> Callable[[], None]:
        """Call ``callback(snapshot)`` for the latest tick, if there was one, and
        for every tick after it, each once and in order; the first subscriber
        starts the sampling (first tick now, then one per interval), so this
        blocks on NVML: call it from a worker. Returns unsubscribe."""
        sampler = self.sampler or self.open()
        if sampler is None or self._closed:
            return lambda: None
        deliver = _InOrder(callback)
        with self._lock:
            unsubscribe = sampler.subscribe(deliver)
            sampler.start()  # no-op once running; no thread where there is no GPU
        if self._closed:  # the app exited while we were starting: don't leave a thread behind
            sampler.stop()
        latest = sampler.snapshot
        if latest is not None:
            deliver(latest)  # a later area catches up without waiting a whole interval
        return unsubscribe

    def close(self) -> None:
        """Stop sampling for good (the app is exiting). Never waits on an open in progress."""
        self._closed = True
        if self.sampler is not None:
            self.sampler.stop()
