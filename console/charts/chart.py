"""Multi-row time-series charts as styled text, from a ``Timeline``.

A chart is a legend line (each series' colour, label and latest value), plot
rows of braille with a value scale on the left, and an axis line carrying
clock-aligned ticks and the container/bench event marks; charts stacked in one
column share the tick labels underneath. ``grid`` lays any number of charts out
in the space given (80×24 up to a full screen).

Rows come back as runs of ``(text, style)`` (Rich style strings), so the TUI
turns them into strips and the CLI prints their text. No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from console.charts import braille
from console.charts.axis import format_value, nice_ceiling, tick_label_row, time_ticks
from console.timeline.timeline import Event, Timeline

Run = tuple[str, str]
Row = list[Run]

MARKS = {"start": "▲", "ready": "●", "restart": "↻", "exit": "✗", "die": "✗", "oom": "✗", "stop": "■",
         "bench": "◆"}
MARK_STYLE = "bold yellow"
AXIS_STYLE = "dim"
WINDOWS = (60.0, 300.0, 3600.0, 86400.0)  # 1 m, 5 m, 1 h, 24 h


@dataclass(frozen=True)
class Trace:
    """One series in a chart: the timeline's name for it, its legend label and colour."""

    name: str
    label: str
    style: str
    short: str = ""  # a letter or two for a narrow legend


@dataclass(frozen=True)
class ChartSpec:
    title: str
    traces: tuple[Trace, ...]
    unit: str = ""  # of the scale
    lo: float = 0.0
    hi: float | None = None  # None: a round number above the largest value shown
    hi_floor: float = 1.0  # the scale never goes below this (an idle queue is 0 of 1, not 0 of 0)
    title_style: str = "bold"
    legend_units: dict[str, str] = field(default_factory=dict)  # trace name -> unit of its latest value


def _fit(text: str, width: int) -> str:
    return text[:width] + " " * (width - len(text))


def _legend(tl: Timeline, spec: ChartSpec, width: int) -> Row:
    """Title, then each series' colour, label and latest value: spaced out when all fit,
    tighter when not, values alone when even that does not fit."""
    values = [format_value(tl.latest(tr.name), spec.legend_units.get(tr.name, spec.unit)) for tr in spec.traces]
    for sep, labelled in (("  ", "label"), (" ", "label"), (" ", "short"), (" ", "")):
        pieces = [(f"{getattr(tr, labelled) or tr.label} {v}" if labelled else v)
                  for tr, v in zip(spec.traces, values)]
        size = len(spec.title) + sum(len(sep) + 1 + len(p) + (1 if sep == "  " else 0) for p in pieces)
        if size <= width or not labelled:
            break
    runs: Row = [(spec.title, spec.title_style)]
    for tr, piece in zip(spec.traces, pieces):
        runs += [(sep, ""), ("■", tr.style), ((" " if sep == "  " else "") + piece, "")]
    return _pad(runs, width)


def _pad(runs: Row, width: int) -> Row:
    out: Row = []
    used = 0
    for text, style in runs:
        if used >= width:
            break
        text = text[: width - used]
        out.append((text, style))
        used += len(text)
    if used < width:
        out.append((" " * (width - used), ""))
    return out


