"""``gpt-oss-console chat``: the chat pane's headless twin."""

from __future__ import annotations

import json

from console.cli import main as cli_main


def test_turn_with_tools_save_and_resume(sglang_shaped_server, tmp_path, capsys):
    url = sglang_shaped_server.base_url
    saved, md = tmp_path / "c.jsonl", tmp_path / "c.md"
    code = cli_main(["chat", "--base-url", url, "What is the weather in Paris?", "--save", str(saved),
                     "--markdown", str(md), "--effort", "low"])
    out = capsys.readouterr().out
    assert code == 0
    assert '→ get_weather({"location": "Paris"})' in out and "← get_weather:" in out and "partly cloudy" in out
    assert "── answer ──" in out and "── stats ──" in out and "finish stop" in out
    assert saved.exists() and "**Tool call** `get_weather`" in md.read_text()

    code = cli_main(["chat", "--base-url", url, "--resume", str(saved), "--json", "--tools", "", "and then?"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 0 and lines[0]["type"] == "RequestSent" and lines[-1] == {"type": "TurnDone", "cancelled": False}
    sent = lines[0]["request"]
    assert [m["role"] for m in sent["messages"]][:4] == ["user", "assistant", "tool", "assistant"]
    assert sent["messages"][-1] == {"role": "user", "content": "and then?"} and "tools" not in sent


def test_exit_codes(sglang_shaped_server, capsys):
    url = sglang_shaped_server.base_url
    assert cli_main(["chat", "--base-url", url + "/fault/leak_content", "--tools", "", "hi"]) == 1
    assert "✖ harmony-leak [content]" in capsys.readouterr().out
    assert cli_main(["chat", "--base-url", "http://127.0.0.1:9", "hi"]) == 3
    assert "no server at" in capsys.readouterr().out
    assert cli_main(["chat", "--base-url", url, "--tools", "nope", "hi"]) == 2
    assert "unknown tool(s): nope" in capsys.readouterr().err
