"""Chat core (session, inspector, replay) against the SGLang-shaped server."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from console.chat import events as ev
from console.chat.session import ChatSession, ChatSettings


async def collect(agen):
    return [e async for e in agen]


def of(events, cls):
    return [e for e in events if isinstance(e, cls)]


WEATHER_PROMPT = "What is the weather in Paris and Tokyo?"


@pytest.mark.parametrize("stream", [True, False])
async def test_parallel_tool_round_then_answer(sglang_shaped_server, stream):
    s = ChatSession(ChatSettings(sglang_shaped_server.base_url, stream=stream, system_prompt="Be brief."))
    events = await collect(s.run_turn(WEATHER_PROMPT))
    await s.aclose()
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RequestSent" and kinds[-2:] == ["TurnStats", "TurnDone"]
    calls = of(events, ev.ToolCallRequested)
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"location": "Paris"}),
                                                      ("get_weather", {"location": "Tokyo"})]
    assert all(c.problems == () for c in calls)
    results = of(events, ev.ToolResult)
    assert [json.loads(r.result)["conditions"] for r in results] == ["partly cloudy", "sunny"]
    assert not of(events, ev.Finding) and not of(events, ev.TurnError)
    content = "".join(e.text for e in of(events, ev.ContentDelta))
    assert "partly cloudy" in content and "sunny" in content
    assert "".join(e.text for e in of(events, ev.ReasoningDelta)).startswith("The user asks")
    # Two requests: the second carries the tool results with their call ids.
    reqs = of(events, ev.RequestSent)
    assert [r.round for r in reqs] == [0, 1]
    second = reqs[1].request["messages"]
    assert second[0] == {"role": "system", "content": "Be brief."}
    assert [m["tool_call_id"] for m in second if m["role"] == "tool"] == [c.call_id for c in calls]
    stats = events[-2]
    assert stats.rounds == 2 and stats.finish_reason == "stop"
    assert stats.completion_tokens and stats.prompt_tokens and stats.ttft_any_s is not None
    # Both first-token times run from the turn's first request; content only came in round 2.
    assert 0 < stats.ttft_any_s <= stats.ttft_content_s
    assert stats.cached_tokens and stats.cached_tokens > 0  # round 2 shares round 1's prefix
    assert s.messages[-1]["role"] == "assistant" and "sunny" in s.messages[-1]["content"]
    # Issue 10, bug 5: every token figure is per turn, summed over its rounds the same way.
    usages = [x.usage for x in s.turns[-1].exchanges]
    assert len(usages) == 2 and all(usages)
    assert stats.cached_tokens <= stats.prompt_tokens, stats.summary()
    assert stats.prompt_tokens == sum(u["prompt_tokens"] for u in usages)
    assert stats.completion_tokens == sum(u["completion_tokens"] for u in usages)
    assert stats.cached_tokens == sum(u["prompt_tokens_details"]["cached_tokens"] for u in usages)


async def test_wire_capture_is_exact(sglang_shaped_server):
    s = ChatSession(ChatSettings(sglang_shaped_server.base_url, reasoning_effort="high", tools=[]))
    events = await collect(s.run_turn("hello there"))
    await s.aclose()
    ex = s.turns[0].exchanges[0]
    sent = of(events, ev.RequestSent)[0].request
    assert json.loads(ex.wire_request) == sent
    assert sent["reasoning_effort"] == "high" and sent["stream"] is True and "tools" not in sent
    assert sent["stream_options"] == {"include_usage": True}
    assert sglang_shaped_server.server.requests_seen[-1] == sent
    raws = [e.raw for e in of(events, ev.ChunkReceived)]
    assert raws[-1] == "[DONE]" and raws[0]["object"] == "chat.completion.chunk"
    assert any(isinstance(r, dict) and r.get("usage") for r in raws)
    assert "".join(e.text for e in of(events, ev.ContentDelta)) == "You said: hello there"


@pytest.mark.parametrize("fault,code,where", [
    ("leak_content", "harmony-leak", "content"),
    ("leak_reasoning", "harmony-leak", "reasoning"),
    ("leak_arguments", "harmony-leak", "arguments:get_weather"),
    ("invalid_json_args", "invalid-json-args", "arguments:get_weather"),
    ("unknown_tool", "unknown-tool", "tool:lookup_secret"),
    ("tool_calls_missing", "tool-calls-missing", "tool_calls"),
    ("disconnect_midstream", "stream-disconnected", "stream"),
    ("no_done", "no-done", "stream"),
    ("empty_stream", "empty-stream", "stream"),
    ("reasoning_only", "reasoning-only", "content"),
])
async def test_each_fault_is_flagged(sglang_shaped_server, fault, code, where):
    s = ChatSession(ChatSettings(sglang_shaped_server.base_url + f"/fault/{fault}", max_rounds=1))
    events = await collect(s.run_turn("What is the weather in Paris?"))
    await s.aclose()
    findings = [f for f in of(events, ev.Finding) if f.round == 0]
    assert (code, where) in [(f.code, f.where) for f in findings], findings
    assert isinstance(events[-1], ev.TurnDone)


async def test_fault_via_model_suffix_and_nonstreamed(sglang_shaped_server):
    s = ChatSession(ChatSettings(sglang_shaped_server.base_url, model="openai/gpt-oss-20b+invalid_json_args",
                                 stream=False, max_rounds=1))
    events = await collect(s.run_turn("What is the weather in Paris?"))
    await s.aclose()
    call = of(events, ev.ToolCallRequested)[0]
    assert call.arguments is None and "not valid JSON" in call.problems[0]
    res = of(events, ev.ToolResult)[0]
    assert res.error and "not valid JSON" in res.error  # the model is told, the loop goes on


async def test_disconnect_is_a_turn_error_not_a_crash(sglang_shaped_server):
    s = ChatSession(ChatSettings(sglang_shaped_server.base_url + "/fault/disconnect_midstream", tools=[]))
    events = await collect(s.run_turn("hello"))
    err = of(events, ev.TurnError)[0]
    assert "closed mid-answer" in err.message
    # The conversation goes on after the failure.
    s.settings.base_url = sglang_shaped_server.base_url
    s._client = None
    events = await collect(s.run_turn("again"))
    await s.aclose()
    assert not of(events, ev.TurnError)


async def test_tool_choice_modes(sglang_shaped_server):
    url = sglang_shaped_server.base_url
    s = ChatSession(ChatSettings(url, tool_choice="none"))
    events = await collect(s.run_turn(WEATHER_PROMPT))
    assert not of(events, ev.ToolCallRequested) and of(events, ev.ContentDelta)
    assert of(events, ev.RequestSent)[0].request["tool_choice"] == "none"
    # Named: the calculator although the prompt talks weather.
    events = await collect(s.run_turn("What is 6*7 in Paris?", tool_choice="calculator"))
    first = of(events, ev.RequestSent)[0].request
    assert first["tool_choice"] == {"type": "function", "function": {"name": "calculator"}}
    assert of(events, ev.RequestSent)[1].request["tool_choice"] == "auto"  # later rounds relax it
    calls = of(events, ev.ToolCallRequested)
    assert [c.name for c in calls] == ["calculator"]
    assert json.loads(of(events, ev.ToolResult)[0].result)["result"] == 42
    # Required: a chatty prompt still gets a call.
    events = await collect(s.run_turn("hi", tool_choice="required"))
    assert len(of(events, ev.ToolCallRequested)) == 1
    await s.aclose()


async def test_depth_limit(sglang_shaped_server):
    s = ChatSession(ChatSettings(sglang_shaped_server.base_url + "/fault/unknown_tool", max_rounds=2))
    events = await collect(s.run_turn("What is the weather in Paris?"))
    await s.aclose()
    assert len(of(events, ev.RequestSent)) == 3  # the first request, then two tool rounds
    assert of(events, ev.Finding)[-1].code == "tool-depth-limit"
    # History still valid: every call answered.
    ids = {c["id"] for m in s.messages for c in m.get("tool_calls") or []}
    assert ids == {m["tool_call_id"] for m in s.messages if m["role"] == "tool"}


async def test_cancel_stops_a_long_stream(sglang_shaped_factory):
    peer = sglang_shaped_factory(token_interval_s=0.005)
    s = ChatSession(ChatSettings(peer.base_url, tools=[]))
    t0 = time.monotonic()
    deltas = 0
    events = []
    async for e in s.run_turn("please stream 5000 tokens"):
        events.append(e)
        if isinstance(e, ev.ContentDelta):
            deltas += 1
            if deltas == 10:
                s.cancel()
    await s.aclose()
    assert events[-1] == ev.TurnDone(cancelled=True)
    assert time.monotonic() - t0 < 5 and deltas < 200
    assert s.messages[-1]["role"] == "assistant" and s.messages[-1]["content"].startswith("w0 w1")


async def test_cancel_during_slow_first_token(sglang_shaped_factory):
    peer = sglang_shaped_factory(first_token_delay_s=5)
    s = ChatSession(ChatSettings(peer.base_url, tools=[]))

    async def consume():
        return await collect(s.run_turn("hello"))

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.3)
    t0 = time.monotonic()
    s.cancel()
    events = await asyncio.wait_for(task, 3)
    await s.aclose()
    assert events[-1] == ev.TurnDone(cancelled=True) and time.monotonic() - t0 < 1


async def test_api_key_and_no_server(sglang_shaped_factory):
    peer = sglang_shaped_factory(api_key="k1")
    # The front end says where its key goes (the CLI a flag, the console F2): the core words no flag.
    s = ChatSession(ChatSettings(peer.base_url, model="openai/gpt-oss-20b", key_hint="press F2"))
    events = await collect(s.run_turn("hi"))
    await s.aclose()
    err = of(events, ev.TurnError)[0]
    assert err.status == 401 and "Unauthorized" in err.message
    assert err.hint == "the server wants an API key: press F2"
    s = ChatSession(ChatSettings(peer.base_url, api_key="k1"))
    events = await collect(s.run_turn("hi"))
    await s.aclose()
    assert not of(events, ev.TurnError) and s.settings.model == "openai/gpt-oss-20b"  # from /v1/models
    s = ChatSession(ChatSettings("http://127.0.0.1:9", model="m"))
    events = await collect(s.run_turn("hi"))
    await s.aclose()
    assert "no server at" in of(events, ev.TurnError)[0].message and events[-1] == ev.TurnDone()


async def test_replay_call_with_edited_arguments(sglang_shaped_server):
    s = ChatSession(ChatSettings(sglang_shaped_server.base_url))
    events = await collect(s.run_turn("What is the weather in Paris?"))
    call = of(events, ev.ToolCallRequested)[0]
    replayed = await collect(s.replay_call(call.call_id, {"location": "London"}))
    await s.aclose()
    assert of(replayed, ev.ToolCallRequested)[0].arguments == {"location": "London"}
    assert json.loads(of(replayed, ev.ToolResult)[0].result)["conditions"] == "light rain"
    assert "light rain" in "".join(e.text for e in of(replayed, ev.ContentDelta))
    assert s.turns[-1].replay_of == 0
    assert "partly cloudy" in s.messages[-1]["content"]  # not adopted: history unchanged


async def test_replay_turn_and_raw_request(sglang_shaped_server):
    s = ChatSession(ChatSettings(sglang_shaped_server.base_url, tools=[]))
    await collect(s.run_turn("first"))
    edited = [{"role": "user", "content": "edited question"}]
    events = await collect(s.replay(edited))
    assert "edited question" in "".join(e.text for e in of(events, ev.ContentDelta))
    req = dict(s.turns[0].exchanges[0].request, stream=False)
    req["messages"] = [{"role": "user", "content": "raw resend"}]
    events = await collect(s.send_raw(req))
    await s.aclose()
    assert of(events, ev.RequestSent)[0].request == req
    assert "raw resend" in of(events, ev.ContentDelta)[0].text


async def test_config_swap_keeps_history(sglang_shaped_server):
    from dataclasses import replace

    s = ChatSession(ChatSettings(sglang_shaped_server.base_url, tools=[]))
    await collect(s.run_turn("one"))
    s.config = replace(s.config, reasoning_effort="low", system_prompt="sys")
    events = await collect(s.run_turn("two"))
    await s.aclose()
    req = of(events, ev.RequestSent)[0].request
    assert req["reasoning_effort"] == "low" and req["messages"][0]["content"] == "sys"
    assert [m["content"] for m in req["messages"] if m["role"] == "user"] == ["one", "two"]


async def test_server_that_ignores_stream_true():
    """A server answering stream=True with one JSON body: the answer is still read, and flagged."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = json.dumps({"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}]}).encode()

    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        s = ChatSession(ChatSettings(f"http://127.0.0.1:{srv.server_address[1]}", model="m", tools=[]))
        events = await collect(s.run_turn("hi"))
        await s.aclose()
    finally:
        srv.shutdown()
    assert "".join(e.text for e in of(events, ev.ContentDelta)) == "whole"
    assert [f.code for f in of(events, ev.Finding)] == ["not-streamed", "no-done"]


