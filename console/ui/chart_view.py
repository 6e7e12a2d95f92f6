"""The Textual side of ``console.charts``: a widget that fills its space with charts.

It asks ``charts(timeline)`` which charts to draw, lays them out with
``console.charts.chart.Grid`` in whatever size it has (80×24 up to a full screen),
and paints the rows through the line API (one ``Strip`` per row, styles parsed
once). It redraws once a second when the timeline changed or the window moved,
never per sample.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from console.charts.axis import span_label
from console.charts.chart import WINDOWS, ChartSpec, Grid, Row
from console.timeline.timeline import Timeline

_STYLES: dict[str, Style] = {}


def _style(name: str) -> Style:
    s = _STYLES.get(name)
    if s is None:
        s = _STYLES[name] = Style.parse(name) if name else Style()
    return s


_SEGMENTS: dict[tuple[str, str], Segment] = {}


def _segment(run: tuple[str, str]) -> Segment:
    seg = _SEGMENTS.get(run)
    if seg is None:
        if len(_SEGMENTS) > 50_000:  # most runs repeat frame after frame; bound the rest
            _SEGMENTS.clear()
        seg = _SEGMENTS[run] = Segment(run[0], _style(run[1]))
    return seg


def to_strips(rows: Sequence[Row]) -> list[Strip]:
    """Rows of ``(text, style)`` runs as strips; a run seen before reuses its segment."""
    return [Strip(list(map(_segment, row))) for row in rows]


class ChartView(Widget):
    """Charts of ``timeline`` over the last ``window`` seconds; ``charts(timeline)`` picks them."""

    DEFAULT_CSS = """
    ChartView { height: 1fr; min-height: 6; }
    """

    def __init__(self, timeline: Timeline, charts: Callable[[Timeline], list[ChartSpec]], *,
                 clock: Callable[[], float] = time.time, window: float = WINDOWS[1],
                 empty: str = "No data yet.", id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.timeline = timeline
        self.charts = charts
        self.clock = clock
        self.window = window
        self.empty = empty
        self._grid = Grid()
        self._strips: list[Strip] = []
        self._key: tuple | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self.redraw)

    def on_resize(self) -> None:
        self.redraw(force=True)

    def set_window(self, seconds: float) -> None:
        self.window = seconds
        self.redraw(force=True)

    def step_window(self, step: int) -> float:
        """The next shorter (-1) or longer (+1) of 1 m / 5 m / 1 h / 24 h."""
        i = WINDOWS.index(self.window) if self.window in WINDOWS else 1
        self.set_window(WINDOWS[max(0, min(len(WINDOWS) - 1, i + step))])
        return self.window

    @property
    def window_label(self) -> str:
        return span_label(self.window)

    def redraw(self, force: bool = False) -> None:
        width, height = self.size.width, self.size.height
        if width <= 0 or height <= 0:
            return
        now = self.clock()
        key = (self.timeline.version, width, height, self.window, int(now))
        if key == self._key and not force:
            return
        self._key = key
        specs = self.charts(self.timeline)
        if not specs:
            self._strips = to_strips([[(self.empty, "dim")]])
        else:
            self._strips = to_strips(self._grid.render(self.timeline, specs, now - self.window, now, width, height))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y].crop(0, self.size.width)
        return Strip.blank(self.size.width)

    def text(self) -> str:
        """What the widget shows, as plain text (tests)."""
        return "\n".join(s.text.rstrip() for s in self._strips)
