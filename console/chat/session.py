"""A chat conversation with an OpenAI-compatible server, as a stream of typed events.

``ChatSession.run_turn(text)`` sends the conversation, streams the answer (or not),
runs the tool calls the model asks for through the ``ToolRegistry``, sends the
results back, and repeats up to ``max_rounds`` tool rounds. It yields the events
of ``console.chat.events`` in order; the UI and the smoke suite consume them.

The wire is watched, not trusted: the OpenAI client is used for auth, URLs and
error types, but stream lines are read and decoded here, so every raw chunk and
whether ``data: [DONE]`` came are known exactly (the SDK hides both), and each
round's exchange is kept for the inspector and transcripts.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import json
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, AsyncIterator

from console.secret import reveal
from console.chat import import_client_libraries
from console.chat.events import (
    ChatEvent, ChunkReceived, ContentDelta, Finding, ReasoningDelta, RequestSent, ToolCallRequested,
    ToolResult, TurnDone, TurnError, TurnStats,
)
from console.chat.inspect import RoundCheck, check_call, check_round
from console.chat.settings import ChatSettings
from console.chat.tools import ToolRegistry, default_registry
from console.exit_codes import EXIT_USAGE

def tool_choice_param(choice: Any) -> Any:
    if choice in (None, "auto", "required", "none") or isinstance(choice, dict):
        return choice
    return {"type": "function", "function": {"name": str(choice)}}


@dataclass
class Exchange:
    """One request and its response, exactly as they went over the wire."""

    round: int
    request: dict[str, Any]
    streamed: bool
    started: float
    status: int | None = None
    wire_request: bytes | None = None  # the body bytes httpx sent
    chunks: list[Any] = field(default_factory=list)  # decoded stream chunks ("[DONE]" included) or [response]
    done_seen: bool = False
    error: str | None = None
    broken: str | None = None  # the transport failed after the response began (mid-stream disconnect)
    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"id", "name", "arguments"}
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    first_token_at: float | None = None
    first_content_at: float | None = None
    ended: float | None = None
    delta_chunks: int = 0  # chunks that carried text or calls (token estimate when usage is absent)
    chunk_count: int = 0  # data chunks with choices


@dataclass
class TurnRecord:
    user_text: str | None
    events: list[Any] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    replay_of: int | None = None  # index of the turn this replays

    @property
    def findings(self) -> list[Finding]:
        return [e for e in self.events if isinstance(e, Finding)]

    @property
    def stats(self) -> TurnStats | None:
        return next((e for e in reversed(self.events) if isinstance(e, TurnStats)), None)

    @property
    def error(self) -> TurnError | None:
        return next((e for e in self.events if isinstance(e, TurnError)), None)

    @property
    def content(self) -> str:
        return "".join(x.content for x in self.exchanges)


_wire_slot: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar("wire_slot", default=None)
_END = object()


class _Cancelled(Exception):
    pass


class ChatSession:
    """One conversation. Not safe for two turns at once; ``cancel()`` may come from any thread."""

    def __init__(self, settings: ChatSettings, registry: ToolRegistry | None = None):
        self.settings = settings
        self.registry = registry if registry is not None else default_registry(tools_file=settings.tools_file)
        self.messages: list[dict[str, Any]] = []
        self.turns: list[TurnRecord] = []
        self._client: Any = None
        self._cancel = threading.Event()
        self._reader: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Optional parameters a server refused (HTTP 400/422 naming them): left out from then on.
        self.dropped_params: set[str] = set()
        if settings.system_prompt:
            self.messages.append({"role": "system", "content": settings.system_prompt})

    # ------------------------------------------------------------------ public API

    @property
    def config(self) -> ChatSettings:
        return self.settings

    @config.setter
    def config(self, settings: ChatSettings) -> None:
        """New settings for later turns; the conversation is kept (tools reload if the file changed)."""
        if settings.tools_file != self.settings.tools_file:
            self.registry = default_registry(tools_file=settings.tools_file)
        old_base, old_key = self.settings.base_url, self.settings.api_key
        self.settings = settings
        if (settings.base_url, settings.api_key) != (old_base, old_key) and self._client is not None:
            client, self._client = self._client, None
            try:
                asyncio.get_running_loop().create_task(client.close())
            except RuntimeError:
                pass
        self.set_system_prompt(settings.system_prompt)

    def set_system_prompt(self, text: str | None) -> None:
        self.settings.system_prompt = text or None
        self.messages = [m for m in self.messages if m.get("role") != "system"]
        if text:
            self.messages.insert(0, {"role": "system", "content": text})

    def reset(self) -> None:
        """Forget the conversation (keeps settings and tools)."""
        self.messages = []
        self.turns = []
        self.set_system_prompt(self.settings.system_prompt)

    def cancel(self) -> None:
        """Stop the running turn: the stream is dropped and the turn ends with TurnDone(cancelled=True)."""
        self._cancel.set()
        task, loop = self._reader, self._loop
        if task is not None and loop is not None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                task.cancel()
            else:
                loop.call_soon_threadsafe(task.cancel)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def resolve_model(self, *, verify: bool = False) -> str:
        """The model to ask for: the one set, else the first /v1/models lists.

        ``verify``: also check that a set model is served (a typo otherwise comes back as an
        engine-specific 404 halfway through a turn).
        """
        if self.settings.model and not verify:
            return self.settings.model
        from console.errors import ConsoleError
        from console.server.client import AsyncServerClient

        async with AsyncServerClient(self.settings.base_url, self.settings.api_key,
                                     timeout=min(self.settings.timeout_s, 15)) as c:
            ids = await c.model_ids()
        if not ids:
            raise ConsoleError("/v1/models lists no models", "is the server still loading?")
        if self.settings.model and self.settings.model not in ids:
            raise ConsoleError(f"model {self.settings.model!r} is not served; the server lists: {', '.join(ids)}",
                               "pass one of those to --model, or leave it out for the first one",
                               exit_code=EXIT_USAGE)
        self.settings.model = self.settings.model or ids[0]
        return self.settings.model

    async def run_turn(self, user_text: str, **overrides: Any) -> AsyncIterator[ChatEvent]:
        """Send ``user_text`` and stream the turn's events. ``overrides`` change settings for this turn only."""
        self.messages.append({"role": "user", "content": user_text})
        turn = TurnRecord(user_text)
        self.turns.append(turn)
        async for ev in self._turn(self.messages, turn, replace(self.settings, **overrides) if overrides else self.settings):
            yield ev

    async def replay_turn(self, messages: list[dict[str, Any]], *, adopt: bool = False,
                          replay_of: int | None = None, **overrides: Any) -> AsyncIterator[ChatEvent]:
        """Run a turn from an edited message list. ``adopt`` makes it the conversation's history."""
        msgs = copy.deepcopy(messages)
        turn = TurnRecord(_last_user(msgs), replay_of=replay_of)
        self.turns.append(turn)
        async for ev in self._turn(msgs, turn, replace(self.settings, **overrides) if overrides else self.settings):
            yield ev
        if adopt:
            self.messages = msgs

    def replay(self, messages: list[dict[str, Any]], **overrides: Any) -> AsyncIterator[ChatEvent]:
        """Shorthand for ``replay_turn(messages)`` (the inspector's "replay turn")."""
        return self.replay_turn(messages, replay_of=len(self.turns) - 1 if self.turns else None, **overrides)

    async def replay_call(self, call_id: str, arguments: Any, *, adopt: bool = False) -> AsyncIterator[ChatEvent]:
        """Re-run one tool call with edited arguments, then let the model continue from there."""
        for i, m in enumerate(self.messages):
            calls = m.get("tool_calls") or []
            if m.get("role") == "assistant" and any(c.get("id") == call_id for c in calls):
                break
        else:
            yield TurnError(f"no tool call with id {call_id!r} in this conversation")
            yield TurnDone()
            return
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        msgs = copy.deepcopy(self.messages[: i + 1])
        call = next(c for c in msgs[i]["tool_calls"] if c.get("id") == call_id)
        call["function"]["arguments"] = raw
        # Keep the other calls' recorded results; recompute the edited one.
        for m in self.messages[i + 1:]:
            if m.get("role") != "tool":
                break
            if m.get("tool_call_id") != call_id:
                msgs.append(copy.deepcopy(m))
        name = call["function"]["name"]
        check = check_call(name, raw, self.registry, 0, self._offered(self.settings))
        turn = TurnRecord(_last_user(msgs), replay_of=len(self.turns) - 1)
        self.turns.append(turn)
        ev: ChatEvent = ToolCallRequested(0, call_id, name, raw, check.arguments, tuple(check.problems))
        turn.events.append(ev)
        yield ev
        result = await self._execute(0, call_id, name, check.arguments, check.problems)
        turn.events.append(result)
        yield result
        msgs.append({"role": "tool", "tool_call_id": call_id, "content": result.result})
        async for ev in self._turn(msgs, turn, self.settings, first_round=1):
            yield ev
        if adopt:
            self.messages = msgs

    async def send_raw(self, request: dict[str, Any]) -> AsyncIterator[ChatEvent]:
        """Send one (edited) request body as it stands: one round, no tool execution."""
        turn = TurnRecord(_last_user(request.get("messages") or []), replay_of=len(self.turns) - 1)
        self.turns.append(turn)
        async for ev in self._turn(copy.deepcopy(request.get("messages") or []), turn, self.settings,
                                   raw_request=copy.deepcopy(request)):
            yield ev

    # ------------------------------------------------------------------ the loop

    def _offered(self, s: ChatSettings) -> set[str]:
        names = s.offered_tools()
        return set(self.registry.names() if names is None else [n for n in names if n in self.registry])

    def _params(self, s: ChatSettings, messages: list[dict[str, Any]], round: int) -> dict[str, Any]:
        p: dict[str, Any] = {"model": s.model, "messages": [dict(m) for m in messages]}  # a snapshot: history grows
        tools = self.registry.schemas(s.offered_tools())
        if tools:
            p["tools"] = tools
            choice = s.tool_choice
            if round > 0 and choice not in ("none", "auto", None):
                choice = "auto"  # forcing a call every round would never end the loop
            if choice is not None:
                p["tool_choice"] = tool_choice_param(choice)
            if s.parallel_tool_calls is not None:
                p["parallel_tool_calls"] = s.parallel_tool_calls
        if s.reasoning_effort:
            p["reasoning_effort"] = s.reasoning_effort
        if s.max_tokens:
            p["max_tokens"] = s.max_tokens
        if s.temperature is not None:
            p["temperature"] = s.temperature
        if s.stream:
            p["stream"] = True
            if s.include_usage:
                p["stream_options"] = {"include_usage": True}
        for k in self.dropped_params:
            p.pop(k, None)
        p.update(s.extra_body)
        return p

    async def _turn(self, messages: list[dict[str, Any]], turn: TurnRecord, s: ChatSettings, *,
                    first_round: int = 0, raw_request: dict[str, Any] | None = None,
                    ) -> AsyncIterator[ChatEvent]:
        self._cancel.clear()
        self._loop = asyncio.get_running_loop()
        await self._openai()  # build the client (and import openai) before any timing starts
        t0 = time.monotonic()

        def emit(ev: ChatEvent) -> ChatEvent:
            turn.events.append(ev)
            return ev

        try:
            if raw_request is None:
                await self.resolve_model()
                s = replace(s, model=self.settings.model) if not s.model else s
        except Exception as e:
            err = _error_event(e, s.base_url, 0)
            yield emit(err)
            yield emit(TurnDone())
            return
        offered = self._offered(s)
        cancelled = False
        rnd = first_round
        while True:
            params = raw_request if raw_request is not None else self._params(s, messages, rnd)
            streamed = bool(params.get("stream"))
            ex = Exchange(rnd, params, streamed, time.monotonic())
            turn.exchanges.append(ex)
            yield emit(RequestSent(rnd, params, ex.started))
            try:
                async for ev in (self._stream_round(ex, s) if streamed else self._whole_round(ex, s)):
                    yield emit(ev)
            except _Cancelled:
                cancelled = True
            ex.ended = time.monotonic()
            refused = _refused_optional(ex) if raw_request is None and not cancelled else None
            if refused:
                # An optional extra (stream_options, reasoning_effort, ...) the server does not know:
                # say so, leave it out from now on, and send the round again.
                self.dropped_params.add(refused)
                yield emit(Finding("param-rejected", f"the server rejected {refused} ({_one_line(ex.error)}); "
                                   f"sent again without it", "request", "warning", rnd))
                continue
            if ex.error and not ex.chunks and not cancelled:
                # The server refused the request: nothing to inspect.
                yield emit(TurnError(ex.error, _hint_for(ex.status, ex.error, s), rnd, ex.status))
                break
            calls = []
            for i, c in enumerate(ex.tool_calls):
                chk = check_call(c["name"], c["arguments"], self.registry, rnd, offered)
                calls.append((c, chk))
                yield emit(ToolCallRequested(rnd, c["id"], c["name"], c["arguments"], chk.arguments, tuple(chk.problems)))
                for f in chk.findings:
                    yield emit(f)
            rc = RoundCheck(streamed, ex.content, ex.reasoning, len(ex.tool_calls), ex.finish_reason,
                            ex.chunk_count if streamed else 1, ex.done_seen, ex.broken,
                            (ex.usage or {}).get("completion_tokens"))
            if not cancelled and not (ex.error and not ex.chunks):
                for f in check_round(rc, rnd, offered):
                    yield emit(f)
            if ex.error and not cancelled:
                yield emit(TurnError(ex.error, None, rnd, ex.status))
            # The assistant message goes into the history even when partial, so the conversation stays valid.
            if raw_request is None and (ex.content or ex.tool_calls or not cancelled):
                # content is always a string: OpenAI allows null beside tool_calls, but llama-cpp-python
                # (and other pydantic-strict servers) reject a null content with HTTP 500.
                msg: dict[str, Any] = {"role": "assistant", "content": ex.content}
                if ex.tool_calls:
                    msg["tool_calls"] = [{"id": c["id"], "type": "function",
                                          "function": {"name": c["name"], "arguments": c["arguments"]}} for c in ex.tool_calls]
                messages.append(msg)
            if cancelled or ex.error or raw_request is not None or not ex.tool_calls:
                break
            # Depth limit: calls are still answered (so the history stays valid), but not sent back.
            at_limit = rnd - first_round >= s.max_rounds
            results = await asyncio.gather(*(self._execute(rnd, c["id"], c["name"], chk.arguments, chk.problems)
                                             for c, chk in calls))
            for r in results:
                yield emit(r)
                messages.append({"role": "tool", "tool_call_id": r.call_id, "content": r.result})
            if self._cancel.is_set():
                cancelled = True
                break
            if at_limit:
                yield emit(Finding("tool-depth-limit", f"stopped after {s.max_rounds} tool round(s): the model kept calling tools",
                                   "turn", "warning", rnd))
                break
            rnd += 1
        yield emit(self._stats(turn, t0, first_round))
        yield emit(TurnDone(cancelled=cancelled))

    async def _execute(self, rnd: int, call_id: str, name: str, args: Any, problems: Any) -> ToolResult:
        if args is None:
            err = "; ".join(problems) or "arguments are not a JSON object"
            return ToolResult(rnd, call_id, name, json.dumps({"error": err}), 0.0, err)
        out = await self.registry.execute(name, args)
        return ToolResult(rnd, call_id, name, out.result, out.elapsed_s, out.error)

    def _stats(self, turn: TurnRecord, t0: float, first_round: int) -> TurnStats:
        exs = [e for e in turn.exchanges if e.round >= first_round]
        exs = [e for e in exs if e.chunks or not e.error] or exs  # refused-and-resent requests don't count
        first = exs[0] if exs else None
        ttft_any = first.first_token_at - first.started if first and first.first_token_at else None
        # Both from the turn's first request: in a tool turn the content comes rounds later, and
        # timing it from its own round made 'first content' read earlier than 'first token'.
        ttft_content = next((e.first_content_at - first.started for e in exs if e.first_content_at), None)
        usages = [e.usage for e in exs if e.usage]
        complete = bool(usages) and len(usages) == len(exs)
        completion = _usage_sum(usages, "completion_tokens") if complete else None
        prompt = _usage_sum(usages, "prompt_tokens") if complete else None
        cached = _usage_sum([u.get("prompt_tokens_details") or {} for u in usages], "cached_tokens") if complete else None
        if cached is not None and prompt is not None:
            cached = min(cached, prompt)  # a server reporting more cached than prompt tokens is not believed
        # Streamed: from the first token to the end; whole responses: the whole request.
        gen_time = sum((e.ended or e.started) - (e.first_token_at if e.streamed else e.started)
                       for e in exs if e.first_token_at)
        tokens = completion if completion is not None else sum(e.delta_chunks for e in exs) or None
        tps = generation_rate(tokens, gen_time)
        last = exs[-1] if exs else None
        return TurnStats(ttft_any, ttft_content, completion, prompt, cached, tps, time.monotonic() - t0,
                         last.finish_reason if last else None, rounds=len(exs))

    # ------------------------------------------------------------------ the wire

    async def _openai(self) -> Any:
        if self._client is None:
            # openai takes ~0.5 s to import: on a thread, so a UI sharing this loop keeps drawing.
            await asyncio.to_thread(import_client_libraries)
            import httpx
            import openai

            async def on_request(request: httpx.Request) -> None:
                ex = _wire_slot.get()
                if ex is not None:
                    ex.wire_request = request.content

            from console.server.client import openai_base_url

            http = httpx.AsyncClient(timeout=httpx.Timeout(self.settings.timeout_s, connect=10.0),
                                     event_hooks={"request": [on_request]})
            self._client = openai.AsyncOpenAI(base_url=openai_base_url(self.settings.base_url),
                                              api_key=reveal(self.settings.api_key) or "none", max_retries=0,
                                              http_client=http)
        return self._client

    @staticmethod
    def _split(params: dict[str, Any]) -> dict[str, Any]:
        """create(...) kwargs that make the SDK send ``params`` byte-for-byte as built here.

        Everything goes through ``extra_body`` (merged over the SDK's body): the SDK's own
        per-request transform of ``messages`` walks the whole history through TypedDict
        machinery (≈0.1 s a request on a 100-turn conversation) and may reshape it.
        """
        return {"model": params.get("model"), "messages": [], "extra_body": dict(params)}

    async def _whole_round(self, ex: Exchange, s: ChatSettings) -> AsyncIterator[ChatEvent]:
        client = await self._openai()

        async def call() -> tuple[int, str]:
            _wire_slot.set(ex)
            raw = await client.chat.completions.with_raw_response.create(**self._split(ex.request))
            return raw.http_response.status_code, raw.http_response.text

        task = asyncio.ensure_future(call())
        self._reader = task
        try:
            status, text = await task
        except asyncio.CancelledError:
            if self._cancel.is_set():
                raise _Cancelled() from None
            raise
        except Exception as e:
            ex.status, ex.error = _describe(e, s.base_url)
            return
        finally:
            self._reader = None
        now = time.monotonic()
        ex.status = status
        try:
            body = json.loads(text)
        except ValueError:
            ex.chunks.append(text)
            ex.error = f"the response is not JSON: {text[:200]!r}"
            yield ChunkReceived(ex.round, text, now)
            return
        ex.chunks.append(body)
        yield ChunkReceived(ex.round, body, now)
        if isinstance(body, dict) and body.get("error"):
            ex.error = _error_text(body)
            return
        # Every field read for its type: a server may send anything (tests/test_properties.py).
        body = _obj(body)
        ex.usage = _usage(body.get("usage"))
        choices = _list(body.get("choices"))
        choice = _obj(choices[0]) if choices else {}
        msg = _obj(choice.get("message"))
        ex.finish_reason = _opt_str(choice.get("finish_reason"))
        ex.reasoning = _text(msg.get("reasoning_content") or msg.get("reasoning"))
        ex.content = _text(msg.get("content"))
        for i, tc in enumerate(_list(msg.get("tool_calls"))):
            tc = _obj(tc)
            fn = _obj(tc.get("function"))
            args = fn.get("arguments")
            ex.tool_calls.append({"id": _opt_str(tc.get("id")) or f"call_{ex.round}_{i}", "name": _text(fn.get("name")),
                                  "arguments": args if isinstance(args, str) else json.dumps(args)})
        if ex.reasoning or ex.content or ex.tool_calls:
            ex.first_token_at = now
            ex.first_content_at = now if ex.content else None
            ex.delta_chunks = 1
        if ex.reasoning:
            yield ReasoningDelta(ex.round, ex.reasoning)
        if ex.content:
            yield ContentDelta(ex.round, ex.content)

    async def _stream_round(self, ex: Exchange, s: ChatSettings) -> AsyncIterator[ChatEvent]:
        client = await self._openai()
        queue: asyncio.Queue = asyncio.Queue()

        async def reader() -> None:
            _wire_slot.set(ex)
            try:
                async with client.chat.completions.with_streaming_response.create(**self._split(ex.request)) as resp:
                    ex.status = resp.status_code
                    async for line in resp.iter_lines():
                        queue.put_nowait(line)
            except asyncio.CancelledError:
                queue.put_nowait(_Cancelled())
                raise
            except Exception as e:
                queue.put_nowait(e)
            finally:
                queue.put_nowait(_END)

        task = asyncio.ensure_future(reader())
        self._reader = task
        calls: dict[int, dict[str, Any]] = {}
        content: list[str] = []
        reasoning: list[str] = []
        rnd = ex.round
        try:
            while True:
                item = await queue.get()
                batch = [item]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                for item in batch:
                    if item is _END:
                        return
                    if isinstance(item, _Cancelled):
                        raise item
                    if isinstance(item, BaseException):
                        if self._cancel.is_set():
                            raise _Cancelled()
                        status, err = _describe(item, s.base_url)
                        if ex.status is not None and ex.status < 300:
                            ex.broken = err  # the response had begun: the stream broke
                        else:
                            ex.status = status if status != 200 else ex.status
                        ex.error = err
                        continue
                    line: str = item
                    if not line or line[0] == ":":
                        continue
                    if line.startswith("data:"):
                        data = line[5:].lstrip()
                    elif line.startswith(("event:", "id:", "retry:")):
                        continue
                    else:
                        data = line
                    now = time.monotonic()
                    if data == "[DONE]":
                        ex.done_seen = True
                        ex.chunks.append("[DONE]")
                        yield ChunkReceived(rnd, "[DONE]", now)
                        continue
                    try:
                        obj = json.loads(data)
                    except ValueError:
                        ex.chunks.append(data)
                        yield ChunkReceived(rnd, data, now)
                        yield Finding("bad-chunk", f"a stream line is not JSON: {data[:120]!r}", "stream", "error", rnd)
                        continue
                    ex.chunks.append(obj)
                    yield ChunkReceived(rnd, obj, now)
                    if not isinstance(obj, dict):
                        continue
                    if obj.get("error"):
                        ex.error = "error inside the stream: " + _error_text(obj)
                        continue
                    if obj.get("usage"):
                        ex.usage = _usage(obj["usage"]) or ex.usage
                    if obj.get("choices"):
                        ex.chunk_count += 1
                    for ch in _list(obj.get("choices")):
                        ch = _obj(ch)
                        delta = ch.get("delta")
                        if delta is None and isinstance(ch.get("message"), dict):
                            # Asked to stream, the server sent one whole response instead.
                            delta = ch["message"]
                            yield Finding("not-streamed", "stream requested, but the server answered with one "
                                          "whole chat.completion body", "stream", "warning", rnd)
                        delta = _obj(delta)
                        r = _text(delta.get("reasoning_content") or delta.get("reasoning"))
                        if r:
                            if ex.first_token_at is None:
                                ex.first_token_at = now
                            ex.delta_chunks += 1
                            reasoning.append(r)
                            yield ReasoningDelta(rnd, r)
                        c = _text(delta.get("content"))
                        if c:
                            if ex.first_token_at is None:
                                ex.first_token_at = now
                            if ex.first_content_at is None:
                                ex.first_content_at = now
                            ex.delta_chunks += 1
                            content.append(c)
                            yield ContentDelta(rnd, c)
                        for j, tc in enumerate(_list(delta.get("tool_calls"))):
                            tc = _obj(tc)
                            if ex.first_token_at is None:
                                ex.first_token_at = now
                            ex.delta_chunks += 1
                            idx = tc.get("index")
                            tc_id = _opt_str(tc.get("id"))
                            if not isinstance(idx, int) or isinstance(idx, bool):
                                # some engines omit it: a new id starts a new call
                                new = tc_id and all(v["id"] != tc_id for v in calls.values())
                                idx = len(calls) if new or not calls else max(calls)
                            acc = calls.setdefault(idx, {"id": None, "name": "", "arguments": ""})
                            if tc_id:
                                acc["id"] = acc["id"] or tc_id
                            fn = _obj(tc.get("function"))
                            if fn.get("name") and not acc["name"]:
                                acc["name"] = _text(fn["name"])
                            a = fn.get("arguments")
                            if a:
                                acc["arguments"] += a if isinstance(a, str) else json.dumps(a)
                        if ch.get("finish_reason"):
                            ex.finish_reason = _opt_str(ch["finish_reason"])
        finally:
            if not task.done():
                task.cancel()
            self._reader = None
            ex.content = "".join(content)
            ex.reasoning = "".join(reasoning)
            ex.tool_calls = [{"id": v["id"] or f"call_{rnd}_{k}", "name": v["name"], "arguments": v["arguments"]}
                             for k, v in sorted(calls.items())]


