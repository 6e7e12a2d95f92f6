"""``smoke``: the conformance suite against any OpenAI-compatible endpoint.

Exit codes: 0 every check passed (or was unsupported/skipped), 1 a check failed,
2 bad arguments, 3 the server is unreachable.
"""

from __future__ import annotations

import sys

from console.cli._endpoint import add_endpoint_arguments, endpoint_from_args
from console.cli.common import (
    EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, add_json_flag, emit, finite, seconds, whole_number,
)

HELP = "run the chat / tool-calling conformance smoke suite against a server"
ORDER = 40


def register(parser) -> None:
    from console.smoke.checks import CHECKS

    add_endpoint_arguments(parser)
    out = parser.add_mutually_exclusive_group()
    add_json_flag(out)
    out.add_argument("--junit", metavar="FILE", help="also write JUnit XML to FILE (for CI)")
    parser.add_argument("--soak", type=int, default=100, metavar="N", help="turns of tool rounds in the soak check (default 100, 0 skips)")
    parser.add_argument("--only", default=None, metavar="CHECK,...", help="run only these checks: " + ", ".join(CHECKS))
    parser.add_argument("--max-ttft", type=seconds, default=30.0, metavar="S", help="streaming fails above this first-token time (default 30 s)")
    parser.add_argument("--max-tokens", type=whole_number(1), default=2048, help="max_tokens per request (default 2048)")
    parser.add_argument("--reasoning-effort", choices=["low", "medium", "high"], default="low")
    parser.add_argument("--temperature", type=finite, default=None, help="sampling temperature (default: the server's)")
    parser.add_argument("--timeout", type=seconds, default=120.0, help="seconds to wait for one request (default 120)")
    parser.add_argument("--no-replay", action="store_true",
                        help="do not replay failed checks through the engine's raw path (model or parser?)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from console.errors import ConsoleError
    from console.smoke import report
    from console.smoke.runner import FAIL, SmokeConfig, SmokeRunner

    if args.soak < 0:
        raise ConsoleError("--soak must be 0 or more", exit_code=EXIT_USAGE)
    from console.server.client import root_url

    endpoint = endpoint_from_args(args)
    root_url(endpoint.base_url)  # a URL no request can reach is bad input (exit 2), not a failed check
    only = [c.strip() for c in args.only.split(",") if c.strip()] if args.only else None
    config = SmokeConfig(base_url=endpoint.base_url, api_key=endpoint.api_key,
                         model=endpoint.model, soak=args.soak, only=only, max_ttft_s=args.max_ttft,
                         max_tokens=args.max_tokens, reasoning_effort=args.reasoning_effort,
                         temperature=args.temperature, timeout_s=args.timeout, replay=not args.no_replay)
    live = not args.json

    def progress(name: str, i: int, n: int) -> None:
        if live and sys.stderr.isatty():
            print(f"\r  {name}: turn {i}/{n}", end="" if i < n else "\n", file=sys.stderr, flush=True)

    runner = SmokeRunner(config, progress=progress)
    runner.selected()  # unknown check names fail before anything is sent

    async def go() -> list:
        results = []
        async for r in runner.run():
            results.append(r)
            if live:
                print(report.line(r), flush=True)
                if (extra := report.replay_line(r)):
                    print(extra, flush=True)
        return results

    if live:
        print(f"smoke: {config.base_url}" + (f" model {config.model}" if config.model else ""), flush=True)
    import asyncio  # here, not at import: every command pays for module-level imports
    results = asyncio.run(go())
    if runner.unreachable is not None:
        code = EXIT_UNAVAILABLE
    else:
        code = EXIT_FAILED if any(r.status == FAIL for r in results) else EXIT_OK
    if args.junit:
        report.write_junit(results, args.junit, base_url=config.base_url, model=runner.model)
    if args.json:
        emit(report.to_json(results, base_url=config.base_url, model=runner.model, exit_code=code), True)
    else:
        print(report.summary_line(results) + (f" — model {runner.model}" if runner.model else ""))
        if runner.unreachable is not None and runner.unreachable.hint:
            print(f"  → {runner.unreachable.hint}", file=sys.stderr)
    return code
