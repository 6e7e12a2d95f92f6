"""Streaming requests at a fixed concurrency, timed the way ``sglang.bench_serving`` times them.

Per request (``time.perf_counter()`` from the moment the request body is written to
the socket — not from when the task asked, which a busy loop can delay):
* TTFT: send → first chunk with non-empty ``content`` (bench_serving's definition);
* TTFT (any): send → first non-empty ``content`` *or* ``reasoning_content`` — with a
  reasoning parser the answer's content comes only after the reasoning;
* ITL: gaps between consecutive content chunks;
* E2E latency: send → last chunk.
A chunk's time is when its bytes came off the socket (``data_received`` in
:mod:`console.bench.http1`), before any HTTP, SSE or JSON parsing.
Output tokens come from ``usage.completion_tokens`` (requested with
``stream_options.include_usage``), else from the number of non-empty chunks.

All requests are queued at once and N workers take them in turn, like
bench_serving with ``--max-concurrency N`` and an infinite request rate.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Callable

from console.bench.prompts import Prompt


@dataclass
class RequestRecord:
    ok: bool = False
    error: str | None = None
    id: str | None = None  # the answer's id (its chunks' "id"), to match a server's own records
    start: float = 0.0  # perf_counter at send
    ttft: float | None = None  # seconds, to first content
    ttft_any: float | None = None  # seconds, to first reasoning or content
    itl: list[float] = field(default_factory=list)  # seconds between content chunks
    latency: float | None = None  # E2E seconds
    input_tokens: int = 0
    output_tokens: int = 0
    chunks: int = 0  # non-empty content/reasoning chunks
    tool_calls: list[dict] = field(default_factory=list)
    content: str = ""
    reasoning: str = ""
    arrivals: list = field(default_factory=list, repr=False)  # (time, bytes) until decoded


@dataclass
class Progress:
    concurrency: int
    done: int
    failed: int
    total: int
    elapsed_s: float
    output_tokens: int


def run_timed(coro, cancel=None):
    """Run a timing coroutine on its own event loop — uvloop's where installed: a loop
    iteration costs less, so a chunk's bytes reach ``data_received`` ~0.08 ms sooner
    after the kernel has them (tests/perf/bench_accuracy.py), and 16 streams leave more
    idle time. A fresh loop in the calling thread either way, never a global policy (the
    TUI runs this from a worker thread beside Textual's own loop). ``cancel`` (a
    ``threading.Event``) stops it promptly, streams closed: :mod:`console.cancel`."""
    from console.cancel import run_coroutine

    try:
        import uvloop
    except ImportError:
        factory = None
    else:
        factory = uvloop.new_event_loop
    return run_coroutine(coro, cancel, factory)


def chat_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")


def headers(api_key: str | None) -> dict[str, str]:
    from console.secret import reveal

    return {"Authorization": f"Bearer {reveal(api_key)}"} if api_key else {}


def chat_path(base_url: str) -> str:
    """The path part of :func:`chat_url` (what a :class:`StreamClient` for the base URL posts to)."""
    from urllib.parse import urlsplit

    return urlsplit(chat_url(base_url)).path


async def stream_chat(client, path: str, body: dict, api_key: str | None = None,
                      defer: bool = False) -> RequestRecord:
    """Send one streaming chat request through ``client`` (a :class:`console.bench.http1.StreamClient`)
    and time every chunk.

    The clock starts right before the request's bytes are handed to the socket (opening a
    connection is not the server's latency), and each piece of the answer is stamped when
    the socket read that brought it happened — before HTTP or SSE parsing, so neither the
    client's per-chunk cost nor other streams' work in this loop is counted as latency.

    ``defer=True`` leaves the decoding for later (:func:`finish`): while other streams
    are still running, a request that decodes 1000 JSON chunks as it ends would stall
    the loop for milliseconds and make every other stream's timestamps late.
    ``output_tokens`` is then an estimate (the count of ``data:`` lines) until finished.
    """
    from console.bench.http1 import HTTPError

    rec = RequestRecord()
    rec.start = time.perf_counter()
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    # While streaming, only note when each piece of the body arrived; decoding waits until
    # the stream ends. With 64 streams in one loop, parsing JSON per chunk would make every
    # later stream's timestamps late by the time spent on the others.
    arrivals: list[tuple[float, bytes]] = []
    try:
        async with client.stream(path, payload, headers(api_key)) as resp:
            rec.start = resp.sent
            if resp.status != 200:
                text = (await resp.read()).decode("utf-8", "replace")
                rec.error = f"HTTP {resp.status}: {text[:200]}"
                return rec
            async for item in resp.timed():
                arrivals.append(item)
    except HTTPError as exc:
        rec.error = str(exc)[:200]
        return rec
    rec.arrivals = arrivals
    if defer:
        rec.output_tokens = sum(piece.count(b"data:") for _, piece in arrivals)
        return rec
    return finish(rec)


def finish(rec: RequestRecord) -> RequestRecord:
    """Decode a timed stream into TTFT/ITL/E2E, tokens and tool calls; judge it ok or not."""
    arrivals, rec.arrivals = rec.arrivals, []
    if rec.error or rec.ok:
        return rec
    calls: dict[int, dict] = {}
    usage = _decode_events(rec, rec.start, arrivals, calls)
    if rec.error:
        return rec
    rec.tool_calls = [calls[i] for i in sorted(calls)]
    if usage:
        rec.output_tokens = _count(usage.get("completion_tokens"))
        rec.input_tokens = _count(usage.get("prompt_tokens"))
    else:
        rec.output_tokens = rec.chunks
    if rec.latency is None:
        rec.error = "stream ended without any chunk"
        return rec
    if rec.chunks == 0 and not rec.tool_calls:
        rec.error = "no tokens in the answer"
        return rec
    rec.ok = True
    return rec


def _sse_events(arrivals: list[tuple[float, bytes]]):
    """Yield ``(arrival_time, data)`` for each SSE ``data:`` line; a line split across
    pieces gets the time its last piece arrived."""
    buf = b""
    for t, piece in arrivals:
        buf += piece
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                yield t, line[5:].strip().decode("utf-8", "replace")
    if buf.startswith(b"data:"):
        yield arrivals[-1][0], buf[5:].strip().decode("utf-8", "replace")


def _decode_events(rec: RequestRecord, st: float, arrivals, calls: dict[int, dict]) -> dict | None:
    """Fill ``rec`` from the timed stream; returns the usage block if the server sent one."""
    usage = None
    last_content: float | None = None
    for now, data in _sse_events(arrivals):
        if data == "[DONE]":
            rec.latency = now - st
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            chunk = None
        if not isinstance(chunk, dict):  # a server may send anything (tests/test_properties.py)
            rec.error = f"bad stream chunk: {data[:80]}"
            return None
        if "error" in chunk and not chunk.get("choices"):
            rec.error = str(chunk["error"])[:200]
            return None
        rec.latency = now - st
        if rec.id is None and isinstance(chunk.get("id"), str):
            rec.id = chunk["id"]
        if isinstance(chunk.get("usage"), dict) and chunk["usage"]:
            usage = chunk["usage"]
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(delta, dict):
                continue
            content = _str(delta.get("content"))
            reasoning = _str(delta.get("reasoning_content") or delta.get("reasoning"))
            if reasoning:
                rec.reasoning += reasoning
                rec.chunks += 1
                if rec.ttft_any is None:
                    rec.ttft_any = now - st
            if content:
                rec.content += content
                rec.chunks += 1
                if rec.ttft_any is None:
                    rec.ttft_any = now - st
                if rec.ttft is None:
                    rec.ttft = now - st
                else:
                    rec.itl.append(now - last_content)
                last_content = now
            tcs = delta.get("tool_calls")
            for tc in tcs if isinstance(tcs, list) else ():
                if not isinstance(tc, dict):
                    continue
                if rec.ttft_any is None:
                    rec.ttft_any = now - st
                idx = tc.get("index", 0)
                slot = calls.setdefault(idx if isinstance(idx, int) and not isinstance(idx, bool) else 0,
                                        {"name": "", "arguments": "", "id": None})
                fn = tc.get("function") if isinstance(tc.get("function"), dict) else {}
                slot["id"] = _str(tc.get("id")) or slot["id"]
                slot["name"] += _str(fn.get("name"))
                slot["arguments"] += _str(fn.get("arguments"))
    return usage


def _str(v) -> str:
    return v if isinstance(v, str) else ""


def _count(v) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0


def request_body(prompt: Prompt, model: str, output_len: int, ignore_eos: bool = True) -> dict:
    body = {
        "model": model,
        "messages": prompt.messages,
        "max_tokens": prompt.output_len or output_len,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if ignore_eos:  # SGLang and llama.cpp honour it: the output length is what was asked
        body["ignore_eos"] = True
    return body


async def run_level(
    base_url: str,
    model: str,
    prompts: list[Prompt],
    concurrency: int,
    output_len: int,
    api_key: str | None = None,
    ignore_eos: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    timeout_s: float = 600.0,
) -> tuple[list[RequestRecord], float]:
    """Run every prompt with at most ``concurrency`` in flight; returns (records, duration_s)."""
    from console.bench.http1 import StreamClient

    path = chat_path(base_url)
    queue: asyncio.Queue[tuple[int, Prompt]] = asyncio.Queue()
    for item in enumerate(prompts):
        queue.put_nowait(item)
    records: list[RequestRecord | None] = [None] * len(prompts)
    done = failed = out_tokens = 0
    # one keep-alive connection per worker: at most ``concurrency`` open, as before
    async with StreamClient(base_url, timeout=timeout_s, connect_timeout=10.0) as client:
        start = time.perf_counter()

        async def worker() -> None:
            nonlocal done, failed, out_tokens
            while True:
                try:
                    i, prompt = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                rec = await stream_chat(client, path, request_body(prompt, model, output_len, ignore_eos), api_key,
                                        defer=True)
                records[i] = rec
                done += 1
                failed += rec.error is not None
                out_tokens += rec.output_tokens if rec.error is None else 0
                if on_progress:
                    on_progress(Progress(concurrency, done, failed, len(prompts), time.perf_counter() - start, out_tokens))

        await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(prompts))))))
        duration = time.perf_counter() - start
    done_records = []
    for prompt, rec in zip(prompts, records):
        if rec is None:
            continue
        finish(rec)
        if not rec.input_tokens:
            rec.input_tokens = prompt.input_len
        done_records.append(rec)
    return done_records, duration
