"""The GPUs pane: one row per GPU, a chart per GPU, host CPU/RAM, processes, and the planner.

NVML is never touched on the UI thread: a worker opens the app's one
``console.gpu.Sampler`` (``app.gpu_feed``, shared with the Metrics area; it
imports pynvml), the sampler's thread calls back on every tick, reads the host's
``/proc`` for the same moment and posts ``GpusSampled``; the pane only formats what
arrives. The charts read the app's timeline (``app.history``), which holds what
was recorded before the console started too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from console.charts.layouts import gpu_charts
from console.errors import ConsoleError
from console.ui.gpus import format as fmt
from console.ui.gpus.messages import ContainersResolved, GpusOpened, GpusSampled
from console.ui.gpus.processes import ProcessTable, ProcRow, SignalAsked, SignalOutcome, send_signal

if TYPE_CHECKING:
    from textual.widgets import DataTable

# DataTable and the planner load after the first frame (start-up is benchmarked).

INTERVALS = (0.5, 1.0, 2.0, 5.0)  # what + and - step through
# Sized to fit 80 columns: VRAM and power in the header's unit, reserved memory
# (NVML v2) apart from used, PCIe as current/max generation.
GPU_COLUMNS = ("#", "Name", "Arch", "VRAM GiB", "Rsv", "Util", "Temp", "Power W", "SM MHz", "PCIe")


class GpusPane(VerticalScroll):
    """Live GPUs and what they can serve."""

    BINDINGS = [
        Binding("r", "sample_now", "Sample now"),
        Binding("p", "focus_planner", "Plan"),
        Binding("plus,equals_sign", "interval(-1)", "Sample faster", key_display="+", show=False),
        Binding("minus", "interval(1)", "Sample slower", key_display="-", show=False),
        # Chart windows 1 m / 5 m / 1 h / 24 h (in the help and the palette; the footer is full at 80 columns).
        Binding("left_square_bracket", "window(-1)", "Shorter charts", key_display="[", show=False),
        Binding("right_square_bracket", "window(1)", "Longer charts", key_display="]", show=False),
    ]

    # Tests swap the sampler at ``ConsoleApp.sampler_factory``.

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sampler = None
        self.inventory = None
        self._unsubscribe: Callable[[], None] | None = None
        self._lost: set[int] = set()
        self._pids: frozenset[int] = frozenset()
        self._containers: dict[int, str] = {}
        self._processes: list[tuple] = []  # (gpu, pid, name, used, sm_util) per GPU process
        self._host_procs: dict = {}  # pid -> console.host.ProcInfo
        self._detected = None  # (GpuSpec, count, indices) for the planner
        self._box_memory = None  # their memory free now (console.planner.memory), from the latest sample
        self._detail_index: int | None = None
        self._host = None  # console.host.HostReader, made on the sampling thread
        self.ticks_shown = 0

    def compose(self) -> ComposeResult:
        yield Static("Looking for NVIDIA GPUs…", id="gpus-status")
        yield Vertical(id="gpus-history")
        yield Static("", id="gpus-detail")
        yield Static("", id="gpus-host")

    def on_mount(self) -> None:
        # Everything but the status line comes after the console's first frame
        # (start-up is benchmarked: tests/perf/bench_startup.py); the GPU table
        # appears when NVML has answered.
        self.call_after_refresh(self._mount_rest)

    def _alive(self) -> bool:
        return self.is_attached and not self.app._exit

    async def _mount_rest(self) -> None:
        from textual.widgets import DataTable

        from console.ui.gpus.planner import PlannerPanel

        if not self._alive():
            return
        self._open()
        planner = PlannerPanel(id="gpus-plan")
        # Processes first (as in nvitop), the planner after them.
        procs = ProcessTable(id="gpus-processes")
        procs.display = self.inventory is None or bool(self.inventory.gpus)
        await self.mount_all([
            procs,
            Label("Plan: what this box can serve  (Enter: use)", classes="gpus-section"),
            planner,
        ])
        if self._detected is not None:
            planner.set_detected(*self._detected, memory=self._box_memory)
        self._fill_processes()

    def on_unmount(self) -> None:
        # The sampler is the app's: it stops when the app exits, not with this pane.
        if self._unsubscribe is not None:
            self._unsubscribe()

    # -- background work -------------------------------------------------------

    @work(thread=True, exclusive=True, group="gpus-open")
    def _open(self) -> None:
        feed = self.app.gpu_feed
        sampler = feed.open()
        if sampler is None:
            return  # the app is exiting
        self.sampler = sampler
        self.post_message(GpusOpened(sampler.inventory))
        # After GpusOpened, so the table is there for the first tick (or the latest one,
        # when the Metrics area started the sampler first).
        self._unsubscribe = feed.subscribe(self._tick)

    def _tick(self, snap) -> None:
        """On the sampling thread: the host's CPU, memory and GPU processes at this tick too."""
        host = procs = None
        try:
            if self._host is None:
                self._host = self.app.host_factory()
            host = self._host.read()
            procs = self._host.processes({p.pid for s in snap.samples for p in s.processes})
        except Exception:  # noqa: BLE001 - /proc unreadable: the GPUs still show
            pass
        self.post_message(GpusSampled(snap, host, procs))

    def _container_lookup(self) -> Callable[[Iterable[int]], dict[int, str]] | None:
        """The app's PID → container lookup (app-level state: only the console itself has
        one; an app that mounts this pane alone shows no container column values)."""
        return getattr(self.app, "container_lookup", None)

    @work(thread=True, exclusive=True, group="gpus-containers")
    def _resolve_containers(self, pids: frozenset[int]) -> None:
        lookup = self._container_lookup()
        if lookup is None:
            return
        try:
            names = dict(lookup(pids))
        except ConsoleError:
            # No Docker (or none reachable): the processes are listed without their containers.
            # Not worth a toast: nothing was asked of Docker by the operator here.
            return
        self.post_message(ContainersResolved(names))

    @work(thread=True, group="gpus-tick")
    def action_sample_now(self) -> None:
        if self.sampler is not None and self.inventory is not None and self.inventory.gpus:
            self.sampler.tick()

    def action_interval(self, step: int) -> None:
        if self.sampler is None or self.inventory is None or not self.inventory.gpus:
            return
        now = self.sampler.interval
        i = min(range(len(INTERVALS)), key=lambda k: abs(INTERVALS[k] - now))
        new = INTERVALS[max(0, min(len(INTERVALS) - 1, i + step))]
        if new != now:
            self.sampler.interval = new
        self.query_one("#gpus-status", Static).update(self._status_text(self.inventory))

    def action_focus_planner(self) -> None:
        self.query_one("#plan-matrix").focus()

    # -- what arrives ------------------------------------------------------------

    @on(GpusOpened)
    async def _opened(self, message: GpusOpened) -> None:
        if not self._alive():
            return  # the app is quitting before NVML answered
        inv = message.inventory
        self.inventory = inv
        status = self.query_one("#gpus-status", Static)
        if not inv.gpus:
            for procs in self.query(ProcessTable):
                procs.display = False  # no GPU, no GPU processes: the planner comes first
            text = Text(inv.error or "No NVIDIA GPU found", style="bold yellow")
            text.append("\nThe console works on: plan for a catalog GPU below.", style="not bold")
            status.update(text)
            return
        status.update(self._status_text(inv))
        from textual.widgets import DataTable

        table = DataTable(id="gpus-table", cursor_type="row", zebra_stripes=True)
        for name in GPU_COLUMNS:
            table.add_column(name, key=name)
        history = self.query_one("#gpus-history", Vertical)
        for info in inv.gpus:
            table.add_row(
                str(info.index), fmt.short_name(info.name), info.arch, *(["…"] * (len(GPU_COLUMNS) - 3)),
                key=str(info.index),
            )
        if not self._alive():
            return
        from console.ui.chart_view import ChartView

        names = {g.index: fmt.short_name(g.name) for g in inv.gpus}
        charts = ChartView(self.app.history.timeline, lambda tl: gpu_charts(tl, names), clock=self.app.clock,
                           id="gpus-charts", empty="Charts appear with the first samples.")
        await self.mount(table, before=history)
        await history.mount(charts)
        self._size_charts()
        if self.app.focused is None or self.app.focused is self:
            table.focus(scroll_visible=False)  # it is at the top; a scroll now would use a half-done layout
        for warning in inv.warnings:
            self.app.notify(warning, title="GPU", severity="warning", timeout=10)
        from console.gpu.box import detected_box

        box = detected_box(inv, self.sampler.snapshot if self.sampler is not None else None, self._containers)
        if box is not None:
            self._detected = (box.spec, box.count, list(box.indices))
            self._box_memory = box.memory
            planners = self.query("#gpus-plan")
            if planners:
                planners.first().set_detected(*self._detected, memory=box.memory)

    def _status_text(self, inv) -> Text:
        text = Text()
        text.append(f"{len(inv.gpus)} GPU{'s' if len(inv.gpus) != 1 else ''}", style="bold")
        text.append(f" · driver {inv.driver_version or fmt.NA} · CUDA {inv.cuda_version or fmt.NA}")
        if self.sampler is not None:
            text.append(f" · every {self.sampler.interval:g} s", style="dim")
        if inv.source.startswith("replay"):
            text.append(" · recorded", style="dim")
        charts = self.query("#gpus-charts")
        if charts:
            text.append(f" · charts {charts.first().window_label}", style="dim")
        return text

    def _size_charts(self) -> None:
        """The charts take about half the area (at least a chart's worth of rows per GPU up
        to that); the rest scrolls: details, host, processes, planner."""
        charts = self.query("#gpus-charts")
        if not charts or self.inventory is None:
            return
        n = max(1, len(self.inventory.gpus))
        height = self.size.height or 21
        rows = max(7, min(height * 55 // 100, 7 * n + 1, height - n - 5))
        if charts.first().styles.height is None or charts.first().styles.height.value != rows:
            charts.first().styles.height = rows

    def on_resize(self) -> None:
        self._size_charts()

    def action_window(self, step: int) -> None:
        charts = self.query("#gpus-charts")
        if charts:
            charts.first().step_window(step)
            if self.inventory is not None:
                self.query_one("#gpus-status", Static).update(self._status_text(self.inventory))

    def _show_detail(self, index: int | None) -> None:
        """UUID, compute capability and what the table has no room for, for one GPU."""
        detail = self.query_one("#gpus-detail", Static)
        infos = {g.index: g for g in self.inventory.gpus} if self.inventory else {}
        info = infos.get(index) if index is not None else None
        if info is None or self.sampler is None:
            detail.update("")
            return
        snap = self.sampler.snapshot
        s = snap.get(index) if snap is not None else None
        cc = f"sm{info.compute_capability[0]}{info.compute_capability[1]}" if info.compute_capability else fmt.NA
        # One line; the UUID goes last so a narrow terminal crops only it.
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"GPU {index}", style="bold")
        text.append(f" · {cc}")
        if s is not None and not s.lost:
            text.append(f" · free {fmt.gib(s.memory_free)} GiB · mem-bw {fmt.pct(s.util_memory)}")
            text.append(f" · fan {fmt.pct(s.fan_percent)}")
        text.append(f" · {info.uuid or 'UUID n/a'}")
        detail.update(text)

    def on_data_table_row_highlighted(self, event) -> None:
        if getattr(event.data_table, "id", None) == "gpus-table" and event.row_key is not None:
            self._detail_index = int(event.row_key.value)
            self._show_detail(self._detail_index)

    @on(GpusSampled)
    def _sampled(self, message: GpusSampled) -> None:
        if self.inventory is None or not self.inventory.gpus:
            return
        self.ticks_shown += 1
        infos = {g.index: g for g in self.inventory.gpus}
        tables = self.query("#gpus-table")
        if not tables:
            return  # the sampler's first tick can beat the table's mount; the next one lands
        table = tables.first()
        processes: list[tuple] = []
        for s in message.snapshot.samples:
            info = infos.get(s.index)
            if info is None:
                continue
            key = str(s.index)
            if s.lost:
                self._mark_lost(table, s, info)
                continue
            self._lost.discard(s.index)
            cells = {
                "VRAM GiB": fmt.vram(s.memory_used, s.memory_total or info.memory_total),
                "Rsv": fmt.gib(s.memory_reserved),
                "Util": fmt.pct(s.util_gpu),
                "Temp": fmt.temp(s.temperature),
                "Power W": fmt.power(s.power_w, info.power_limit_w),
                "SM MHz": fmt.mhz(s.sm_clock_mhz),
                "PCIe": fmt.pcie(info.pcie_gen, info.pcie_gen_max),
            }
            for column, value in cells.items():
                table.update_cell(key, column, value, update_width=True)
            for p in s.processes:
                processes.append((s.index, p.pid, p.name, p.used_memory, p.sm_util))
        self._host_procs = message.processes or {}
        self._show_host(message.host)
        for charts in self.query("#gpus-charts"):
            charts.redraw()  # with this tick (the timer only catches what came without one)
        self._show_processes(processes)
        self._plan_from_free_memory(message.snapshot)
        if self._detail_index is None and infos:
            self._detail_index = min(infos)
        self._show_detail(self._detail_index)

    def _plan_from_free_memory(self, snapshot) -> None:
        """The planner plans this box from what is free now (issue 10: a process holding 20 GiB
        made the plan promise the whole card)."""
        if self._detected is None:
            return
        from console.planner.memory import detected_memory

        spec, _, indices = self._detected
        samples = [s for s in (snapshot.get(i) for i in indices) if s is not None and not s.lost]
        if len(samples) != len(indices):
            return
        self._box_memory = detected_memory(spec, samples, self._containers)
        planners = self.query("#gpus-plan")
        if planners:
            planners.first().set_memory(self._box_memory)

    def _mark_lost(self, table: DataTable, sample, info) -> None:
        key = str(sample.index)
        table.update_cell(key, "VRAM GiB", Text("lost", style="bold red"))
        for column in GPU_COLUMNS[4:]:
            table.update_cell(key, column, "-")
        if sample.index not in self._lost:
            self._lost.add(sample.index)
            why = sample.error or "it stopped answering"
            self.app.notify(f"GPU {sample.index} ({fmt.short_name(info.name)}): {why}. The other GPUs "
                            "are still watched.", title="GPU lost", severity="error", timeout=15)

    def _show_host(self, host) -> None:
        box = self.query_one("#gpus-host", Static)
        if host is None:
            box.update("")
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("Host", style="bold")
        text.append(f" · CPU {fmt.pct(host.cpu_pct)} of {host.cores} cores")
        if host.load1 is not None:
            text.append(f" · load {host.load1:.1f}")
        text.append(f" · RAM {fmt.vram(host.mem_used, host.mem_total)} GiB")
        if host.swap_total:
            text.append(f" · swap {fmt.vram(host.swap_used, host.swap_total)} GiB")
        box.update(text)

    def _show_processes(self, processes: list[tuple]) -> None:
        pids = frozenset(p[1] for p in processes)
        # Ask again when the PIDs change.
        if pids and self._container_lookup() is not None and pids != self._pids:
            self._pids = pids
            self._resolve_containers(pids)
        self._processes = processes  # refilled each tick: host CPU and memory move
        self._fill_processes()

    @on(ContainersResolved)
    def _containers_resolved(self, message: ContainersResolved) -> None:
        self._containers = message.containers
        self._fill_processes()
        if self.sampler is not None and self.sampler.snapshot is not None:
            self._plan_from_free_memory(self.sampler.snapshot)  # the plan names the containers too

    def _fill_processes(self) -> None:
        tables = self.query(ProcessTable)
        if not tables:
            return  # mounted one frame later; filled then
        rows = []
        for gpu, pid, name, used, sm in self._processes:
            info = self._host_procs.get(pid)
            rows.append(ProcRow(gpu, pid, name, used, sm,
                                cpu_pct=info.cpu_pct if info else None, rss=info.rss if info else None,
                                user=info.user if info else None, container=self._containers.get(pid, ""),
                                command=info.command if info else None))
        tables.first().set_rows(rows)

    # -- terminate / kill ------------------------------------------------------------------

    @on(SignalAsked)
    def _signal_asked(self, message: SignalAsked) -> None:
        send_signal(self, message)

    @on(SignalOutcome)
    def _signal_outcome(self, message: SignalOutcome) -> None:
        if message.own_container:
            self.query_one(ProcessTable).confirm_own_container(message)
            return
        if message.error:
            self.app.notify(message.error + (f" — {message.hint}" if message.hint else ""),
                            title=f"{message.how.title()} failed", severity="error", timeout=10)
            return
        what = "SIGTERM" if message.how == "terminate" else "SIGKILL"
        self.app.notify(f"Sent {what} to process {message.row.pid}.", title=message.how.title())