# ---------------------------------------------------------------------- errors in plain words


OPTIONAL_PARAMS = ("stream_options", "reasoning_effort", "parallel_tool_calls")


def _refused_optional(ex: Exchange) -> str | None:
    """The optional parameter a 400/422 names, when the request carried it."""
    if not ex.error or ex.chunks or ex.status not in (400, 422):
        return None
    return next((k for k in OPTIONAL_PARAMS if k in ex.request and k in ex.error), None)


def _obj(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _opt_str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _text(v: Any) -> str:
    """A text field as text: content parts joined, other JSON kept visible rather than dropped."""
    if v is None or isinstance(v, str):
        return v or ""
    if isinstance(v, list) and all(isinstance(p, dict) for p in v):
        return "".join(p["text"] for p in v if isinstance(p.get("text"), str))
    return json.dumps(v)


def _count(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def _usage(v: Any) -> dict[str, Any] | None:
    """The usage block with its counts as counts (what the stats add up), or None."""
    if not isinstance(v, dict):
        return None
    out: dict[str, Any] = {k: c for k in ("prompt_tokens", "completion_tokens", "total_tokens")
                           if (c := _count(v.get(k))) is not None}
    details = _obj(v.get("prompt_tokens_details"))
    if "cached_tokens" in details and _count(details["cached_tokens"]) is not None:
        out["prompt_tokens_details"] = {"cached_tokens": details["cached_tokens"]}
    elif "prompt_tokens_details" in v:
        out["prompt_tokens_details"] = None
    return out or None


def _one_line(text: str | None, n: int = 160) -> str:
    t = " ".join((text or "").split())
    return t if len(t) <= n else t[: n - 1] + "…"


def _last_user(messages: list[dict[str, Any]]) -> str | None:
    for m in reversed(messages):
        if m.get("role") == "user":
            return m.get("content") if isinstance(m.get("content"), str) else json.dumps(m.get("content"))
    return None


def _error_text(body: Any) -> str:
    """The server's own words from an error body, whatever its shape."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            words = err.get("message") or err.get("detail")
            if words:
                return str(words)
            return f"{err.get('type') or 'error'} (the server gave no message)"
        if isinstance(err, str):
            return err
        return str(body.get("message") or body.get("detail") or body)
    return str(body)


def _describe(exc: BaseException, base_url: str) -> tuple[int | None, str]:
    """(HTTP status or None, message) for anything the request raised."""
    import httpx
    import openai

    if isinstance(exc, openai.APIStatusError):
        body = exc.body
        if body is None:
            try:
                body = exc.response.json()
            except Exception:
                body = exc.response.text
        return exc.status_code, f"HTTP {exc.status_code}: {_error_text(body)}"
    if isinstance(exc, openai.APITimeoutError) or isinstance(exc, httpx.TimeoutException):
        return None, f"no answer from {base_url} in time (timeout)"
    if isinstance(exc, openai.APIConnectionError) and isinstance(exc.__cause__, httpx.HTTPError):
        exc = exc.__cause__
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return 200, f"the connection closed mid-answer ({type(exc).__name__}: {exc})"
    if isinstance(exc, openai.APIConnectionError) or isinstance(exc, httpx.ConnectError):
        cause = exc.__cause__ or exc
        return None, f"no server at {base_url}: is it running / is the port published? ({cause})"
    return None, f"{type(exc).__name__}: {exc}"


def _hint_for(status: int | None, message: str, s: ChatSettings) -> str | None:
    if status == 401:
        return f"the server rejected the API key: {s.key_hint}" if s.api_key else f"the server wants an API key: {s.key_hint}"
    if status == 404:
        return "check the base URL (it should reach /v1/chat/completions) and the model name"
    if status in (400, 422):
        return "the server rejected this request; see its words above"
    if status == 503:
        return "the server is still starting"
    if status and status >= 500:
        return "the server failed; its logs will say why"
    return None


def _error_event(exc: BaseException, base_url: str, rnd: int) -> TurnError:
    from console.errors import ConsoleError

    if isinstance(exc, ConsoleError):
        return TurnError(exc.message, exc.hint, rnd)
    status, msg = _describe(exc, base_url)
    return TurnError(msg, None, rnd, status)


ChatConfig = ChatSettings  # the name the chat pane uses


MIN_RATE_TOKENS = 8  # fewer tokens than this: no tok/s (one inter-token gap is not a rate)
MIN_RATE_SECONDS = 0.02  # tokens that arrived in one burst were not timed one by one


def generation_rate(tokens: int | None, seconds: float) -> float | None:
    """tok/s, or None when there is too little to measure: "2 tok · 18,451.5 tok/s" helps no one."""
    if not tokens or tokens < MIN_RATE_TOKENS or seconds < MIN_RATE_SECONDS:
        return None
    return tokens / seconds


def _usage_sum(usages: list[dict], key: str) -> int | None:
    """``key`` summed over the rounds; None unless every round reported it."""
    values = [u.get(key) for u in usages]
    return sum(values) if values and all(isinstance(v, int) for v in values) else None
