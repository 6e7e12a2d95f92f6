"""The bench screen: the CLI bench's options as fields, live progress, results beside the published figures.

The fields come from ``console.bench.options`` (the declaration ``gpt-oss-console bench``
registers its flags from), so defaults and messages match the CLI's. A filled-in
"Tool-call load" runs the tool-call rounds instead of the latency bench, as ``--tool-load`` does.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Footer, Input, Label, ProgressBar, Static

from console.bench.options import OPTIONS, Option, OptionError, read_field
from console.cancel import Cancelled
from console.ui.fields import TextField
from console.ui.screens.run import CancellableRun, Reads, said
from console.ui.metrics.messages import BenchFinished, BenchUpdate
from console.charts.layouts import gpu_vram_util_charts, server_charts
from console.ui.chart_view import ChartView

LIVE_CHARTS = ("Requests", "Throughput tok/s", "TTFT", "KV cache")


def live_charts(tl) -> list:
    """What the server does under the load: the queue, throughput, TTFT, KV, and GPU 0."""
    return [c for c in server_charts(tl) if c.title in LIVE_CHARTS] + gpu_vram_util_charts(tl)[:1]


WIDE = {"model", "dataset"}  # free text that is often long: the field takes the rest of the row
SHORT_IDS = {"price_per_hour": "price"}  # the field's id from before the options were shared
HINT = "Enter or Ctrl+R runs (a Tool-call load runs tool rounds instead); Esc closes."


def _reads(option: Option, text: str) -> bool:
    try:
        read_field(option, text)
    except OptionError:
        return False
    return True


def field_id(option: Option) -> str:
    """The widget id of an option's field: ``bench-input-len`` etc."""
    return "bench-" + SHORT_IDS.get(option.dest, option.field_id)


