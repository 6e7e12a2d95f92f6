"""``stop``: stop the server gracefully (SIGTERM), killing it after a timeout."""

from __future__ import annotations

import sys

from console.cli._target import add_container_argument, add_stop_timeout, find_container
from console.cli.common import EXIT_OK, add_json_flag, emit

HELP = "stop the server container (graceful, then killed after --timeout); --remove deletes it"
ORDER = 23


def register(parser) -> None:
    add_container_argument(parser)
    add_stop_timeout(parser)
    parser.add_argument("--remove", "--rm", action="store_true", help="remove the container after stopping it")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    runtime, container = find_container(args)
    if not args.json:
        print(f"stopping {container.name} (up to {args.timeout}s before it is killed)…", file=sys.stderr, flush=True)
    info = runtime.stop(container, timeout=args.timeout)
    if args.remove:
        runtime.remove(container, force=True)
    emit(info.to_dict() | {"removed": args.remove}, args.json,
         lambda d: f"stopped {d['name']} (exit code {d['exit_code']})" + ("; removed" if d["removed"] else ""))
    return EXIT_OK
