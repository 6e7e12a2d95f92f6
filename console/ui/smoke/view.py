"""The conformance smoke suite in the TUI: a live table of checks and the details of one.

Rows exist for every check before the run starts (pending), turn to "running" when
their turn comes and take their verdict, latency and reason as the runner yields them.
The highlighted row's details (hint, findings, timings, the request sent) show below.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from console.secret import reveal
from console.ui.fields import TextField
from console.ui.chat.settings import describe_error

STATUS_STYLE = {
    "pass": ("PASS", "bold green"),
    "fail": ("FAIL", "bold red"),
    "unsupported": ("UNSUP", "bold yellow"),
    "skip": ("SKIP", "dim"),
    "running": ("…", "bold cyan"),
    "pending": ("·", "dim"),
}


def status_cell(status: str) -> Text:
    label, style = STATUS_STYLE.get(status, (status.upper(), ""))
    return Text(label, style)


def latency_cell(seconds: float | None) -> Text:
    if seconds is None:
        return Text("")
    text = f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"
    return Text(text, justify="right")


def details_text(name: str, description: str, result: Any | None) -> Text:
    """Everything known about one check, for the details panel."""
    text = Text.assemble((name, "bold"), f" — {description}\n")
    if result is None:
        text.append("not run yet", "dim")
        return text
    label, style = STATUS_STYLE.get(result.status, (result.status, ""))
    text.append(f"{label}", style)
    text.append(f"  {result.latency_s * 1000:.0f} ms  {result.reason}\n")
    details = dict(result.details or {})
    hint = details.pop("hint", None)
    if hint:
        text.append(f"→ {hint}\n", "italic")
    for finding in details.pop("findings", None) or []:
        text.append(f"⚠ {finding}\n", "yellow")
    request = details.pop("request", None)
    for key, value in details.items():
        if value is None:
            continue
        if key.endswith("_s") and isinstance(value, (int, float)):
            key, value = key[:-2], f"{value * 1000:.0f} ms"
        text.append(f"{key.replace('_', ' ')}: ", "dim")
        text.append(f"{value}\n")
    if request is not None:
        text.append("request sent:\n", "dim")
        text.append(json.dumps(request, indent=2, ensure_ascii=False)[:4000])
    return text


SHORT_BELOW = 28  # rows of the area under which the details panel gives way to the checks


class SmokeView(Vertical):
    """Run the smoke suite against an endpoint and watch the verdicts arrive."""

    BINDINGS = [
        Binding("f5", "run", "Run smoke"),
        Binding("escape", "stop", "Stop"),
    ]

    def __init__(self, base_url: str = "", api_key: str | None = None, model: str | None = None,
                 *, soak: int = 100, id: str | None = None) -> None:
        super().__init__(id=id, classes="smoke-view")
        self.base_url, self.api_key, self.model, self.soak = base_url, api_key, model, soak
        self.results: dict[str, Any] = {}
        self.running = False
        self._checks: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        # One labelled line of borderless fields: at 80×24 every check's row fits below it.
        with Horizontal(id="smoke-bar"):
            yield Label("URL", classes="smoke-label")
            yield TextField(self.base_url, placeholder="http://127.0.0.1:8000", id="smoke-url", compact=True)
            yield Label("key", classes="smoke-label")
            yield TextField(reveal(self.api_key) or "", placeholder="none", password=True, id="smoke-key", compact=True)
            yield Label("model", classes="smoke-label")
            yield TextField(self.model or "", placeholder="auto", id="smoke-model", compact=True)
            yield Label("soak turns", classes="smoke-label")
            yield TextField(str(self.soak), placeholder="0", id="smoke-soak", type="integer", compact=True)
        yield Static("F5 runs the suite · Esc stops · ↑↓ Enter: a check's details", id="smoke-summary")
        yield DataTable(id="smoke-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="smoke-details-scroll"):
            yield Static("", id="smoke-details", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Check", key="check", width=20)
        table.add_column("Status", key="status", width=6)
        table.add_column("Latency", key="latency", width=8)
        table.add_column("Reason", key="reason")
        self._reset_rows()

    def _catalogue(self) -> dict[str, str]:
        if not self._checks:
            from console.smoke.runner import CHECKS

            self._checks = dict(CHECKS)
        return self._checks

    def _reset_rows(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.results.clear()
        for name, description in self._catalogue().items():
            table.add_row(name, status_cell("pending"), latency_cell(None), Text(description, "dim"), key=name)
        self._show_details()

    # -- endpoint ------------------------------------------------------------------------

    def set_endpoint(self, base_url: str | None, api_key: str | None, model: str | None) -> None:
        if base_url is None:
            return
        self.query_one("#smoke-url", Input).value = base_url
        self.query_one("#smoke-key", Input).value = reveal(api_key) or ""  # a password field: the key itself
        self.query_one("#smoke-model", Input).value = model or ""

    # -- running -------------------------------------------------------------------------

    def action_run(self) -> None:
        if self.running:
            self.notify("The smoke suite is already running — Esc stops it.", severity="warning")
            return
        url = self.query_one("#smoke-url", Input).value.strip()
        if not url:
            self._summary(Text("✖ enter the server's base URL first", "bold red"))
            self.query_one("#smoke-url", Input).focus()
            return
        soak_text = self.query_one("#smoke-soak", Input).value.strip()
        try:
            soak = int(soak_text) if soak_text else 100
        except ValueError:
            soak = 100
        from console.ui.recall import keep

        self.running = True
        self._reset_rows()
        self.query_one(DataTable).focus()
        model = self.query_one("#smoke-model", Input).value.strip() or None
        keep(self, "smoke", base_url=url, model=model, soak=max(soak, 0))
        self._run(url, self.query_one("#smoke-key", Input).value.strip() or None, model, max(soak, 0))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_run()

    def action_stop(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "smoke")

    def _set_status(self, name: str, status: str) -> None:
        table = self.query_one(DataTable)
        if name in table.rows:
            table.update_cell(name, "status", status_cell(status))

    def _summary(self, text: Text | str) -> None:
        self.query_one("#smoke-summary", Static).update(text)

    def _summary_counts(self, running: str | None = None) -> Text:
        counts: dict[str, int] = {}
        for result in self.results.values():
            counts[result.status] = counts.get(result.status, 0) + 1
        text = Text()
        for status in ("pass", "fail", "unsupported", "skip"):
            if counts.get(status):
                label, style = STATUS_STYLE[status]
                text.append(f"{counts[status]} {label}  ", style)
        if running:
            text.append(running, "cyan")
        return text

    @work(exclusive=True, group="smoke")
    async def _run(self, url: str, key: str | None, model: str | None, soak: int) -> None:
        from console.ui.chat import adapter

        # The runner and the client libraries it needs load on a thread: imported here, on
        # the UI loop, they froze the screen for most of a second as the suite started.
        await asyncio.to_thread(adapter.import_client_libraries, "console.smoke.runner")
        from console.smoke.runner import SmokeConfig, SmokeRunner

        names = list(self._catalogue())

        def progress(check: str, done: int, total: int) -> None:
            self._summary(self._summary_counts(f"{check}: {done}/{total}"))

        def mark_next(after: int) -> None:
            for name in names[after:]:
                if name not in self.results:
                    self._set_status(name, "running")
                    self._summary(self._summary_counts(f"running {name}…"))
                    return

        try:
            runner = SmokeRunner(SmokeConfig(base_url=url, api_key=key, model=model, soak=soak), progress=progress)
            mark_next(0)
            async for result in runner.run():
                self.show_result(result)
                mark_next(names.index(result.name) + 1 if result.name in names else 0)
        except Exception as exc:  # the suite failing to start is shown, not raised
            self._summary(Text(f"✖ {describe_error(exc)}", "bold red"))
        else:
            failed = sum(1 for r in self.results.values() if r.status == "fail")
            verdict = Text("✖ failures — see the details below  " if failed else "✔ no failures  ",
                           "bold red" if failed else "bold green")
            self._summary(verdict + self._summary_counts())
        finally:
            self.running = False
            for name in names:
                if name not in self.results:
                    self._set_status(name, "pending")

    def show_result(self, result: Any) -> None:
        """One check's verdict into its row (and the details, if it is the highlighted one)."""
        self.results[result.name] = result
        table = self.query_one(DataTable)
        if result.name in table.rows:
            table.update_cell(result.name, "status", status_cell(result.status))
            table.update_cell(result.name, "latency", latency_cell(result.latency_s))
            table.update_cell(result.name, "reason", Text(result.reason))
        self._show_details()

    # -- details ---------------------------------------------------------------------------

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_details()

    def on_resize(self) -> None:
        # A short terminal gives every row to the checks; Enter shows a check's details then.
        self.set_class(self.size.height < SHORT_BELOW, "-short")

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if not self.has_class("-short"):
            return
        from console.ui.screens.text import TextScreen

        name = str(event.row_key.value)
        self.app.push_screen(TextScreen(name, details_text(name, self._catalogue().get(name, ""),
                                                           self.results.get(name))))

    def _show_details(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        try:
            name = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except Exception:  # noqa: BLE001 - no cursor yet
            return
        description = self._catalogue().get(name, "")
        self.query_one("#smoke-details", Static).update(details_text(name, description, self.results.get(name)))

    def quit_warning(self) -> str | None:
        return "the smoke suite is running" if self.running else None
