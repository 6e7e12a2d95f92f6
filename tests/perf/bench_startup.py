"""Start-up cost: process start → first painted frame → exit, console vs a bare Textual app.

Both run the same way, alternated in one run so machine noise hits both: a
child Python process in a pseudo-terminal (80×24, real Textual driver), whose
app exits right after its first refresh. The console runs through its real
entry point (``console.cli.main([])``) with NVML answered from a recording.

    python tests/perf/bench_startup.py [-n 10] [--importtime]

Prints medians (wall, CPU, peak RSS) and ``RATIO startup <console/bare> goal <= 1.3``.
``--importtime`` also prints the console's slowest imports (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOAL = 1.3

BARE = """
from textual.app import App
from textual.widgets import Footer, Header, Label

class Bare(App):
    def compose(self):
        yield Header()
        yield Label("hello")
        yield Footer()

    def on_mount(self):
        self.call_after_refresh(self.exit)

Bare().run()
"""

# The console's own entry point; the only addition is "exit after the first frame".
CONSOLE = """
import sys
import console.ui.app as shell

_mount = shell.ConsoleApp.on_mount

def on_mount(self):
    _mount(self)
    self.call_after_refresh(self.exit)

shell.ConsoleApp.on_mount = on_mount
from console.cli import main
sys.exit(main([]))
"""


def replay_env() -> dict[str, str]:
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="80", LINES="24")
    env.pop("TEXTUAL", None)
    recordings = sorted((ROOT / "tests" / "data" / "nvml").glob("*.json"))
    preferred = [p for p in recordings if "h100" in p.name.lower()] or recordings
    if preferred:
        env["GPT_OSS_CONSOLE_NVML_REPLAY"] = str(preferred[0])
    return env


def run_once(code: str, env: dict[str, str], extra_args: tuple[str, ...] = ()) -> tuple[float, float, int, bytes]:
    """Run ``code`` in a pty; return (wall s, CPU s, peak RSS KiB, stderr)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    sink = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            sink.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *extra_args, "-c", code],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    os.close(slave)
    reader.join(timeout=2)
    os.close(master)
    if proc.returncode != 0:
        raise SystemExit(f"child failed (exit {proc.returncode}):\n{err.decode(errors='replace')[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, err


def importtime(env: dict[str, str], top: int = 25) -> None:
    _, _, _, err = run_once(CONSOLE, env, ("-X", "importtime"))
    rows = []
    for line in err.decode(errors="replace").splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if parts[0].isdigit():
            rows.append((int(parts[1]), parts[2]))
    rows.sort(reverse=True)
    print(f"slowest imports of the console (cumulative µs, top {top}):")
    for cumulative, name in rows[:top]:
        print(f"  {cumulative:>9}  {name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=10, help="runs of each (alternated)")
    ap.add_argument("--importtime", action="store_true", help="also list the console's slowest imports")
    args = ap.parse_args()
    env = replay_env()
    print(f"NVML replay: {env.get('GPT_OSS_CONSOLE_NVML_REPLAY', '(none: no-driver path)')}")
    run_once(BARE, env)  # warm the file cache so the first measured run is not special
    run_once(CONSOLE, env)
    results: dict[str, list[tuple[float, float, int]]] = {"bare": [], "console": []}
    for _ in range(args.n):
        for name, code in (("bare", BARE), ("console", CONSOLE)):
            wall, cpu, rss, _ = run_once(code, env)
            results[name].append((wall, cpu, rss))
    med = {}
    for name, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        rss = statistics.median(r[2] for r in rows)
        med[name] = wall
        print(f"{name:8s} median wall {wall * 1000:7.1f} ms  cpu {cpu * 1000:7.1f} ms  peak {rss / 1024:6.1f} MiB  (n={len(rows)})")
    if args.importtime:
        importtime(env)
    print(f"RATIO startup {med['console'] / med['bare']:.2f} goal <= {GOAL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
