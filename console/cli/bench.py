"""``gpt-oss-console bench``: latency/throughput the way sglang.bench_serving measures it."""

from __future__ import annotations

import json
import sys

from console.bench.options import add_arguments, read_args
from console.cli._endpoint import add_endpoint_arguments, endpoint_from_args
from console.cli.common import EXIT_FAILED, EXIT_OK, emit

HELP = "benchmark a running server: TTFT, ITL, TPOT, throughput per concurrency, cost, tool-call load"
ORDER = 60


def register(parser) -> None:
    add_endpoint_arguments(parser, model=False)  # --model is a bench option (below)
    add_arguments(parser)  # the bench options, shared with the TUI bench screen (console/bench/options.py)
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

    from console.settings.mask import scrub_obj

    write_private(path, json.dumps(scrub_obj(data), indent=2) + "\n")


def _output(json_arg: str | None, data: dict, fmt) -> None:
    """--json alone: JSON on stdout; --json FILE: the text, and the JSON saved privately; else the text."""
    emit(data, json_arg == "-", fmt)
    if json_arg and json_arg != "-":
        _write_json(json_arg, data)
        print(f"saved {json_arg}")


def run(args) -> int:
    read_args(args)  # every bench option read and checked, with the TUI's messages (exit 2)
    endpoint = endpoint_from_args(args)
    args.base_url, args.api_key, args.model = endpoint.base_url, endpoint.api_key, endpoint.model
    if args.tool_load is not None:
        return _run_tool_load(args)

    from console.bench.report import format_result
    from console.bench.run import BenchConfig, run_bench
    from console.bench.schema import validate

    cfg = BenchConfig(
        base_url=args.base_url, api_key=args.api_key, model=args.model,
        concurrency=args.concurrency, input_len=args.input_len, output_len=args.output_len,
        requests=args.requests, dataset=args.dataset, seed=args.seed, price_per_hour=args.price_per_hour,
        gpu=args.gpu, ignore_eos=not args.no_ignore_eos, workers=args.workers,
    )
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

    base = root_url(args.base_url)
    served = resolve_model(base, args.api_key)  # also: an unreachable server exits 3 here, not as N failures
    model = args.model or served
    res = asyncio.run(run_tool_load(base, model, args.tool_load, args.tool_rounds, args.api_key))
    data = {"model": model, "base_url": base, **res.to_dict()}
    _output(args.json, data, format_tool_load)
    return EXIT_FAILED if res.failure_rate > args.max_failure_rate else EXIT_OK
