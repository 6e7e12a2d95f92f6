"""Text charts for an 80-column terminal: block sparklines on a shared axis, event marks.

Every row of a chart covers the same [t0, t1] window in the same number of
columns, so a column is the same moment in every row: a queue spike lines up with
the VRAM step and the container's restart mark above it.
"""

from __future__ import annotations

from console.timeline.timeline import Event, Timeline

BLOCKS = " ▁▂▃▄▅▆▇█"
MARKS = {"start": "▲", "ready": "●", "restart": "↻", "exit": "✗", "die": "✗", "oom": "✗", "stop": "■",
         "bench": "◆"}


def sparkline(values: list[float | None], lo: float | None = 0.0, hi: float | None = None) -> str:
    """One character per value; None (no data) is a middle dot so gaps are visible."""
    present = [v for v in values if v is not None]
    if not present:
        return "·" * len(values)
    lo = min(present) if lo is None else lo
    hi = max(present) if hi is None else hi
    span = hi - lo
    out = []
    for v in values:
        if v is None:
            out.append("·")
            continue
        frac = 0.0 if span <= 0 else min(1.0, max(0.0, (v - lo) / span))
        if span <= 0 and v > 0:
            frac = 1.0  # a flat non-zero line: full height, so it is not mistaken for idle
        out.append(BLOCKS[1 + round(frac * 7)])  # ▁ is the floor, █ the top of the scale
    return "".join(out)


def event_marks(events: list[Event], t0: float, t1: float, width: int) -> str:
    row = [" "] * width
    if width <= 0 or t1 <= t0:
        return ""
    for e in events:
        if t0 <= e.t <= t1:
            i = min(width - 1, int((e.t - t0) / (t1 - t0) * width))
            row[i] = MARKS.get(e.kind, "•")
    return "".join(row)


def span_label(seconds: float) -> str:
    s = int(round(seconds))
    if s >= 3600 and s % 3600 == 0:
        return f"{s // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60}m"
    if s >= 60:
        return f"{s // 60}m" + (f"{s % 60}s" if s % 60 else "")
    return f"{s}s"


def time_axis(span_s: float, width: int) -> str:
    """``-5m ······· -2m30s ······ now`` across ``width`` columns."""
    left, mid, right = f"-{span_label(span_s)}", f"-{span_label(span_s / 2)}", "now"
    if width < len(left) + len(mid) + len(right) + 2:
        return (left + " " * max(1, width - len(left) - len(right)) + right)[:width]
    row = [" "] * width
    row[: len(left)] = left
    m = width // 2 - len(mid) // 2
    row[m: m + len(mid)] = mid
    row[width - len(right):] = right
    return "".join(row)


def format_value(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "%":
        return f"{v:.0f}%"
    if unit == "GiB":
        return f"{v:.1f}G"
    if unit == "ms":
        return f"{v:.0f}ms" if v >= 10 else f"{v:.1f}ms"
    if abs(v) >= 10000:
        return f"{v / 1000:.0f}k"
    if abs(v) >= 100 or unit == "req":
        return f"{v:.0f}"
    return f"{v:.1f}"


def render_rows(tl: Timeline, names: list[str], now: float, span_s: float, width: int,
                label_w: int = 10, value_w: int = 7) -> list[str]:
    """One line per series: label, sparkline over the last ``span_s`` seconds, latest value."""
    cols = max(8, width - label_w - value_w - 2)
    t0 = now - span_s
    lines = []
    for name in names:
        spec = tl.spec(name)
        if spec is None:
            continue
        values = tl.resample(name, t0, now, cols)
        hi = spec.hi
        lines.append(f"{spec.label[:label_w]:<{label_w}} {sparkline(values, spec.lo, hi)} "
                     f"{format_value(tl.latest(name), spec.unit):>{value_w}}")
    return lines


def render_chart(tl: Timeline, names: list[str], now: float, span_s: float, width: int,
                 label_w: int = 10, value_w: int = 7) -> list[str]:
    """Rows plus an event-mark row and the time axis, all aligned."""
    cols = max(8, width - label_w - value_w - 2)
    pad = " " * (label_w + 1)
    lines = [pad + event_marks(tl.events(now - span_s, now), now - span_s, now, cols)]
    lines += render_rows(tl, names, now, span_s, width, label_w, value_w)
    lines.append(pad + time_axis(span_s, cols))
    return lines