@pytest.mark.parametrize("stream", [True, False])
async def test_rejected_optional_params_are_dropped_and_resent(sglang_shaped_server, stream):
    s = ChatSession(ChatSettings(sglang_shaped_server.base_url + "/fault/reject_extras", stream=stream, tools=[]))
    events = await collect(s.run_turn("hello"))
    warned = [f for f in of(events, ev.Finding) if f.code == "param-rejected"]
    expected = ["reasoning_effort", "stream_options"] if stream else ["reasoning_effort"]
    assert sorted(s.dropped_params) == expected and len(warned) == len(expected)
    assert "Unrecognized request argument supplied" in warned[0].message
    assert not of(events, ev.TurnError) and "".join(e.text for e in of(events, ev.ContentDelta)) == "You said: hello"
    assert events[-2].ttft_any_s is not None and events[-2].rounds == 1
    # Later turns leave them out from the start.
    events = await collect(s.run_turn("again"))
    await s.aclose()
    assert len(of(events, ev.RequestSent)) == 1 and not of(events, ev.Finding)


async def test_no_rate_from_a_handful_of_tokens_or_a_burst(sglang_shaped_factory):
    """Issue 19: "2 tok · 18,451.5 tok/s" for a 47 ms answer — no rate from too little to time."""
    from console.chat.session import generation_rate

    assert generation_rate(2, 0.047) is None and generation_rate(None, 1.0) is None
    assert generation_rate(20, 0.0004) is None  # one burst
    assert generation_rate(20, 0.1) == pytest.approx(200.0)
    for interval, timed in ((0.0, False), (0.005, True)):
        peer = sglang_shaped_factory(token_interval_s=interval)
        s = ChatSession(ChatSettings(peer.base_url))
        events = await collect(s.run_turn("Say hi."))
        await s.aclose()
        stats = events[-2]
        assert isinstance(stats, ev.TurnStats) and stats.completion_tokens >= 8
        assert (stats.tokens_per_s is not None) == timed, stats
        assert ("tok/s" in stats.summary()) == timed
