"""``logs``: print (or follow) the server's log, filtered, without the 3,000-line scroll."""

from __future__ import annotations

import json
import re
import sys
import time

from console.cli._target import add_container_argument, find_container
from console.cli.common import EXIT_OK, EXIT_USAGE
from console.errors import ConsoleError

HELP = "print the SGLang container's log (-f follows; --grep filters by regex; --diagnose explains failures)"
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
    from console.runtime.monitor import parse_docker_time

    when = parse_docker_time(text if text.endswith("Z") else text + "Z")
    if when is None:
        raise ConsoleError(f"--since {text!r} not understood", "use 10m, 2h, 30s, a unix time or 2026-01-05T14:31:10",
                           exit_code=EXIT_USAGE)
    return when


def run(args) -> int:
    from console.logs.docker_reader import DockerLogReader
    from console.runtime.secret_files import known_secrets
    from console.settings.mask import scrub, scrub_lines

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
    reader = DockerLogReader(container.id, client=runtime.client, follow=args.follow,
                             since=parse_since(args.since), tail=tail)
    seen: list[str] = []
    out = sys.stdout
    try:
        for batch in reader:
            lines = scrub_lines(batch.lines)
            if args.diagnose:
                seen.extend(lines)
                del seen[:-5000]
            if pattern is not None:
                lines = [line for line in lines if pattern.search(line)]
            if not lines:
                continue
            if args.json:
                out.write("".join(json.dumps({"stream": "stderr" if batch.stream == 2 else "stdout", "line": line}) + "\n"
                                  for line in lines))
            else:
                out.write("\n".join(lines) + "\n")
            out.flush()
    except BrokenPipeError:  # | head
        return EXIT_OK
    except KeyboardInterrupt:
        reader.close()
    if args.diagnose:
        from console.logs.diagnosis import diagnose_lines

        diags = diagnose_lines(seen)
        if not diags:
            print("diagnosis: no known failure in the log", file=sys.stderr)
        for d in diags:
            print(scrub(f"cause: {d.title}\nfix:   {d.fix}\nlog:   {d.line[:200]}"), file=sys.stderr)
    return EXIT_OK
