"""``gpt-oss-console chat``: the chat pane's headless twin."""

from __future__ import annotations

import json

import pytest

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


def test_model_and_numbers_are_checked_before_the_turn(sglang_shaped_server, capsys):
    """Issue 10: `chat` validates --model and --max-tokens as `smoke` does; --json says JSON lines."""
    url = sglang_shaped_server.base_url
    assert cli_main(["chat", "--base-url", url, "--model", "gpt-oss-2b", "hi"]) == 2
    err = capsys.readouterr().err
    assert "model 'gpt-oss-2b' is not served; the server lists: openai/gpt-oss-20b" in err
    assert cli_main(["chat", "--base-url", url, "--model", " ", "hi"]) == 2
    assert "--model is empty" in capsys.readouterr().err
    for flag, value in (("--max-tokens", "0"), ("--max-tokens", "abc"), ("--max-rounds", "-1")):
        with pytest.raises(SystemExit) as exc:
            cli_main(["chat", "--base-url", url, flag, value, "hi"])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert f"argument {flag}:" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        cli_main(["smoke", "--base-url", url, "--max-tokens", "-5"])
    assert exc.value.code == 2 and "must be 1 or more" in capsys.readouterr().err
    assert cli_main(["chat", "--base-url", url, "--model", "openai/gpt-oss-20b", "--json", "--tools", "", "hi"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 2 and all(json.loads(line)["type"] for line in lines)  # one JSON document per line
    with pytest.raises(SystemExit):
        cli_main(["chat", "--help"])
    assert "JSON lines" in " ".join(capsys.readouterr().out.split())


def test_the_endpoint_comes_from_the_environment_or_a_key_file(sglang_shaped_factory, tmp_path, capsys, monkeypatch):
    """Issue 10: GPT_OSS_CONSOLE_BASE_URL and the key env serve chat and smoke too; issue 11: the key
    from a file, --api-key still works but warns that ps shows it, and a 401 says where the key goes."""
    key = "sk-client-side-key-0004"
    peer = sglang_shaped_factory(api_key=key)
    keyfile = tmp_path / "key"
    keyfile.write_text(key + "\n")
    for var in ("GPT_OSS_CONSOLE_API_KEY", "GPT_OSS_CONSOLE_API_KEY_FILE", "GPT_OSS_CONSOLE_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GPT_OSS_CONSOLE_BASE_URL", peer.base_url)

    assert cli_main(["chat", "--tools", "", "hi"]) == 1  # the env's server, no key: 401
    out = capsys.readouterr().out
    assert "wants an API key" in out and "--api-key-file" in out
    monkeypatch.setenv("GPT_OSS_CONSOLE_API_KEY_FILE", str(keyfile))
    assert cli_main(["chat", "--tools", "", "hi"]) == 0
    assert cli_main(["smoke", "--only", "plain-chat", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out[out.index("{\n"):])["base_url"] == peer.base_url and key not in out + err
    monkeypatch.delenv("GPT_OSS_CONSOLE_API_KEY_FILE")
    assert cli_main(["smoke", "--only", "plain-chat", "--api-key", key]) == 0
    out, err = capsys.readouterr()
    assert "`ps` shows it" in err and key not in out + err
    monkeypatch.setenv("GPT_OSS_CONSOLE_API_KEY_FILE", str(tmp_path / "missing"))
    assert cli_main(["smoke", "--only", "plain-chat"]) == 2  # a key file that is not there: bad input
    assert "does not exist" in capsys.readouterr().err
