"""Chat benchmark: can the chat pane keep up with a server streaming as fast as it can?

A local server (a separate process, so it does not compete for this one's GIL) streams
a gpt-oss-shaped answer: REASONING_TOKENS of ``reasoning_content`` then CONTENT_TOKENS
of Markdown ``content`` (paragraphs, lists, headings, code fences), one token per SSE
chunk, then usage and ``[DONE]``. In the same run, alternating:

(a) the raw openai client (AsyncOpenAI) consumes the stream and touches every delta;
(b) the chat pane, mounted in a headless Textual app, sends the turn through the real
    ChatSession and renders it; timed from Enter to "everything on screen";
(c) for reference, the ChatSession alone with no UI (the core reads SSE itself, without
    the SDK's pydantic models, so it is faster than (a); pane − core is the UI's cost).

Prints tok/s for each, then ``RATIO chat_render <pane/raw> goal <= 1.10`` and
``RATE chat_pane_tok_s <x> goal >= 5000`` (medians over REPEATS runs).

    python tests/perf/bench_chat.py [--tokens N] [--repeats R] [--size 80x24]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MODEL = "openai/gpt-oss-20b"
REASONING_TOKENS = 1_000
WORDS = ("the model streams tokens quickly while the console renders markdown with lists code and tables "
         "for operators who watch a server under load and want to know whether it keeps up").split()


def answer_tokens(n: int, seed: int = 7) -> list[str]:
    """Deterministic Markdown, cut into word-sized tokens like a tokenizer would."""
    rng = random.Random(seed)
    out: list[str] = []
    section = 0
    while len(out) < n:
        kind = rng.random()
        if kind < 0.08:
            section += 1
            out += ["\n\n", "## ", "Section ", f"{section}", "\n\n"]
        elif kind < 0.2:
            for _ in range(rng.randint(3, 6)):
                out += ["- ", "**", rng.choice(WORDS), "**", " "] + [rng.choice(WORDS) + " " for _ in range(rng.randint(3, 9))]
                out.append("\n")
            out.append("\n")
        elif kind < 0.26:
            out += ["```", "python", "\n"]
            for i in range(rng.randint(3, 10)):
                out += ["value", f"_{i}", " = ", f"{rng.randint(0, 999)}", "\n"]
            out += ["```", "\n\n"]
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(25, 70))]
            words[0] = words[0].capitalize()
            out += [w + " " for w in words[:-1]] + [words[-1] + ".", "\n\n"]
    return out[:n]


def sse_body(content_tokens: int) -> bytes:
    created = 1_700_000_000
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": created, "model": MODEL}

    def chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
        obj = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])
        if usage is not None:
            obj["usage"] = usage
        return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"

    parts = [chunk({"role": "assistant", "content": ""})]
    rng = random.Random(3)
    parts += [chunk({"reasoning_content": rng.choice(WORDS) + " "}) for _ in range(REASONING_TOKENS)]
    parts += [chunk({"content": tok}) for tok in answer_tokens(content_tokens)]
    total = REASONING_TOKENS + content_tokens
    parts.append(chunk({}, "stop"))
    parts.append(b"data: " + json.dumps(dict(base, choices=[], usage={
        "prompt_tokens": 24, "completion_tokens": total, "total_tokens": total + 24,
        "prompt_tokens_details": {"cached_tokens": 0}})).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


# ----------------------------------------------------------------------------- server process


def serve(port: int, content_tokens: int) -> None:
    body = sse_body(content_tokens)
    models = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "bench"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(models)))
            self.end_headers()
            self.wfile.write(models)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            view = memoryview(body)
            for i in range(0, len(body), 65536):  # as fast as the socket takes it
                self.wfile.write(view[i : i + 65536])

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(content_tokens: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--tokens", str(content_tokens)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("bench server did not start")


# ----------------------------------------------------------------------------- consumers


async def raw_client(base_url: str) -> tuple[float, int]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="bench")
    tokens = 0
    t0 = time.perf_counter()
    stream = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "go"}],
                                                  stream=True, stream_options={"include_usage": True})
    async for chunk in stream:
        if chunk.choices:
            delta = chunk.choices[0].delta
            if delta.content or getattr(delta, "reasoning_content", None):
                tokens += 1
    elapsed = time.perf_counter() - t0
    await client.close()
    return elapsed, tokens


async def session_only(base_url: str) -> float:
    """The chat core alone, no UI: separates the pane's rendering cost from the core's parsing."""
    from console.chat.session import ChatSession, ChatSettings

    session = ChatSession(ChatSettings(base_url=base_url, api_key="bench", model=MODEL, tools=[]))
    t0 = time.perf_counter()
    async for _ in session.run_turn("go"):
        pass
    elapsed = time.perf_counter() - t0
    await session.aclose()
    return elapsed


async def chat_pane(base_url: str, repeats: int, size: tuple[int, int]) -> list[tuple[float, int, object]]:
    from textual.app import App

    from console.ui.chat import adapter
    from console.chat.settings import ChatSettings
    from console.ui.chat.pane import ChatPane

    styles = ROOT / "styles"
    settings = ChatSettings(base_url=base_url, api_key="bench", model=MODEL, tools_enabled=False)

    class BenchApp(App):
        CSS_PATH = [str(styles / "app.tcss"), str(styles / "chat.tcss")]

        def compose(self):
            yield ChatPane(settings=settings, session_factory=adapter.make_session)

    results = []
    app = BenchApp()
    async with app.run_test(size=size) as pilot:
        pane = app.query_one(ChatPane)
        for _ in range(repeats):
            pane.action_new_conversation()
            await pilot.pause()
            t0 = time.perf_counter()
            pane.send("go")
            while not pane.turns:
                await asyncio.sleep(0)
            message = pane.turns[-1]
            await message.wait_rendered()
            elapsed = time.perf_counter() - t0
            tokens = len(message.record.rounds[0].chunks) if message.record.rounds else 0
            stats = message.record.stats
            if message.record.error is not None:
                raise SystemExit(f"chat pane turn failed: {message.record.error.message}")
            results.append((elapsed, stats.completion_tokens if stats else tokens, message))
            await pilot.pause()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=20_000, help="content tokens (reasoning adds 1000)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", default="80x24", help="terminal size of the headless app")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.tokens)
        return 0
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    proc, base_url = start_server(args.tokens)
    try:
        asyncio.run(raw_client(base_url))  # warm-up: imports, connection set-up
        asyncio.run(chat_pane(base_url, 1, (cols, rows)))
        raw_times, pane_times, core_times = [], [], []
        raw_tokens = pane_tokens = 0
        for _ in range(args.repeats):  # alternate, so drift on a shared machine hits both alike
            t, raw_tokens = asyncio.run(raw_client(base_url))
            raw_times.append(t)
            core_times.append(asyncio.run(session_only(base_url)))
            (t, pane_tokens, message), = asyncio.run(chat_pane(base_url, 1, (cols, rows)))
            pane_times.append(t)
            renders, render_s = message.renders, message.render_time_s
    finally:
        proc.kill()
        proc.wait()
    ratios = [p / r for p, r in zip(pane_times, raw_times)]
    raw_t, pane_t = statistics.median(raw_times), statistics.median(pane_times)
    print(f"stream: {raw_tokens:,} tokens ({REASONING_TOKENS:,} reasoning + {args.tokens:,} Markdown content), "
          f"headless {cols}x{rows}, {args.repeats} alternating runs (medians)")
    print(f"raw openai client : {raw_t:.3f} s  {raw_tokens / raw_t:,.0f} tok/s  runs {', '.join(f'{t:.3f}' for t in raw_times)}")
    print(f"chat pane         : {pane_t:.3f} s  {pane_tokens / pane_t:,.0f} tok/s  runs {', '.join(f'{t:.3f}' for t in pane_times)}"
          f"  (last run: {renders} renders, {render_s:.3f} s rendering)")
    core_t = statistics.median(core_times)
    print(f"chat core, no UI  : {core_t:.3f} s  {raw_tokens / core_t:,.0f} tok/s  (the pane's own cost is pane - core)")
    print(f"pairwise pane/raw : {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"RATIO chat_render {statistics.median(ratios):.3f} goal <= 1.10")
    print(f"RATE chat_pane_tok_s {pane_tokens / pane_t:.0f} goal >= 5000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
