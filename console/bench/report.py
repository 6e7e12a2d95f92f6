"""Bench results as text: the table the CLI prints and the TUI shows."""

from __future__ import annotations

from console.bench.reference import SEED, lengths_note, missing_reason


def _f(v, fmt: str = "{:.1f}", none: str = "—") -> str:
    return none if v is None else fmt.format(v)


def _dist(d: dict, keys=("p50", "p90", "p99"), fmt="{:.1f}") -> str:
    return "/".join(_f(d.get(k), fmt) for k in keys)


def _e2e_s(lv: dict) -> str:
    p50 = lv["e2e_ms"]["p50"]
    return _f(p50 and p50 / 1000, "{:.2f}")


def _any(lv: dict) -> str:
    return _f(lv["ttft_any_ms"]["p50"], "{:.0f}")


def _cost(lv: dict) -> str:
    return _f(lv["cost_per_m_output_usd"], "{:.2f}")


# Both tables as (title, width, cell): every cell right-aligned, one space apart.
_FULL = (
    ("conc", 4, lambda lv: str(lv["concurrency"])),
    ("ok", 5, lambda lv: str(lv["completed"])),
    ("fail", 4, lambda lv: str(lv["failed"])),
    ("out tok/s", 9, lambda lv: f"{lv['output_throughput']:.1f}"),
    ("req/s", 6, lambda lv: f"{lv['request_throughput']:.2f}"),
    ("TTFT ms p50/90/99", 20, lambda lv: _dist(lv["ttft_ms"], fmt="{:.0f}")),
    ("any", 6, _any),
    ("ITL ms p50/99", 14, lambda lv: _dist(lv["itl_ms"], ("p50", "p99"))),
    ("TPOT", 6, lambda lv: _f(lv["tpot_ms"]["p50"])),
    ("E2E s", 6, _e2e_s),
    ("c~", 5, lambda lv: f"{lv['achieved_concurrency']:.1f}"),
    ("$/M out", 7, _cost),
)
# One level in 78 columns (the TUI at 80×24).
_COMPACT = (
    ("conc", 4, lambda lv: str(lv["concurrency"])),
    ("ok/fail", 8, lambda lv: f"{lv['completed']}/{lv['failed']}"),
    ("out tok/s", 9, lambda lv: f"{lv['output_throughput']:.1f}"),
    ("TTFT p50/p99", 13, lambda lv: _dist(lv["ttft_ms"], ("p50", "p99"), "{:.0f}")),
    ("any", 5, _any),
    ("ITL p50", 7, lambda lv: _f(lv["itl_ms"]["p50"])),
    ("TPOT", 5, lambda lv: _f(lv["tpot_ms"]["p50"])),
    ("E2E s", 6, _e2e_s),
    ("$/M", 6, _cost),
)


def _header(cols) -> str:
    return " ".join(f"{title:>{width}}" for title, width, _ in cols)


def _row(cols, lv: dict) -> str:
    return " ".join(f"{cell(lv):>{width}}" for _, width, cell in cols)


HEADER = _header(_FULL)
COMPACT_HEADER = _header(_COMPACT)


def level_row(lv: dict) -> str:
    return _row(_FULL, lv)


def compact_row(lv: dict) -> str:
    """One level in 78 columns (the TUI at 80×24)."""
    return _row(_COMPACT, lv)


def _claimed(fig: dict, fmt: str) -> str:
    rng = fig.get("output_throughput_range")
    return f"{rng[0]:.0f}–{rng[1]:.0f}" if rng else fmt.format(fig["output_throughput"])


def _ratio(lv: dict | None, fig: dict) -> float | None:
    """Measured over published throughput, where both exist."""
    return lv["output_throughput"] / fig["output_throughput"] if lv and fig.get("output_throughput") else None


