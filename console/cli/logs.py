"""``logs``: print (or follow) the server's log, filtered, without the 3,000-line scroll."""

from __future__ import annotations

import json
import re
import sys
import time

from console.cli._target import add_container_argument, find_container
from console.cli.common import EXIT_OK, EXIT_USAGE
from console.engines.follow import scanner_for
from console.errors import ConsoleError
from console.logs import docker_time
from console.logs.diagnosis import diagnose_exit
from console.logs.docker_reader import STDERR
from console.logs.follow import Ended, LogChunk, LogFollower, Resumed, Retrying, RunStarted
from console.logs.scanner import diagnoses_of
from console.runtime.secret_files import known_secrets
from console.settings.mask import scrub, scrub_lines

HELP = "print the server container's log (-f follows; --grep filters by regex; --diagnose explains failures, by its engine's rules)"
ORDER = 22

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def register(parser) -> None:
    add_container_argument(parser)
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    parser.add_argument("--since", metavar="WHEN", help="only lines since 10m / 2h / 30s ago, or a unix time")
    parser.add_argument("--tail", "-n", metavar="N", default="all", help="only the last N lines (default all)")
    parser.add_argument("--grep", "-g", metavar="REGEX", help="only lines matching this regular expression")
    parser.add_argument("--ignore-case", "-i", action="store_true", help="--grep ignores case")
    parser.add_argument("--diagnose", action="store_true", help="after the lines, say what failed and the fix")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(func=run)


def parse_since(text: str | None) -> float | None:
    if not text:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if m:
        return time.time() - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    when = docker_time.parse(text if text.endswith("Z") else text + "Z")
    if when is None:
        raise ConsoleError(f"--since {text!r} not understood", "use 10m, 2h, 30s, a unix time or 2026-01-05T14:31:10",
                           exit_code=EXIT_USAGE)
    return when


class _Printer:
    """Writes what the follower publishes: lines (filtered), run markers and engine outages on
    stderr, and keeps the events for ``--diagnose`` (the follower scanned every line once)."""

    def __init__(self, args, pattern: re.Pattern | None) -> None:
        self.args = args
        self.pattern = pattern
        self.events: list = []
        self.end: Ended | None = None
        self._retrying = False

    def __call__(self, item) -> None:
        args, out = self.args, sys.stdout
        if isinstance(item, LogChunk):
            if args.diagnose:
                self.events.extend(ev for _, ev in item.events)
            lines = scrub_lines(item.lines)
            if args.json:
                pairs = zip(item.streams(), lines)
                if self.pattern is not None:
                    pairs = [(st, line) for st, line in pairs if self.pattern.search(line)]
                out.write("".join(json.dumps({"stream": "stderr" if st == STDERR else "stdout", "line": line}) + "\n"
                                  for st, line in pairs))
            else:
                if self.pattern is not None:
                    lines = [line for line in lines if self.pattern.search(line)]
                if not lines:
                    return
                out.write("\n".join(lines) + "\n")
            out.flush()
        elif isinstance(item, RunStarted):
            if item.restart and not args.json:
                print(f"-- the container was restarted: a new run from {item.started_at} --", file=sys.stderr, flush=True)
        elif isinstance(item, Retrying):
            if not self._retrying:
                self._retrying = True
                print(f"{item.reason}: following again once Docker answers…", file=sys.stderr, flush=True)
        elif isinstance(item, Resumed):
            self._retrying = False
            print("Docker answers again: following from where the log was left.", file=sys.stderr, flush=True)
        elif isinstance(item, Ended):
            self.end = item


def run(args) -> int:
    tail = args.tail
    if tail != "all" and not str(tail).isdigit():
        raise ConsoleError(f"--tail {tail!r} is not a number", "use --tail 200 or --tail all", exit_code=EXIT_USAGE)
    pattern = None
    if args.grep:
        try:
            pattern = re.compile(args.grep, re.IGNORECASE if args.ignore_case else 0)
        except re.error as exc:
            raise ConsoleError(f"--grep: invalid regular expression: {exc}", exit_code=EXIT_USAGE) from None
    runtime, container = find_container(args)
    # The container's own secrets (read back from its files) are masked wherever they appear;
    # names like api_key='…' are masked whatever the value (a stock SGLang prints its key).
    held = known_secrets(container.attrs)  # noqa: F841  (alive while lines are printed)
    follower = LogFollower(container.id, client=runtime.client, follow=args.follow, since=parse_since(args.since),
                           tail=tail, scanners=scanner_for)
    printer = _Printer(args, pattern)
    try:
        follower.run(printer)
    except BrokenPipeError:  # | head
        follower.stop()
        return EXIT_OK
    except KeyboardInterrupt:
        follower.stop()
    end = printer.end
    if end is not None and end.error is not None:
        raise end.error
    if args.diagnose:
        diags = diagnoses_of(printer.events)
        state = runtime.inspect(container.id)
        how = end.exit.diagnosis if end is not None and end.exit is not None else (
            diagnose_exit(state.exit_code, state.oom_killed) if not state.running else None)
        if how is not None:
            diags.append(how)
        if not diags:
            print("diagnosis: no known failure in the log", file=sys.stderr)
        for d in diags:
            print(scrub(f"cause: {d.title}\nfix:   {d.fix}\nlog:   {d.line[:200]}"), file=sys.stderr)
    return EXIT_OK
