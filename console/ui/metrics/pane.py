"""The Metrics pane: /metrics, GPUs and container events on one timeline; the bench screen.

Workers do the blocking parts — a scrape loop (httpx), the app's GPU sampler
(NVML, shared with the GPUs area: ``app.gpu_feed``), Docker's event stream —
and post messages or write to the thread-safe ``Timeline``; the chart redraws
at most once a second.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from console.timeline.chart import MARKS, format_value, span_label
from console.timeline.timeline import Timeline
from console.ui.messages import EndpointChanged
from console.ui.metrics.messages import MetricsProblem, MetricsScraped
from console.ui.metrics.timeline_view import SPANS, TimelineView

SCRAPE_INTERVALS = (1.0, 2.0, 5.0, 10.0)  # i cycles through them
URL_ENV = "GPT_OSS_CONSOLE_BASE_URL"


def default_docker_follower(timeline: Timeline, stop: threading.Event) -> None:
    from console.timeline.docker_events import follow

    follow(timeline, stop)


def _short_s(seconds: float | None) -> str:
    """Latency in the fewest characters: 75ms, 4.0ms, 2.5s."""
    if seconds is None:
        return "—"
    if seconds >= 1:
        return f"{seconds:.1f}s"
    ms = seconds * 1000
    return f"{ms:.0f}ms" if ms >= 10 else f"{ms:.1f}ms"


class MetricsPane(VerticalScroll):
    BINDINGS = [
        Binding("b", "bench", "Bench"),
        Binding("u", "edit_url", "Server URL"),
        Binding("r", "scrape_now", "Scrape now", show=False),
        Binding("i", "interval", "Interval"),
        Binding("left_square_bracket", "zoom(-1)", "Shorter", key_display="["),
        Binding("right_square_bracket", "zoom(1)", "Longer", key_display="]"),
    ]

    # Seams for tests: no Docker, a fixed clock (the GPU sampler is ``ConsoleApp.sampler_factory``).
    docker_follower: Callable[[Timeline, threading.Event], None] | None = staticmethod(default_docker_follower)
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timeline = Timeline(clock=type(self).clock)
        self.base_url: str | None = os.environ.get(URL_ENV) or None
        self.api_key: str | None = None
        self.model: str | None = None
        self.last_view = None
        self.problem: MetricsProblem | None = None
        self.sampler = None
        self._unsubscribe = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.interval = SCRAPE_INTERVALS[1]

    def compose(self) -> ComposeResult:
        yield Static("", id="metrics-status")
        yield Input(placeholder="server URL, e.g. http://127.0.0.1:8000 — Enter to watch, Esc to keep",
                    id="metrics-url")
        yield TimelineView(self.timeline, clock=type(self).clock, id="metrics-chart")
        yield Static("", id="metrics-latest")
        yield Static("", id="metrics-events")

    def on_mount(self) -> None:
        self.query_one("#metrics-url").display = False
        self._show_status()
        self._show_latest()
        self.set_interval(1.0, self._show_events)
        self._open_sampler()
        if type(self).docker_follower is not None:
            self._follow_docker()
        if self.base_url:
            self._start_scraping()

    def on_unmount(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()  # the sampler itself is the app's: it stops when the app exits

    # -- workers ---------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="metrics-gpus")
    def _open_sampler(self) -> None:
        feed = self.app.gpu_feed
        sampler = feed.open()
        if sampler is None or not sampler.inventory.gpus:
            return  # exiting, or nothing to chart (the GPUs area says why)
        self.sampler = sampler
        self._unsubscribe = feed.subscribe(self.timeline.ingest_gpu_snapshot)

    @work(thread=True, exclusive=True, group="metrics-docker")
    def _follow_docker(self) -> None:
        type(self).docker_follower(self.timeline, self._stop)

    def _start_scraping(self) -> None:
        self._wake.set()  # an old loop (if any) notices it was replaced
        self._wake = threading.Event()
        self._scrape_loop(self.base_url, self._wake)

    @work(thread=True, exclusive=True, group="metrics-scrape")
    def _scrape_loop(self, base_url: str, wake: threading.Event) -> None:
        from console.errors import ConsoleError
        from console.server.metrics import MetricsDisabled, Scraper

        worker = get_current_worker()
        scraper = Scraper(base_url)
        try:
            while not worker.is_cancelled and not self._stop.is_set():
                wait = self.interval
                try:
                    view = scraper.scrape()
                    self.timeline.ingest_metrics(view)
                    self.post_message(MetricsScraped(view))
                except MetricsDisabled as e:
                    self.post_message(MetricsProblem(e.message, e.hint, disabled=True))
                    wait = 10.0  # asking again every 2 s changes nothing until a relaunch
                except ConsoleError as e:
                    self.post_message(MetricsProblem(e.message, e.hint))
                    wait = 5.0
                wake.wait(wait)
                if wake is not self._wake:
                    return  # the URL changed: a new loop took over
                wake.clear()
        finally:
            scraper.close()

    # -- messages ----------------------------------------------------------------------------
    @on(MetricsScraped)
    def _scraped(self, message: MetricsScraped) -> None:
        self.last_view = message.view
        self.problem = None
        self._show_status()
        self._show_latest()

    @on(MetricsProblem)
    def _problem(self, message: MetricsProblem) -> None:
        first = self.problem is None or self.problem.message != message.message
        self.problem = message
        self._show_status()
        if first and message.disabled:
            self.timeline.add_event("note", "server has no /metrics (--enable-metrics off)", source="metrics")

    def on_endpoint_changed(self, message: EndpointChanged) -> None:
        if message.base_url == self.base_url and message.base_url is not None:
            return
        self.api_key, self.model = message.api_key, message.model
        if message.base_url:
            self.timeline.add_event("ready", f"server ready at {message.base_url}", source="launch")
            self._watch(message.base_url)
        else:
            self.timeline.add_event("stop", "server went away", source="launch")
            self.base_url = None
            self._wake.set()
            self._wake = threading.Event()
            self._show_status()

    def _watch(self, url: str) -> None:
        self.base_url = url
        self.last_view = None
        self.problem = None
        self._show_status()
        self._start_scraping()

    # -- actions -----------------------------------------------------------------------------
    def action_bench(self) -> None:
        from console.ui.metrics.bench_screen import BenchScreen

        self.app.push_screen(BenchScreen(self.base_url, self.api_key, self.model, self.timeline))

    def action_edit_url(self) -> None:
        box = self.query_one("#metrics-url", Input)
        box.value = self.base_url or "http://127.0.0.1:8000"
        box.display = True
        box.focus()

    @on(Input.Submitted, "#metrics-url")
    def _url_entered(self, event: Input.Submitted) -> None:
        url = event.value.strip()
        event.input.display = False
        self.focus()
        if url:
            if "://" not in url:
                url = "http://" + url
            self._watch(url)

    def key_escape(self) -> None:
        box = self.query_one("#metrics-url", Input)
        if box.display:
            box.display = False
            self.focus()

    def action_scrape_now(self) -> None:
        self._wake.set()

    def action_interval(self) -> None:
        i = SCRAPE_INTERVALS.index(self.interval) if self.interval in SCRAPE_INTERVALS else 0
        self.interval = SCRAPE_INTERVALS[(i + 1) % len(SCRAPE_INTERVALS)]
        self._wake.set()  # the loop takes the new interval from its next wait on
        self._show_status()

    def action_zoom(self, step: int) -> None:
        chart = self.query_one(TimelineView)
        i = SPANS.index(chart.span) if chart.span in SPANS else 1
        chart.span = SPANS[max(0, min(len(SPANS) - 1, i + step))]
        chart.redraw(force=True)
        self._show_status()

    # -- drawing -----------------------------------------------------------------------------
    def _show_status(self) -> None:
        chart = self.query_one(TimelineView)
        text = Text()
        if not self.base_url:
            text.append("No server watched: launch one, or press u to enter its URL.", style="bold yellow")
        else:
            text.append(self.base_url, style="bold")
            if self.problem is not None:
                text.append("  " + self.problem.message, style="bold red")
                if self.problem.hint:
                    text.append(f"\n→ {self.problem.hint}", style="yellow")
            elif self.last_view is None:
                text.append("  scraping /metrics…", style="dim")
            else:
                snap = self.last_view.snapshot
                text.append(f"  {', '.join(snap.models) or '?'}", style="cyan")
                if len(snap.tp_ranks) > 1:
                    text.append(f"  TP{len(snap.tp_ranks) // max(1, snap.replicas)}")
                if snap.replicas > 1:
                    text.append(f"  {snap.replicas} replicas")
        text.append(f"   every {self.interval:g}s · last {span_label(chart.span)}", style="dim")
        self.query_one("#metrics-status", Static).update(text)

    def _show_latest(self) -> None:
        v = self.last_view
        if v is None:
            self.query_one("#metrics-latest", Static).update("")
            return
        rates, c = v.rates, v.snapshot.counters
        line1 = (f"prompt {format_value(rates.get('prompt_tokens'), 'tok/s')} tok/s  "
                 f"out {format_value(rates.get('generation_tokens'), 'tok/s')} tok/s  "
                 f"cached {format_value(rates.get('cached_tokens'), 'tok/s')} tok/s  "
                 f"reqs {c.get('requests', 0):.0f} (aborted {c.get('aborted', 0):.0f})")
        parts = []
        for name, label in (("ttft", "TTFT"), ("itl", "ITL"), ("e2e", "E2E")):
            lat = v.latency.get(name, {}).get("total")
            if lat and lat.get("count"):
                parts.append(f"{label} " + "/".join(_short_s(lat[k]) for k in ("p50", "p90", "p99")))
        line2 = "p50/p90/p99 " + "  ".join(parts) if parts else "no requests finished yet"
        self.query_one("#metrics-latest", Static).update(Text(line1 + "\n" + line2))

    def on_resize(self) -> None:
        # rows for the chart: what is left after status, latest values, events and the axis lines
        chart = self.query_one(TimelineView)
        rows = max(3, self.size.height - 9)
        if rows != chart.max_rows:
            chart.max_rows = rows
            chart.redraw(force=True)

    def _show_events(self) -> None:
        events = self.timeline.events()[-max(3, self.size.height - 20):]
        box = self.query_one("#metrics-events", Static)
        if not events:
            box.update(Text("Events: none yet (container start/ready/restart/exit, bench runs)", style="dim"))
            return
        text = Text()
        for i, e in enumerate(reversed(events)):
            stamp = time.strftime("%H:%M:%S", time.localtime(e.t))
            text.append("\n" if i else "")
            text.append(f"{MARKS.get(e.kind, '•')} {stamp} ", style="bold")
            text.append(e.text[:66])
        box.update(text)
