"""The container that ``stop``, ``restart`` and ``logs`` act on: one argument, one lookup."""

from __future__ import annotations


def add_container_argument(parser) -> None:
    parser.add_argument("container", nargs="?", help="name, id prefix or profile (default: the only one)")


def add_stop_timeout(parser) -> None:
    parser.add_argument("--timeout", "-t", type=int, default=30, metavar="S",
                        help="seconds after SIGTERM before SIGKILL (30)")


def find_container(args):
    """``(runtime, container)`` for ``args.container``; ConsoleError when it is missing or ambiguous."""
    from console.runtime.lifecycle import Runtime

    runtime = Runtime()
    return runtime, runtime.get(args.container)
