"""The smoke suite and its CLI against the SGLang-shaped server, healthy and with each fault."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from console.cli import main as cli_main
from console.smoke.runner import CHECKS, SmokeConfig, SmokeRunner


async def run(url: str, **kw) -> dict:
    runner = SmokeRunner(SmokeConfig(base_url=url, **kw))
    results = [r async for r in runner.run()]
    return {r.name: r for r in results}


async def test_healthy_server_passes_everything(sglang_shaped_server):
    seen = []
    runner = SmokeRunner(SmokeConfig(base_url=sglang_shaped_server.base_url, soak=12),
                         progress=lambda name, i, n: seen.append((name, i, n)))
    order = []
    async for r in runner.run():
        order.append(r.name)
        assert r.latency_s >= 0 and r.reason
    assert order == list(CHECKS)
    res = {r.name: r for r in runner.results}
    assert {n: r.status for n, r in res.items()} == {n: "pass" for n in CHECKS}, {n: r.reason for n, r in res.items()}
    assert "2 calls in one response" in res["parallel-calls"].reason
    soak = res["soak"]
    assert soak.details["passed"] == 12 and soak.details["cached_turns"] >= 11  # later turns reuse the prefix
    assert "prefix cache hit" in soak.reason and "streamed" in soak.reason
    assert seen[-1] == ("soak", 12, 12) and len(seen) == 12
    assert res["models"].details["max_model_len"] == 131072


FAULT_EXPECT = {
    "leak_content": {"plain-chat": "harmony-leak", "no-harmony-leak": "in content"},
    "leak_reasoning": {"plain-chat": "in reasoning", "no-harmony-leak": "<|start|>"},
    "leak_arguments": {"tool-auto": "in arguments:get_weather", "arguments-valid": "Harmony markers in the arguments",
                       "no-harmony-leak": "<|call|>"},
    "invalid_json_args": {"tool-auto": "invalid-json-args", "tool-named": "not valid JSON",
                          "arguments-valid": "not valid JSON"},
    "unknown_tool": {"tool-auto": "unknown-tool: the model called 'lookup_secret'"},
    "tool_calls_missing": {"tool-auto": "tool-calls-missing", "streaming-tool-call": "tool-calls-missing"},
    "disconnect_midstream": {"streaming": "stream-disconnected", "streaming-tool-call": "closed mid-answer"},
    "no_done": {"streaming": "no-done: the stream ended without data: [DONE]"},
    "empty_stream": {"streaming": "empty-stream: empty stream: no chunks at all"},
    "reasoning_only": {"plain-chat": "reasoning-only", "streaming": "reasoning-only"},
}


@pytest.mark.parametrize("fault", sorted(FAULT_EXPECT))
async def test_each_fault_caught_with_its_reason(sglang_shaped_server, fault):
    expect = FAULT_EXPECT[fault]
    only = sorted(set(expect) | {"plain-chat", "streaming", "tool-auto", "tool-named", "streaming-tool-call"})
    res = await run(sglang_shaped_server.base_url + f"/fault/{fault}", soak=0, only=only)
    for check, needle in expect.items():
        r = res[check]
        assert r.status == "fail" and needle in r.reason, (check, r.status, r.reason)


async def test_slow_first_token(sglang_shaped_factory):
    peer = sglang_shaped_factory(faults=["slow_first_token"], slow_first_token_s=1.2)
    res = await run(peer.base_url, only=["streaming"], max_ttft_s=0.5)
    r = res["streaming"]
    assert r.status == "fail" and r.reason.startswith("slow first token: 1.") and "limit 0.5 s" in r.reason
    res = await run(peer.base_url, only=["streaming"], max_ttft_s=5)
    assert res["streaming"].status == "pass"


async def test_api_key_and_blocked_checks(sglang_shaped_factory):
    peer = sglang_shaped_factory(api_key="k")
    res = await run(peer.base_url, only=["plain-chat"])
    assert res["models"].status == "fail" and "wants an API key" in res["models"].reason
    assert res["plain-chat"].status == "skip" and "models check failed" in res["plain-chat"].reason
    res = await run(peer.base_url, api_key="k", only=["plain-chat"])
    assert res["plain-chat"].status == "pass"


async def test_unknown_model(sglang_shaped_server):
    res = await run(sglang_shaped_server.base_url, model="nope", only=["plain-chat"])
    assert res["models"].status == "fail" and "the server lists: openai/gpt-oss-20b" in res["models"].reason


async def test_server_refusal_is_unsupported(sglang_shaped_server):
    # A feature the server answers with an HTTP error is "unsupported", quoting the server.
    res = await run(sglang_shaped_server.base_url + "/fault/refuse_tool_choice", soak=0,
                    only=["tool-auto", "tool-required", "tool-named"])
    assert res["tool-auto"].status == "pass"
    for name in ("tool-required", "tool-named"):
        r = res[name]
        assert r.status == "unsupported" and "the server refused it: HTTP 400: tool_choice" in r.reason, r.reason
        assert "is not supported" in r.details["error"]


def test_cli_json_junit_and_exit_codes(sglang_shaped_server, tmp_path, capsys):
    url = sglang_shaped_server.base_url
    code = cli_main(["smoke", "--base-url", url, "--soak", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["exit_code"] == 0 and out["summary"]["pass"] == len(CHECKS)
    assert out["model"] == "openai/gpt-oss-20b" and "request" not in out["results"][1]["details"]

    junit = tmp_path / "smoke.xml"
    code = cli_main(["smoke", "--base-url", url + "/fault/no_done", "--only", "streaming,plain-chat",
                     "--junit", str(junit)])
    text = capsys.readouterr().out
    assert code == 1 and "FAIL  streaming" in text and "PASS  plain-chat" in text
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "1" and suite.get("tests") == "3"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["streaming"]
    assert "no-done" in failed[0].find("failure").get("message")


def test_cli_unreachable_and_usage(capsys):
    assert cli_main(["smoke", "--base-url", "http://127.0.0.1:9", "--json"]) == 3
    out = json.loads(capsys.readouterr().out)
    assert out["results"][0]["status"] == "fail" and "no server at" in out["results"][0]["reason"]
    assert all(r["status"] == "skip" for r in out["results"][1:])
    assert cli_main(["smoke", "--base-url", "http://127.0.0.1:9", "--only", "bogus"]) == 2
    assert "unknown check(s): bogus" in capsys.readouterr().err


def test_cli_starting_server_is_unavailable(sglang_shaped_factory, capsys):
    peer = sglang_shaped_factory(startup_delay_s=30)
    assert cli_main(["smoke", "--base-url", peer.base_url, "--soak", "0"]) == 3
    assert "still starting" in capsys.readouterr().out