def reference_lines(result: dict) -> list[str]:
    """The published figures and the seed's claim, each beside what was measured."""
    lines = []
    by_conc = {lv["concurrency"]: lv for lv in result["levels"]}
    for fig in result["reference"]:
        lv = by_conc.get(fig["concurrency"])
        measured = f"measured {lv['output_throughput']:.1f} tok/s" if lv else "not measured at this concurrency"
        if _ratio(lv, fig) is not None:
            measured += f" ({_ratio(lv, fig):.2f}×)"
            note = lengths_note(fig, result["config"])
            if note:
                measured += f" [{note}]"
        claimed = _claimed(fig, "{:.1f}")
        extra = []
        if fig.get("ttft_ms") is not None:
            extra.append(f"TTFT {fig['ttft_ms']:.0f} ms")
        if fig.get("itl_ms") is not None:
            extra.append(f"ITL {fig['itl_ms']:.2f} ms")
        kind = "claim" if fig["source"] == SEED else "published"
        lines.append(
            f"  {kind:9} c={fig['concurrency']:<2} {claimed:>9} tok/s {', '.join(extra):24} "
            f"{fig['model']} on {'/'.join(fig['gpus'])} — {fig['source']}; {measured}"
        )
    return lines


def format_result(result: dict) -> str:
    cfg = result["config"]
    src = f"dataset {cfg['dataset']}" if cfg["dataset"] else f"random prompts in≈{cfg['input_len']}"
    out = [
        f"bench: {result['model']} at {result['base_url']}  GPU: {result['gpu'] or 'not detected'}",
        f"  {src} out={cfg['output_len']} (seed {cfg['seed']}); TTFT to first content, 'any' = first token of any kind",
        HEADER,
    ]
    out += [level_row(lv) for lv in result["levels"]]
    for lv in result["levels"]:
        for err in lv["errors"]:
            out.append(f"  c={lv['concurrency']}: {err['count']}× {err['error']}")
    out += server_lines(result)
    if result["reference"]:
        out.append("reference figures for this GPU and model (published or claimed; yours are the measured ones):")
        out += reference_lines(result)
    else:
        out.append(missing_reason(result["model"], result["gpu"]))
    tl = result.get("tool_load")
    if tl:
        out.append(format_tool_load(tl))
    return "\n".join(out)


def format_tool_load(tl: dict) -> str:
    line = (f"tool-call load: {tl['rounds']} rounds at concurrency {tl['concurrency']}: "
            f"{tl['failed']} failed ({tl['failure_rate']:.1%})")
    for check, c in (tl.get("by_check") or {}).items():
        line += f"\n  {check:20} {c['failed']}/{c['rounds']} failed"
    for name, n in tl["failures"].items():
        line += f"\n  {n}× {name} — e.g. {tl['examples'].get(name, '')[:160]}"
    return line


def compact_reference(result: dict) -> list[str]:
    """Published figures and the seed's claim, one short line each, with measured/expected."""
    lines, unlike = [], False
    by_conc = {lv["concurrency"]: lv for lv in result["levels"]}
    for fig in result["reference"]:
        claimed = _claimed(fig, "{:.0f}")
        lv = by_conc.get(fig["concurrency"])
        ratio = _f(_ratio(lv, fig), "{:.2f}×")
        if _ratio(lv, fig) is not None and lengths_note(fig, result["config"]):
            ratio, unlike = ratio + "*", True
        who = "seed claim" if fig["source"] == SEED else fig["source"].split(",")[0].split(" (")[0]
        lines.append(f"  c={fig['concurrency']:<2} {claimed:>9} tok/s  you {ratio:>7}  "
                     f"{fig['model'].replace('gpt-oss-', '')} {who}"[:78])
    if unlike:
        lines.append("  * lengths differ from the figure's (or were not published): not like for like")
    return lines


def server_lines(result: dict) -> list[str]:
    """The server's own /metrics over each level beside the client's medians."""
    rows = [lv for lv in result["levels"] if lv.get("server")]
    if not rows:
        return ["server /metrics: not available (server without --enable-metrics?)"] if result["levels"] else []
    out = ["server's own /metrics over each level (p50; client − server = network + client):"]
    for lv in rows:
        sv = lv["server"]
        hit = sv.get("cache_hit_rate")
        out.append(
            f"  c={lv['concurrency']:<3} TTFT {_f(sv['ttft_p50_ms'], '{:.0f}')} ms (client {_f(lv['ttft_ms']['p50'], '{:.0f}')})"
            f"  ITL {_f(sv['itl_p50_ms'])} ms (client {_f(lv['itl_ms']['p50'])})"
            f"  E2E {_f(sv['e2e_p50_ms'] and sv['e2e_p50_ms'] / 1000, '{:.2f}')} s"
            f"  reqs {_f(sv['requests'], '{:.0f}')}  cache hit {_f(hit and hit * 100, '{:.0f}')}%"
        )
    return out
