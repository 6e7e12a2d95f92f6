"""Cancelling a bench closes its streams at once (issue 10 bug 1): the SGLang-shaped server
sees every stream cut within a second of the cancel, in one process and over client processes,
and the run raises ``Cancelled`` instead of waiting for the requests in flight."""

from __future__ import annotations

import threading
import time

import pytest

from console.bench.run import BenchConfig, run_bench
from console.cancel import Cancelled, run_coroutine


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("workers", [1, 2])
def test_cancel_closes_every_stream_within_a_second(sglang_shaped_factory, workers):
    # 1000 tokens at 20 ms each: a request would stream for 20 s; four at once.
    peer = sglang_shaped_factory(token_interval_s=0.02)
    srv = peer.server
    cancel = threading.Event()
    cfg = BenchConfig(base_url=peer.base_url, model=peer.model, concurrency=[4], input_len=16, output_len=1000,
                      requests=8, gpu="H100", warmup=0, workers=workers)
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = run_bench(cfg, None, cancel)
        except BaseException as exc:  # noqa: BLE001 - the test reads what it was
            outcome["error"] = exc
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: srv.streams_open == 4, "four streams in flight")
    time.sleep(0.3)  # tokens flowing
    cancelled_at = time.monotonic()
    cancel.set()
    wait_for(lambda: srv.streams_open == 0, "the server to see every stream closed", timeout=5)
    closed_in = time.monotonic() - cancelled_at
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), Cancelled), outcome
    assert outcome["ended"] - cancelled_at < 1.0, outcome["ended"] - cancelled_at
    assert closed_in < 1.0, closed_in
    assert srv.streams_cut == 4


def test_cancel_before_the_start_runs_nothing():
    cancel = threading.Event()
    cancel.set()

    async def never() -> None:  # pragma: no cover - must not run
        raise AssertionError("ran")

    with pytest.raises(Cancelled):
        run_coroutine(never(), cancel)


def test_without_a_cancel_the_work_returns_its_value():
    async def answer() -> int:
        return 42

    assert run_coroutine(answer(), threading.Event()) == 42
    assert run_coroutine(answer()) == 42
