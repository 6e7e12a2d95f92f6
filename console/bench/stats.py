"""Summaries of one concurrency level, by ``sglang.bench_serving``'s definitions.

* request throughput = completed / duration; output throughput = output tokens / duration
* achieved concurrency = sum of E2E latencies / duration
* TPOT per request = (E2E − TTFT) / (output tokens − 1), requests with > 1 output token
* ITL: every content gap of every request, pooled
Percentiles interpolate linearly between order statistics (numpy's default), and
latencies are reported in milliseconds like bench_serving prints them.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter

from console.bench.runner import RequestRecord

PCTS = (50, 90, 99)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def distribution(values_s: list[float]) -> dict[str, float | int | None]:
    """mean/std/p50/p90/p99/min/max in ms, plus the sample count."""
    ms = [v * 1000.0 for v in values_s]
    out: dict[str, float | int | None] = {"n": len(ms)}
    out["mean"] = statistics.fmean(ms) if ms else None
    out["std"] = statistics.pstdev(ms) if len(ms) > 1 else (0.0 if ms else None)
    for p in PCTS:
        out[f"p{p}"] = percentile(ms, p)
    out["min"] = min(ms) if ms else None
    out["max"] = max(ms) if ms else None
    return out


def cost_per_million(output_tps: float | None, price_per_hour: float | None) -> float | None:
    """USD per million output tokens at the measured output throughput."""
    if not output_tps or price_per_hour is None or output_tps <= 0:
        return None
    return price_per_hour / (output_tps * 3600.0) * 1_000_000


def summarize(records: list[RequestRecord], duration_s: float, concurrency: int,
              price_per_hour: float | None = None) -> dict:
    ok = [r for r in records if r.ok]
    failed = [r for r in records if not r.ok]
    total_in = sum(r.input_tokens for r in ok)
    total_out = sum(r.output_tokens for r in ok)
    dur = duration_s if duration_s > 0 else float("nan")
    tpots = [
        (r.latency - r.ttft) / (r.output_tokens - 1)
        for r in ok
        if r.ttft is not None and r.latency is not None and r.output_tokens > 1
    ]
    output_tps = total_out / dur if ok else 0.0
    errors = Counter(r.error or "unknown" for r in failed)
    return {
        "concurrency": concurrency,
        "duration_s": duration_s,
        "requests": len(records),
        "completed": len(ok),
        "failed": len(failed),
        "failure_rate": len(failed) / len(records) if records else 0.0,
        "total_input_tokens": total_in,
        "total_output_tokens": total_out,
        "request_throughput": len(ok) / dur,
        "input_throughput": total_in / dur,
        "output_throughput": output_tps,
        "total_token_throughput": (total_in + total_out) / dur,
        "achieved_concurrency": sum(r.latency for r in ok if r.latency) / dur,
        "ttft_ms": distribution([r.ttft for r in ok if r.ttft is not None]),
        "ttft_any_ms": distribution([r.ttft_any for r in ok if r.ttft_any is not None]),
        "itl_ms": distribution([g for r in ok for g in r.itl]),
        "tpot_ms": distribution(tpots),
        "e2e_ms": distribution([r.latency for r in ok if r.latency is not None]),
        "cost_per_m_output_usd": cost_per_million(output_tps, price_per_hour),
        "errors": [{"error": e, "count": n} for e, n in errors.most_common(5)],
    }
