"""Chart redraw cost: 8 GPUs × 4 series over a 1 h window, the console's renderer vs plotext.

The data: an hour of 1 s samples for 8 GPUs (VRAM, utilisation, power, temperature),
in the console's ``Timeline``. A frame is what the GPUs area does each second: one
new sample per series, then every chart redrawn for a 1 h window into styled rows, and
those rows turned into Textual strips (``console.ui.chart_view.to_strips``).

- ``RATE chart_redraw_ms <ms> goal <= 5``: the median frame at 160×44 (8 charts, two
  columns); also printed at 80×20 and 240×60, and a cold frame (a new window or size).
- ``RATIO chart_vs_plotext <x> goal <= 0.1``: the same frame drawn by plotext (the
  library behind textual-plotext: 8 subplots, 4 braille lines each, the hour already
  reduced to one point per braille column so plotext is not charged for our job)
  against ours, measured in the same run. plotext 5.x took 200–800 ms a frame here,
  which is why the console draws its own.

    python tests/perf/bench_charts.py [--frames N]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.charts.chart import Grid  # noqa: E402
from console.charts.layouts import gpu_charts  # noqa: E402
from console.timeline import Timeline  # noqa: E402

NOW = 1_764_000_000.0
KEYS = ("vram_pct", "util", "power_pct", "temp")


def value(g: int, k: int, i: int) -> float:
    return 50 + 40 * math.sin(i / 300 + g + k) + 5 * math.sin(i / 7 + k)


def filled(clock: list[float]) -> Timeline:
    tl = Timeline(clock=lambda: clock[0])
    for i in range(3600):
        for g in range(8):
            for k, key in enumerate(KEYS):
                tl.add(f"gpu{g}.{key}", NOW - 3600 + i, value(g, k, i))
    return tl


def frames(size: tuple[int, int], n: int) -> tuple[float, list[float]]:
    from console.ui.chart_view import to_strips

    clock = [NOW]
    tl = filled(clock)
    specs = gpu_charts(tl)
    t = time.perf_counter()
    to_strips(Grid().render(tl, specs, NOW - 3600, NOW, *size))
    cold = (time.perf_counter() - t) * 1000
    grid = Grid()
    grid.render(tl, specs, NOW - 3600, NOW, *size)
    out = []
    for j in range(n):
        clock[0] += 1
        for g in range(8):
            for k, key in enumerate(KEYS):
                tl.add(f"gpu{g}.{key}", clock[0], value(g, k, 3600 + j))
        t = time.perf_counter()
        to_strips(grid.render(tl, specs, clock[0] - 3600, clock[0], *size))
        out.append((time.perf_counter() - t) * 1000)
    return cold, out


def plotext_frame(size: tuple[int, int]) -> float | None:
    try:
        import plotext as plt
    except ImportError:
        return None
    if not hasattr(plt, "subplots"):
        return None  # plotext 6 changed its API; textual-plotext needs 5.x
    w, h = size
    cols = w  # two braille dots per cell across, two columns of charts
    xs = list(range(cols))
    data = [[[max(value(g, k, i) for i in range(int(c * 3600 / cols), int((c + 1) * 3600 / cols)))
              for c in range(cols)] for k in range(4)] for g in range(8)]
    t = time.perf_counter()
    plt.clf()
    plt.subplots(4, 2)
    plt.plotsize(w, h)
    for g in range(8):
        plt.subplot(g % 4 + 1, g // 4 + 1)
        for k in range(4):
            plt.plot(xs, data[g][k], marker="braille")
    plt.build()
    return (time.perf_counter() - t) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=120)
    args = ap.parse_args()
    results = {}
    for size in ((80, 20), (160, 44), (240, 60)):
        cold, warm = frames(size, args.frames)
        results[size] = statistics.median(warm)
        print(f"{size[0]}×{size[1]}: frame median {results[size]:.2f} ms, p90 "
              f"{sorted(warm)[int(len(warm) * 0.9)]:.2f} ms, cold (new window/size) {cold:.1f} ms")
    ours = results[(160, 44)]
    theirs = [x for x in (plotext_frame((160, 44)) for _ in range(3)) if x is not None]
    print(f"RATE chart_redraw_ms {ours:.2f} goal <= 5")
    if theirs:
        p = statistics.median(theirs)
        print(f"plotext, the same frame at 160×44: {p:.0f} ms")
        print(f"RATIO chart_vs_plotext {ours / p:.4f} goal <= 0.1")
    else:
        print("plotext 5.x is not installed (pip install '.[test]'): no comparison")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
