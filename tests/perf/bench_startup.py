"""Start-up cost: process start → first painted frame → exit, console vs a bare Textual app.

Both run the same way, alternated in one run so machine noise hits both: a
child Python process in a pseudo-terminal (80×24, real Textual driver) that
notes when its first frame is written to the terminal and then exits. The
console runs through its real entry point (``console.cli.main([])``) with NVML
answered from a recording.

    python tests/perf/bench_startup.py [-n 10] [--importtime]

Prints medians (time to the first frame, to exit, CPU, peak RSS) and
``RATIO startup <console/bare> goal <= 1.3`` on the time to the first frame.
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

# Each child writes the wall-clock time at which its first frame went to the
# terminal (Textual's App._display wrote a screen update), then exits. The hook
# is the same for both apps; nothing else in them is changed.
PAINTED = """
import os, time
from textual.app import App

_display = App._display

def _first_frame(self, screen, renderable):
    _display(self, screen, renderable)
    if renderable is not None and not self._batch_count and not getattr(self, "_bench_painted", False):
        self._bench_painted = True
        os.write(int(os.environ["BENCH_PAINT_FD"]), repr(time.time()).encode())
        self.call_later(self.exit)

App._display = _first_frame
"""

BARE = PAINTED + """
from textual.widgets import Footer, Header, Label

class Bare(App):
    def compose(self):
        yield Header()
        yield Label("hello")
        yield Footer()

Bare().run()
"""

# The console's own entry point.
CONSOLE = PAINTED + """
import sys
from console.cli import main

sys.exit(main([]))
"""


def replay_env() -> dict[str, str]:
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="80", LINES="24")
    env.pop("TEXTUAL", None)
    # Installed packages run from compiled bytecode; so must both apps here.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    recordings = sorted((ROOT / "tests" / "data" / "nvml").glob("*.json"))
    preferred = [p for p in recordings if "h100" in p.name.lower()] or recordings
    if preferred:
        env["GPT_OSS_CONSOLE_NVML_REPLAY"] = str(preferred[0])
    return env


def run_once(code: str, env: dict[str, str], extra_args: tuple[str, ...] = ()) -> tuple[float, float, float, int, bytes]:
    """Run ``code`` in a pty; return (s to first frame, s to exit, CPU s, peak RSS KiB, stderr)."""
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
    paint_r, paint_w = os.pipe()
    start_wall = time.time()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *extra_args, "-c", code],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**env, "BENCH_PAINT_FD": str(paint_w)},
        cwd=ROOT,
        start_new_session=True,
        pass_fds=(paint_w,),
    )
    os.close(paint_w)
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    painted_at = os.read(paint_r, 64)
    os.close(paint_r)
    proc.returncode = os.waitstatus_to_exitcode(status)
    os.close(slave)
    reader.join(timeout=2)
    os.close(master)
    if proc.returncode != 0:
        raise SystemExit(f"child failed (exit {proc.returncode}):\n{err.decode(errors='replace')[-3000:]}")
    if not painted_at:
        raise SystemExit("child exited without painting a frame")
    return float(painted_at) - start_wall, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, err


def importtime(env: dict[str, str], top: int = 25) -> None:
    *_, err = run_once(CONSOLE, env, ("-X", "importtime"))
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
    results: dict[str, list[tuple[float, float, float, int]]] = {"bare": [], "console": []}
    for _ in range(args.n):
        for name, code in (("bare", BARE), ("console", CONSOLE)):
            results[name].append(run_once(code, env)[:4])
    med = {}
    for name, rows in results.items():
        paint, wall, cpu, rss = (statistics.median(r[i] for r in rows) for i in range(4))
        med[name] = paint
        print(
            f"{name:8s} median first frame {paint * 1000:7.1f} ms  exit {wall * 1000:7.1f} ms  "
            f"cpu {cpu * 1000:7.1f} ms  peak {rss / 1024:6.1f} MiB  (n={len(rows)})"
        )
    paired = statistics.median(c[0] / b[0] for b, c in zip(results["bare"], results["console"]))
    print(f"median of paired ratios (each console run / the bare run before it): {paired:.2f}")
    if args.importtime:
        importtime(env)
    print(f"RATIO startup {med['console'] / med['bare']:.2f} goal <= {GOAL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
