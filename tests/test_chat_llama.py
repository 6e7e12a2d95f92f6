"""The chat core against llama-cpp-python: real tool calls and its quirks, shown without crashing."""

from __future__ import annotations

import json

import pytest

from console.chat import events as ev
from console.chat.session import ChatSession, ChatSettings

pytestmark = pytest.mark.peer


def of(events, cls):
    return [e for e in events if isinstance(e, cls)]


async def turn(url, text, **kw):
    s = ChatSession(ChatSettings(url, temperature=0.0, max_tokens=64, tools=["get_weather"], max_rounds=0, **kw))
    events = [e async for e in s.run_turn(text)]
    await s.aclose()
    assert isinstance(events[-1], ev.TurnDone)
    return s, events


async def test_real_tool_calls_and_quirks(llama_server):
    url = llama_server.base_url
    for choice in ("auto", "get_weather"):
        s, events = await turn(url, "What is the weather in Paris?", stream=False, tool_choice=choice)
        call = of(events, ev.ToolCallRequested)[0]
        assert call.name == "get_weather" and call.arguments["location"] == "Paris" and not call.problems
        assert json.loads(of(events, ev.ToolResult)[0].result)["conditions"] == "partly cloudy"
        assert s.turns[0].exchanges[0].chunks[0]["model"] == "smollm2-135m"  # the raw response is kept

    # Streamed with auto: an empty stream, flagged by the inspector; the turn still ends cleanly.
    s, events = await turn(url, "What is the weather in Paris?", stream=True)
    assert [f.code for f in of(events, ev.Finding)] == ["empty-stream"]
    assert not of(events, ev.TurnError)

    # tool_choice "required": HTTP 500 with no message, reported as a turn error with its status.
    s, events = await turn(url, "What is the weather in Paris?", stream=False, tool_choice="required")
    err = of(events, ev.TurnError)[0]
    assert err.status == 500 and "internal_server_error" in err.message and err.hint
