"""The chart block: every series on one axis, sized to the widget's width."""

from __future__ import annotations

import time
from typing import Callable

from rich.text import Text
from textual.widgets import Static

from console.timeline.chart import MARKS, render_chart
from console.timeline.timeline import Timeline

SPANS = (60.0, 300.0, 900.0, 3600.0)  # the windows [ and ] step through
SERVER_ROWS = ("srv.running", "srv.queued", "srv.kv", "srv.swa", "srv.cache_hit", "srv.gen_tps",
               "srv.ttft_p50", "srv.itl_p50")


class TimelineView(Static):
    """Redraws when the timeline changed or the window moved (a 1 s timer, not per sample)."""

    DEFAULT_CSS = "TimelineView { height: auto; }"

    def __init__(self, timeline: Timeline, clock: Callable[[], float] = time.time,
                 only: tuple[str, ...] | None = None, span: float = SPANS[1], **kw) -> None:
        super().__init__("", **kw)
        self.timeline = timeline
        self.clock = clock
        self.only = only  # series names to draw (None: all, by priority)
        self.span = span
        self.max_rows = 12  # the pane sets this from its height
        self._drawn: tuple | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self.redraw)
        self.call_after_refresh(self.redraw)

    def on_resize(self) -> None:
        self.redraw(force=True)

    def rows(self) -> list[str]:
        """The series to draw, in reading order, cut to ``max_rows`` by priority.

        At 80×24 there is room for about a dozen rows: VRAM and the queue matter
        most, utilisation and the finer latency rows go first when space runs out;
        an SWA row that never left zero is not worth a line.
        """
        names = set(self.timeline.names())
        if self.only is not None:
            names &= set(self.only)
        gpus = sorted({int(n[3:].split(".")[0]) for n in names if n.startswith("gpu")})
        vram = [f"gpu{i}.vram" for i in gpus if f"gpu{i}.vram" in names]
        util = [f"gpu{i}.util" for i in gpus if f"gpu{i}.util" in names]
        server = [n for n in SERVER_ROWS if n in names]
        if "srv.swa" in server and not any(self.timeline.resample("srv.swa", self.clock() - self.span, self.clock(), 1)):
            server.remove("srv.swa")
        first = ["srv.running", "srv.queued", "srv.kv", "srv.gen_tps", "srv.ttft_p50"]
        priority = vram + [n for n in first if n in server] + util + [n for n in server if n not in first]
        keep = set(priority[: self.max_rows])
        order = [n for i in gpus for n in (f"gpu{i}.vram", f"gpu{i}.util")] + server
        return [n for n in order if n in keep]

    def redraw(self, force: bool = False) -> None:
        width = self.size.width or 78
        now = self.clock()
        key = (self.timeline.version, width, self.span, int(now), self.max_rows)
        if key == self._drawn and not force:
            return
        self._drawn = key
        rows = self.rows()
        if not rows:
            self.update(Text("No data yet: GPU samples and /metrics scrapes appear here as they come.",
                             style="dim"))
            return
        lines = render_chart(self.timeline, rows, now, self.span, width)
        text = Text()
        marks = set(MARKS.values()) | {"•"}
        for i, line in enumerate(lines):
            if i:
                text.append("\n")
            if i == 0:
                for ch in line:
                    text.append(ch, style="bold yellow" if ch in marks else "")
            elif i == len(lines) - 1:
                text.append(line, style="dim")
            else:
                text.append(line[:11], style="bold")
                text.append(line[11:-8], style="green")
                text.append(line[-8:])
        self.update(text)
