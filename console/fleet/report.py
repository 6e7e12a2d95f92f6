"""The fleet in words and table cells: shared by ``gpt-oss-console fleet`` and the Fleet area."""

from __future__ import annotations

import textwrap
from typing import Any, NamedTuple

GiB = 1024**3


def plan_text(fp) -> str:
    planned = f" (planned for {fp.planned_for})" if fp.planned_for else ""
    rows = [f"{fp.model}: {fp.replicas} replica(s) on {sum(1 for h in fp.hosts if h.replicas)} host(s){planned}"]
    for h in fp.hosts:
        if h.replicas:
            idle = f", GPUs {','.join(map(str, h.idle))} idle" if h.idle else ""
            tokens = sorted({p.max_total_num_tokens for p in h.replica_plans})
            pool = f"{tokens[0]:,}" if len(tokens) == 1 else f"{tokens[0]:,}–{tokens[-1]:,}"
            context = min(p.max_context for p in h.replica_plans)
            rows.append(f"  {h.host:<12} {h.replicas} × TP={h.tp} on {h.gpu}{idle}: {pool} KV tokens "
                        f"and up to {context:,} tokens of context per replica")
        else:
            rows.append(f"  {h.host:<12} no worker: {h.problem}")
    if fp.replicas:
        ctx = fp.context
        rows.append(f"  fleet        {fp.kv_tokens_total:,} KV tokens in all; {fp.concurrency_at(ctx):,} concurrent "
                    f"request(s) at {ctx:,} tokens, {fp.concurrency_at(8192):,} at 8k")
    for n in fp.notes:
        rows += textwrap.wrap(n, 100, initial_indent="  note         ", subsequent_indent=" " * 15)
    for w in fp.workers:
        rows.append(f"  worker       {w.host}/{w.replica}: GPUs {','.join(map(str, w.gpus))}, port {w.port}")
    return "\n".join(rows)


def gpu_cell(hs) -> str:
    """``2× H100 80GB 3/160G``: count, card, memory used / total on the host."""
    if hs.gpus is None:
        return "-"
    inv = hs.gpus.inventory
    if not inv.gpus:
        return "no GPU"
    used = sum(s.memory_used or 0 for s in hs.gpus.samples)
    total = sum(g.memory_total or 0 for g in inv.gpus)
    names = sorted({g.name.replace("NVIDIA ", "") for g in inv.gpus})
    return f"{len(inv.gpus)}× {'/'.join(names)[:9].strip()} {used / GiB:.0f}/{total / GiB:.0f}G"


def num(v, fmt: str = "{:g}") -> str:
    return "-" if v is None else fmt.format(v)


def router_cell(ws) -> str:
    if ws.router is None:
        return "-"
    return "healthy" if ws.router.healthy else "UNHEALTHY"


def headline(st) -> str:
    r = st.router
    ws = st.workers
    ready = sum(w.phase == "ready" for w in ws)
    text = f"fleet {st.name} · "
    if r.running:
        text += f"router {r.url} ({r.kind})"
    else:
        text += "no router yet" if r.url is None else f"router DOWN at {r.url}"
    return text + f" · {ready}/{len(ws)} worker(s) ready · {st.throughput:.1f} tok/s"


def problems(st) -> list[str]:
    """The sentences behind the table's short cells: unreachable hosts, a router that does not answer."""
    out = [hs.error for hs in st.hosts if not hs.reachable and hs.error]
    if st.router.error and st.router.url is not None:
        out.append(st.router.error)
    return out


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class Row(NamedTuple):
    target: str | None  # the worker as ``fleet drain`` / ``logs`` name it (HOST/REPLICA); None: a host row
    cells: tuple[str, ...]


def rows(st, *, width: int | None = None) -> list[Row]:
    """One row per worker (a host without one: one row saying so); an unreachable host: its error
    (cut to ``width`` for a table; :func:`problems` has it whole)."""
    out: list[Row] = []
    for hs in st.hosts:
        name = hs.host.name
        if not hs.reachable:
            error = (hs.error or "").removeprefix(f"{name}: ")
            out.append(Row(None, (name, "unreachable", _short(error, width) if width else error, "", "", "", "", "")))
            continue
        if not hs.workers:
            out.append(Row(None, (name, gpu_cell(hs), "(no worker)", "", "", "", "", "")))
        for i, w in enumerate(hs.workers):
            target = f"{w.container.host}/{w.container.replica}"
            out.append(Row(target, (name if i == 0 else "", gpu_cell(hs) if i == 0 else "", target, w.phase,
                                    router_cell(w), num(w.running_reqs), num(w.requests_total),
                                    num(w.gen_throughput, "{:.1f}"))))
    return out


COLUMNS = ("HOST", "GPUS", "WORKER", "PHASE", "ROUTER", "RUN", "REQS", "TOK/S")


def router_line(st) -> str:
    m = st.router.metrics
    if m is None:
        return ""
    parts = [f"router: {num(m.requests_total)} request(s) routed"]
    for url, up in sorted(m.health.items()):
        active = m.active.get(url)
        parts.append(f"{url.split('//')[-1]} {'up' if up else 'DOWN'}" + (f" ({active:g} active)" if active else ""))
    return " · ".join(parts)


def status_text(st) -> str:
    widths = (10, 22, 12, 9, 9, 4, 6, 7)
    lines = [headline(st) + f" · {st.elapsed_s:.2f} s"]
    if not st.router.running and st.router.error:
        lines.append(f"router: {st.router.error}")
    lines.append(" ".join(c.ljust(w) if i < 5 else c.rjust(w) for i, (c, w) in enumerate(zip(COLUMNS, widths))))
    for row in (r.cells for r in rows(st)):
        if row[1] == "unreachable":
            lines.append(f"{row[0]:<10} unreachable: {row[2]}")
            continue
        lines.append(" ".join(c.ljust(w) if i < 5 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    extra = router_line(st)
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def up_text(d: dict[str, Any]) -> str:
    ready = [w for w in d["workers"] if w["action"] != "failed"]
    router = d["router"]["url"] if d.get("router") else "(no router)"
    out = [f"router {router} · {len(ready)}/{len(d['workers'])} worker(s) ready"]
    for w in d["workers"]:
        out.append(f"  {w['name']:<32} {w['action']:<9} {w['url']}" + (f"  {w['error']}" if w["error"] else ""))
    for host, err in d["host_errors"].items():
        out.append(f"  {host}: {err}")
    if ready:
        out.append(f"clients: {router}/v1 with the fleet's API key (gpt-oss-console fleet status)")
    return "\n".join(out)
