"""``gpt-oss-console bench``: latency/throughput the way sglang.bench_serving measures it."""

from __future__ import annotations

import json
import os
import sys

from console.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, emit
from console.errors import ConsoleError

HELP = "benchmark a running server: TTFT, ITL, TPOT, throughput per concurrency, cost, tool-call load"
ORDER = 60

DEFAULT_URL = "http://127.0.0.1:8000"


def _int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise ConsoleError(f"--concurrency wants numbers like 1,4,16,64, not {text!r}", exit_code=EXIT_USAGE) from None
    if not values or any(v < 1 for v in values):
        raise ConsoleError("--concurrency values must be ≥ 1", exit_code=EXIT_USAGE)
    return values


def register(parser) -> None:
    parser.add_argument("--base-url", default=os.environ.get("GPT_OSS_CONSOLE_BASE_URL", DEFAULT_URL),
                        help=f"server root or /v1 URL (default {DEFAULT_URL}, env GPT_OSS_CONSOLE_BASE_URL)")
    parser.add_argument("--api-key", default=os.environ.get("GPT_OSS_CONSOLE_API_KEY"),
                        help="bearer key if the server has --api-key (env GPT_OSS_CONSOLE_API_KEY)")
    parser.add_argument("--model", help="model id (default: the first one the server lists)")
    parser.add_argument("--concurrency", default="1,4,16,64", help="levels to run, comma-separated (default 1,4,16,64)")
    parser.add_argument("--input-len", type=int, default=1024, help="prompt tokens (random prompts; default 1024)")
    parser.add_argument("--output-len", type=int, default=1024, help="max output tokens (default 1024)")
    parser.add_argument("--requests", type=int, help="requests per level (default 4 × concurrency, at least 16)")
    parser.add_argument("--dataset", help="JSONL prompts: {prompt|messages|conversations, output_len?} per line")
    parser.add_argument("--seed", type=int, default=0, help="seed for random prompts (default 0)")
    parser.add_argument("--price-per-hour", type=float, metavar="USD", help="hourly price of the box → $/M output tokens")
    parser.add_argument("--gpu", help="GPU to compare with (default: detected through NVML), e.g. H100, H200")
    parser.add_argument("--no-ignore-eos", action="store_true", help="let the model stop early (default: ignore_eos)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="client processes per level (default: one per 16 streams, at most half the CPUs) — "
                             "one Python process cannot timestamp thousands of chunks/s on time")
    parser.add_argument("--tool-load", type=int, metavar="N",
                        help="instead of the latency bench: run tool-call rounds N at a time, report the failure rate")
    parser.add_argument("--tool-rounds", type=int, metavar="M", help="tool rounds in all (default 4 × N)")
    parser.add_argument("--max-failure-rate", type=float, default=0.0, metavar="FRACTION",
                        help="exit 1 when more than this fraction of requests fail (default 0)")
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE",
                        help="write the result as JSON to FILE (no FILE: print JSON instead of the table)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)


def _progress_printer(quiet: bool):
    from console.bench.run import LevelDone, LevelStarted

    if quiet:
        return None
    tty = sys.stderr.isatty()

    def on_event(ev) -> None:
        if isinstance(ev, LevelStarted):
            print(f"concurrency {ev.concurrency}: {ev.requests} requests", file=sys.stderr, flush=True)
        elif isinstance(ev, LevelDone):
            if tty:
                print(file=sys.stderr)
        elif tty:  # Progress
            print(f"\r  {ev.done}/{ev.total} done, {ev.failed} failed, {ev.output_tokens} tokens, "
                  f"{ev.elapsed_s:.1f} s", end="", file=sys.stderr, flush=True)

    return on_event


def _write_json(path: str, data: dict) -> None:
    # results can name the server; keep them private to the user like other console files
    from console.private_file import write_private

    write_private(path, json.dumps(data, indent=2) + "\n")


def _output(json_arg: str | None, data: dict, fmt) -> None:
    """--json alone: JSON on stdout; --json FILE: the text, and the JSON saved privately; else the text."""
    emit(data, json_arg == "-", fmt)
    if json_arg and json_arg != "-":
        _write_json(json_arg, data)
        print(f"saved {json_arg}")


def run(args) -> int:
    if args.input_len < 1 or args.output_len < 1 or (args.requests is not None and args.requests < 1):
        raise ConsoleError("--input-len, --output-len and --requests must be ≥ 1", exit_code=EXIT_USAGE)
    if args.tool_load is not None:
        return _run_tool_load(args)

    from console.bench.report import format_result
    from console.bench.run import BenchConfig, run_bench
    from console.bench.schema import validate

    cfg = BenchConfig(
        base_url=args.base_url, api_key=args.api_key, model=args.model,
        concurrency=_int_list(args.concurrency), input_len=args.input_len, output_len=args.output_len,
        requests=args.requests, dataset=args.dataset, seed=args.seed, price_per_hour=args.price_per_hour,
        gpu=args.gpu, ignore_eos=not args.no_ignore_eos, workers=args.workers,
    )
    if args.workers is not None and args.workers < 1:
        raise ConsoleError("--workers must be ≥ 1", exit_code=EXIT_USAGE)
    result = run_bench(cfg, _progress_printer(args.quiet))
    validate(result)
    _output(args.json, result, format_result)
    worst = max((lv["failure_rate"] for lv in result["levels"]), default=0.0)
    return EXIT_FAILED if worst > args.max_failure_rate else EXIT_OK


def _run_tool_load(args) -> int:
    import asyncio

    from console.bench.report import format_tool_load
    from console.bench.run import resolve_model
    from console.bench.toolload import run_tool_load
    from console.server.client import root_url

    if args.tool_load < 1:
        raise ConsoleError("--tool-load wants a concurrency ≥ 1", exit_code=EXIT_USAGE)
    base = root_url(args.base_url)
    served = resolve_model(base, args.api_key)  # also: an unreachable server exits 3 here, not as N failures
    model = args.model or served
    res = asyncio.run(run_tool_load(base, model, args.tool_load, args.tool_rounds, args.api_key))
    data = {"model": model, "base_url": base, **res.to_dict()}
    _output(args.json, data, format_tool_load)
    return EXIT_FAILED if res.failure_rate > args.max_failure_rate else EXIT_OK
