"""``restart``: restart the server's container and follow it until ready again."""

from __future__ import annotations

import sys

from console.cli._target import add_container_argument, add_stop_timeout, find_container
from console.cli.common import EXIT_FAILED, EXIT_OK, add_json_flag, emit

HELP = "restart the SGLang container and follow it until ready (--detach: do not wait)"
ORDER = 24


def register(parser) -> None:
    add_container_argument(parser)
    add_stop_timeout(parser)
    parser.add_argument("--detach", "-d", action="store_true", help="return once restarted")
    parser.add_argument("--wait", type=float, default=None, metavar="S", help="give up waiting for ready after S s")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from console.cli.launch import _failure_text
    from console.runtime.lifecycle import api_key_of
    from console.runtime.monitor import Monitor

    runtime, container = find_container(args)
    if not args.json:
        print(f"restarting {container.name}…", file=sys.stderr, flush=True)
    info = runtime.restart(container, timeout=args.timeout)
    if args.detach:
        emit(info.to_dict(), args.json, lambda d: f"restarted {d['name']}")
        return EXIT_OK

    def on_update(snap) -> None:
        if not args.json:
            print(f"[{snap.elapsed_s:6.1f}s] {snap.docker_error or snap.phase.label}", file=sys.stderr, flush=True)

    monitor = Monitor(runtime, info.id, base_url=info.base_url, api_key=api_key_of(container.attrs),
                      on_update=on_update)
    try:
        snap = monitor.run(until_ready=True, timeout=args.wait)
    finally:
        monitor.stop()
    d = snap.to_dict()
    if d["phase"] == "ready":
        emit(d, args.json, lambda d: f"ready in {d['time_to_ready_s']}s at {d['base_url']}")
        return EXIT_OK
    emit(d, args.json, _failure_text)
    return EXIT_FAILED
