"""A whole benchmark: every concurrency level in turn, summaries, published figures, JSON result.

``run_bench`` is blocking (it runs its own asyncio loop), so the CLI calls it
directly and the TUI from a thread worker; progress comes through ``on_event``.
"""

from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import dataclass, field
from typing import Callable

from console.bench import reference
from console.bench.processes import auto_workers, run_level_processes
from console.bench.prompts import load_dataset, random_prompts
from console.bench.runner import Progress, run_level, run_timed
from console.bench.schema import SCHEMA_ID
from console.bench.stats import summarize
from console.exit_codes import EXIT_FAILED, EXIT_UNAVAILABLE
from console.errors import ConsoleError
from console.secret import Secret


@dataclass
class BenchConfig:
    base_url: str
    api_key: Secret | str | None = None  # revealed only in HTTP headers and the workers' stdin
    model: str | None = None  # None: the first model the server lists
    concurrency: list[int] = field(default_factory=lambda: [1, 4, 16, 64])
    input_len: int = 1024
    output_len: int = 1024
    requests: int | None = None  # per level; None: max(4 × concurrency, 16)
    dataset: str | None = None
    seed: int = 0
    price_per_hour: float | None = None
    gpu: str | None = None  # None: detect through NVML
    ignore_eos: bool = True
    warmup: int = 1  # short requests before the first level, not counted (bench_serving does one)
    workers: int | None = None  # client processes per level; None: one per 16 streams, ≤ half the CPUs

    def requests_for(self, concurrency: int) -> int:
        return self.requests or max(4 * concurrency, 16)


@dataclass(frozen=True)
class LevelStarted:
    concurrency: int
    requests: int


@dataclass(frozen=True)
class LevelDone:
    summary: dict
    records: list = field(default_factory=list, repr=False, compare=False)  # RequestRecords, prompt order


BenchEvent = LevelStarted | Progress | LevelDone


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def resolve_model(base_url: str, api_key: str | None) -> str:
    from console.server.client import ServerClient

    with ServerClient(base_url, api_key) as client:
        ids = client.model_ids()
    if not ids:
        raise ConsoleError(f"{base_url} lists no models", "pass --model", exit_code=EXIT_UNAVAILABLE)
    return ids[0]


def _server_snapshot(base_url: str, api_key=None):
    """The server's /metrics now, in its engine's names (told by the page), or None (metrics off
    or unreachable: the bench goes on)."""
    from console import engines
    from console.server.metrics import Scraper, parse

    try:
        with Scraper(base_url, timeout=5.0, api_key=api_key) as scraper:  # llama.cpp's /metrics wants the key
            text = scraper.fetch()
        return parse(text, names=engines.by_metrics(text).metric_names)
    except Exception:  # a missing /metrics must never fail a benchmark
        return None


def _server_view(before, after) -> dict | None:
    """What the server itself saw during the level (SGLang's histograms over the interval),
    to set beside the client's numbers: the difference is network, queueing and the client."""
    if before is None or after is None:
        return None
    from console.server.metrics import view

    v = view(after, before)

    def p50_ms(name: str):
        lat = v.latency.get(name, {}).get("interval")
        return lat["p50"] * 1000 if lat and lat.get("count") and lat.get("p50") is not None else None

    def delta(name: str):
        a, b = before.counters.get(name), after.counters.get(name)
        return b - a if a is not None and b is not None and b >= a else None

    return {
        "ttft_p50_ms": p50_ms("ttft"),
        "itl_p50_ms": p50_ms("itl"),
        "e2e_p50_ms": p50_ms("e2e"),
        "requests": delta("requests"),
        "prompt_tokens": delta("prompt_tokens"),
        "generation_tokens": delta("generation_tokens"),
        "cached_tokens": delta("cached_tokens"),
        "cache_hit_rate": after.gauges.get("cache_hit_rate"),
    }


