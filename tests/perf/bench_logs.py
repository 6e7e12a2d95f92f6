"""Log ingest benchmark: the console's reader + Logs pane vs ``docker logs`` on one container.

A container (the locally built test base image) writes ≥ 500,000 SGLang-like lines of about
140 characters (stdout, some stderr) and exits. Then, alternating in the same run:

* ``docker logs CONTAINER > /dev/null`` (the Go CLI) — the baseline;
* the console's path: a headless Textual app with the Logs pane, ``follow_container`` until
  every line is in the pane's buffer (follower: reader → scanner, in its thread → inbox →
  buffer → view); the UI thread's own CPU time is reported too (``time.thread_time``);
* the console's reader alone, and the docker SDK's frame iterator (reference).

Each console measurement runs in a fresh child process so its peak RSS is its own.
Prints ``RATIO log_ingest <console_rate / cli_rate> goal >= 1.0`` and exits 0.

    python tests/perf/bench_logs.py [--lines 500000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

NAME = f"gpt-oss-console-test-bench-logs-{os.getpid()}"  # unique: benchmarks may run side by side

# Runs inside the container (python3 of the base image). Lines are ~140 chars, like a busy
# SGLang server's decode/prefill/access lines; every 50th goes to stderr.
GENERATOR = r"""
import sys
n = int(sys.argv[1])
out, err = sys.stdout, sys.stderr
dec = "[2026-01-05 14:31:%02d TP0] Decode batch. #running-req: %d, #token: %d, token usage: 0.05, cuda graph: True, gen throughput (token/s): %.2f, #queue-req: 0,\n"
pre = "[2026-01-05 14:31:%02d TP0] Prefill batch. #new-seq: 1, #new-token: %d, #cached-token: 0, token usage: 0.01, #running-req: %d, #queue-req: 0, pad\n"
acc = "[2026-01-05 14:31:%02d] INFO:     172.17.0.1:%d - \"POST /v1/chat/completions HTTP/1.1\" 200 OK  request-id=%012d padding-padding-pad\n"
buf = []
for i in range(n):
    k = i % 50
    if k == 49:
        out.write("".join(buf)); buf = []
        err.write(acc % (i % 60, 40000 + i % 20000, i))
        continue
    if k % 3:
        buf.append(dec % (i % 60, i % 64, 9000 + i % 1000, 1000 + i % 997))
    else:
        buf.append(pre % (i % 60, 512 + i % 512, i % 64))
    if len(buf) >= 500:
        out.write("".join(buf)); buf = []
