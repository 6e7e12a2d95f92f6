"""GPU-machine check of the app's one shared NVML sampler (console/ui/gpu_feed.py).

Runs the whole console headless on the real driver for a few seconds, with the
GPUs and Metrics areas both mounted, and prints what it saw: one ``gpu-sampler``
thread, the same sampler object in both areas, ticks reaching both, the GPU
table filled from NVML, and no sampler thread left after exit.

    python tests/perf/device_shared_sampler.py [--seconds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


async def check(seconds: float) -> dict:
    from console.ui.app import ConsoleApp

    app = ConsoleApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("6")  # Metrics mounts and subscribes too
        await pilot.pause(seconds)
        gpus, metrics = app.pane("gpus"), app.pane("metrics")
        sampler = app.gpu_feed.sampler
        table = gpus.query_one("#gpus-table")
        report = {
            "gpus": [g.name for g in sampler.inventory.gpus],
            "sampler_threads": sum(t.name == "gpu-sampler" for t in threading.enumerate()),
            "one_sampler_object": gpus.sampler is sampler and metrics.sampler is sampler,
            "subscribers": len(sampler._subscribers),
            "ticks": sampler.snapshot.seq,
            "gpus_history_points": len(sampler.history(0)),
            "metrics_vram_points": len(metrics.timeline.snapshot("gpu0.vram")[1]),
            "table_row_0": [str(c) for c in table.get_row_at(0)],
        }
    report["sampler_threads_after_exit"] = sum(t.name == "gpu-sampler" for t in threading.enumerate())
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    report = asyncio.run(check(parser.parse_args().seconds))
    print(json.dumps(report, indent=1))
    ok = (report["sampler_threads"] == 1 and report["one_sampler_object"] and report["subscribers"] == 2
          and report["metrics_vram_points"] > 1 and report["sampler_threads_after_exit"] == 0)
    print("shared sampler:", "OK" if ok else "NOT OK")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
