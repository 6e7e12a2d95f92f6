"""How exactly does ``gpt-oss-console bench`` measure? Against a server whose delays are known.

The timed server (tests/peers/timed_server.py, its own process) sends the first
token D1 ms after a request arrives and then one every D2 ms. The bench measures
TTFT and ITL at concurrency 1 and 16; the error is compared with the tolerance
max(1 ms, 2 % of the truth). Two scenarios: published H100 gpt-oss-20b timing
(TTFT 50 ms, ITL ~4 ms) and a loaded server (TTFT 300 ms, ITL 25 ms).

Prints per scenario and concurrency the measured p50/mean and
``RATIO bench_accuracy_<scenario>_c<N> <worst |median error| / tolerance> goal <= 1.0``
(means are printed too).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from console.bench.run import BenchConfig, run_bench  # noqa: E402
from tests.peers.timed_server import timed_server  # noqa: E402

SCENARIOS = {"h100_20b": (50.0, 4.0), "loaded": (300.0, 25.0)}


def tolerance(truth: float) -> float:
    return max(1.0, 0.02 * truth)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output-len", type=int, default=32)
    p.add_argument("--rounds", type=int, default=2, help="requests per level = rounds × max(concurrency, 8)")
    args = p.parse_args()
    for name, (d1, d2) in SCENARIOS.items():
        with timed_server(d1, d2) as url:
            for conc in (1, 16):
                n = args.rounds * max(conc, 8)
                lv = run_bench(BenchConfig(url, concurrency=[conc], input_len=64, output_len=args.output_len,
                                           requests=n, gpu="none"))["levels"][0]
                if lv["failed"]:
                    print(f"{name} c={conc}: {lv['failed']} request(s) failed: {lv['errors']}")
                    return 1
                worst = 0.0
                parts = []
                for metric, truth in (("ttft_ms", d1), ("itl_ms", d2)):
                    for stat in ("p50", "mean"):
                        err = lv[metric][stat] - truth
                        if stat == "p50":  # the ratio is on medians: one scheduler hiccup on a
                            worst = max(worst, abs(err) / tolerance(truth))  # shared box moves a mean
                        parts.append(f"{metric[:-3]} {stat} {lv[metric][stat]:.2f} ({err:+.2f})")
                late = httpx.get(url + "/timed/stats", timeout=5).json()  # the server's own error
                print(f"{name:9} D1={d1:g} D2={d2:g} ms c={conc:<2} n={n:<3} " + "  ".join(parts))
                print(f"{'':9} server lateness p50 {late['p50_ms']:.2f} ms p99 {late['p99_ms']:.2f} ms "
                      f"(tokens sent after their due time; part of any error above)")
                print(f"RATIO bench_accuracy_{name}_c{conc} {worst:.2f} goal <= 1.0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