out.write("".join(buf)); out.flush()
"""


def make_container(lines: int) -> str:
    import docker

    from tests.docker.images import ensure_base_image

    image = ensure_base_image()
    client = docker.from_env()
    c = client.containers.run(image, ["python3", "-c", GENERATOR, str(lines)], name=NAME, detach=True,
                              labels={"org.gpt-oss-console.test": "bench_logs"})
    rc = c.wait(timeout=600)
    if rc.get("StatusCode") != 0:
        raise SystemExit(f"generator failed: {c.logs()[-2000:]!r}")
    return c.id


def time_cli(cid: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["docker", "logs", cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def child(mode: str, cid: str) -> dict:
    """Runs in a fresh process: one measurement, JSON result on stdout."""
    import docker

    client = docker.from_env()
    client.ping()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = cpu.ru_utime + cpu.ru_stime
    n = 0
    if mode == "reader":
        from console.logs.docker_reader import DockerLogReader

        t0 = time.perf_counter()
        for batch in DockerLogReader(cid, client=client):
            n += len(batch.lines)
        dt = time.perf_counter() - t0
    elif mode == "sdk":
        t0 = time.perf_counter()
        for _frame in client.containers.get(cid).logs(stream=True):
            n += 1
        dt = time.perf_counter() - t0
    elif mode == "pane":
        from textual.app import App, ComposeResult

        from console.ui.logs.pane import LogsPane

        result: dict = {}

        class Bench(App):
            CSS_PATH = str(REPO / "styles" / "logs.tcss")

            def compose(self) -> ComposeResult:
                yield LogsPane(id="pane-logs")

            def on_mount(self) -> None:
                self.call_after_refresh(self.start)

            def start(self) -> None:
                ru = resource.getrusage(resource.RUSAGE_SELF)
                result["cpu0"] = ru.ru_utime + ru.ru_stime
                result["ui0"] = time.thread_time()  # the UI thread's own CPU (the app runs here)
                result["t0"] = time.perf_counter()
                self.query_one(LogsPane).follow_container(cid, follow=False)

            def on_logs_pane_source_ended(self, message: LogsPane.SourceEnded) -> None:
                pane = self.query_one(LogsPane)
                result["t1"] = time.perf_counter()
                ru = resource.getrusage(resource.RUSAGE_SELF)
                result["cpu1"] = ru.ru_utime + ru.ru_stime
                result["ui1"] = time.thread_time()
                result["n"] = pane.buffer.total
                result["kept"] = len(pane.buffer.lines)
                result["error"] = str(message.error) if message.error else None
                self.exit()

        Bench().run(headless=True, size=(160, 48))
        dt = result["t1"] - result["t0"]
        n = result["n"]
        cpu0 = result["cpu1"] - result["cpu0"]  # measured inside the app: the window only
        ui_cpu = result["ui1"] - result["ui0"]
        if result.get("error"):
            raise SystemExit(result["error"])
    else:
        raise SystemExit(f"unknown mode {mode}")
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if mode != "pane":
        ru = resource.getrusage(resource.RUSAGE_SELF)
        cpu0 = ru.ru_utime + ru.ru_stime - cpu0
    extra = {"ui_cpu_s": ui_cpu} if mode == "pane" else {}
    return extra | {"mode": mode, "lines": n, "seconds": dt, "cpu_s": cpu0, "peak_rss_mib": rss1 / 1024, "rss_growth_mib": (rss1 - rss0) / 1024}


def run_child(mode: str, cid: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, cid], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=500_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("MODE", "CID"))
    ap.add_argument("--keep", action="store_true", help="keep the container afterwards")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0

    cid = make_container(args.lines)
    load0 = os.getloadavg()[0]  # docker logs and the console share the CPUs with dockerd: say how busy they were
    try:
        cli, pane, reader, sdk = [], [], [], []
        for _ in range(args.rounds):  # alternate so drift in machine load hits all alike
            cli.append(args.lines / time_cli(cid))
            r = run_child("pane", cid)
            assert r["lines"] == args.lines, r
            pane.append(r)
            r = run_child("reader", cid)
            assert r["lines"] == args.lines, r
            reader.append(r)
        sdk.append(run_child("sdk", cid))
        cli_rate = statistics.median(cli)
        pane_rate = statistics.median(r["lines"] / r["seconds"] for r in pane)
        reader_rate = statistics.median(r["lines"] / r["seconds"] for r in reader)
        sdk_rate = sdk[0]["lines"] / sdk[0]["seconds"]
        peak = max(r["peak_rss_mib"] for r in pane)
        print(f"lines {args.lines:,}  rounds {args.rounds}  (median rates)  load average {load0:.2f} → {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        print(f"docker logs (Go CLI)        {cli_rate:>12,.0f} lines/s   runs {', '.join(f'{x:,.0f}' for x in cli)}")
        pane_runs = ", ".join(f"{r['lines'] / r['seconds']:,.0f}" for r in pane)
        print(f"console reader + Logs pane  {pane_rate:>12,.0f} lines/s   runs {pane_runs}")
        print(f"console reader alone        {reader_rate:>12,.0f} lines/s")
        cpu_pane = statistics.median(r["cpu_s"] for r in pane)
        cpu_reader = statistics.median(r["cpu_s"] for r in reader)
        print(f"CPU per 100k lines          pane path {cpu_pane / args.lines * 1e5:.2f} s, reader alone {cpu_reader / args.lines * 1e5:.2f} s")
        ui = statistics.median(r["ui_cpu_s"] for r in pane)
        ui_runs = ", ".join(f"{r['ui_cpu_s'] / args.lines * 5e5:.2f}" for r in pane)
        print(f"UI-thread CPU per 500k lines {ui / args.lines * 5e5:.2f} s   runs {ui_runs}")
        print(f"docker SDK frame iterator   {sdk_rate:>12,.0f} lines/s   (reference)")
        print(f"peak RSS console pane path  {peak:>12,.1f} MiB (buffer cap 100,000 lines; SDK path peak {sdk[0]['peak_rss_mib']:.1f} MiB)")
        print(f"RATIO log_ingest {pane_rate / cli_rate:.2f} goal >= 1.0")
        print(f"RATIO log_reader {reader_rate / cli_rate:.2f} goal >= 1.0")
    finally:
        if not args.keep:
            subprocess.run(["docker", "rm", "-f", NAME], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
