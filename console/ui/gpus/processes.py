"""The GPUs area's process table, like nvitop's: per process its GPU share, GPU memory, host
CPU and memory, user, container and command; sorted by any column; terminate or kill with
a confirmation (and a second one for the console's own server container).

Whether a process belongs to a container the console launched is asked of Docker on a
worker (``console.runtime.vram``) when a signal is asked for, so a running table never
waits on Docker.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Label

from console.ui.gpus import format as fmt

# (column, sort key of a ProcRow: None sorts last)
COLUMNS = ("GPU", "PID", "GPU%", "VRAM", "CPU%", "RAM", "User", "Container", "Command")
DEFAULT_SORT = "VRAM"


@dataclass(frozen=True)
class ProcRow:
    gpu: int
    pid: int
    name: str | None  # NVML's process name (None: it ended before the name was read)
    used: int | None  # GPU memory, bytes
    sm_util: int | None
    cpu_pct: float | None = None
    rss: int | None = None
    user: str | None = None
    container: str = ""
    command: str | None = None

    def key(self, column: str):
        return {
            "GPU": self.gpu, "PID": self.pid, "GPU%": self.sm_util, "VRAM": self.used, "CPU%": self.cpu_pct,
            "RAM": self.rss, "User": self.user, "Container": self.container or None,
            "Command": self.command or self.name,
        }[column]

    def cells(self) -> tuple:
        return (
            str(self.gpu), str(self.pid), fmt.pct(self.sm_util),
            fmt.NA if self.used is None else f"{fmt.gib(self.used)}G",
            fmt.NA if self.cpu_pct is None else f"{self.cpu_pct:.0f}%",
            fmt.NA if self.rss is None else f"{fmt.gib(self.rss)}G",
            self.user or fmt.NA, self.container,
            (self.command or self.name or Text("(exited)", style="dim")),
        )


class SignalAsked(Message):
    """The operator confirmed a signal; the pane's worker checks the owner and sends it."""

    def __init__(self, row: ProcRow, how: str, confirmed_own: bool = False) -> None:
        super().__init__()
        self.row, self.how, self.confirmed_own = row, how, confirmed_own


class SignalOutcome(Message):
    def __init__(self, row: ProcRow, how: str, error: str | None = None, hint: str | None = None,
                 own_container: str | None = None) -> None:
        super().__init__()
        self.row, self.how, self.error, self.hint = row, how, error, hint
        self.own_container = own_container  # set: not sent yet, the console's own server: ask again


class ProcessTable(Vertical):
    BINDINGS = [
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse sort", show=False),
        Binding("t", "signal('terminate')", "Terminate"),
        Binding("k", "signal('kill')", "Kill"),
    ]

    DEFAULT_CSS = """
    ProcessTable { height: auto; }
    ProcessTable DataTable { height: auto; max-height: 12; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[ProcRow] = []
        self.sort_by = DEFAULT_SORT
        self.descending = True

    def compose(self) -> ComposeResult:
        yield Label("", id="gpus-procs-title", classes="gpus-section")
        table = DataTable(id="gpus-procs", cursor_type="row", zebra_stripes=True)
        for c in COLUMNS:
            table.add_column(c, key=c)
        yield table

    def on_mount(self) -> None:
        self._fill()

    # -- rows and order ----------------------------------------------------------------
    def set_rows(self, rows: list[ProcRow]) -> None:
        if rows != self.rows:
            self.rows = rows
            self._fill()

    def ordered(self) -> list[ProcRow]:
        present = [r for r in self.rows if r.key(self.sort_by) is not None]
        missing = [r for r in self.rows if r.key(self.sort_by) is None]
        present.sort(key=lambda r: (r.key(self.sort_by), r.pid), reverse=self.descending)
        return present + missing  # n/a last either way

    def _fill(self) -> None:
        table = self.query_one("#gpus-procs", DataTable)
        n = len(self.rows)
        arrow = "↓" if self.descending else "↑"
        title = (f"Processes on the GPUs: {n}  (sorted by {self.sort_by} {arrow}; s sort, t terminate, k kill)"
                 if n else "Processes on the GPUs: none")
        self.query_one("#gpus-procs-title", Label).update(title)
        table.display = bool(n)
        selected = self.selected()
        table.clear()
        ordered = self.ordered()
        for r in ordered:
            table.add_row(*r.cells(), key=str(r.pid) + f"@{r.gpu}")
        if ordered:
            row = next((i for i, r in enumerate(ordered) if selected and (r.pid, r.gpu) == (selected.pid, selected.gpu)),
                       0)
            table.move_cursor(row=row)

    def selected(self) -> ProcRow | None:
        tables = self.query("#gpus-procs")
        if not tables or not self.rows:
            return None
        table = tables.first(DataTable)
        ordered = self.ordered()
        return ordered[table.cursor_row] if 0 <= table.cursor_row < len(ordered) else None

    def action_sort(self) -> None:
        i = COLUMNS.index(self.sort_by)
        self.sort_by = COLUMNS[(i + 1) % len(COLUMNS)]
        self._fill()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self._fill()

    @on(DataTable.HeaderSelected, "#gpus-procs")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column == self.sort_by:
            self.descending = not self.descending
        else:
            self.sort_by = column
        self._fill()

    # -- signals -----------------------------------------------------------------------
    def action_signal(self, how: str) -> None:
        from console.ui.screens.confirm import ConfirmScreen

        row = self.selected()
        if row is None:
            self.notify("No process selected.", severity="warning")
            return
        what = row.command or row.name or "(exited)"
        lines = [f"PID {row.pid} on GPU {row.gpu}: {what[:60]}",
                 f"holding {fmt.gib(row.used)} GiB of GPU memory" + (f", in container {row.container}" if row.container else ""),
                 "SIGTERM asks it to stop." if how == "terminate" else "SIGKILL stops it at once: nothing is saved."]
        self.app.push_screen(ConfirmScreen(f"{how.title()} process {row.pid}?", lines, how.title()),
                             lambda yes: yes and self.post_message(SignalAsked(row, how)))

    def confirm_own_container(self, outcome: SignalOutcome) -> None:
        """The second question, for the console's own server container."""
        from console.ui.screens.confirm import ConfirmScreen

        row = outcome.row
        lines = [f"PID {row.pid} is the console's own SGLang server ({outcome.own_container}).",
                 "It stops serving: every client and running request fails.",
                 "The Launch area can stop it cleanly instead (or `gpt-oss-console stop`)."]
        self.app.push_screen(ConfirmScreen(f"Really {outcome.how} the server?", lines, f"{outcome.how.title()} it"),
                             lambda yes: yes and self.post_message(SignalAsked(row, outcome.how, confirmed_own=True)))


@work(thread=True, group="gpus-signal")
def send_signal(pane, asked: SignalAsked) -> None:
    """On a worker: is it the console's own container? (Docker) If so, and not confirmed twice,
    ask again; else send the signal. Every outcome comes back as ``SignalOutcome``."""
    from console.errors import ConsoleError
    from console.host import signal_process

    row = asked.row
    if not asked.confirmed_own:
        try:
            from console.runtime.vram import map_pids

            ref = map_pids([row.pid]).get(row.pid)
        except Exception:  # noqa: BLE001 - no Docker: no container of the console's either
            ref = None
        if ref is not None and ref.owned:
            pane.post_message(SignalOutcome(row, asked.how, own_container=ref.name))
            return
    try:
        signal_process(row.pid, asked.how)
    except ConsoleError as exc:
        pane.post_message(SignalOutcome(row, asked.how, exc.message, exc.hint))
        return
    pane.post_message(SignalOutcome(row, asked.how))
