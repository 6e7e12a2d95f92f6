"""One concurrency level spread over several client processes.

A single Python event loop spends CPU on every streamed chunk: ~60 µs per SSE event
with the bench's own client on uvloop on the 2-core test box (httpx on asyncio took
~190 µs; both including the JSON decoding after the level). At H100 rates — 16 streams
at 4 ms per token is 4000 chunks/s — one process can fall behind: chunks queue up in
the socket, arrive "together", and ITLs collapse toward zero while TTFTs grow.
Splitting the streams over N processes keeps each loop idle enough to timestamp
chunks as they land.

Each child is ``python -m console.bench.processes`` (a plain subprocess, not
multiprocessing: spawning would re-run the console's ``__main__``). It reads its
share of the work as JSON on stdin, waits for the start line, runs
:func:`console.bench.runner.run_level`, and writes progress and its records as
JSON lines. ``perf_counter`` is the system-wide monotonic clock on Linux, so the
children's times share one axis.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import subprocess
import sys
import threading
import time
from typing import Callable

from console.secret import reveal

from console.bench.prompts import Prompt
from console.bench.runner import Progress, RequestRecord

STREAMS_PER_PROCESS = 16  # streams one client process keeps in flight before another is worth it


def auto_workers(concurrency: int, cpus: int | None = None) -> int:
    """Processes for a level: one per 16 streams, at most half the CPUs (the server needs some)."""
    cpus = cpus or os.cpu_count() or 1
    return max(1, min(math.ceil(concurrency / STREAMS_PER_PROCESS), cpus // 2, concurrency))


def run_level_processes(
    base_url: str,
    model: str,
    prompts: list[Prompt],
    concurrency: int,
    output_len: int,
    workers: int,
    api_key: str | None = None,
    ignore_eos: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[list[RequestRecord], float]:
    """Like ``run_level`` (records in prompt order, duration) over ``workers`` processes.
    Setting ``cancel`` ends the children at once (their connections close with them) and
    raises ``console.cancel.Cancelled``."""
    from console.cancel import raise_if_set
    from console.errors import ConsoleError

    workers = max(1, min(workers, concurrency, len(prompts)))
    shares = [list(range(i, len(prompts), workers)) for i in range(workers)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen] = []
    lock = threading.Lock()
    state = {i: (0, 0, 0) for i in range(workers)}
    results: dict[int, tuple] = {}
    errors: list[str] = []
    ready: set[int] = set()

    def read(i: int, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with lock:
                if msg["type"] == "ready":
                    ready.add(i)
                elif msg["type"] == "progress":
                    state[i] = (msg["done"], msg["failed"], msg["tokens"])
                elif msg["type"] == "result":
                    results[i] = ([RequestRecord(**r) for r in msg["records"]], msg["t0"], msg["t1"])
                elif msg["type"] == "error":
                    errors.append(msg["error"])

    readers = []
    try:
        for i, idx in enumerate(shares):
            conc = concurrency // workers + (i < concurrency % workers)
            job = {"base_url": base_url, "model": model, "concurrency": conc, "output_len": output_len,
                   "api_key": reveal(api_key), "ignore_eos": ignore_eos,  # to the worker's stdin, not argv
                   "prompts": [dataclasses.asdict(prompts[j]) for j in idx]}
            proc = subprocess.Popen([sys.executable, "-m", "console.bench.processes"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env=env)
            proc.stdin.write(json.dumps(job) + "\n")
            proc.stdin.flush()
            procs.append(proc)
            t = threading.Thread(target=read, args=(i, proc), daemon=True)
            t.start()
            readers.append(t)
        deadline = time.monotonic() + 120
        while len(ready) < workers and not errors and time.monotonic() < deadline:
            raise_if_set(cancel)
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.02)
        for proc in procs:  # everyone is loaded and has its job: go (children wait for this line)
            proc.stdin.write("go\n")
            proc.stdin.close()
        t_start = time.perf_counter()
        running = True
        while running:
            raise_if_set(cancel)  # the finally below ends the children
            running = any(t.is_alive() for t in readers)  # one more report after the last one ends
            time.sleep(0.1 if running else 0)
            if on_progress:
                with lock:
                    done, failed, toks = (sum(v[k] for v in state.values()) for k in range(3))
                on_progress(Progress(concurrency, done, failed, len(prompts), time.perf_counter() - t_start, toks))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
    if errors or len(results) < workers:
        raise ConsoleError(f"a bench client process failed: {errors[0] if errors else 'it exited early'}",
                           "retry with --workers 1")
    records: list[RequestRecord | None] = [None] * len(prompts)
    for i, idx in enumerate(shares):
        for j, rec in zip(idx, results[i][0]):
            records[j] = rec
    duration = max(r[2] for r in results.values()) - min(r[1] for r in results.values())
    return [r for r in records if r is not None], duration


def _child() -> int:
    from console.bench.runner import run_level, run_timed

    def say(msg: dict) -> None:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    try:
        job = json.loads(sys.stdin.readline())
        prompts = [Prompt(**p) for p in job.pop("prompts")]
        import console.bench.http1  # noqa: F401 - loaded before the start line, so it is not part of the level's time
        with contextlib.suppress(ImportError):
            import uvloop  # noqa: F401

        say({"type": "ready"})
        sys.stdin.readline()  # "go": every process starts together
        t0 = time.perf_counter()
        last = [0.0]

        def on_progress(p: Progress) -> None:
            if p.done == p.total or time.perf_counter() - last[0] > 0.1:
                last[0] = time.perf_counter()
                say({"type": "progress", "done": p.done, "failed": p.failed, "tokens": p.output_tokens})

        records, _ = run_timed(run_level(job["base_url"], job["model"], prompts, job["concurrency"],
                                           job["output_len"], job["api_key"], job["ignore_eos"], on_progress))
        say({"type": "result", "t0": t0, "t1": time.perf_counter(),
             "records": [dataclasses.asdict(r) for r in records]})
    except Exception as exc:  # the parent says it in words
        say({"type": "error", "error": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_child())
