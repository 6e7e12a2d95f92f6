"""Tool-call rounds under load: the failure rate when N conversations call tools at once.

One round = the smoke suite's tool exchange: offer a ``get_weather`` tool, expect
one streamed call with valid JSON arguments naming an offered tool, send the tool's
result back, expect a content answer. With ``console.smoke`` providing its own
rounds (``TOOL_ROUNDS``), those are used instead of the built-in one.
Every failure is classified, so "3 % failed" comes with why.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from console.bench.runner import Progress, chat_url, stream_chat

HARMONY_MARKERS = ("<|channel|>", "<|message|>", "<|call|>", "<|start|>", "<|end|>", "<|constrain|>",
                   "<|return|>", "to=functions.")

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City name"}},
            "required": ["location"],
        },
    },
}


@dataclass(frozen=True)
class ToolRound:
    name: str
    messages: list[dict]
    tools: list[dict]
    result: str  # what the tool "returns"


DEFAULT_ROUND = ToolRound(
    "weather",
    [{"role": "user", "content": "What is the weather in Tokyo right now? Use the tool."}],
    [WEATHER_TOOL],
    json.dumps({"location": "Tokyo", "temperature_c": 21, "condition": "sunny"}),
)


def tool_rounds() -> list[ToolRound]:
    """The smoke suite's tool rounds when it exports them, else the built-in weather round."""
    try:
        from console.smoke import TOOL_ROUNDS  # type: ignore[attr-defined]

        rounds = [r if isinstance(r, ToolRound) else ToolRound(**r) for r in TOOL_ROUNDS]
        return rounds or [DEFAULT_ROUND]
    except Exception:  # not there (yet) or another shape: keep the built-in round
        return [DEFAULT_ROUND]


@dataclass
class RoundResult:
    ok: bool
    failure: str | None = None  # a short class: "no-tool-call", "invalid-json-args", ...
    detail: str = ""
    elapsed_s: float = 0.0


def check_call(rec, rnd: ToolRound) -> tuple[str | None, str]:
    """Classify the first response of a round: (failure class or None, detail)."""
    if not rec.ok and not rec.tool_calls:
        return "request-failed", rec.error or ""
    for text in (rec.content, rec.reasoning):
        for m in HARMONY_MARKERS:
            if m in text:
                return "harmony-leak", f"{m!r} in the answer"
    if not rec.tool_calls:
        return "no-tool-call", (rec.content or rec.reasoning)[:80]
    offered = {t["function"]["name"] for t in rnd.tools}
    call = rec.tool_calls[0]
    if call["name"] not in offered:
        return "unknown-tool", call["name"]
    try:
        args = json.loads(call["arguments"] or "{}")
    except ValueError:
        return "invalid-json-args", call["arguments"][:80]
    if not isinstance(args, dict):
        return "invalid-json-args", "arguments are not a JSON object"
    schema = next(t["function"].get("parameters") for t in rnd.tools if t["function"]["name"] == call["name"])
    missing = [k for k in (schema or {}).get("required", []) if k not in args]
    if missing:
        return "missing-args", ", ".join(missing)
    return None, ""


async def one_round(client, url: str, model: str, rnd: ToolRound, api_key: str | None) -> RoundResult:
    t = time.perf_counter()
    body = {"model": model, "messages": rnd.messages, "tools": rnd.tools, "stream": True, "temperature": 0,
            "max_tokens": 512, "stream_options": {"include_usage": True}}
    first = await stream_chat(client, url, body, api_key)
    failure, detail = check_call(first, rnd)
    if failure:
        return RoundResult(False, failure, detail, time.perf_counter() - t)
    call = first.tool_calls[0]
    call_id = call["id"] or "call_0"
    messages = rnd.messages + [
        {"role": "assistant", "content": first.content or None,
         "tool_calls": [{"id": call_id, "type": "function",
                         "function": {"name": call["name"], "arguments": call["arguments"]}}]},
        {"role": "tool", "tool_call_id": call_id, "content": rnd.result},
    ]
    second = await stream_chat(client, url, {**body, "messages": messages}, api_key)
    if not second.ok:
        return RoundResult(False, "request-failed", second.error or "", time.perf_counter() - t)
    if any(m in second.content for m in HARMONY_MARKERS):
        return RoundResult(False, "harmony-leak", "in the final answer", time.perf_counter() - t)
    if not second.content.strip():
        return RoundResult(False, "no-final-answer", "empty content after the tool result", time.perf_counter() - t)
    return RoundResult(True, elapsed_s=time.perf_counter() - t)


@dataclass
class ToolLoadResult:
    concurrency: int
    rounds: int
    failed: int
    duration_s: float
    failures: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)
    p50_round_s: float | None = None

    @property
    def failure_rate(self) -> float:
        return self.failed / self.rounds if self.rounds else 0.0

    def to_dict(self) -> dict:
        return {"concurrency": self.concurrency, "rounds": self.rounds, "failed": self.failed,
                "failure_rate": self.failure_rate, "duration_s": self.duration_s, "failures": self.failures,
                "examples": self.examples, "p50_round_s": self.p50_round_s}


async def run_tool_load(base_url: str, model: str, concurrency: int, rounds: int | None = None,
                        api_key: str | None = None,
                        on_progress: Callable[[Progress], None] | None = None) -> ToolLoadResult:
    """``rounds`` tool rounds (default 4 × concurrency), ``concurrency`` at a time."""
    import httpx

    from console.bench.stats import percentile

    catalogue = tool_rounds()
    total = rounds or 4 * concurrency
    queue: asyncio.Queue[ToolRound] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(catalogue[i % len(catalogue)])
    url = chat_url(base_url)
    results: list[RoundResult] = []
    start = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(300.0, connect=10.0)) as client:

        async def worker() -> None:
            while not queue.empty():
                rnd = queue.get_nowait()
                results.append(await one_round(client, url, model, rnd, api_key))
                if on_progress:
                    on_progress(Progress(concurrency, len(results), sum(not r.ok for r in results), total,
                                         time.perf_counter() - start, 0))

        await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
    failed = [r for r in results if not r.ok]
    examples: dict[str, str] = {}
    for r in failed:
        examples.setdefault(r.failure or "unknown", r.detail)
    return ToolLoadResult(
        concurrency, len(results), len(failed), time.perf_counter() - start,
        dict(Counter(r.failure or "unknown" for r in failed).most_common()), examples,
        percentile([r.elapsed_s for r in results], 50),
    )
