"""Which series make which chart: one per GPU, and the serving metrics by kind.

GPU charts put memory, utilisation, power and temperature on one 0–100 scale
(memory as % of the card, power as % of its limit, temperature in °C), so eight
GPUs are eight small charts rather than thirty-two; the legend says each value in
its own unit.
"""

from __future__ import annotations

from typing import Iterable

from console.charts.chart import ChartSpec, Trace
from console.timeline.timeline import Timeline

GPU_TRACES = (("vram_pct", "VRAM", "green", "M"), ("util", "util", "cyan", "U"),
              ("power_pct", "power", "magenta", "P"), ("temp", "temp", "yellow", "T"))


def gpu_indices(tl: Timeline) -> list[int]:
    return sorted({int(n[3:].split(".")[0]) for n in tl.names() if n.startswith("gpu") and n[3:4].isdigit()})


def gpu_chart(index: int, title: str | None = None) -> ChartSpec:
    return ChartSpec(
        title or f"GPU {index}",
        tuple(Trace(f"gpu{index}.{key}", label, style, short) for key, label, style, short in GPU_TRACES),
        unit="%", hi=100.0,
        legend_units={f"gpu{index}.vram_pct": "%", f"gpu{index}.power_pct": "%", f"gpu{index}.temp": "°C"},
    )


def gpu_charts(tl: Timeline, names: dict[int, str] | None = None) -> list[ChartSpec]:
    """One chart per GPU on the timeline (``names``: unused here; the GPU table names the cards)."""
    return [gpu_chart(i) for i in gpu_indices(tl)]


SERVER_CHARTS = (
    ChartSpec("Requests", (Trace("srv.running", "running", "green"), Trace("srv.queued", "queued", "red")),
              unit="req", hi_floor=1.0),
    ChartSpec("KV cache", (Trace("srv.kv", "KV usage", "cyan"), Trace("srv.swa", "SWA usage", "blue"),
                           Trace("srv.cache_hit", "cache hit", "magenta")), unit="%", hi=100.0),
    # "out" and "prompt" are the console's rates from the counters; "gen (server)" is SGLang's own gauge.
    ChartSpec("Throughput tok/s", (Trace("srv.out_tps", "out", "green"),
                                   Trace("srv.gen_tps", "gen (server)", "yellow"),
                                   Trace("srv.prompt_tps", "prompt", "cyan")),
              unit="tok/s", hi_floor=10.0),
    ChartSpec("TTFT", (Trace("srv.ttft_p50", "p50", "green"), Trace("srv.ttft_p90", "p90", "yellow"),
                       Trace("srv.ttft_p99", "p99", "red")), unit="ms", hi_floor=10.0),
    ChartSpec("ITL", (Trace("srv.itl_p50", "p50", "green"), Trace("srv.itl_p90", "p90", "yellow"),
                      Trace("srv.itl_p99", "p99", "red")), unit="ms", hi_floor=1.0),
)


def server_charts(tl: Timeline) -> list[ChartSpec]:
    """The serving charts that have any data."""
    have = set(tl.names())
    return [c for c in SERVER_CHARTS if any(t.name in have for t in c.traces)]


def gpu_vram_util_charts(tl: Timeline) -> list[ChartSpec]:
    """The Metrics area's GPU rows: VRAM and utilisation per GPU, beside the serving charts."""
    return [ChartSpec(f"GPU {i}", (Trace(f"gpu{i}.vram_pct", "VRAM", "green", "M"),
                                   Trace(f"gpu{i}.util", "util", "cyan", "U")),
                      unit="%", hi=100.0) for i in gpu_indices(tl)]


def all_names(specs: Iterable[ChartSpec]) -> set[str]:
    return {t.name for s in specs for t in s.traces}
