"""The bench screen: settings, live progress per level, results beside the published figures."""

from __future__ import annotations

import threading

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, ProgressBar, Static

from console.ui.metrics.messages import BenchFinished, BenchUpdate
from console.ui.metrics.timeline_view import TimelineView

LIVE_ROWS = ("srv.running", "srv.queued", "srv.kv", "srv.gen_tps", "srv.ttft_p50", "gpu0.vram", "gpu0.util")

FIELDS = (
    # id, label, default, placeholder
    ("concurrency", "Concurrency", "1,4,16,64", "1,4,16,64"),
    ("input-len", "Input tokens", "1024", "1024"),
    ("output-len", "Output tokens", "1024", "1024"),
    ("requests", "Requests/level", "", "auto: 4×conc"),
    ("price", "Price $/hour", "", "for $/M tokens"),
)


class Cancelled(Exception):
    pass


class BenchScreen(Screen):
    """Runs ``console.bench.run_bench`` in a thread; every event comes back as a message."""

    BINDINGS = [
        Binding("ctrl+r", "run", "Run"),
        Binding("ctrl+s", "save", "Save JSON"),
        Binding("escape", "close", "Cancel/Close"),
    ]

    def __init__(self, base_url: str | None, api_key: str | None = None, model: str | None = None,
                 timeline=None) -> None:
        super().__init__()
        self.base_url = base_url
        self.api_key = api_key
        self.model = model
        self.timeline = timeline
        self.result: dict | None = None
        self.running = False
        self._cancel = threading.Event()
        self._levels: list[str] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="bench-body"):
            yield Static(self._target_text(), id="bench-target")
            for fid, label, default, placeholder in FIELDS:
                with Horizontal(classes="bench-field"):
                    yield Label(label, classes="bench-label")
                    yield Input(default, placeholder=placeholder, id=f"bench-{fid}")
            yield Static("Enter or Ctrl+R runs; Esc cancels a run or closes.", id="bench-hint")
            yield ProgressBar(id="bench-progress", show_eta=False)
            yield Static("", id="bench-status")
            yield Static("", id="bench-results")
            if self.timeline is not None:
                # what the server does under the load, live: the queue, KV, throughput, VRAM
                yield TimelineView(self.timeline, only=LIVE_ROWS, span=60.0, id="bench-timeline")
        yield Footer()

    def _target_text(self) -> Text:
        if not self.base_url:
            return Text("No server yet: launch one (or set its URL in the Metrics area with u).", style="bold yellow")
        return Text.assemble(("Bench ", "bold"), self.base_url, f"  model {self.model or '(first listed)'}")

    def on_mount(self) -> None:
        self.query_one("#bench-progress").display = False
        self.query_one("#bench-concurrency", Input).focus()

    # -- settings -------------------------------------------------------------------------
    def config(self):
        from console.bench.run import BenchConfig
        from console.cli.bench import _int_list

        def val(fid: str) -> str:
            return self.query_one(f"#bench-{fid}", Input).value.strip()

        def num(fid: str, cast, what: str):
            text = val(fid)
            if not text:
                return None
            try:
                v = cast(text)
            except ValueError:
                raise ValueError(f"{what}: {text!r} is not a number") from None
            if v <= 0:
                raise ValueError(f"{what} must be > 0")
            return v

        from console.errors import ConsoleError

        try:
            conc = _int_list(val("concurrency") or "1")
        except ConsoleError as e:
            raise ValueError(e.message) from None
        return BenchConfig(
            base_url=self.base_url or "", api_key=self.api_key, model=self.model, concurrency=conc,
            input_len=num("input-len", int, "Input tokens") or 1024,
            output_len=num("output-len", int, "Output tokens") or 1024,
            requests=num("requests", int, "Requests/level"), price_per_hour=num("price", float, "Price"),
        )

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        if self.running:
            return
        if not self.base_url:
            self.notify("No server to bench: launch one first.", severity="warning")
            return
        try:
            cfg = self.config()
        except ValueError as e:
            self.notify(str(e), severity="error")
            return
        self.running = True
        self._cancel.clear()
        self._levels = []
        self.result = None
        self.query_one("#bench-results", Static).update("")
        self.query_one("#bench-progress").display = True
        self._show_form(False)  # room for the live rows while it runs
        self.query_one("#bench-status", Static).update("starting…")
        if self.timeline is not None:
            self.timeline.add_event("bench", f"bench started (c={','.join(map(str, cfg.concurrency))})",
                                    source="bench")
        self._run(cfg)

    @work(thread=True, exclusive=True, group="bench")
    def _run(self, cfg) -> None:
        from console.bench.run import run_bench
        from console.errors import ConsoleError

        def on_event(ev) -> None:
            if self._cancel.is_set():
                raise Cancelled()
            self.post_message(BenchUpdate(ev))

        try:
            result = run_bench(cfg, on_event)
        except Cancelled:
            self.post_message(BenchFinished(None, "cancelled"))
        except ConsoleError as e:
            self.post_message(BenchFinished(None, e.message, e.hint))
        except Exception as e:  # noqa: BLE001 - shown to the operator, never a traceback
            self.post_message(BenchFinished(None, f"{type(e).__name__}: {e}"))
        else:
            self.post_message(BenchFinished(result))

    # -- what comes back ------------------------------------------------------------------
    @on(BenchUpdate)
    def _update(self, message: BenchUpdate) -> None:
        from console.bench.report import COMPACT_HEADER, compact_row
        from console.bench.run import LevelDone, LevelStarted

        ev = message.event
        bar = self.query_one("#bench-progress", ProgressBar)
        status = self.query_one("#bench-status", Static)
        if isinstance(ev, LevelStarted):
            bar.update(total=ev.requests, progress=0)
            status.update(f"concurrency {ev.concurrency}: {ev.requests} requests…")
        elif isinstance(ev, LevelDone):
            self._levels.append(compact_row(ev.summary))
            self.query_one("#bench-results", Static).update("\n".join([COMPACT_HEADER, *self._levels]))
        else:
            bar.update(progress=ev.done)
            status.update(f"concurrency {ev.concurrency}: {ev.done}/{ev.total} done, {ev.failed} failed, "
                          f"{ev.output_tokens} tokens, {ev.elapsed_s:.1f} s")

    @on(BenchFinished)
    def _finished(self, message: BenchFinished) -> None:
        from console.bench.report import COMPACT_HEADER, compact_reference, compact_row

        self.running = False
        self.query_one("#bench-progress").display = False
        self._show_form(True)
        status = self.query_one("#bench-status", Static)
        if message.result is None:
            status.update(Text(f"{message.error}" + (f" — {message.hint}" if message.hint else ""), style="bold red"))
            if self.timeline is not None:
                self.timeline.add_event("bench", f"bench stopped: {message.error}", source="bench")
            return
        r = self.result = message.result
        lines = [COMPACT_HEADER, *[compact_row(lv) for lv in r["levels"]]]
        if r["reference"]:
            lines.append(f"Reference for {r['gpu'] or 'any GPU (none detected)'} (published/claimed; "
                         "'you' = measured ÷ figure):")
            lines += compact_reference(r)
        else:
            lines.append("No GPU detected here: published figures are shown for H100/H200/B200 hosts.")
        self.query_one("#bench-results", Static).update("\n".join(lines))
        status.update(Text(f"done: {r['model']}; TTFT = first content, 'any' = first token of any kind. "
                           "Ctrl+S saves JSON.", style="green"))
        if self.timeline is not None:
            best = max((lv["output_throughput"] for lv in r["levels"]), default=0)
            self.timeline.add_event("bench", f"bench done: best {best:.0f} out tok/s", source="bench")

    def _show_form(self, show: bool) -> None:
        for w in self.query(".bench-field"):
            w.display = show
        self.query_one("#bench-hint").display = show

    def action_save(self) -> None:
        import json
        import time as _t

        if self.result is None:
            self.notify("Nothing to save yet.", severity="warning")
            return
        path = f"bench-{_t.strftime('%Y%m%d-%H%M%S')}.json"
        from console.private_file import write_private

        saved = write_private(path, json.dumps(self.result, indent=2) + "\n")
        self.notify(f"saved {saved.resolve()}")

    def action_close(self) -> None:
        if self.running:
            self._cancel.set()
            self.query_one("#bench-status", Static).update("cancelling after the requests in flight…")
            return
        self.dismiss(self.result)