class Chart:
    """One chart, redrawn frame after frame: remembers its canvas so a redraw that only
    moved the window computes the newest cells (see ``braille.Canvas.update``)."""

    def __init__(self, spec: ChartSpec) -> None:
        self.spec = spec
        self._canvas: braille.Canvas | None = None
        self._key: tuple | None = None
        self._k0 = 0

    def render(self, tl: Timeline, t0: float, t1: float, width: int, height: int,
               events: Sequence[Event] | None = None, tick_labels: bool = True) -> list[Row]:
        """The chart in ``width × height`` cells: legend, plot, axis, and the tick labels when asked.

        The window is moved to end on a whole plot cell (at most one cell past ``t1``),
        so its columns stay the same moments from one redraw to the next."""
        spec = self.spec
        plot_h = max(1, height - 2 - int(tick_labels))
        label_w = 6  # the scale's labels, then "┤"
        cols = max(4, width - label_w - 1)
        n = 2 * cols
        span = t1 - t0
        cell_s = 2 * span / n
        k1 = -(-t1 // cell_s)  # ceil: the window ends on a cell boundary
        t1 = k1 * cell_s
        t0 = t1 - span
        values = [tl.resample(tr.name, t0, t1, n) for tr in spec.traces]
        hi = spec.hi
        if hi is None:
            hi = nice_ceiling(max((v for vs in values for v in vs if v is not None), default=0.0), spec.hi_floor)
        key = (cols, plot_h, spec.lo, hi, span)
        canvas = self._canvas
        if canvas is None or key != self._key:
            canvas = self._canvas = braille.Canvas(cols, plot_h, spec.lo, hi, len(values))
            canvas.update(values)
        else:
            canvas.update(values, shift=2 * int(round(k1 - self._k0)))
        self._key, self._k0 = key, k1
        styles = [tr.style for tr in spec.traces]
        rows: list[Row] = [_legend(tl, spec, width)]
        labels = {plot_h - 1: format_value(spec.lo, spec.unit), 0: format_value(hi, spec.unit)}
        if plot_h >= 5 and plot_h % 2:  # a middle row that is exactly half way
            labels[plot_h // 2] = format_value((spec.lo + hi) / 2, spec.unit)
        for r, canvas_row in enumerate(canvas.rows()):
            label = labels.get(r, "")[:label_w]
            row: Row = [(f"{label:>{label_w}}┤", AXIS_STYLE)]
            row += [(text, styles[o] if o >= 0 else "") for text, o in canvas_row]
            rows.append(_pad(row, width))
        ticks = time_ticks(t0, t1, cols)
        axis = ["─"] * cols
        for c, _ in ticks:
            axis[c] = "┴"
        marks: dict[int, str] = {}
        for e in events if events is not None else tl.events(t0, t1):
            if t0 <= e.t <= t1:
                marks[min(cols - 1, int((e.t - t0) / span * cols))] = MARKS.get(e.kind, "•")
        row = [(" " * label_w + "└", AXIS_STYLE)]
        start = 0
        for c in sorted(marks):
            row += [("".join(axis[start:c]), AXIS_STYLE), (marks[c], MARK_STYLE)]
            start = c + 1
        row.append(("".join(axis[start:]), AXIS_STYLE))
        rows.append(_pad(row, width))
        if tick_labels:
            rows.append(_pad([(" " * (label_w + 1) + tick_label_row(ticks, cols), AXIS_STYLE)], width))
        return rows


def render(tl: Timeline, spec: ChartSpec, t0: float, t1: float, width: int, height: int,
           events: Sequence[Event] | None = None, tick_labels: bool = True) -> list[Row]:
    """One chart, drawn afresh (``Chart`` keeps its canvas between redraws)."""
    return Chart(spec).render(tl, t0, t1, width, height, events, tick_labels)


def arrange(n: int, width: int, height: int, min_w: int = 38, min_h: int = 5) -> tuple[int, int]:
    """(columns, chart height) for ``n`` charts in ``width × height`` (one tick-label row per column).

    The fewest columns that give every chart at least ``min_h`` rows, as long as
    each stays ``min_w`` wide; then more columns while that makes the charts taller
    and they get no shorter than 8 rows (wide charts read better than tall ones).
    """
    if n <= 0:
        return 1, 0
    options = []
    for c in range(1, n + 1):
        if c > 1 and width // c - 1 < min_w:
            break
        options.append((c, (height - 1) // -(-n // c)))
    fit = [(c, h) for c, h in options if h >= min_h]
    if not fit:
        c, h = options[-1]
        return c, max(3, h)
    c, h = fit[0]
    for c2, h2 in fit[1:]:
        if h < 8 and h2 > h:
            c, h = c2, h2
    return (c, min(h, 16)) if n > 1 else (c, h)


class Grid:
    """Many charts in the space given: columns side by side, each column's charts stacked
    over one row of tick labels (they share the time axis). Keeps each chart's canvas."""

    def __init__(self) -> None:
        self._charts: dict[str, Chart] = {}

    def render(self, tl: Timeline, specs: Sequence[ChartSpec], t0: float, t1: float, width: int, height: int,
               columns: int | None = None) -> list[Row]:
        if not specs:
            return []
        # Charts that would get fewer than two plot rows are left out, the last first
        # (callers list them most important first); a hidden one is a window resize away.
        specs = list(specs)
        while len(specs) > 1 and arrange(len(specs), width, height)[1] < 4 and not columns:
            specs.pop()
        self.hidden = len(specs)
        cols, chart_h = arrange(len(specs), width, height)
        if columns:
            cols = columns
            chart_h = max(3, (height - 1) // -(-len(specs) // cols))
        gap = 1
        col_w = (width - gap * (cols - 1)) // cols
        events = tl.events(t0, t1 + 3600)  # marks just past t1 land on the window's last cell
        per_col = -(-len(specs) // cols)
        charts = {}
        blocks: list[list[Row]] = []
        for c in range(cols):
            block: list[Row] = []
            mine = specs[c * per_col:(c + 1) * per_col]
            for i, spec in enumerate(mine):
                chart = self._charts.get(spec.title)
                if chart is None or chart.spec != spec:
                    chart = Chart(spec)
                charts[spec.title] = chart
                last = i == len(mine) - 1
                block += chart.render(tl, t0, t1, col_w, chart_h + (1 if last else 0), events, tick_labels=last)
            blocks.append(block)
        self._charts = charts
        tall = max(len(b) for b in blocks)
        out: list[Row] = []
        for r in range(tall):
            row: Row = []
            for c, block in enumerate(blocks):
                if c:
                    row.append((" " * gap, ""))
                row += block[r] if r < len(block) else [(" " * col_w, "")]
            out.append(row)
        return out


def grid(tl: Timeline, specs: Sequence[ChartSpec], t0: float, t1: float, width: int, height: int,
         columns: int | None = None) -> list[Row]:
    """``Grid().render(...)``: every chart drawn afresh."""
    return Grid().render(tl, specs, t0, t1, width, height, columns)


def plain(rows: list[Row]) -> list[str]:
    """The text of rendered rows (for the CLI and tests)."""
    return ["".join(t for t, _ in row).rstrip() for row in rows]
