"""Tool-call rounds under load: the failure rate when N conversations call tools at once.

The rounds are the smoke suite's own tool checks (``console.smoke.runner``):
``tool-auto`` (a call to get_weather with valid arguments), ``streaming-tool-call``
(the same over a stream) and ``multi-turn`` (the tool result goes back, the model
answers, a second user turn works). Each round is one check on a fresh
``SmokeRunner``, so under load the judgement is exactly the smoke suite's; N of
them run at once. Failures are grouped by the check's reason, so "3 % failed"
comes with why.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from console.bench.runner import Progress

ROUNDS = ("tool-auto", "streaming-tool-call", "multi-turn")


@dataclass
class RoundResult:
    check: str
    ok: bool
    status: str  # the smoke verdict: pass | fail | unsupported | skip
    reason: str
    elapsed_s: float


def failure_class(reason: str) -> str:
    """A short, stable label for grouping: the reason up to its first colon or semicolon."""
    head = reason.replace(";", ":").split(":", 1)[0].strip()
    return head[:60] or "failed"


async def one_round(config, check: str) -> RoundResult:
    from console.errors import ConsoleError
    from console.smoke.runner import FAIL, SmokeRunner

    t = time.perf_counter()
    runner = SmokeRunner(config)
    try:
        r = await getattr(runner, "check_" + check.replace("-", "_"))()
    except ConsoleError as e:
        return RoundResult(check, False, FAIL, e.message, time.perf_counter() - t)
    except Exception as e:  # a round must never take the whole load test down
        return RoundResult(check, False, FAIL, f"{type(e).__name__}: {e}", time.perf_counter() - t)
    return RoundResult(check, r.status == "pass", r.status, r.reason, time.perf_counter() - t)


@dataclass
class ToolLoadResult:
    concurrency: int
    rounds: int
    failed: int
    duration_s: float
    failures: dict[str, int] = field(default_factory=dict)  # failure class -> count
    examples: dict[str, str] = field(default_factory=dict)  # failure class -> one full reason
    by_check: dict[str, dict[str, int]] = field(default_factory=dict)  # check -> {"rounds", "failed"}
    p50_round_s: float | None = None

    @property
    def failure_rate(self) -> float:
        return self.failed / self.rounds if self.rounds else 0.0

    def to_dict(self) -> dict:
        return {"concurrency": self.concurrency, "rounds": self.rounds, "failed": self.failed,
                "failure_rate": self.failure_rate, "duration_s": self.duration_s, "failures": self.failures,
                "examples": self.examples, "by_check": self.by_check, "p50_round_s": self.p50_round_s}


async def run_tool_load(base_url: str, model: str, concurrency: int, rounds: int | None = None,
                        api_key: str | None = None, checks: tuple[str, ...] = ROUNDS,
                        on_progress: Callable[[Progress], None] | None = None) -> ToolLoadResult:
    """``rounds`` smoke tool rounds (default 4 × concurrency, cycling through ``checks``),
    ``concurrency`` at a time. A failed round is a smoke "fail"; "unsupported" (the server
    refused tool calling outright) counts as failed too: under load nothing may be refused."""
    from console.bench.stats import percentile
    from console.smoke.runner import SmokeConfig

    config = SmokeConfig(base_url=base_url, api_key=api_key, model=model, timeout_s=300.0)
    total = rounds or 4 * concurrency
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(checks[i % len(checks)])
    results: list[RoundResult] = []
    start = time.perf_counter()

    async def worker() -> None:
        while not queue.empty():
            check = queue.get_nowait()
            results.append(await one_round(config, check))
            if on_progress:
                on_progress(Progress(concurrency, len(results), sum(not r.ok for r in results), total,
                                     time.perf_counter() - start, 0))

    await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
    failed = [r for r in results if not r.ok]
    examples: dict[str, str] = {}
    for r in failed:
        examples.setdefault(failure_class(r.reason), f"{r.check}: {r.reason}")
    by_check: dict[str, dict[str, int]] = {}
    for r in results:
        entry = by_check.setdefault(r.check, {"rounds": 0, "failed": 0})
        entry["rounds"] += 1
        entry["failed"] += not r.ok
    return ToolLoadResult(
        concurrency, len(results), len(failed), time.perf_counter() - start,
        dict(Counter(failure_class(r.reason) for r in failed).most_common()), examples, by_check,
        percentile([r.elapsed_s for r in results], 50),
    )
