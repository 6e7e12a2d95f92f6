"""``history``: what the GPUs and the server did, from the history database, as charts, JSON or CSV."""

from __future__ import annotations

import csv
import re
import sys
import time

from console.cli.common import EXIT_NOT_FOUND, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, emit
from console.errors import ConsoleError

HELP = "GPU and serving history recorded by the TUI or `gpus --watch --record-history` (--json, --csv)"
ORDER = 12

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_span(text: str) -> float:
    """``90s``, ``5m``, ``1h``, ``7d`` (a bare number is seconds) → seconds."""
    m = _SPAN.match(text or "")
    if not m or float(m.group(1)) <= 0:
        raise ConsoleError(f"--since {text!r} is not a time span", "write it like 90s, 5m, 1h or 7d",
                           exit_code=EXIT_USAGE)
    return float(m.group(1)) * _UNIT[m.group(2)]


def register(parser) -> None:
    parser.add_argument("--since", default="1h", metavar="SPAN", help="how far back: 90s, 5m, 1h, 7d (default 1h)")
    parser.add_argument("--gpu", type=int, default=None, metavar="N", help="only GPU N (and no server rows)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON document")
    out.add_argument("--csv", action="store_true", help="print the GPU samples as CSV (t, gpu, vram_gib, …)")
    parser.add_argument("--db", metavar="FILE", help="the history database (default: the XDG state dir's)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from console.history import default_path, retention_from_env
    from console.history.load import load_into, records
    from console.history.recorder import open_store

    since = parse_span(args.since)
    if args.gpu is not None and args.gpu < 0:
        raise ConsoleError("--gpu must be a GPU index (0, 1, …)", exit_code=EXIT_USAGE)
    path = Path(args.db).expanduser() if args.db else default_path()
    if not path.exists():
        raise ConsoleError(f"no history yet: {path} does not exist",
                           "start the console, or record without it: gpt-oss-console gpus --watch --record-history",
                           exit_code=EXIT_NOT_FOUND)
    store, problem = open_store(path, retention_from_env(), check=False)
    if store is None:
        raise ConsoleError(problem or f"cannot open {path}", exit_code=EXIT_UNAVAILABLE)
    if problem:
        print(problem, file=sys.stderr)
    try:
        now = time.time()
        doc = records(store, now - since, now, args.gpu, now=now)
        if args.csv:
            _csv(doc)
            return EXIT_OK
        if args.json:
            emit(doc, True)
            return EXIT_OK
        from console.timeline import Timeline

        tl = Timeline(clock=lambda: now)
        load_into(store, tl, now)
        emit(doc, False, lambda d: _human(d, tl, now, since, args.gpu))
    finally:
        store.close()
    return EXIT_OK


def _csv(doc: dict) -> None:
    cols = ("t", "gpu", "vram_gib", "util_pct", "power_w", "temp_c", "membw_pct")
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(cols)
    for s in doc["samples"]:
        w.writerow([s[c] if s[c] is not None else "" for c in cols])
    sys.stdout.flush()


def _human(doc: dict, tl, now: float, since: float, gpu: int | None) -> str:
    import shutil

    from console.charts.chart import grid, plain
    from console.charts.layouts import gpu_chart, server_charts

    samples = doc["samples"]
    head = (f"{doc['path']}: {len(samples)} GPU sample(s), {len(doc['server'])} server sample(s), "
            f"{len(doc['events'])} event(s) in the last {since / 3600:g} h ({doc['tier']} tier)")
    if not samples and not doc["server"]:
        return head + "\nnothing recorded in that time"
    names = {g["index"]: g["name"] for g in doc["gpus"]}
    indices = sorted({s["gpu"] for s in samples})
    specs = [gpu_chart(i, f"GPU {i} {names.get(i, '')}".rstrip()) for i in indices]
    if gpu is None:
        specs += server_charts(tl)
    from console.charts.chart import WINDOWS

    width = min(160, shutil.get_terminal_size((100, 40)).columns)
    # The shortest chart window that holds what was recorded in the span asked for.
    first = min((s["t"] for s in samples), default=now - since)
    held = min(since, now - first)
    window = next((w for w in WINDOWS if w >= held), WINDOWS[-1])
    lines = [head, *plain(grid(tl, specs, now - window, now, width, 8 * len(specs) + 1, columns=1))]
    for e in doc["events"][-10:]:
        lines.append(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(e['t']))}  {e['kind']:<7} {e['text']}")
    return "\n".join(lines)
