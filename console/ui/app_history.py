"""The app's one timeline and its history database (no Textual here).

Every area that charts reads ``AppHistory.timeline``: the GPU sampler's ticks
(through ``GpuFeed``), the Metrics area's scrapes and every event land in it
once, and the recorder (console/history) keeps them on disk. ``start`` runs on a
worker after the first frame: the database is opened, checked and read back on
the recorder's own thread, so neither SQLite nor the file touches start-up.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from console.timeline.timeline import Event, Timeline


class AppHistory:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.timeline = Timeline(clock=clock)
        self.timeline.on_event = self._event
        self.recorder = None
        self.problem: str | None = None
        self.loaded = False  # the database was read back (or there is none to read)
        self._limits: dict[int, float] = {}
        self._inventory = None
        self._early: list[tuple[str, Any, Any]] = []  # what came before the recorder existed

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, on_loaded: Callable[[int], None] | None = None,
              on_problem: Callable[[str], None] | None = None) -> None:
        """Open the database and load what it holds into the timeline, then record (blocking
        only for the import: call it from a worker). ``GPT_OSS_CONSOLE_HISTORY=off``: only load nothing."""
        from console.errors import ConsoleError
        from console.history import default_path, enabled, retention_from_env
        from console.history.load import load_into
        from console.history.recorder import Recorder

        try:
            if not enabled():
                self.loaded = True
                return
            retention = retention_from_env()
        except ConsoleError as exc:
            self._problem(f"{exc.message} — {exc.hint}: the console runs without history.", on_problem)
            self.loaded = True
            return

        def opened(store) -> None:
            n = load_into(store, self.timeline, self.clock())
            self.loaded = True
            if on_loaded is not None:
                on_loaded(n)

        recorder = Recorder(default_path(), retention, clock=self.clock, on_open=opened,
                            on_problem=lambda why: self._problem(why, on_problem))
        if self._inventory is not None:
            recorder.inventory(self._inventory)
        early, self._early = self._early, []
        for kind, a, b in early:  # the ticks and events of the first moments, before the database
            if kind == "gpu":
                recorder.gpu_snapshot(a)
            elif kind == "metrics":
                recorder.metrics(a, b)
            else:
                recorder.event(a)
        self.recorder = recorder.start()

    def open_in(self, app: Any) -> None:
        """After the app's first frame: ``start`` on a worker thread; a problem is one notification,
        and once the history is read back ``app.history_loaded()`` redraws with it."""

        def later(fn: Callable, *args: Any) -> None:
            # Posted, never waited for: call_from_thread blocks this thread until the UI thread runs
            # ``fn``, and a quit at that moment has the UI thread joining this one (Recorder.close):
            # the console froze for close's whole timeout. call_after_refresh only posts a message,
            # which Textual accepts from any thread; after the app has gone it is dropped.
            app.call_after_refresh(fn, *args)

        def problem(why: str) -> None:  # said once; the console goes on without history
            later(lambda: app.notify(why, title="History", severity="warning", timeout=20))

        app.run_worker(lambda: self.start(on_loaded=lambda n: later(app.history_loaded), on_problem=problem),
                       thread=True, group="history", exit_on_error=False)

    def _keep(self, kind: str, a: Any, b: Any = None) -> None:
        if self.recorder is not None:
            return
        if len(self._early) < 600 and not self.loaded:  # bounded: history may be off or failing
            self._early.append((kind, a, b))

    def _problem(self, why: str, report: Callable[[str], None] | None) -> None:
        first = self.problem is None
        self.problem = why
        if first and report is not None:
            report(why)

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()

    # -- feeding (any thread) ----------------------------------------------------------------
    def inventory(self, inv: Any) -> None:
        self._inventory = inv
        self._limits = {g.index: g.power_limit_w for g in inv.gpus if g.power_limit_w}
        if self.recorder is not None:
            self.recorder.inventory(inv)

    def gpu(self, snapshot: Any) -> None:
        self.timeline.ingest_gpu_snapshot(snapshot, self._limits)
        if self.recorder is not None:
            self.recorder.gpu_snapshot(snapshot)
        else:
            self._keep("gpu", snapshot)

    def metrics(self, view: Any, url: str) -> None:
        self.timeline.ingest_metrics(view)
        if self.recorder is not None:
            self.recorder.metrics(view, url)
        else:
            self._keep("metrics", view, url)

    def _event(self, ev: Event) -> None:
        if self.recorder is not None:
            self.recorder.event(ev)
        else:
            self._keep("event", ev)
