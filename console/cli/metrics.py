"""``gpt-oss-console metrics``: an engine's /metrics (SGLang, vLLM, llama.cpp) in plain words, once or
every few seconds."""

from __future__ import annotations

import sys
import time

from console.cli._endpoint import add_endpoint_arguments, endpoint_from_args
from console.cli.common import EXIT_OK, EXIT_USAGE, emit
from console.errors import ConsoleError

HELP = "serving metrics from /metrics: queue, KV usage, throughput, cache hits, TTFT/ITL/E2E quantiles"
ORDER = 55


def register(parser) -> None:
    add_endpoint_arguments(parser, model=False)  # /metrics itself is open; the key serves servers behind a proxy
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between scrapes (default 2)")
    parser.add_argument("--count", type=int, default=1,
                        help="views to print (default 1; 0 = until Ctrl-C). Rates need two scrapes, "
                             "so each view waits one interval")
    parser.add_argument("--engine", default=None, metavar="NAME",
                        help="the server's engine: sglang, vllm or llamacpp (default: told by its metric names)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON (one object per view)")
    parser.set_defaults(func=run)


def _ms(v) -> str:
    return "—" if v is None else f"{v * 1000:.0f}"


def format_view(d: dict) -> str:
    g, r = d["gauges"], d["rates"]

    def pct(k):
        return "—" if g.get(k) is None else f"{g[k]:.0%}"

    lines = [
        (f"{d['engine']}  " if d.get("engine") else "")
        + f"models {', '.join(d['models']) or '?'}  tp ranks {len(d['tp_ranks'])}  replicas {d['replicas']}",
        f"requests running {g.get('running', 0):.0f}  queued {g.get('queued', 0):.0f}   "
        f"KV usage {pct('token_usage')}  SWA usage {pct('swa_token_usage')}  "
        f"cache hit {pct('cache_hit_rate')}  server-reported gen {g.get('gen_throughput', 0):.1f} tok/s",
    ]
    ranks = d["per_rank"].get("token_usage") or {}
    if len(ranks) > 1:  # TP ranks should agree; a rank apart from the others is worth seeing
        lines.append("KV usage per tp rank: " + "  ".join(f"{r}:{v:.0%}" for r, v in ranks.items()))
    if d["interval_s"]:
        lines.append(
            f"measured over the last {d['interval_s']:.1f} s: prompt {r.get('prompt_tokens', 0):.1f} tok/s  "
            f"generation {r.get('generation_tokens', 0):.1f} tok/s  cached {r.get('cached_tokens', 0):.1f} tok/s  "
            f"requests {r.get('requests', 0):.2f}/s"
        )
    c = d["counters"]
    lines.append(
        f"totals: prompt {c.get('prompt_tokens', 0):.0f}  generation {c.get('generation_tokens', 0):.0f}  "
        f"cached {c.get('cached_tokens', 0):.0f}  requests {c.get('requests', 0):.0f}  aborted {c.get('aborted', 0):.0f}"
    )
    for name, label in (("ttft", "TTFT"), ("itl", "ITL"), ("e2e", "E2E")):
        lat = d["latency"].get(name)
        if not lat:
            continue
        t = lat["total"]
        text = f"{label:4} ms p50/p90/p99 {_ms(t['p50'])}/{_ms(t['p90'])}/{_ms(t['p99'])} (n={t['count']:.0f})"
        iv = lat.get("interval")
        if iv and iv["count"]:
            text += f"   last interval {_ms(iv['p50'])}/{_ms(iv['p90'])}/{_ms(iv['p99'])} (n={iv['count']:.0f})"
        lines.append(text)
    return "\n".join(lines)


def run(args) -> int:
    from console.server.metrics import Scraper

    if not 0 < args.interval < float("inf") or args.count < 0:  # nan fails too
        raise ConsoleError("--interval must be > 0 and --count ≥ 0", exit_code=EXIT_USAGE)
    shown = 0
    from console import engines

    endpoint = endpoint_from_args(args)
    named = engines.get(args.engine) if args.engine else None
    found: list = []

    def identify(text: str):
        found.append(engines.by_metrics(text))
        return found[0].metric_names

    with Scraper(endpoint.base_url, api_key=endpoint.api_key, names=named.metric_names if named else None,
                 identify=identify) as scraper:
        scraper.scrape()  # the baseline for rates
        engine = named or found[0]
        while args.count == 0 or shown < args.count:
            time.sleep(args.interval)
            view = scraper.scrape().to_dict() | {"engine": engine.name}
            emit(view, args.json, format_view)
            shown += 1
            if not args.json and (args.count == 0 or shown < args.count):
                print(file=sys.stdout)
    return EXIT_OK
