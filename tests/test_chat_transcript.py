"""Transcripts: JSONL round trip with reasoning, tool calls and raw exchanges; Markdown export."""

from __future__ import annotations

import json
import os
import stat

from console.chat import events as ev
from console.chat import transcript
from console.chat.session import ChatSession, ChatSettings


async def test_round_trip_and_markdown(sglang_shaped_server, tmp_path):
    s = ChatSession(ChatSettings(sglang_shaped_server.base_url, api_key="secret-key-123", system_prompt="Be brief."))
    async for _ in s.run_turn("What is the weather in Paris?"):
        pass
    path = transcript.save_jsonl(s, tmp_path / "t.jsonl")
    await s.aclose()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert "secret-key-123" not in text
    kinds = [json.loads(line)["kind"] for line in text.splitlines()]
    assert kinds[0] == "session" and kinds[-1] == "messages" and kinds.count("exchange") == 2
    # Deltas are merged: one reasoning and one content event per round.
    types = [json.loads(line).get("type") for line in text.splitlines()]
    assert types.count("ReasoningDelta") == 2 and types.count("ContentDelta") == 1

    back = transcript.load_jsonl(path, api_key="secret-key-123")
    assert back.messages == s.messages and back.settings.api_key.reveal() == "secret-key-123"
    t0, b0 = s.turns[0], back.turns[0]
    assert b0.user_text == t0.user_text
    assert [type(e).__name__ for e in b0.events] == [type(e).__name__ for e in transcript._merge_deltas(t0.events)]
    assert b0.exchanges[0].wire_request == t0.exchanges[0].wire_request
    assert b0.exchanges[0].chunks[-1] == "[DONE]"
    call = [e for e in b0.events if isinstance(e, ev.ToolCallRequested)][0]
    assert call.arguments == {"location": "Paris"} and isinstance(call.problems, tuple)

    # Loading into a live session (the chat pane's way): turns come back for redrawing.
    live = ChatSession(ChatSettings(sglang_shaped_server.base_url))
    turns = transcript.load_jsonl(path, live)
    assert turns[0][0] == "What is the weather in Paris?" and live.messages == s.messages
    async for _ in live.run_turn("and in Tokyo?"):  # the conversation goes on
        pass
    await live.aclose()
    assert live.messages[-1]["role"] == "assistant"

    md = transcript.to_markdown(s)
    assert "<details><summary>Reasoning</summary>" in md and "**Tool call** `get_weather`" in md
    assert '"location": "Paris"' in md and "partly cloudy" in md and "## System" in md
    out = transcript.export_markdown(s, tmp_path / "t.md")
    assert out.read_text() == md


def test_load_rejects_garbage(tmp_path):
    import pytest

    from console.errors import ConsoleError

    p = tmp_path / "x.jsonl"
    p.write_text("hello\n")
    with pytest.raises(ConsoleError, match="not a JSON line"):
        transcript.load_jsonl(p)
    p.write_text('{"kind": "turn", "index": 0}\n')
    with pytest.raises(ConsoleError, match="no session header"):
        transcript.load_jsonl(p)