async def warm_up(base_url: str, model: str, api_key: str | None, n: int = 1) -> None:
    """Short requests first (a cold server's first answer can include compilation and cache
    set-up), and a clear answer when every request of the run would fail the same way."""
    from console.bench.http1 import StreamClient
    from console.bench.prompts import random_prompts
    from console.bench.runner import chat_path, request_body, stream_chat

    async with StreamClient(base_url, timeout=300.0, connect_timeout=10.0) as client:
        for prompt in random_prompts(n, 16, seed=-1):
            rec = await stream_chat(client, chat_path(base_url), request_body(prompt, model, 8), api_key)
            if rec.ok:
                continue
            err = rec.error or "no answer"
            if err.startswith(("ConnectError", "ConnectTimeout")):
                raise ConsoleError(f"no server at {base_url}: {err}", "is it running / is the port published?",
                                   exit_code=EXIT_UNAVAILABLE)
            if err.startswith("HTTP 401"):
                raise ConsoleError("the server wants an API key" if not api_key else "the server rejected the API key",
                                   "pass --api-key (or set GPT_OSS_CONSOLE_API_KEY)", exit_code=EXIT_UNAVAILABLE)
            raise ConsoleError(f"the warm-up request failed: {err}",
                               f"check --model ({model}) and the server's logs", exit_code=EXIT_FAILED)


def run_bench(cfg: BenchConfig, on_event: Callable[[BenchEvent], None] | None = None,
              cancel: threading.Event | None = None) -> dict:
    """Run the benchmark and return the result dict (matching ``schema.RESULT_SCHEMA``).

    Setting ``cancel`` stops it within a fraction of a second, every stream closed
    (``console.cancel.Cancelled`` is raised): the TUI's Esc and quit do."""
    from console.cancel import raise_if_set
    from console.server.client import root_url

    emit = on_event or (lambda e: None)
    base = root_url(cfg.base_url)
    model = cfg.model or resolve_model(base, cfg.api_key)
    gpu = cfg.gpu or reference.detect_gpu()
    figures = reference.figures_for(model, gpu)
    started = _now()
    if cfg.warmup > 0:
        run_timed(warm_up(base, model, cfg.api_key, cfg.warmup), cancel)
    levels = []
    for conc in cfg.concurrency:
        raise_if_set(cancel)
        n = cfg.requests_for(conc)
        # a fresh seed per level: no level re-sends prompts an earlier one put in the prefix cache
        seed = cfg.seed + 1000 * conc
        prompts = load_dataset(cfg.dataset, n, seed) if cfg.dataset else random_prompts(n, cfg.input_len, seed)
        emit(LevelStarted(conc, n))
        before = _server_snapshot(base, cfg.api_key)
        workers = cfg.workers or auto_workers(conc)
        if workers > 1:
            records, duration = run_level_processes(base, model, prompts, conc, cfg.output_len, workers,
                                                    cfg.api_key, cfg.ignore_eos, emit, cancel)
        else:
            records, duration = run_timed(
                run_level(base, model, prompts, conc, cfg.output_len, cfg.api_key, cfg.ignore_eos, emit), cancel
            )
        summary = summarize(records, duration, conc, cfg.price_per_hour)
        summary["server"] = _server_view(before, _server_snapshot(base, cfg.api_key))
        summary["client_processes"] = workers
        ref = reference.closest(figures, conc)
        summary["published"] = ref.to_dict() if ref else None
        levels.append(summary)
        emit(LevelDone(summary, records))
        if summary["completed"] == 0 and all(e["error"].startswith("ConnectError") for e in summary["errors"]):
            raise ConsoleError(f"no server at {base}: every request failed to connect",
                               "is it running / is the port published?", exit_code=EXIT_UNAVAILABLE)
    return {
        "schema": SCHEMA_ID,
        "started_at": started,
        "finished_at": _now(),
        "base_url": base,
        "model": model,
        "gpu": gpu,
        "config": {
            "concurrency": list(cfg.concurrency),
            "input_len": cfg.input_len,
            "output_len": cfg.output_len,
            "requests": cfg.requests,  # None: 4 × concurrency (at least 16) per level
            "seed": cfg.seed,
            "dataset": cfg.dataset,
            "price_per_hour": cfg.price_per_hour,
        },
        "levels": levels,
        "reference": [f.to_dict() for f in figures],
        "tool_load": None,
    }
