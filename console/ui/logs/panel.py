"""The Logs area's header: phase, capacity against the plan, live load, diagnoses — and how the
container ended, once it has (a stale "ready" over a dead server was the bug)."""

from __future__ import annotations

from rich.text import Text

from console.logs.events import Phase
from console.logs.follow import ContainerExit
from console.logs.stats import LogStats


def _fmt_int(v: int | None) -> str:
    return "—" if v is None else f"{v:,}"


def panel_text(st: LogStats, prediction: dict[str, int | float], exit: ContainerExit | None = None) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    phase = st.phase
    t.append("Phase ", style="dim")
    if exit is not None:
        t.append(exit.describe(), style="bold red" if exit.exit_code or exit.oom_killed else "bold")
        if phase is not None:
            t.append(f" after {phase.label}", style="dim")
    elif phase is None:
        t.append("—")
    else:
        style = "bold green" if phase is Phase.READY else "bold"
        if st.diagnoses and phase is not Phase.READY:
            style = "bold red"
        t.append(phase.label, style=style)
        if st.weight_progress and phase is Phase.LOADING_WEIGHTS:
            d, n = st.weight_progress
            t.append(f" {d}/{n} shards")
        at = st.phase_times.get(phase)
        if at:
            t.append(f" at {at[11:]}", style="dim")
    if st.http is not None:
        t.append("  HTTP ", style="dim")
        t.append(st.http.url)
    t.append("\n")
    cap = st.capacity
    kv = cap.max_total_num_tokens if cap else (st.kv_pool.tokens if st.kv_pool else None)
    t.append("KV ", style="dim")
    t.append(f"{_fmt_int(kv)} tok")
    pred = prediction.get("max_total_num_tokens")
    if pred:
        t.append(" plan ", style="dim")
        t.append(f"{int(pred):,}")
        if kv:
            diff = (kv - pred) / pred * 100
            t.append(f" ({diff:+.0f}%)", style="green" if diff >= -5 else "yellow")
    if cap is not None:
        t.append("  ctx ", style="dim")
        t.append(_fmt_int(cap.context_len))
        t.append("  max req ", style="dim")
        t.append(_fmt_int(cap.max_running_requests))
    if st.weights is not None and st.weights.mem_usage_gb is not None:
        t.append("  weights ", style="dim")
        t.append(f"{st.weights.mem_usage_gb:.1f} GB")
        if st.weights.elapsed_s is not None:
            t.append(f" in {st.weights.elapsed_s:.0f} s")
    t.append("\n")
    latest = st.latest
    t.append("gen ", style="dim")
    t.append("—" if st.throughput is None else f"{st.throughput:,.0f} tok/s")
    if latest is not None:
        usage = latest.token_usage
        t.append("  usage ", style="dim")
        t.append("—" if usage is None else f"{usage * 100:.0f}%")
        if latest.swa_token_usage is not None:
            t.append(f" (swa {latest.swa_token_usage * 100:.0f}%)")
        t.append("  running ", style="dim")
        t.append(_fmt_int(latest.running_req))
        t.append("  queued ", style="dim")
        t.append(_fmt_int(latest.queue_req))
    diagnoses = list(st.diagnoses)
    if exit is not None and exit.diagnosis is not None and all(d.code != exit.diagnosis.code for d in diagnoses):
        diagnoses.append(exit.diagnosis)
    for d in diagnoses[:2]:
        t.append("\n✖ ", style="bold red")
        t.append(d.title, style="bold red")
        t.append(" → ", style="dim")
        t.append(d.fix)
    if len(diagnoses) > 2:
        t.append(f"\n  +{len(diagnoses) - 2} more", style="red")
    return t
