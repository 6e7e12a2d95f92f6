"""Each gpt-oss failure shape: a check fails on it (naming the shape) and passes on a clean answer,
and the raw replay says whether the model or the engine's parser produced it.

The SGLang-shaped server produces every shape on request (``/fault/<name>`` before ``/v1``), at
the raw-text level too (``tests/peers/sglang_shaped/harmony_model.py``).
"""

from __future__ import annotations

import pytest

from console.smoke import shapes as sh
from console.smoke.runner import FAIL, PASS, UNSUPPORTED, SmokeConfig, SmokeRunner

# fault → (the check that catches it, the shape it must name, the replay's verdict)
SHAPE_CASES = {
    "channel_words": ("plain-chat", "channel-words-in-content", "parser"),
    "channel_in_name": ("tool-auto", "channel-in-tool-name", "parser"),
    "constrain_in_name": ("tool-auto", "constrain-in-tool-name", "parser"),
    "functions_prefix": ("tool-auto", "functions-prefix-kept", "parser"),
    "dotted_cut": ("dotted-tool-name", "dotted-name-cut", "parser"),
    "raw_harmony_content": ("tool-auto", "raw-harmony-in-content", "parser"),
    "header_words": ("tool-auto", "header-words-in-content", "parser"),
    "call_as_content": ("tool-auto", "call-as-content", "parser"),
    "args_in_reasoning": ("streaming-tool-call", "arguments-in-reasoning", "parser"),
    "content_dropped": ("tool-not-needed", "content-dropped-with-tools", "parser"),
    "missing_constrain": ("tool-auto", "reasoning-only", "parser"),
    "recipient_in_role": ("tool-auto", "raw-harmony-in-content", "parser"),
    "empty_args": ("empty-arguments", "empty-arguments", "parser"),
    "non_object_args": ("tool-auto", "non-object-arguments", "parser"),
    "parse_error": ("tool-auto", "harmony-parse-error", None),
    "tool_result_rejected": ("multi-turn", "tool-result-rejected", None),
    "no_call": ("tool-auto", "answered-in-text", "model"),
    "return_after_call": ("tool-auto", "reasoning-only", "model-malformed"),
    "call_on_analysis": ("tool-auto", "raw-harmony-in-content", "model-malformed"),
    # the answer shows only reasoning; the raw replay shows where the answer went
    "commentary_no_tools": ("no-tools-commentary", "commentary-without-tools", "model"),
    # the older faults, now named too
    "reasoning_only": ("plain-chat", "reasoning-only", "parser"),
    "unknown_tool": ("tool-auto", "unknown-tool", None),
    "invalid_json_args": ("tool-auto", "invalid-json-arguments", None),
    "tool_calls_missing": ("tool-auto", "finish-without-calls", None),
    "leak_content": ("plain-chat", "raw-harmony-in-content", None),
    "disconnect_midstream": ("streaming", "stream-broken", None),
}


async def run(url: str, only: list[str], **kw) -> dict:
    runner = SmokeRunner(SmokeConfig(base_url=url, soak=0, only=only, **kw))
    return {r.name: r async for r in _results(runner)}


async def _results(runner):
    async for r in runner.run():
        yield r


@pytest.mark.parametrize("fault", sorted(SHAPE_CASES))
async def test_each_shape_fails_its_check_and_is_named(sglang_shaped_server, fault):
    check, code, verdict = SHAPE_CASES[fault]
    res = (await run(sglang_shaped_server.base_url + f"/fault/{fault}", [check]))[check]
    assert res.status == FAIL, (fault, res.status, res.reason)
    codes = [s["shape"] for s in res.details.get("shapes", [])]
    assert codes and codes[0] == code, (fault, codes, res.reason)
    assert f"[shape: {sh.SHAPES[code].title}]" in res.reason
    assert res.details["shapes"][0]["source"]  # every shape cites where it was reported
    if verdict is not None:
        replay = res.details["replay"]
        assert replay["verdict"] == verdict, (fault, replay)
        assert replay["engine"] == "sglang" and replay["route"] == "/generate" and replay["reproduced"] is True
        assert "<|" in replay["raw_text"]  # the raw Harmony, special tokens kept


