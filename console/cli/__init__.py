"""Headless command line: ``gpt-oss-console [COMMAND] ...``.

No command starts the TUI. Each ``console/cli/<name>.py`` module (other than
``common``) is a subcommand: it defines ``HELP``, ``ORDER`` and
``register(parser)``, and ``register`` sets ``func`` to a callable taking the
parsed args and returning an exit code. Modules are discovered, not listed,
so adding a command touches one file. Parsing imports every command module, so a
command imports its core when it runs: the runtime alone is ~0.15 s, which every
other command (``plan``, ``--help``) would pay.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from console import __version__
from console.cli.common import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USAGE, report_error
from console.errors import ConsoleError


def _command_modules():
    import console.cli as pkg

    mods = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name == "common":
            continue
        mods.append(importlib.import_module(f"console.cli.{info.name}"))
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpt-oss-console",
        description="Plan, launch, watch and test gpt-oss on SGLang. No command: start the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        name = mod.__name__.rsplit(".", 1)[1]
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.register(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from console.ui.app import run_app

        return run_app()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except ConsoleError as exc:
        return report_error(exc, as_json=getattr(args, "json", False))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _closed_pipe()


def _closed_pipe() -> int:
    """The reader went away (``| head``): end quietly, as Unix tools do.

    Later writes, and the interpreter's own flush at exit, go to /dev/null so no
    second BrokenPipeError is printed; the exit status is the shell's for SIGPIPE.
    """
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):
            pass
    return EXIT_BROKEN_PIPE
