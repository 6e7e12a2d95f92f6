"""The compare screen: ``gpt-oss-console compare`` in the TUI — endpoints and options as fields,
a live table while the checks repeat, then the comparison table (the CLI's, from
``console.compare.report``) with the seed's claim, failure shapes and raw-replay verdicts of
the highlighted row below it.

The run happens in a thread worker with its own event loop (the bench levels block); every
event comes back as a ``CompareUpdate`` message. Fields come from ``console.compare.options``,
so defaults and messages are the CLI's.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Footer, Input, Label, Static

from console.bench.options import Option, OptionError, read_value
from console.cancel import Cancelled
from console.compare.options import OPTIONS
from console.ui.fields import TextField
from console.ui.screens.run import CancellableRun, Reads, said
from console.ui.compare.messages import CompareFinished, CompareUpdate

HINT = "Enter or Ctrl+R runs; Ctrl+E edits, Ctrl+S saves Markdown + JSON, Esc cancels or closes."
CLAIMS_ROW = "claims of the seed"
MEASURE_WIDTH = 26
ABOUT = ("The same smoke checks on every endpoint, endpoints in turn, repeated until each success rate's 95 % "
         "interval tells a clean check from a 10 % fault; each failure named by its shape and replayed through "
         "the engine's raw path (model or parser?); then Harmony leaks per 1,000 turns, streamed vs whole, "
         "prefix-cache reuse, greedy output with a cold and a cached prefix, and the bench levels — each beside "
         "the seed's claim.")


def field_id(option: Option) -> str:
    return "cmp-" + option.field_id


def split_pairs(text: str) -> list[str]:
    """``a=http://x b=http://y`` (spaces or commas between pairs) → ``["a=http://x", "b=http://y"]``."""
    return [p for p in text.replace(",", " ").split() if p]