@pytest.mark.parametrize("check", sorted({c for c, _, _ in SHAPE_CASES.values()}))
async def test_each_check_passes_on_a_clean_answer(sglang_shaped_server, check):
    res = (await run(sglang_shaped_server.base_url, [check]))[check]
    assert res.status == PASS, (check, res.reason)
    assert "shapes" not in res.details and "replay" not in res.details


async def test_tool_choice_refused_is_unsupported_and_named(sglang_shaped_server):
    res = await run(sglang_shaped_server.base_url + "/fault/required_unsupported", ["tool-required", "tool-named"])
    for name in ("tool-required", "tool-named"):
        assert res[name].status == UNSUPPORTED and "build_ebnf" in res[name].reason
        assert res[name].details["shapes"][0]["shape"] == "tool-choice-unsupported"


async def test_verdicts_through_vllm_and_llama_cpp_raw_routes(sglang_shaped_factory):
    """The same shapes through the other engines' raw routes (the server answers like them)."""
    for flavor, route, cases in (
            ("vllm", "/v1/completions", (("missing_constrain", "parser"), ("no_call", "model"),
                                         ("return_after_call", "model-malformed"))),
            # llama.cpp does not say which end-of-generation token stopped it: <|return|> after a
            # call cannot be seen there, a call on the wrong channel can.
            ("llama.cpp", "/completion", (("missing_constrain", "parser"), ("no_call", "model"),
                                          ("call_on_analysis", "model-malformed")))):
        peer = sglang_shaped_factory(flavor=flavor)
        for fault, verdict in cases:
            res = (await run(peer.base_url + f"/fault/{fault}", ["tool-auto"]))["tool-auto"]
            replay = res.details["replay"]
            assert (replay["engine"], replay["route"], replay["verdict"]) == (flavor, route, verdict), replay


async def test_intermittent_fault_does_not_reproduce(sglang_shaped_factory):
    """A fault that hits some requests only: the replayed chat request answers correctly."""
    peer = sglang_shaped_factory(faults=["missing_constrain"], fault_rate=0.5, seed=3)
    runner = SmokeRunner(SmokeConfig(base_url=peer.base_url, soak=0, only=["tool-auto"]))
    verdicts = []
    for _ in range(12):
        runner = SmokeRunner(SmokeConfig(base_url=peer.base_url, soak=0, only=["tool-auto"]))
        async for r in runner.run():
            if r.name == "tool-auto" and r.status == FAIL:
                verdicts.append(r.details["replay"]["verdict"])
    assert verdicts, "a 50 % fault hit none of 12 requests"
    assert set(verdicts) <= {"not-reproduced", "parser"} and "not-reproduced" in verdicts


async def test_replay_is_not_applicable_to_a_model_without_harmony(sglang_shaped_factory):
    peer = sglang_shaped_factory(served_model_name="smollm2-135m")
    res = (await run(peer.base_url + "/fault/no_call", ["tool-auto"]))["tool-auto"]
    replay = res.details["replay"]
    assert replay["verdict"] == "no-raw-path" and "not a gpt-oss model" in replay["why"]


def test_shape_detectors_on_answers():
    """The detectors without a server: each shape from its reported example, and a clean answer."""
    offered = ["get_weather", "calculator"]
    due = dict(offered=offered, due="get_weather", due_params=["location", "unit"])

    def codes(**kw):
        return [h.shape.code for h in sh.classify(sh.Answer(**{**due, **kw}))]

    assert codes(calls=[("get_weather", '{"location": "Paris"}')]) == []
    assert codes(calls=[("query_dataset<|channel|>commentary", "{}")], offered=["query_dataset"],
                 due="query_dataset") == ["channel-in-tool-name"]
    assert codes(calls=[("assistant<|channel|>analysis", "{}")])[0] == "channel-in-tool-name"  # ollama 11704
    assert codes(calls=[("functions.get_weather", "{}")])[0] == "functions-prefix-kept"
    assert codes(calls=[("Web Search", "{}")])[0] == "space-in-tool-name"
    assert codes(content='[{ "name": "get_weather", "parameters": {"location": "Paris"} }]') == ["call-as-content"]
    assert codes(content='commentary to=functions.get_weather json{"city":"Paris"}')[0] == "header-words-in-content"
    assert codes(content='assistantcode{"path":"","pattern":"x"}')[0] == "header-words-in-content"
    assert codes(content="analysisUser asks 'hi'...assistantfinalHello!", due=None)[0] == "channel-words-in-content"
    assert codes(reasoning='We need the weather.{"location": "Paris"}') == ["arguments-in-reasoning"]
    assert codes(reasoning="We need the weather.") == ["reasoning-only"]
    assert codes(content="It is sunny in Paris.") == ["answered-in-text"]
    assert codes(calls=[("get_weather", "")]) == ["empty-arguments"]
    assert codes(calls=[("get_weather", '"Paris"')]) == ["non-object-arguments"]
    assert codes(calls=[("get_weather", '{"location": ')]) == ["invalid-json-arguments"]
    assert codes(due=None, streamed=True, reasoning="2+2=4.") == ["content-dropped-with-tools"]
    assert codes(due=None, offered=[], calls=[("python", "{}")]) == ["commentary-without-tools"]
    assert codes(due=None, content="Paris.") == []
    assert codes(calls=[("calculator", '{"expression": "1+1"}')]) == ["wrong-tool"]
    assert codes() == ["empty-answer"]


