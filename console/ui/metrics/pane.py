"""The Metrics pane: /metrics, GPUs and container events on one timeline; the bench screen.

Workers do the blocking parts — a scrape loop (httpx), the app's GPU sampler
(NVML, shared with the GPUs area: ``app.gpu_feed``), Docker's event stream —
and post messages or write to the app's thread-safe timeline (``app.history``,
which also keeps it on disk); the charts fill the area and redraw at most once
a second, over 1 m / 5 m / 1 h / 24 h (``[`` and ``]``).
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from console.charts.axis import format_value
from console.charts.chart import MARKS
from console.charts.layouts import gpu_vram_util_charts, server_charts
from console.timeline.log_marks import LogMarks
from console.timeline.timeline import Timeline
from console.ui.fields import TextField
from console.ui.chart_view import ChartView
from console.ui.messages import ContainerWatched, EndpointChanged
from console.ui.metrics.messages import MetricsProblem, MetricsScraped

SCRAPE_INTERVALS = (1.0, 2.0, 5.0, 10.0)  # i cycles through them


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


def metrics_charts(tl: Timeline) -> list:
    """Most important first (a small terminal shows the first few): the queue, each GPU's
    VRAM and utilisation, throughput, TTFT, the KV cache, ITL."""
    server = {c.title: c for c in server_charts(tl)}
    first = [server.pop(t) for t in ("Requests",) if t in server]
    rest = [server.pop(t) for t in ("Throughput tok/s", "TTFT", "KV cache", "ITL") if t in server]
    return first + gpu_vram_util_charts(tl) + rest + list(server.values())


class MetricsPane(Vertical):
    BINDINGS = [
        Binding("b", "bench", "Bench"),
        Binding("u", "edit_url", "Server URL"),
        Binding("r", "scrape_now", "Scrape now", show=False),
        Binding("i", "interval", "Interval"),
        Binding("left_square_bracket", "zoom(-1)", "Shorter", key_display="["),
        Binding("right_square_bracket", "zoom(1)", "Longer", key_display="]"),
    ]
    can_focus = True

    # Seams for tests: no Docker, a fixed clock (the GPU sampler is ``ConsoleApp.sampler_factory``).
    docker_follower: Callable[[Timeline, threading.Event], None] | None = staticmethod(default_docker_follower)
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        from console.server.endpoint import endpoint_or_problem

        from console.ui.recall import recalled, text

        endpoint, _ = endpoint_or_problem(default_base_url="")  # an unusable key file: the Chat area says so
        # The environment's server, else the one the operator last typed with u.
        self.base_url: str | None = endpoint.base_url or text(recalled("metrics").get("base_url")) or None
        self.api_key = endpoint.api_key
        self.model: str | None = None
        self.last_view = None
        self.problem: MetricsProblem | None = None
        self.sampler = None
        self._unsubscribe = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.interval = SCRAPE_INTERVALS[1]
        self._log_marks: Callable[[], None] | None = None  # unsubscribes from the watched container's log
        self._marking: str | None = None  # the container whose failures are marked

    def compose(self) -> ComposeResult:
        yield Static("", id="metrics-status")
        yield TextField(placeholder="server URL, e.g. http://127.0.0.1:8000 — Enter to watch, Esc to keep",
                    id="metrics-url")
        yield Static("", id="metrics-latest")
        yield ChartView(self.timeline, metrics_charts, clock=type(self).clock, id="metrics-chart",
                        empty="No data yet: GPU samples and /metrics scrapes appear here as they come.")
        yield Static("", id="metrics-events")

    @property
    def timeline(self) -> Timeline:
        """The app's one timeline (shared with the GPUs area, kept by the history recorder)."""
        return self.app.history.timeline

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
        if self._log_marks is not None:
            self._log_marks()
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
        # The app's feed puts every tick on the timeline; subscribing starts the sampling.
        self._unsubscribe = feed.subscribe(lambda snap: None)

    @work(thread=True, exclusive=True, group="metrics-docker")
    def _follow_docker(self) -> None:
        type(self).docker_follower(self.timeline, self._stop)

    def _start_scraping(self) -> None:
        self._wake.set()  # an old loop (if any) notices it was replaced
        self._wake = threading.Event()
        self._scrape_loop(self.base_url, self._wake)

    @work(thread=True, exclusive=True, group="metrics-scrape")
    def _scrape_loop(self, base_url: str, wake: threading.Event) -> None:
        from console import engines
        from console.errors import ConsoleError
        from console.server.metrics import MetricsDisabled, Scraper

        worker = get_current_worker()
        # The engine's names, told by its /metrics page (vLLM, llama.cpp); the key for the one that guards it.
        scraper = Scraper(base_url, api_key=self.api_key, identify=lambda text: engines.by_metrics(text).metric_names)
        try:
            while not worker.is_cancelled and not self._stop.is_set():
                wait = self.interval
                try:
                    view = scraper.scrape()
                    self.app.history.metrics(view, base_url)
                    self.post_message(MetricsScraped(view, base_url))
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
        if message.base_url not in (None, self.base_url):
            return  # a late answer from the server watched before
        self.last_view = message.view
        self.problem = None
        self._show_status()
        self._show_latest()
        self.query_one(ChartView).redraw()

    @on(MetricsProblem)
    def _problem(self, message: MetricsProblem) -> None:
        first = self.problem is None or self.problem.message != message.message
        self.problem = message
        self._show_status()
        self._show_latest()  # the last numbers, greyed and dated: they are no longer live
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

    def on_container_watched(self, message: ContainerWatched) -> None:
        if message.container_id == self._marking:
            return
        self._marking = message.container_id
        if self._log_marks is not None:
            self._log_marks()
            self._log_marks = None
        self._mark_failures(message.container_id, message.name or message.container_id[:12])

    @work(thread=True, group="metrics-log")
    def _mark_failures(self, container_id: str, name: str) -> None:
        """The watched container's diagnosed failures as marks (its log, read once for all areas)."""
        hub = getattr(self.app, "log_hub", None)
        if hub is None:
            return  # an app without shared feeds (a test app of this area alone)
        _, unsubscribe = hub.subscribe(container_id, LogMarks(self.timeline, name), replay=False)
        self.app.call_from_thread(self._marks_subscribed, container_id, unsubscribe)

    def _marks_subscribed(self, container_id: str, unsubscribe: Callable[[], None]) -> None:
        if container_id != self._marking or not self.is_attached:
            unsubscribe()  # another container is watched by now (or the area went away)
        else:
            self._log_marks = unsubscribe

    def _watch(self, url: str) -> None:
        if self.base_url and url != self.base_url:
            self.timeline.add_event("note", f"watching {url} instead of {self.base_url}", source="metrics")
        self.base_url = url
        self.last_view = None  # the previous server's numbers are not this one's
        self.problem = None
        self._show_status()
        self._show_latest()
        self._start_scraping()

    # -- actions -----------------------------------------------------------------------------
    def action_bench(self) -> None:
        from console.ui.metrics.bench_screen import BenchScreen

        self.app.push_screen(BenchScreen(self.base_url, self.api_key, self.model, self.timeline))

    def action_edit_url(self) -> None:
        box = self.query_one("#metrics-url", Input)
        box.value = self.base_url or "http://127.0.0.1:8000"
        box.display = True
        self.screen.set_focus(box)  # at once: the keys typed right after u belong to the field

    @on(Input.Submitted, "#metrics-url")
    def _url_entered(self, event: Input.Submitted) -> None:
        url = event.value.strip()
        event.input.display = False
        self.focus()
        if url:
            from console.ui.recall import keep

            if "://" not in url:
                url = "http://" + url
            self._watch(url)
            keep(self, "metrics", base_url=url)

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
        self.query_one(ChartView).step_window(step)
        self._show_status()

    # -- drawing -----------------------------------------------------------------------------
    def _show_status(self) -> None:
        chart = self.query_one(ChartView)
        text = Text()
        if not self.base_url:
            text.append("No server watched: launch one, or press u for its URL.", style="bold yellow")
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

        text.append(f"   every {self.interval:g}s · last {chart.window_label}", style="dim")
        self.query_one("#metrics-status", Static).update(text)

    def _show_latest(self) -> None:
        v = self.last_view
        box = self.query_one("#metrics-latest", Static)
        if v is None:
            box.update("")
            return
        rates, c, g = v.rates, v.snapshot.counters, v.snapshot.gauges
        # The console's own measurements (counter deltas between two scrapes) apart from the
        # server's gauges, so the two throughputs are never read as one.
        line1 = (f"tok/s measured: prompt {format_value(rates.get('prompt_tokens'), 'tok/s')}  "
                 f"out {format_value(rates.get('generation_tokens'), 'tok/s')}  "
                 f"cached {format_value(rates.get('cached_tokens'), 'tok/s')} · "
                 f"server-reported: gen {format_value(g.get('gen_throughput'), 'tok/s')}")
        parts = []
        for name, label in (("ttft", "TTFT"), ("itl", "ITL"), ("e2e", "E2E")):
            lat = v.latency.get(name, {}).get("total")
            if lat and lat.get("count"):
                parts.append(f"{label} " + "/".join(_short_s(lat[k]) for k in ("p50", "p90", "p99")))
        line2 = "p50/p90/p99 " + "  ".join(parts) if parts else "no requests finished yet"
        reqs = f" · {c.get('requests', 0):.0f} reqs" + (f", {c['aborted']:.0f} aborted" if c.get("aborted") else "")
        if len(line2) + len(reqs) <= self.size.width - 2:
            line2 += reqs
        text = Text(line1 + "\n" + line2)
        if self.problem is not None:
            # Not live any more: greyed, and said when and from where they were.
            stamp = time.strftime("%H:%M:%S", time.localtime(v.snapshot.wall))
            text = Text(f"last seen {stamp}: " + line1 + "\n" + line2, style="dim strike")
        box.update(text)

    def on_resize(self) -> None:
        self._show_events()

    def history_loaded(self) -> None:
        """The app read its history database: the recorded events are listed at once."""
        self._show_events()

    def _show_events(self) -> None:
        events = self.timeline.events()[-max(2, min(6, self.size.height // 8)):]
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
