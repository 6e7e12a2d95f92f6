"""``compare``: the engine bake-off — the same smoke checks and bench on every endpoint.

Exit codes: 0 no endpoint failed a conformance check, 1 one did, 2 bad arguments,
3 an endpoint could not be reached.
"""

from __future__ import annotations

import sys

from console.cli.common import emit

HELP = "compare engines side by side: conformance rates with intervals, failure shapes, leaks, cache, bench"
ORDER = 62


def register(parser) -> None:
    from console.compare.options import add_arguments

    parser.add_argument("--endpoint", action="append", default=[], metavar="NAME=URL",
                        help="an endpoint to compare, e.g. sglang=http://127.0.0.1:30000 (repeat for each)")
    parser.add_argument("--api-key-file", action="append", default=[], metavar="NAME=FILE",
                        help="the API key of endpoint NAME, read from FILE (or set GPT_OSS_CONSOLE_API_KEY_FILE_NAME "
                             "/ GPT_OSS_CONSOLE_API_KEY_NAME, NAME in capitals)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=ID",
                        help="the model of endpoint NAME (default: the first its /v1/models lists)")
    add_arguments(parser)  # declared once for this and the TUI compare screen (console/compare/options.py)
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE",
                        help="write the result as JSON to FILE (no FILE: print JSON instead of the table)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the comparison table as Markdown to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)


def _progress(quiet: bool):
    from console.compare import run as r

    if quiet:
        return None

    def on_event(ev) -> None:
        if isinstance(ev, r.PhaseStarted):
            print(f"{ev.phase}: {ev.detail}", file=sys.stderr, flush=True)
        elif isinstance(ev, r.EndpointDown):
            print(f"  {ev.endpoint}: unreachable — {ev.message}", file=sys.stderr, flush=True)
        elif isinstance(ev, r.CheckRun) and ev.status == "fail":
            print(f"  run {ev.run} {ev.endpoint} {ev.check}: FAIL {ev.reason}", file=sys.stderr, flush=True)
        elif isinstance(ev, r.RunDone):
            left = f", {ev.undecided} check(s) not decided yet" if ev.undecided else ""
            print(f"  run {ev.run} done{left}", file=sys.stderr, flush=True)
        elif isinstance(ev, r.MeasureDone):
            print(f"  {ev.endpoint} {ev.measure}: {ev.text}", file=sys.stderr, flush=True)

    return on_event


def _save(path: str, text: str) -> None:
    from console.private_file import write_private

    write_private(path, text)


def run(args) -> int:
    import asyncio

    from console.compare import report
    from console.compare.endpoints import parse_endpoints
    from console.compare.options import read_args
    from console.compare.run import CompareConfig, CompareRunner

    read_args(args)  # every option read and checked, with the TUI's messages (exit 2)
    endpoints = parse_endpoints(args.endpoint, args.api_key_file, args.model)
    config = CompareConfig(
        endpoints=endpoints, only=args.only, repeat=args.repeat, max_repeat=args.max_repeat, soak=args.soak,
        agreement=args.agreement, prefix_tokens=args.prefix_tokens, concurrency=args.concurrency,
        requests=args.requests, input_len=args.input_len, output_len=args.output_len, bench=not args.no_bench,
        price_per_hour=args.price_per_hour, max_tokens=args.max_tokens, temperature=args.temperature,
        replays=args.replays, timeout_s=args.timeout, command=["gpt-oss-console", "compare", *sys.argv[2:]]
        if len(sys.argv) > 1 and sys.argv[1] == "compare" else None,
    )
    runner = CompareRunner(config, _progress(args.quiet or args.json == "-"))
    result = asyncio.run(runner.run())
    report.validate(result)
    emit(result, args.json == "-", report.text)
    if args.json and args.json != "-":
        import json

        _save(args.json, json.dumps(result, indent=2) + "\n")
        print(f"saved {args.json}")
    if args.markdown:
        _save(args.markdown, report.markdown(result))
        print(f"saved {args.markdown}")
    return result["exit_code"]