def test_server_faults_at_a_seeded_rate(sglang_shaped_factory):
    """A server-wide fault hits the chosen share of requests, the same ones for the same seed."""
    import httpx

    def pattern(seed: int) -> list[bool]:
        peer = sglang_shaped_factory(faults=["parse_error"], fault_rate=0.1, seed=seed)
        body = {"model": peer.model, "messages": [{"role": "user", "content": "hi"}]}
        with httpx.Client(base_url=peer.base_url, timeout=10) as c:
            return [c.post("/v1/chat/completions", json=body).status_code == 500 for _ in range(200)]

    a, b, c = pattern(5), pattern(5), pattern(6)
    assert a == b and a != c
    assert 8 <= sum(a) <= 35, sum(a)  # 10 % of 200, give or take what chance allows


def test_generate_answers_a_harmony_prompt_with_the_models_harmony(sglang_shaped_server):
    """The raw level: /generate reads the rendered prompt and writes Harmony, as a gpt-oss model would."""
    import httpx

    from console.chat.tools import smoke_registry
    from console.smoke.harmony import find_calls, parse_completion, render_prompt

    prompt = render_prompt([{"role": "user", "content": "What is the weather in Paris?"}],
                           smoke_registry().schemas(["get_weather", "calculator"]))
    url = sglang_shaped_server.base_url
    raw = httpx.post(url + "/generate", json={"text": prompt, "sampling_params": {
        "skip_special_tokens": False, "no_stop_trim": True}}).json()
    [call] = find_calls(parse_completion(raw["text"]), {"get_weather", "calculator"})
    assert call.well_formed and call.name == "get_weather" and '"Paris"' in call.arguments
    assert raw["meta_info"]["finish_reason"] == {"type": "stop", "matched": 200012}
    stripped = httpx.post(url + "/generate", json={"text": prompt}).json()["text"]  # SGLang's defaults
    assert "<|" not in stripped and "commentary to=functions.get_weather json" in stripped
    bent = httpx.post(url + "/fault/return_after_call/generate", json={"text": prompt, "sampling_params": {
        "skip_special_tokens": False, "no_stop_trim": True}}).json()["text"]
    assert bent.endswith("<|return|>")


def test_smoke_cli_prints_the_shape_and_the_verdict(sglang_shaped_server, tmp_path, capsys):
    import xml.etree.ElementTree as ET

    from console.cli import main as cli_main

    url = sglang_shaped_server.base_url + "/fault/no_call"
    junit = tmp_path / "smoke.xml"
    code = cli_main(["smoke", "--base-url", url, "--only", "tool-auto", "--soak", "0", "--junit", str(junit)])
    out = capsys.readouterr().out
    assert code == 1
    assert "[shape: the model answered in text instead of calling]" in out
    assert "↳ raw replay via sglang /generate: model — no call in the raw text" in out
    failure = ET.parse(junit).getroot().find(".//failure").text
    assert "shape: the model answered in text instead of calling (vllm PR 33306" in failure
    assert "raw replay via sglang /generate: model" in failure
    assert cli_main(["smoke", "--base-url", url, "--only", "tool-auto", "--soak", "0", "--no-replay"]) == 1
    assert "raw replay" not in capsys.readouterr().out
