"""``status`` on a long-running server: time and peak memory to report one container.

Two containers labelled as the console's (the locally built test base image) write a healthy
SGLang start-up (tests/data/logs/healthy_20b.log, which ends ready) and keep running; the long
one then writes N decode lines (a server up for days). Alternating in the same run:

* ``gpt-oss-console status SHORT --json`` — the baseline: the same command on a fresh server;
* ``gpt-oss-console status LONG --json`` — each in a fresh process (its own peak RSS);
* ``docker inspect`` + ``docker logs --tail 300`` on LONG (the Go CLI), for reference.

Prints ``RATIO status_long_log <long_s / short_s> goal <= 1.5`` (the cost must not grow with
the log) and exits 0.

    python tests/perf/bench_status.py [--lines 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

NAME = f"gpt-oss-console-test-bench-status-{os.getpid()}"  # + "-long" / "-short"

GENERATOR = r"""
import sys, time
n = int(sys.argv[1])
out = sys.stdout
out.write(open("/logs/healthy_20b.log").read())
out.flush()
dec = "[2026-01-05 14:31:%02d TP0] Decode batch. #running-req: %d, #token: %d, token usage: 0.05, cuda graph: True, gen throughput (token/s): %.2f, #queue-req: 0,\n"
buf = []
for i in range(n):
    buf.append(dec % (i % 60, i % 64, 9000 + i % 1000, 1000 + i % 997))
    if len(buf) >= 1000:
        out.write("".join(buf)); buf = []
out.write("".join(buf)); out.flush()
print("generator done", flush=True)
time.sleep(100000)
"""


def make_container(lines: int, name: str) -> str:
    import docker

    from console.runtime.spec import LABEL_OWNED
    from tests.docker.images import ensure_base_image

    client = docker.from_env()
    image = ensure_base_image()
    c = client.containers.run(
        image, ["python3", "-c", GENERATOR, str(lines)], name=name, detach=True,
        labels={LABEL_OWNED: "1"},
        volumes={str(REPO / "tests" / "data" / "logs"): {"bind": "/logs", "mode": "ro"}},
    )
    deadline = time.monotonic() + 600
    while b"generator done" not in c.logs(tail=1):
        if time.monotonic() > deadline:
            raise SystemExit("the generator did not finish in 10 minutes")
        time.sleep(1)
    return c.id


def time_baseline(cid: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["docker", "inspect", cid], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["docker", "logs", "--tail", "300", cid], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def time_status(name: str) -> tuple[float, float, dict]:
    """Wall time and the process's own peak RSS (MiB, from wait4) of one ``status NAME --json``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "status", name, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
    )
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t0
    proc.returncode = 0  # reaped by wait4
    row = json.loads(out)["containers"][0]
    return took, usage.ru_maxrss / 1024, row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import docker

    t0 = time.perf_counter()
    made = [make_container(0, NAME + "-short")]
    made.append(make_container(args.lines, NAME + "-long"))
    print(f"containers ready, the long one with {args.lines:,} lines after ready, in {time.perf_counter() - t0:.0f} s")
    try:
        cli, short, long_, rss = [], [], [], {"short": 0.0, "long": 0.0}
        for _ in range(args.rounds):
            cli.append(time_baseline(made[1]))
            for key, name, runs in (("short", NAME + "-short", short), ("long", NAME + "-long", long_)):
                took, peak, row = time_status(name)
                assert row["phase"] == "ready", row
                runs.append(took)
                rss[key] = max(rss[key], peak)
        c, s_, l_ = (statistics.median(x) for x in (cli, short, long_))
        fmt = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
        print(f"status on a fresh server: {s_:.2f} s ({fmt(short)}), peak RSS {rss['short']:.0f} MiB")
        print(f"status with {args.lines:,} lines after ready: {l_:.2f} s ({fmt(long_)}), peak RSS {rss['long']:.0f} MiB")
        print(f"reference, docker inspect + logs --tail 300: {c:.2f} s")
        print(f"RATIO status_long_log {l_ / s_:.2f} goal <= 1.5")
    finally:
        for cid in made:
            docker.from_env().containers.get(cid).remove(force=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
