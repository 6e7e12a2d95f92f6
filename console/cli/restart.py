"""``restart``: restart the server's container and follow it until ready again."""

from __future__ import annotations

import sys

from console.cli._target import add_container_argument, add_stop_timeout, find_container
from console.cli.common import EXIT_OK, add_json_flag, emit, seconds

HELP = "restart the server container and follow it until ready (--detach: do not wait)"
ORDER = 24


def register(parser) -> None:
    add_container_argument(parser)
    add_stop_timeout(parser)
    parser.add_argument("--detach", "-d", action="store_true", help="return once restarted")
    parser.add_argument("--wait", type=seconds, default=None, metavar="S", help="give up waiting for ready after S s")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from console.cli.launch import ProgressPrinter, follow_until_ready
    from console.runtime.service import monitor_for, resolve_values

    runtime, container = find_container(args)
    if not args.json:
        print(f"restarting {container.name}…", file=sys.stderr, flush=True)
    info = runtime.restart(container, timeout=args.timeout)
    if args.detach:
        emit(info.to_dict(), args.json, lambda d: f"restarted {d['name']}")
        return EXIT_OK

    stall_after = float(resolve_values().values["stall_after"])  # GPT_OSS_STALL_AFTER or the default
    monitor = monitor_for(runtime, info, stall_after=stall_after, on_update=None if args.json else ProgressPrinter())
    return follow_until_ready(monitor, info.name, args.json, timeout=args.wait)
