"""The Fleet pane: hosts × GPUs × workers with phase, the router's health and load, up / drain / down.

The core does the work (``console.fleet``): a thread worker polls ``status.collect`` while the
pane is on screen (every ``POLL_S``; hosts are asked at once, each with its deadline) and posts
the result; up, drain and down run on another worker and post each step. The SSH masters,
Docker clients and HTTP client stay open between polls (``Connections``).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from console.fleet import report
from console.ui.messages import EndpointChanged
from console.ui.fleet.messages import FleetOpDone, FleetPolled, FleetProblem, FleetProgress, FleetText
from console.ui.fleet.screens import ConfirmScreen, TextScreen

POLL_S = 5.0  # between polls while the area is visible
POLL_BUSY_S = 2.0  # while an operation runs
MODELS = ("gpt-oss-20b", "gpt-oss-120b")
LOG_LINES = 6
NUMERIC = report.COLUMNS.index("RUN")  # RUN, REQS, TOK/S: right-aligned


class FleetPane(Vertical):
    DEFAULT_CSS = """
    FleetPane { padding: 0 1; }
    FleetPane #fleet-status { height: auto; }
    FleetPane #fleet-table { height: 1fr; }
    FleetPane #fleet-router { height: auto; max-height: 5; color: $text-muted; }
    FleetPane #fleet-log { height: auto; max-height: 6; color: $text-muted; }
    """
    BINDINGS = [
        Binding("u", "up", "Up"),
        Binding("d", "drain", "Drain"),
        Binding("x", "down", "Down"),
        Binding("l", "logs", "Logs"),
        Binding("p", "plan", "Plan"),
        Binding("e", "use_router", "Chat via router", show=False),
        Binding("m", "model", "Model", show=False),
        Binding("r", "refresh", "Refresh", show=False),
    ]

    clock: Callable[[], float] = staticmethod(time.time)  # a seam for snapshot tests

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = MODELS[0]
        self.status = None  # the last FleetStatus
        self.problem: FleetProblem | None = None
        self.polled_at: float | None = None
        self.operation: str | None = None  # "up" / "drain …" / "down" while one runs
        self.log_lines: list[str] = []
        self._targets: dict[str, str] = {}  # row key → worker target (HOST/REPLICA)
        self._conns = None
        self._conns_key = None
        self._http = None
        self._conns_lock = threading.Lock()  # the poll and the plan workers share the connections
        self._polling = False
        self._last_poll = 0.0

    def compose(self) -> ComposeResult:
        yield Static("fleet: asking the hosts…", id="fleet-status", markup=False)
        table = DataTable(id="fleet-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*report.COLUMNS)
        yield table
        yield Static("", id="fleet-router", markup=False)
        yield Static("", id="fleet-log", markup=False)

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        self.call_after_refresh(self._tick)

    def on_unmount(self) -> None:
        conns, http = self._conns, self._http
        self._conns = self._http = None
        if conns is not None:
            conns.close()
        if http is not None:
            http.close()

    # -- polling ---------------------------------------------------------------------------
    def _tick(self) -> None:
        """Poll when visible and due; nothing is asked of the hosts while the area is hidden."""
        if self._polling or not self.is_on_screen:
            return
        every = POLL_BUSY_S if self.operation else POLL_S
        if time.monotonic() - self._last_poll >= every:
            self.action_refresh()

    def action_refresh(self) -> None:
        if self._polling:
            return
        self._polling = True
        self._last_poll = time.monotonic()
        self._poll()

    @work(thread=True, exclusive=True, group="fleet-poll")
    def _poll(self) -> None:
        from console.errors import ConsoleError
        from console.fleet import state as ST
        from console.fleet.status import collect

        try:
            cfg = self._config()
            conns, http = self._connections(cfg)
            fstate = ST.load(cfg.name)
            try:
                key, _ = ST.api_key(fstate)
            except ConsoleError:
                key = None  # no fleet yet: hosts and GPUs still show
            self.post_message(FleetPolled(collect(cfg, conns, fstate, key, http=http)))
        except ConsoleError as exc:
            self.post_message(FleetProblem(exc.message, exc.hint))
        finally:
            self._polling = False

    def _config(self):
        from console.fleet import hosts as H

        return H.select(H.load(), None)

    def _connections(self, cfg):
        """The open connections, rebuilt when the hosts file changed what they point at."""
        from console.fleet.connections import Connections
        from console.fleet.status import poll_client

        key = (cfg.ssh_config, tuple(sorted((h.name, h.ssh) for h in cfg.hosts.values())))
        with self._conns_lock:
            if self._conns is None or self._conns_key != key:
                if self._conns is not None:
                    self._conns.close()
                self._conns, self._conns_key = Connections(cfg), key
            else:
                self._conns.cfg = cfg
            if self._http is None:
                self._http = poll_client()  # httpx: the core's, the UI holds it only
            return self._conns, self._http

    @on(FleetPolled)
    def _polled(self, message: FleetPolled) -> None:
        self.status, self.problem = message.status, None
        self.polled_at = type(self).clock()
        self._show()

    @on(FleetProblem)
    def _problem(self, message: FleetProblem) -> None:
        self.problem = message
        self._show_status()

    # -- showing -----------------------------------------------------------------------------
    def _show(self) -> None:
        self._show_status()
        st = self.status
        table = self.query_one("#fleet-table", DataTable)
        keep = table.cursor_row
        table.clear()
        self._targets.clear()
        for i, row in enumerate(report.rows(st, width=20)):
            key = f"row-{i}"
            if row.target:
                self._targets[key] = row.target
            cells = [Text(c, justify="right") if i >= NUMERIC else c for i, c in enumerate(row.cells)]
            table.add_row(*cells, key=key)
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        notes = [report.router_line(st), *report.problems(st)]
        self.query_one("#fleet-router", Static).update("\n".join(n for n in notes if n))

    def _show_status(self) -> None:
        if self.problem is not None:
            text = f"fleet: {self.problem.message}" + (f" → {self.problem.hint}" if self.problem.hint else "")
        elif self.status is None:
            text = "fleet: asking the hosts…"
        else:
            text = report.headline(self.status)
        when = time.strftime("%H:%M:%S", time.localtime(self.polled_at)) if self.polled_at else "—"
        text += f"\nmodel {self.model} (m) · polled {when}"
        if self.operation:
            text += f" · {self.operation} running"
        self.query_one("#fleet-status", Static).update(text)

    def _log(self, line: str) -> None:
        self.log_lines = (self.log_lines + [line])[-LOG_LINES:]
        self.query_one("#fleet-log", Static).update("\n".join(self.log_lines))

    # -- actions -----------------------------------------------------------------------------
    def action_model(self) -> None:
        self.model = MODELS[(MODELS.index(self.model) + 1) % len(MODELS)]
        self._show_status()

    def _selected_target(self) -> str | None:
        table = self.query_one("#fleet-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return self._targets.get(key)

    def _busy(self) -> bool:
        if self.operation:
            self.app.notify(f"{self.operation} is still running", severity="warning")
            return True
        return False

    def action_up(self) -> None:
        if self._busy():
            return
        hosts = ", ".join(h.host.name for h in self.status.hosts) if self.status else "the fleet's hosts"
        details = (f"Start the router if needed and a {self.model} worker per GPU group on {hosts}, "
                   "with the launch settings (default profile and environment); workers that run are kept, "
                   "crashed or drained ones are replaced.")
        self.app.push_screen(ConfirmScreen("Fleet up?", details), lambda yes: yes and self._start("up"))

    def action_drain(self) -> None:
        if self._busy():
            return
        target = self._selected_target()
        if target is None:
            self.app.notify("select a worker row first (↑/↓)", severity="warning")
            return
        details = (f"Deregister {target} from the router (it gets no new request), wait until its running "
                   "requests are done, then stop it. fleet up brings it back.")
        self.app.push_screen(ConfirmScreen(f"Drain {target}?", details), lambda yes: yes and self._start("drain", target))

    def action_down(self) -> None:
        if self._busy():
            return
        details = "Stop the router (requests in flight finish) and remove every worker container of the fleet."
        self.app.push_screen(ConfirmScreen("Fleet down?", details), lambda yes: yes and self._start("down"))

    def _start(self, kind: str, target: str | None = None) -> None:
        self.operation = kind if target is None else f"{kind} {target}"
        self._show_status()
        self._log(f"· {self.operation}…")
        self._operate(kind, target, self.model)

    @work(thread=True, exclusive=True, group="fleet-op")
    def _operate(self, kind: str, target: str | None, model: str) -> None:
        from console.errors import ConsoleError
        from console.fleet import ops
        from console.fleet import state as ST
        from console.fleet.connections import Connections

        def on_event(ev) -> None:
            self.post_message(FleetProgress(ev))

        conns = None
        try:
            cfg = self._config()
            conns = Connections(cfg)
            fstate = ST.load(cfg.name)
            if kind == "up":
                key, key_file = ST.api_key(fstate, create=True)
                fstate.key_file = key_file
                ST.save(fstate)
                opts = ops.up_options(cli={"model": f"openai/{model}"})
                result = ops.up(cfg, conns, fstate, key, key_file, opts, on_event=on_event)
                ready = sum(w.action != "failed" for w in result.workers)
                text = f"up: {ready}/{len(result.workers)} worker(s) ready behind {result.router.url} (e: chat through it)"
                self.post_message(FleetOpDone(kind, result.ok, text))
            elif kind == "drain":
                key, _ = ST.api_key(fstate)
                res = ops.drain(cfg, conns, fstate, key, target, on_event=on_event)
                self.post_message(FleetOpDone(kind, True, f"{res.worker} drained in {res.waited_s} s and stopped"))
            else:
                res = ops.down(cfg, conns, fstate, on_event=on_event)
                self.post_message(FleetOpDone(kind, not res.host_errors, f"down: removed {len(res.removed)} container(s)"))
        except ConsoleError as exc:
            self.post_message(FleetOpDone(kind, False, exc.message + (f" → {exc.hint}" if exc.hint else "")))
        finally:
            if conns is not None:
                conns.close()

    @on(FleetProgress)
    def _progress(self, message: FleetProgress) -> None:
        self._log(message.event.line())

    @on(FleetOpDone)
    def _done(self, message: FleetOpDone) -> None:
        self.operation = None
        self._log(("✓ " if message.ok else "✗ ") + message.text)
        self.app.notify(message.text, title=f"Fleet {message.kind}", severity="information" if message.ok else "error")
        self.action_refresh()

    def action_logs(self) -> None:
        target = self._selected_target()
        if target is None:
            self.app.notify("select a worker row first (↑/↓)", severity="warning")
            return
        self._fetch_log(target)

    def action_router_log(self) -> None:
        self._fetch_log(None)

    @work(thread=True, exclusive=True, group="fleet-text")
    def _fetch_log(self, target: str | None) -> None:
        from console.errors import ConsoleError
        from console.fleet import logs as L

        try:
            cfg = self._config()
            title, lines = L.tail(cfg, target, n=200)
            self.post_message(FleetText(title, "\n".join(lines) or "(no lines yet)"))
        except ConsoleError as exc:
            self.post_message(FleetText("log", exc.message + (f"\n→ {exc.hint}" if exc.hint else "")))

    def action_use_router(self) -> None:
        """Point Chat, Smoke and Metrics at the router (with the fleet's key)."""
        if self.status is None or not self.status.router.running:
            self.app.notify("no router is running: u starts the fleet", severity="warning")
            return
        self._announce_router(self.status.router.url)

    @work(thread=True, exclusive=True, group="fleet-key")
    def _announce_router(self, url: str) -> None:
        from console.errors import ConsoleError
        from console.fleet import state as ST

        try:
            key, _ = ST.api_key(ST.load(self._config().name))
        except ConsoleError as exc:
            self.app.call_from_thread(self.app.notify, exc.message, severity="error")
            return
        # The key is revealed here only to hand it to the chat client, which sends it as a header.
        self.post_message(EndpointChanged(url, key.reveal(), None))
        self.app.call_from_thread(self.app.notify, f"Chat, Smoke and Metrics now use the router at {url}",
                                  title="Fleet")

    def action_plan(self) -> None:
        self._fetch_plan(self.model)

    @work(thread=True, exclusive=True, group="fleet-text")
    def _fetch_plan(self, model: str) -> None:
        from console.errors import ConsoleError
        from console.fleet import ops

        try:
            cfg = self._config()
            conns, _ = self._connections(cfg)
            gpus, problems = ops.host_gpus(cfg, conns)
            fplan = ops.make_plan(cfg, model, gpus, problems)
            self.post_message(FleetText(f"Fleet plan: {model}", report.plan_text(fplan)))
        except ConsoleError as exc:
            self.post_message(FleetText("Fleet plan", exc.message + (f"\n→ {exc.hint}" if exc.hint else "")))

    @on(FleetText)
    def _text(self, message: FleetText) -> None:
        self.app.push_screen(TextScreen(message.title, message.text))

    # -- app hooks -------------------------------------------------------------------------
    def quit_warning(self) -> str | None:
        if self.operation:
            return f"fleet {self.operation} is running: workers may be left half started"
        return None

    def palette_commands(self) -> Iterable[tuple[str, Callable[[], Any], str]]:
        yield ("Fleet: chat through the router", self.action_use_router,
               "Point Chat, Smoke and Metrics at the fleet's router, with its key (e)")
        yield ("Fleet: router log", self.action_router_log, "Show the last lines of the fleet router's log")
        yield ("Fleet: refresh", self.action_refresh, "Poll every host and the router now")
        yield ("Fleet: switch model", self.action_model, "Plan and start gpt-oss-20b or gpt-oss-120b")
