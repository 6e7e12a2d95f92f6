"""An OpenAI-compatible streaming server whose timing is known exactly.

Every streamed answer sends its first token D1 ms after the request arrived and
then one token every D2 ms. Token times are scheduled on an absolute clock
(``t0 + D1 + k*D2``), so a late wake-up never shifts the tokens after it, and the
server is a single asyncio loop in its own process: sixteen concurrent streams
keep the same timing as one.

Besides plain chat answers it can:
* stream the first R tokens as ``reasoning_content`` (``--reasoning-tokens``),
  so TTFT to content and TTFT to any token differ by exactly R*D2;
* answer a request that offers ``tools`` with one streamed tool call (whole, as
  SGLang sends them), and a request whose last message is a tool result with a
  short content answer; ``--bad-tool-every K`` makes every K-th tool call carry
  invalid JSON arguments, to test failure-rate reporting.

Run: ``python tests/peers/timed_server.py --port 0 --ttft-ms 50 --itl-ms 10``;
it prints ``LISTENING <port>`` once bound. Tests use :func:`timed_server`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import heapq
import itertools
import json
import os
import subprocess
import sys
import threading
import time

MODEL = "timed-model"


SPIN_S = 0.0003  # the last 0.3 ms before a token is due are spun, not slept (timerfd clock)
SPIN_MAX_WAITING = 2  # …while at most this many answers wait on the clock


class Clock:
    """Wakes coroutines at exact moments without spinning.

    ``asyncio.sleep`` wakes up to 1 ms late (epoll's timeout is whole ms) — that would
    be the server's error, not the bench's. On Linux a timerfd (ns resolution, no timer
    slack, absolute CLOCK_MONOTONIC times = ``perf_counter``) sits in the loop's own
    epoll set, so a due token wakes the loop directly: one wake-up, ~0.05 ms. Elsewhere
    a thread sleeps on a condition variable and hands the moment over with
    ``call_soon_threadsafe`` (two wake-ups, ~0.25 ms late on the 2-core test box).
    """

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.heap: list[tuple[float, int, asyncio.Future]] = []
        self.seq = itertools.count()
        self.armed: float | None = None
        self.tfd = _TimerFD.open() if sys.platform == "linux" else None
        if self.tfd is not None:
            self.loop.add_reader(self.tfd.fd, self._fire)
        else:
            self.cv = threading.Condition()
            threading.Thread(target=self._run, name="timed-clock", daemon=True).start()

    async def until(self, target: float) -> None:
        if target <= time.perf_counter():
            return
        fut = self.loop.create_future()
        if self.tfd is None:
            with self.cv:
                heapq.heappush(self.heap, (target, next(self.seq), fut))
                self.cv.notify()
        else:
            heapq.heappush(self.heap, (target, next(self.seq), fut))
            if self.armed is None or target < self.armed:
                self.armed = target
                self.tfd.arm(target - SPIN_S)
        await fut

    def _fire(self) -> None:  # the timerfd is readable: wake everything due, re-arm for the next
        self.tfd.drain()
        while self.heap:
            now = time.perf_counter()
            target = self.heap[0][0]
            if target > now:
                # Waking a sleeping process costs ~0.1-0.2 ms on a loaded VM, so the timer goes
                # off SPIN_S early and the last stretch is spun — only while few answers wait, so
                # 16 streams (a token due every 0.25 ms) never keep a core busy.
                if target - now > SPIN_S or len(self.heap) > SPIN_MAX_WAITING:
                    break
                while time.perf_counter() < target:
                    pass
            _wake(heapq.heappop(self.heap)[2])
        self.armed = self.heap[0][0] if self.heap else None
        if self.armed is not None:
            self.tfd.arm(self.armed - SPIN_S if len(self.heap) <= SPIN_MAX_WAITING else self.armed)

    def _run(self) -> None:
        while True:
            with self.cv:
                while not self.heap:
                    self.cv.wait()
                target, _, fut = self.heap[0]
                delay = target - time.perf_counter()
                if delay > 0:
                    self.cv.wait(delay)
                    continue
                heapq.heappop(self.heap)
            self.loop.call_soon_threadsafe(_wake, fut)


def _wake(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


class _TimerFD:
    """timerfd_create/settime through ctypes (``os.timerfd_*`` arrived only in Python 3.13)."""

    class _Spec(ctypes.Structure):
        _fields_ = [("interval_s", ctypes.c_long), ("interval_ns", ctypes.c_long),
                    ("value_s", ctypes.c_long), ("value_ns", ctypes.c_long)]

    def __init__(self, libc, fd: int) -> None:
        self.libc, self.fd = libc, fd

    @classmethod
    def open(cls) -> "_TimerFD | None":
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.timerfd_create(time.CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0 or time.get_clock_info("perf_counter").implementation != "clock_gettime(CLOCK_MONOTONIC)":
            return None
        return cls(libc, fd)

    def arm(self, at: float) -> None:
        sec = int(at)
        spec = self._Spec(0, 0, sec, int((at - sec) * 1e9) or 1)
        if self.libc.timerfd_settime(self.fd, 1, ctypes.byref(spec), None) != 0:  # 1: TFD_TIMER_ABSTIME
            raise OSError(ctypes.get_errno(), "timerfd_settime")

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self.fd, 8)


class _ArrivalReader(asyncio.StreamReader):
    """Notes when bytes last came in, so a request's clock starts when its last byte
    arrived, not when this loop got round to parsing it."""

    arrived = 0.0

    def feed_data(self, data: bytes) -> None:
        self.arrived = time.perf_counter()
        super().feed_data(data)


class TimedServer:
    def __init__(self, ttft_ms: float, itl_ms: float, reasoning_tokens: int = 0, bad_tool_every: int = 0,
                 default_tokens: int = 16, fail_every: int = 0):
        self.d1 = ttft_ms / 1000.0
        self.d2 = itl_ms / 1000.0
        self.reasoning_tokens = reasoning_tokens
        self.bad_tool_every = bad_tool_every
        self.default_tokens = default_tokens
        self.fail_every = fail_every
        self.lateness: list[float] = []  # seconds each token went out after its due time
        # per streamed answer: {"id", "t0", "first_content_sent"} (perf_counter, seconds), so a
        # test can split a measured TTFT into request transit, server lateness and delivery
        self.requests: list[dict] = []
        self._chats = itertools.count(1)
        self.clock: Clock | None = None  # made on the serving loop
        self._ids = itertools.count(1)
        self._tool_calls = itertools.count(1)

    # -- HTTP/1.1, keep-alive, chunked responses -------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                # the clock starts when the whole request was in (its last bytes' arrival)
                t0 = getattr(reader, "arrived", 0.0) or time.perf_counter()
                await self.route(method, path.split("?", 1)[0], body, writer, t0)
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def send_json(self, writer, status: int, obj) -> None:
        data = json.dumps(obj).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "OK")
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n".encode()
            + data
        )
        await writer.drain()

    async def route(self, method, path, body, writer, t0) -> None:
        if method == "GET" and path == "/health":
            return await self.send_json(writer, 200, {})
        if method == "GET" and path == "/timed/stats":  # how late the server itself was; resets
            late, self.lateness = sorted(self.lateness), []
            reqs, self.requests = self.requests, []
            pick = (lambda q: late[min(len(late) - 1, int(q * len(late)))] * 1000) if late else (lambda q: None)
            return await self.send_json(writer, 200, {"n": len(late), "p50_ms": pick(0.5), "p99_ms": pick(0.99),
                                                      "max_ms": late[-1] * 1000 if late else None,
                                                      "d1_ms": self.d1 * 1000, "d2_ms": self.d2 * 1000,
                                                      "requests": reqs})
        if method == "GET" and path == "/v1/models":
            return await self.send_json(writer, 200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        if method == "POST" and path == "/v1/chat/completions":
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                return await self.send_json(writer, 400, {"error": {"message": "invalid JSON"}})
            return await self.chat(req, writer, t0)
        return await self.send_json(writer, 404, {"detail": "Not Found"})

    # -- answers ---------------------------------------------------------------------------
    def plan(self, req: dict) -> list[tuple[str, object]]:
        """The tokens of the answer, each ("reasoning"|"content"|"tool", payload)."""
        messages = req.get("messages") or []
        last = messages[-1] if messages else {}
        if req.get("tools") and last.get("role") != "tool":
            tool = req["tools"][0]["function"]
            n = next(self._tool_calls)
            args = '{"location": "Tokyo"' if self.bad_tool_every and n % self.bad_tool_every == 0 else '{"location": "Tokyo"}'
            return [("reasoning", "I should call the tool.")] + [("tool", {"name": tool["name"], "arguments": args})]
        if last.get("role") == "tool":
            return [("content", w) for w in ["The", " weather", " is", " sunny", "."]]
        n = int(req.get("max_tokens") or req.get("max_completion_tokens") or self.default_tokens)
        r = min(self.reasoning_tokens, n)
        return [("reasoning", " think")] * r + [("content", f" tok{i}") for i in range(n - r)]

    async def chat(self, req: dict, writer, t0: float) -> None:
        rid = f"chatcmpl-{next(self._ids)}"
        tokens = self.plan(req)
        prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in req.get("messages") or [])
        base = {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL}
        if not req.get("stream"):
            await self.clock.until(t0 + self.d1 + (len(tokens) - 1) * self.d2)
            content = "".join(p for k, p in tokens if k == "content")
            reasoning = "".join(p for k, p in tokens if k == "reasoning") or None
            msg = {"role": "assistant", "content": content or None, "reasoning_content": reasoning}
            calls = [p for k, p in tokens if k == "tool"]
            if calls:
                msg["tool_calls"] = [{"id": f"call_{i}", "type": "function", "function": c} for i, c in enumerate(calls)]
            return await self.send_json(writer, 200, {
                "id": rid, "object": "chat.completion", "model": MODEL,
                "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls" if calls else "length"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(tokens),
                          "total_tokens": prompt_tokens + len(tokens)},
            })

        # x-timed-t0: when the request was in, on this host's monotonic clock (perf_counter is
        # CLOCK_MONOTONIC on Linux, shared by processes), so a test can split client overhead
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
                     b"x-timed-t0: %.6f\r\ntransfer-encoding: chunked\r\n\r\n" % t0)

        def frame(obj) -> bytes:
            data = ("data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n").encode()
            return b"%x\r\n%s\r\n" % (len(data), data)

        async def event(obj) -> None:
            writer.write(frame(obj))
            await writer.drain()

        record = {"id": rid, "t0": t0, "first_content_sent": None}
        self.requests.append(record)

        # the role chunk goes out at once with empty content, as real servers do
        await event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
        broken = self.fail_every and next(self._chats) % self.fail_every == 0
        for k, (kind, payload) in enumerate(tokens):
            if kind == "tool":
                delta = {"tool_calls": [{"index": 0, "id": f"call_{k}", "type": "function", "function": payload}]}
            elif kind == "reasoning":
                delta = {"reasoning_content": payload}
            else:
                delta = {"content": payload}
            data = frame({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})  # before the wait
            due = t0 + self.d1 + k * self.d2
            await self.clock.until(due)
            if broken and k == 1:  # --fail-every: drop the connection mid-answer
                writer.transport.abort()
                raise ConnectionResetError("fault: fail_every")
            sent = time.perf_counter()
            writer.write(data)  # a free socket takes it in this call
            self.lateness.append(sent - due)
            if kind == "content" and record["first_content_sent"] is None:
                record["first_content_sent"] = sent
            await writer.drain()
        finish = "tool_calls" if tokens and tokens[-1][0] == "tool" else "length"
        await event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (req.get("stream_options") or {}).get("include_usage"):
            await event({**base, "choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(tokens),
                                                          "total_tokens": prompt_tokens + len(tokens)}})
        await event("[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def _loop_factory():
    """uvloop where installed (the console's bench uses it too): its wake-ups cost ~0.05 ms
    less than asyncio's, and every one of them is lateness this server would otherwise add."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def serve(args) -> None:
    with contextlib.suppress(OSError):
        # Ahead of other processes when it may (root): on a busy machine the delays it
        # promises stay the delays it keeps. Without the right, it runs at normal priority.
        os.nice(-10)
    app = TimedServer(args.ttft_ms, args.itl_ms, args.reasoning_tokens, args.bad_tool_every,
                      fail_every=args.fail_every)
    app.clock = Clock()
    loop = asyncio.get_running_loop()

    def protocol() -> asyncio.StreamReaderProtocol:  # asyncio.start_server, with the arrival-noting reader
        return asyncio.StreamReaderProtocol(_ArrivalReader(limit=2**16, loop=loop), app.handle, loop=loop)

    server = await loop.create_server(protocol, args.host, args.port, backlog=256)
    port = server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ttft-ms", type=float, default=50.0, help="D1: delay before the first token")
    p.add_argument("--itl-ms", type=float, default=10.0, help="D2: delay between tokens")
    p.add_argument("--reasoning-tokens", type=int, default=0)
    p.add_argument("--bad-tool-every", type=int, default=0)
    p.add_argument("--fail-every", type=int, default=0, help="every K-th chat answer breaks off mid-stream")
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve(args))


@contextlib.contextmanager
def timed_server(ttft_ms: float = 50.0, itl_ms: float = 10.0, reasoning_tokens: int = 0, bad_tool_every: int = 0,
                 fail_every: int = 0):
    """Run the server in its own process; yields its base URL (``http://127.0.0.1:PORT``)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--port", "0", "--ttft-ms", str(ttft_ms),
           "--itl-ms", str(itl_ms), "--reasoning-tokens", str(reasoning_tokens), "--bad-tool-every", str(bad_tool_every),
           "--fail-every", str(fail_every)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("LISTENING"):
            raise RuntimeError(f"timed server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