class BenchScreen(CancellableRun, Screen):
    """Runs ``console.bench.run_bench`` (or the tool-call load) in a thread; every event comes back as a message."""

    RUN_WARNING = "a bench is running: quitting cancels it and drops the requests in flight"
    CANCELLING = "cancelling: closing the streams in flight…"

    BINDINGS = [
        Binding("ctrl+r", "run", "Run"),
        Binding("ctrl+e", "edit", "Settings"),
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
        self._init_run()
        self.max_failure_rate = 0.0  # of the run shown
        self._levels: list[str] = []
        self._tool = False  # the run shown is a tool-call load
        self._field_problem = False  # the status line is a field's message (leaving a good field clears it)
        self._return_to = None  # the field focused when the run started: focus comes back there

    def compose(self) -> ComposeResult:
        from console.ui.recall import recalled, text

        kept = recalled("bench")  # the fields of the last run (a field that no longer reads: its default)
        with VerticalScroll(id="bench-body"):
            yield Static(self._target_text(), id="bench-target")
            for o in OPTIONS:
                with Horizontal(classes="bench-field"):
                    yield Label(o.label, classes="bench-label")
                    if o.switch:
                        yield Checkbox(o.help, value=kept.get(o.dest) is True, id=field_id(o))
                        continue
                    value = (self.model or "") if o.dest == "model" else o.default
                    if o.dest != "model" and (t := text(kept.get(o.dest))) is not None and _reads(o, t):
                        value = t
                    yield TextField(value, placeholder=o.placeholder, id=field_id(o),
                                validators=[Reads(o)], validate_on=("blur", "submitted"),
                                classes="-wide" if o.dest in WIDE else "")
            yield Static(HINT, id="bench-hint")
            yield Static("", id="bench-summary")  # the settings in one line while the form is folded away
            yield ProgressBar(id="bench-progress", show_eta=False)
            yield Static("", id="bench-status")
            yield Static("", id="bench-results")
            if self.timeline is not None:
                # what the server does under the load, live: the queue, KV, throughput, VRAM
                yield ChartView(self.timeline, live_charts, window=60.0, id="bench-timeline",
                                empty="No data yet: the server's /metrics appear here while the bench runs.")
        yield Footer()

    def _target_text(self) -> Text:
        if not self.base_url:
            return Text("No server yet: launch one (or set its URL in the Metrics area with u).", style="bold yellow")
        return Text.assemble(("Bench ", "bold"), self.base_url)

    def on_mount(self) -> None:
        self.query_one("#bench-progress").display = False
        self.query_one("#bench-summary").display = False
        self.query_one("#bench-concurrency", Input).focus()

    # -- settings -------------------------------------------------------------------------
    def _status(self, text: str, style: str = "", field_problem: bool = False) -> None:
        self._field_problem = field_problem
        self.query_one("#bench-status", Static).update(Text(text, style=style))

    def read_form(self) -> dict[str, Any]:
        """Every field read by its option; the first bad one raises its ``OptionError``,
        with every bad field marked."""
        values: dict[str, Any] = {}
        first: tuple[Input, OptionError] | None = None
        for o in OPTIONS:
            if o.switch:
                values[o.dest] = self.query_one("#" + field_id(o), Checkbox).value
                continue
            box = self.query_one("#" + field_id(o), Input)
            try:
                values[o.dest] = read_field(o, box.value)
                box.set_class(False, "-invalid")
            except OptionError as e:
                box.set_class(True, "-invalid")
                first = first or (box, e)
        if first:
            self._show_form(True)
            first[0].focus()
            raise first[1]
        return values

    @on(Input.Blurred)
    def _left_field(self, event: Input.Blurred) -> None:
        # say what is wrong as the field is left, not only when Run refuses
        result = event.validation_result
        if self.running or result is None:
            return
        if not result.is_valid:
            self._status(result.failure_descriptions[0], "bold red", field_problem=True)
        elif self._field_problem and not self.query(".bench-field Input.-invalid"):
            self._status("")

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
            values = self.read_form()
        except OptionError as e:
            self._status(said(e), "bold red", field_problem=True)
            return
        self._remember_fields()
        self.running = True
        self._return_to = self.focused or self._return_to  # a run again from the results: no field has focus
        self._cancel.clear()
        self._levels = []
        self.result = None
        self._tool = values["tool_load"] is not None
        self.max_failure_rate = values["max_failure_rate"]
        self.query_one("#bench-results", Static).update("")
        self.query_one("#bench-progress").display = True
        self._show_form(False)  # room for the live rows while it runs, and the results after
        self._status("starting…")
        if self._tool:
            what = f"tool-call load {values['tool_load']}"
            self._run_tool_load(values)
        else:
            what = f"c={','.join(map(str, values['concurrency']))}"
            self._run(self._config(values))
        if self.timeline is not None:
            self.timeline.add_event("bench", f"bench started ({what})", source="bench")

    def _remember_fields(self) -> None:
        """The fields as typed (the model is the server's business, not a setting to carry)."""
        from console.ui.recall import keep

        kept: dict[str, Any] = {}
        for o in OPTIONS:
            if o.dest == "model":
                continue
            w = self.query_one("#" + field_id(o))
            kept[o.dest] = bool(w.value) if o.switch else w.value.strip()
        keep(self, "bench", **kept)

    def _config(self, v: dict[str, Any]):
        from console.bench.run import BenchConfig

        return BenchConfig(
            base_url=self.base_url or "", api_key=self.api_key, model=v["model"], concurrency=v["concurrency"],
            input_len=v["input_len"], output_len=v["output_len"], requests=v["requests"], dataset=v["dataset"],
            seed=v["seed"], price_per_hour=v["price_per_hour"], gpu=v["gpu"], ignore_eos=not v["no_ignore_eos"],
            workers=v["workers"],
        )

    def _on_event(self, ev) -> None:
        if self._cancel.is_set():
            raise Cancelled()
        self.post_message(BenchUpdate(ev))

    def _guarded(self, job) -> None:
        """Run ``job`` (in the worker) and post how it ended: a result, or a message — never a traceback."""
        from console.errors import ConsoleError

        try:
            result = job()
        except Cancelled:
            self.post_message(BenchFinished(None, "cancelled"))
        except ConsoleError as e:
            self.post_message(BenchFinished(None, e.message, e.hint))
        except Exception as e:  # noqa: BLE001 - shown to the operator, never a traceback
            self.post_message(BenchFinished(None, f"{type(e).__name__}: {e}"))
        else:
            self.post_message(BenchFinished(result))

    @work(thread=True, exclusive=True, group="bench")
    def _run(self, cfg) -> None:
        from console.bench.prompts import load_dataset
        from console.bench.run import run_bench

        def job() -> dict:
            if cfg.dataset:
                load_dataset(cfg.dataset)  # every line judged now, not after the warm-up
            return run_bench(cfg, self._on_event, self._cancel)

        self._guarded(job)

    @work(thread=True, exclusive=True, group="bench")
    def _run_tool_load(self, v: dict[str, Any]) -> None:
        """What ``bench --tool-load`` does: the served model first (an unreachable server is
        one message, not N failed rounds), then the rounds."""
        from console.bench.run import LevelStarted, resolve_model
        from console.bench.toolload import run_tool_load
        from console.cancel import run_coroutine
        from console.server.client import root_url

        def job() -> dict:
            base = root_url(self.base_url or "")
            served = resolve_model(base, self.api_key)
            model = v["model"] or served
            rounds = v["tool_rounds"] or 4 * v["tool_load"]
            self._on_event(LevelStarted(v["tool_load"], rounds))
            res = run_coroutine(run_tool_load(base, model, v["tool_load"], rounds, self.api_key,
                                              on_progress=self._on_event), self._cancel)
            return {"model": model, "base_url": base, **res.to_dict()}

        self._guarded(job)

    # -- what comes back ------------------------------------------------------------------
    @on(BenchUpdate)
    def _update(self, message: BenchUpdate) -> None:
        from console.bench.report import COMPACT_HEADER, compact_row
        from console.bench.run import LevelDone, LevelStarted

        ev = message.event
        bar = self.query_one("#bench-progress", ProgressBar)
        if isinstance(ev, LevelStarted):
            bar.update(total=ev.requests, progress=0)
            self._status(f"tool-call load {ev.concurrency}: {ev.requests} rounds…" if self._tool
                         else f"concurrency {ev.concurrency}: {ev.requests} requests…")
        elif isinstance(ev, LevelDone):
            self._levels.append(compact_row(ev.summary))
            self.query_one("#bench-results", Static).update(Text("\n".join([COMPACT_HEADER, *self._levels])))
        else:
            bar.update(progress=ev.done)
            if self._tool:
                self._status(f"tool-call load {ev.concurrency}: {ev.done}/{ev.total} rounds, {ev.failed} failed, "
                             f"{ev.elapsed_s:.1f} s")
            else:
                self._status(f"concurrency {ev.concurrency}: {ev.done}/{ev.total} done, {ev.failed} failed, "
                             f"{ev.output_tokens} tokens, {ev.elapsed_s:.1f} s")

    @on(BenchFinished)
    def _finished(self, message: BenchFinished) -> None:
        self.running = False
        self.query_one("#bench-progress").display = False
        if message.result is None:
            self.action_edit()  # the settings again, to fix what the message says
            self._status(f"{message.error}" + (f" — {message.hint}" if message.hint else ""), "bold red")
            if self.timeline is not None:
                self.timeline.add_event("bench", f"bench stopped: {message.error}", source="bench")
            return
        r = self.result = message.result
        if self._tool:
            self._tool_load_done(r)
        else:
            self._bench_done(r)

    def _verdict(self, rate: float, what: str) -> tuple[str, str]:
        """The CLI's exit status in words: more failures than --max-failure-rate allows is a failed run."""
        if rate > self.max_failure_rate:
            return f"FAILED: {rate:.1%} of {what} failed, over the allowed {self.max_failure_rate:.1%}", "bold red"
        return "", "green"

    def _bench_done(self, r: dict) -> None:
        from console.bench.reference import missing_reason
        from console.bench.report import COMPACT_HEADER, compact_reference, compact_row

        cfg = r["config"]
        src = f"dataset {cfg['dataset']}" if cfg["dataset"] else f"random prompts in≈{cfg['input_len']}"
        lines = [f"{src} out={cfg['output_len']} (seed {cfg['seed']})", COMPACT_HEADER,
                 *[compact_row(lv) for lv in r["levels"]]]
        for lv in r["levels"]:  # what went wrong, as the CLI's report lists it
            lines += [f"  c={lv['concurrency']}: {err['count']}× {err['error']}" for err in lv["errors"]]
        if r["reference"]:
            lines.append(f"Reference for {r['gpu']} (published/claimed; 'you' = measured ÷ figure):")
            lines += compact_reference(r)
        else:
            lines.append(missing_reason(r["model"], r["gpu"], pick="fill 'Compare with GPU'"))
        self.query_one("#bench-results", Static).update(Text("\n".join(lines)))
        worst = max((lv["failure_rate"] for lv in r["levels"]), default=0.0)
        verdict, style = self._verdict(worst, "requests at the worst level")
        self._status(verdict or f"done: {r['model']}; TTFT = first content, 'any' = first token of any kind. "
                     "Ctrl+S saves JSON.", style)
        if self.timeline is not None:
            best = max((lv["output_throughput"] for lv in r["levels"]), default=0)
            self.timeline.add_event("bench", f"bench done: best {best:.0f} out tok/s", source="bench")

    def _tool_load_done(self, r: dict) -> None:
        from console.bench.report import format_tool_load

        self.query_one("#bench-results", Static).update(Text(format_tool_load(r)))
        verdict, style = self._verdict(r["failure_rate"], "tool rounds")
        p50 = r.get("p50_round_s")
        self._status(verdict or f"done: {r['model']}; {r['rounds']} tool rounds in {r['duration_s']:.1f} s"
                     + (f", p50 {p50:.2f} s a round" if p50 is not None else "") + ". Ctrl+S saves JSON.", style)
        if self.timeline is not None:
            self.timeline.add_event("bench", f"bench done: {r['failed']}/{r['rounds']} tool rounds failed",
                                    source="bench")

    def _show_form(self, show: bool) -> None:
        for w in self.query(".bench-field"):
            w.display = show
        self.query_one("#bench-hint").display = show
        summary = self.query_one("#bench-summary", Static)
        summary.display = not show
        if not show:
            summary.update(self._summary())

    def _summary(self) -> Text:
        """The fields that differ from their defaults, in one line (80×24 has no room for the form and results)."""
        changed = []
        for o in OPTIONS:
            w = self.query_one("#" + field_id(o))
            if o.switch:
                changed += [o.label] if w.value else []
                continue
            default = (self.model or "") if o.dest == "model" else o.default
            if w.value.strip() != default:
                changed.append(f"{o.label} {w.value.strip() or '(auto)'}")
        return Text.assemble(("Settings: ", "bold"), "; ".join(changed) or "the defaults",
                             ("  Ctrl+E edits, Ctrl+R runs again", "dim"))

    def action_edit(self) -> None:
        if self.running:
            return
        self._show_form(True)
        target = self._return_to if self._return_to is not None and self._return_to.is_attached else None
        (target or self.query_one("#bench-concurrency", Input)).focus()

    def action_save(self) -> None:
        import json
        import time as _t

        if self.result is None:
            self.notify("Nothing to save yet.", severity="warning")
            return
        from console.private_file import state_dir, write_private

        # The console's state dir, not the working directory (a clone is no place for results).
        path = state_dir("bench") / f"bench-{_t.strftime('%Y%m%d-%H%M%S')}.json"
        saved = write_private(path, json.dumps(self.result, indent=2) + "\n", own_dir=True)
        self.notify(f"saved {saved}")