class CompareScreen(CancellableRun, Screen):
    """Runs ``console.compare.run.CompareRunner`` on the endpoints typed in, and shows its table."""

    RUN_WARNING = "a comparison is running: quitting cancels it"
    CANCELLING = "cancelling: closing the requests in flight…"

    BINDINGS = [
        Binding("ctrl+r", "run", "Run"),
        Binding("ctrl+e", "edit", "Settings"),
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "close", "Cancel/Close"),
    ]

    DEFAULT_CSS = """
    CompareScreen #cmp-form { height: auto; max-height: 60%; }
    CompareScreen .cmp-field { height: 1; margin: 0 1; }
    CompareScreen .cmp-label { width: 17; color: $text-muted; }
    CompareScreen .cmp-field Input { border: none; height: 1; padding: 0 1; width: 24; background: $boost; }
    CompareScreen .cmp-field Input:focus { background: $accent 30%; }
    CompareScreen .cmp-field Input.-wide { width: 1fr; }
    CompareScreen .cmp-field Input.-invalid { background: $error 30%; }
    CompareScreen .cmp-field Checkbox { border: none; height: 1; padding: 0; background: transparent; }
    CompareScreen #cmp-hint, CompareScreen #cmp-summary, CompareScreen #cmp-status { margin: 0 1; height: auto; }
    CompareScreen #cmp-hint { color: $text-muted; }
    CompareScreen #cmp-table { height: 1fr; margin: 0 1; }
    CompareScreen #cmp-details-scroll { height: 7; margin: 0 1; border-top: solid $primary 30%; }
    """

    def __init__(self, endpoints: str = "", key_files: str = "") -> None:
        super().__init__()
        self.endpoints_text = endpoints
        self.key_files_text = key_files
        self.result: dict | None = None
        self._init_run()
        self._names: list[str] = []
        self._live: dict[tuple[str, str], dict[str, int]] = {}
        self._rows: dict[str, list[str]] = {}  # measure → [seed, cells…] of the final table

    @classmethod
    def from_smoke(cls, view: Any) -> "CompareScreen":
        """Opened from the Smoke area: its endpoint is the first one to compare."""
        url = view.query_one("#smoke-url", Input).value.strip()
        return cls(f"smoke={url}" if url else "")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="cmp-form"):
            with Horizontal(classes="cmp-field"):
                yield Label("Endpoints", classes="cmp-label")
                yield TextField(self.endpoints_text, id="cmp-endpoints", classes="-wide",
                            placeholder="NAME=URL … e.g. sglang=http://127.0.0.1:30000 vllm=http://127.0.0.1:8000")
            with Horizontal(classes="cmp-field"):
                yield Label("Key files", classes="cmp-label")
                yield TextField(self.key_files_text, id="cmp-keys", classes="-wide",
                            placeholder="NAME=FILE … (or GPT_OSS_CONSOLE_API_KEY_FILE_<NAME>)")
            for o in OPTIONS:
                with Horizontal(classes="cmp-field"):
                    yield Label(o.label, classes="cmp-label")
                    if o.switch:
                        yield Checkbox(o.help, id=field_id(o))
                    else:
                        yield TextField(o.default, placeholder=o.placeholder, id=field_id(o), validators=[Reads(o)],
                                    validate_on=("blur", "submitted"), classes="-wide" if o.dest == "only" else "")
        yield Static(HINT, id="cmp-hint")
        yield Static("", id="cmp-summary")
        yield Static("", id="cmp-status")
        yield DataTable(id="cmp-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="cmp-details-scroll"):
            yield Static("", id="cmp-details", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cmp-summary").display = False
        self.query_one("#cmp-details", Static).update(Text(ABOUT, "dim"))
        self.query_one("#cmp-endpoints", Input).focus()

    # -- settings -------------------------------------------------------------------------------------

    def _status(self, text: str | Text, style: str = "") -> None:
        self.query_one("#cmp-status", Static).update(text if isinstance(text, Text) else Text(text, style=style))

    def read_form(self) -> tuple[list, dict[str, Any]]:
        """(endpoints, option values), every field read as the CLI reads its flag; the first bad one raises."""
        from console.compare.endpoints import parse_endpoints

        values: dict[str, Any] = {}
        first: tuple[Any, Exception] | None = None
        for o in OPTIONS:
            w = self.query_one("#" + field_id(o))
            if o.switch:
                values[o.dest] = w.value
                continue
            try:
                values[o.dest] = read_value(o, w.value, o.label)
                w.set_class(False, "-invalid")
            except OptionError as e:
                w.set_class(True, "-invalid")
                first = first or (w, e)
        if first:
            first[0].focus()
            raise first[1]
        box = self.query_one("#cmp-endpoints", Input)
        try:
            endpoints = parse_endpoints(split_pairs(box.value), split_pairs(self.query_one("#cmp-keys", Input).value))
        except Exception:
            box.focus()
            raise
        return endpoints, values

    @on(Input.Blurred)
    def _left_field(self, event: Input.Blurred) -> None:
        result = event.validation_result
        if not self.running and result is not None and not result.is_valid:
            self._status(result.failure_descriptions[0], "bold red")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_run()

    def _show_form(self, show: bool) -> None:
        self.query_one("#cmp-form").display = show
        self.query_one("#cmp-hint").display = show
        summary = self.query_one("#cmp-summary", Static)
        summary.display = not show
        if not show:
            summary.update(Text.assemble(("Comparing ", "bold"), ", ".join(self._names) or "—",
                                         ("   Ctrl+E edits, Ctrl+R runs again", "dim")))

    def action_edit(self) -> None:
        if not self.running:
            self._show_form(True)
            self.query_one("#cmp-endpoints", Input).focus()

    # -- running --------------------------------------------------------------------------------------

    def action_run(self) -> None:
        from console.errors import ConsoleError

        if self.running:
            return
        try:
            endpoints, v = self.read_form()
        except ConsoleError as e:
            self._show_form(True)
            self._status(said(e), "bold red")
            return
        from console.compare.run import CompareConfig

        config = CompareConfig(
            endpoints=endpoints, only=v["only"], repeat=v["repeat"], max_repeat=v["max_repeat"], soak=v["soak"],
            agreement=v["agreement"], prefix_tokens=v["prefix_tokens"], concurrency=v["concurrency"],
            requests=v["requests"], input_len=v["input_len"], output_len=v["output_len"], bench=not v["no_bench"],
            price_per_hour=v["price_per_hour"], max_tokens=v["max_tokens"], temperature=v["temperature"],
            replays=v["replays"], timeout_s=v["timeout"])
        self.running = True
        self.result = None
        self._cancel.clear()
        self._names = [e.name for e in endpoints]
        self._live = {}
        self._rows = {}
        self._start_table(config.checks())
        self._show_form(False)
        self._status("starting…")
        self.query_one(DataTable).focus()
        self._run(config)

    def _start_table(self, checks: list[str]) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column("measure", key="measure", width=MEASURE_WIDTH)
        for name in self._names:
            table.add_column(name, key=name)
        for check in checks:
            table.add_row(check, *(Text("·", "dim") for _ in self._names), key=check)

    def _on_event(self, ev: Any) -> None:
        if self._cancel.is_set():
            raise Cancelled()
        self.post_message(CompareUpdate(ev))

    @work(thread=True, exclusive=True, group="compare")
    def _run(self, config) -> None:
        from console.cancel import run_coroutine
        from console.compare.run import CompareRunner
        from console.errors import ConsoleError

        try:
            result = run_coroutine(CompareRunner(config, self._on_event, self._cancel).run(), self._cancel)
        except Cancelled:
            self.post_message(CompareFinished(None, "cancelled"))
        except ConsoleError as e:
            self.post_message(CompareFinished(None, e.message, e.hint))
        except Exception as e:  # noqa: BLE001 - shown to the operator, never a traceback
            self.post_message(CompareFinished(None, f"{type(e).__name__}: {e}"))
        else:
            self.post_message(CompareFinished(result))

    @on(CompareUpdate)
    def _update(self, message: CompareUpdate) -> None:
        from console.compare import run as r

        ev = message.event
        if isinstance(ev, r.PhaseStarted):
            self._status(f"{ev.phase}: {ev.detail}")
        elif isinstance(ev, r.CheckRun):
            counts = self._live.setdefault((ev.endpoint, ev.check), {})
            counts[ev.status] = counts.get(ev.status, 0) + 1
            table = self.query_one(DataTable)
            if ev.check in table.rows:
                table.update_cell(ev.check, ev.endpoint, _live_cell(counts))
        elif isinstance(ev, r.RunDone):
            left = f", {ev.undecided} check(s) not decided yet" if ev.undecided else ""
            self._status(f"checks: run {ev.run} done{left}")
        elif isinstance(ev, r.MeasureDone):
            self._status(f"{ev.endpoint} {ev.measure}: {ev.text}")
        elif isinstance(ev, r.EndpointDown):
            self.notify(f"{ev.endpoint}: {ev.message}", severity="error")

    @on(CompareFinished)
    def _finished(self, message: CompareFinished) -> None:
        self.running = False
        if message.result is None:
            self._show_form(True)
            self._status(f"{message.error}" + (f" — {message.hint}" if message.hint else ""), "bold red")
            return
        self.result = message.result
        self._final_table(message.result)
        code = message.result["exit_code"]
        verdict = {0: ("✔ no endpoint failed a conformance check", "bold green"),
                   1: ("✖ an endpoint failed a conformance check", "bold red"),
                   3: ("✖ an endpoint could not be reached", "bold red")}[code]
        self._status(Text.assemble(verdict, ("  ↑↓ details · Ctrl+S saves", "dim")))

    def _final_table(self, result: dict) -> None:
        from console.compare.report import table_rows

        header, rows = table_rows(result)
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column("measure", key="measure", width=MEASURE_WIDTH)
        for name in header[2:]:
            table.add_column(name, key=name)
        for row in rows:
            self._rows[row[0]] = row[1:]
            table.add_row(row[0], *row[2:], key=row[0])
        table.add_row(CLAIMS_ROW, *("" for _ in header[2:]), key=CLAIMS_ROW)
        table.move_cursor(row=0)
        self._show_details()

    # -- details --------------------------------------------------------------------------------------

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_details()

    def _show_details(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count or self.result is None:
            return
        try:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except Exception:  # noqa: BLE001 - no cursor yet
            return
        self.query_one("#cmp-details", Static).update(details_text(self.result, key, self._rows.get(key)))

    # -- save / close -------------------------------------------------------------------------------

    def action_save(self) -> None:
        import json
        import time as _t

        from console.compare.report import markdown
        from console.private_file import state_dir, write_private

        if self.result is None:
            self.notify("Nothing to save yet.", severity="warning")
            return
        # The console's state dir, not the working directory (a clone is no place for results).
        stem = state_dir("compare") / f"compare-{_t.strftime('%Y%m%d-%H%M%S')}"
        md = write_private(stem.with_suffix(".md"), markdown(self.result), own_dir=True)
        write_private(stem.with_suffix(".json"), json.dumps(self.result, indent=2) + "\n", own_dir=True)
        self.notify(f"saved {md} and {stem.name}.json beside it")


def _live_cell(counts: dict[str, int]) -> Text:
    text = Text()
    for status, mark, style in (("pass", "✓", "green"), ("fail", "✗", "bold red"), ("unsupported", "unsup", "yellow"),
                                ("skip", "skip", "dim")):
        if counts.get(status):
            text.append(f"{counts[status]} {mark}  ", style)
    return text


def details_text(result: dict, key: str, row: list[str] | None) -> Text:
    """The highlighted row in full: the seed's words, each endpoint's cell, shapes and replays."""
    text = Text()
    if key == CLAIMS_ROW:
        for c in result["claims"]:
            text.append(c["seed"] + "\n", "bold")
            text.append(f"  measured: {c['measured']}\n  verdict: {c['verdict']}\n")
        return text
    text.append(key, "bold")
    if row and row[0]:
        text.append(f" — the seed says: {row[0]}", "italic")
    text.append("\n")
    for ep, cell in zip(result["endpoints"], (row or [])[1:]):
        text.append(f"{ep['name']}: ", "bold")
        text.append(f"{cell}\n")
        check = ep["checks"].get(key)
        if check:
            if check["first_failure"]:
                text.append(f"  first failure: {check['first_failure']}\n", "red")
            for r in check["replays"][:2]:
                text.append(f"  raw replay ({r.get('engine')} {r.get('route') or ''}): {r['verdict']} — {r['why']}\n",
                            "yellow")
    return text
