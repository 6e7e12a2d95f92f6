"""Axes for text charts: clock-aligned time ticks and a value scale with round numbers."""

from __future__ import annotations

import math
import time
from functools import lru_cache

# Tick steps (seconds) a time axis may use; the first that leaves room between labels wins.
STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def nice_ceiling(v: float, floor: float = 1.0) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``v`` (at least ``floor``)."""
    v = max(v, floor)
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= v * (1 - 1e-9):
            return m * exp
    return 10 * exp


def format_value(v: float | None, unit: str = "") -> str:
    """A value in at most ~6 characters, with its unit where that reads naturally."""
    if v is None:
        return "—"
    if unit == "%":
        return f"{v:.0f}%"
    if unit == "°C":
        return f"{v:.0f}°C"
    if unit == "GiB":
        return f"{v:.1f}G" if v < 100 else f"{v:.0f}G"
    if unit == "W":
        return f"{v:.0f}W"
    if unit == "ms":
        if v >= 10000:
            return f"{v / 1000:.0f}s"
        if v >= 1000:
            return f"{v / 1000:.1f}s"
        return f"{v:.0f}ms" if v >= 10 else f"{v:.1f}ms"
    a = abs(v)
    if a >= 10_000_000:
        return f"{v / 1e6:.0f}M"
    if a >= 10_000:
        return f"{v / 1000:.0f}k"
    if a >= 1000:
        return f"{v / 1000:.1f}k"
    if a >= 100 or unit == "req" or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.1f}"


def span_label(seconds: float) -> str:
    s = int(round(seconds))
    if s >= 3600 and s % 3600 == 0:
        return f"{s // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60}m"
    if s >= 60:
        return f"{s // 60}m" + (f"{s % 60}s" if s % 60 else "")
    return f"{s}s"


def time_ticks(t0: float, t1: float, cols: int, min_gap: int = 10) -> list[tuple[int, str]]:
    """``(column, label)`` of clock-aligned ticks across ``cols`` columns for [t0, t1].

    Ticks fall on round local times (every 15 s, 1 min, 15 min, 6 h, …) chosen so
    labels do not collide; a label is ``HH:MM`` (``HH:MM:SS`` under a minute's step).
    """
    span = t1 - t0
    if cols <= 0 or span <= 0:
        return []
    fmt_len = 5
    step = STEPS[-1]
    for s in STEPS:
        n_len = 8 if s < 60 else 5
        if s / span * cols >= max(min_gap, n_len + 2):
            step, fmt_len = s, n_len
            break
    # Ticks on round *local* times (the offset is part of the cache key: TZ may change).
    return list(_ticks(t0, t1, cols, step, fmt_len, time.localtime(t1).tm_gmtoff))


@lru_cache(maxsize=64)
def _ticks(t0: float, t1: float, cols: int, step: int, fmt_len: int, offset: int) -> tuple[tuple[int, str], ...]:
    span = t1 - t0
    fmt = "%H:%M:%S" if fmt_len == 8 else "%H:%M"
    first = math.ceil((t0 + offset) / step) * step - offset
    out = []
    t = first
    while t <= t1:
        col = int((t - t0) / span * cols)
        if 0 <= col < cols:
            out.append((col, time.strftime(fmt, time.localtime(t))))
        t += step
    return tuple(out)


def tick_label_row(ticks: list[tuple[int, str]], cols: int, now_label: bool = True) -> str:
    """The labels under an axis, each centred on its tick, none overlapping; "now" at the right end."""
    row = [" "] * cols
    taken_until = -1
    for col, label in ticks:
        start = max(0, min(cols - len(label), col - len(label) // 2))
        if start <= taken_until:
            continue
        row[start: start + len(label)] = label
        taken_until = start + len(label)
    if now_label and cols >= 3 and all(c == " " for c in row[cols - 4:]):
        row[cols - 3:] = "now"
    return "".join(row)
