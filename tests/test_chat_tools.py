"""Tools registry, built-in tools, operator tools files and the inspector's leak detector."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import pytest

from console.chat.inspect import RoundCheck, check_call, check_round, harmony_leaks
from console.chat.tools import DEMO_WEATHER, ToolFailed, default_registry, load_tools_file, safe_eval
from console.errors import ConsoleError


@pytest.mark.parametrize("expr,value", [("(17+25)*3", 126), ("2^10", 1024), ("7/2", 3.5), ("sqrt(16) + abs(-2)", 6),
                                        ("-3 % 5", 2), ("round(pi, 2)", 3.14)])
def test_calculator_values(expr, value):
    assert safe_eval(expr) == value


@pytest.mark.parametrize("expr", ["__import__('os').system('true')", "().__class__", "9**9**9", "x", "1/0",
                                  "open('/etc/passwd')", "lambda: 1", "[1]*10"])
def test_calculator_refuses(expr):
    with pytest.raises(ToolFailed):
        safe_eval(expr)


async def test_builtins_deterministic():
    fixed = datetime(2026, 1, 5, 14, 31, 10, tzinfo=timezone.utc)
    reg = default_registry(now=lambda: fixed)
    assert reg.names() == ["get_weather", "calculator", "get_time", "create_ticket"]
    out = await reg.execute("get_weather", {"location": "Tokyo", "unit": "fahrenheit"})
    assert json.loads(out.result) == {"location": "Tokyo", "temperature": 75.2, "unit": "fahrenheit",
                                      "conditions": "sunny", "humidity": 55, "demo": DEMO_WEATHER}
    out = await reg.execute("get_time", {"timezone": "Asia/Tokyo"})
    assert json.loads(out.result)["iso"] == "2026-01-05T23:31:10+09:00"
    out = await reg.execute("get_time", {"timezone": "Mars/Olympus"})
    assert out.error and "unknown time zone" in out.error
    args = {"title": "GPU down", "priority": "urgent", "labels": ["gpu"], "assignee": {"name": "Ana", "team": "infra"}}
    a, b = await reg.execute("create_ticket", args), await reg.execute("create_ticket", args)
    assert a.result == b.result and json.loads(a.result)["ticket"].startswith("T-")
    bad = await reg.execute("create_ticket", {"title": "x", "priority": "mega", "assignee": {"team": "hr"}})
    assert bad.error and "'mega' is not one of" in bad.error and "'name' is a required property" in bad.error
    missing = await reg.execute("get_weather", {"location": "Atlantis"})
    assert "no weather data" in missing.error and json.loads(missing.result)["error"]
    unknown = await reg.execute("nope", {})
    assert "unknown tool" in unknown.error


async def test_operator_tools_file(tmp_path):
    script = tmp_path / "lookup.py"
    script.write_text("import json,sys; a=json.load(sys.stdin); print(json.dumps({'echo': a['q'].upper()}))")
    f = tmp_path / "tools.json"
    f.write_text(json.dumps({"tools": [
        {"type": "function", "function": {"name": "kb", "description": "knowledge base",
                                          "parameters": {"type": "object", "properties": {"q": {"type": "string"}},
                                                         "required": ["q"]}},
         "command": [sys.executable, str(script)]},
        {"type": "function", "function": {"name": "status", "parameters": {"type": "object", "properties": {}}},
         "result": {"ok": True}},
        {"type": "function", "function": {"name": "slow", "parameters": {"type": "object"}},
         "command": [sys.executable, "-c", "import time; time.sleep(5)"], "timeout_s": 0.3},
        {"type": "function", "function": {"name": "fails", "parameters": {"type": "object"}},
         "command": [sys.executable, "-c", "import sys; sys.exit('boom')"]},
    ]}))
    reg = default_registry(tools_file=f)
    assert {"kb", "status", "slow", "fails"} <= set(reg.names())
    assert json.loads((await reg.execute("kb", {"q": "abc"})).result) == {"echo": "ABC"}
    assert (await reg.execute("status", {})).result == '{"ok": true}'
    slow = await reg.execute("slow", {})
    assert "timed out after 0.3 s" in slow.error
    fails = await reg.execute("fails", {})
    assert "exited with 1: boom" in fails.error
    assert "is a required property" in (await reg.execute("kb", {})).error


@pytest.mark.parametrize("content,needle", [
    ("not json", "cannot read tools file"),
    ('[{"type": "function"}]', "has no function.name"),
    ('[{"type": "function", "function": {"name": "x"}}]', 'needs "result"'),
    ('[{"function": {"name": "x", "parameters": {"type": "objekt"}}, "result": 1}]', "invalid parameters schema"),
])
def test_bad_tools_files(tmp_path, content, needle):
    f = tmp_path / "t.json"
    f.write_text(content)
    with pytest.raises(ConsoleError, match=needle):
        load_tools_file(f)
    with pytest.raises(ConsoleError, match="not found"):
        load_tools_file(tmp_path / "missing.json")


@pytest.mark.parametrize("text,found", [
    ("<|channel|>final<|message|>Hi", ["<|channel|>", "<|message|>"]),
    ("analysisThe user asks for weather", ["analysis"]),
    ("assistantfinalParis is sunny", ["assistantfinal"]),
    ('commentary to=functions.get_weather json{"a":1}', ["to=functions."]),
    ('{"location": "Tokyo<|call|>"}', ["<|call|>"]),
    ("The analysis is final. Functions are fine; to= is a word.", []),
    ("", []),
])
def test_harmony_leaks(text, found):
    assert harmony_leaks(text) == found


def test_check_call_and_round():
    reg = default_registry()
    ok = check_call("get_weather", '{"location": "Paris"}', reg)
    assert ok.arguments == {"location": "Paris"} and not ok.problems and not ok.findings
    bad = check_call("get_weather", '{"location": 5, "extra": 1}', reg)
    assert {f.code for f in bad.findings} == {"schema-violation"} and len(bad.problems) == 2
    assert check_call("get_weather", "[1]", reg).findings[0].code == "invalid-json-args"
    assert check_call("get_weather", '{"location": "x"}', reg, offered={"calculator"}).findings[0].code == "unknown-tool"
    codes = lambda **kw: [f.code for f in check_round(RoundCheck(**kw))]  # noqa: E731
    assert codes(streamed=True, content="hi", done_seen=True, finish_reason="stop") == []
    assert codes(streamed=True, content="hi", done_seen=False, finish_reason="stop") == ["no-done"]
    assert codes(streamed=False, calls=2, finish_reason="stop") == ["finish-reason-mismatch"]
    assert codes(streamed=False, finish_reason="stop") == ["empty-response"]


def test_unparsed_call_in_content():
    rc = RoundCheck(streamed=False, content="functions.get_weather:", finish_reason="stop")
    assert [f.code for f in check_round(rc, 0, {"get_weather"})] == ["call-in-content"]
    assert check_round(rc, 0, {"calculator"}) == []  # not an offered tool: just text


def test_leak_in_tool_name():
    found = check_call("get_weather<|channel|>commentary", "{}", default_registry())
    assert {f.code for f in found.findings} == {"unknown-tool", "harmony-leak"}


def test_reasoning_only_says_why():
    cut = check_round(RoundCheck(streamed=True, reasoning="thinking…", done_seen=True, finish_reason="length"))
    assert [f.code for f in cut] == ["reasoning-only"] and "max_tokens ran out during reasoning" in cut[0].message
    stop = check_round(RoundCheck(streamed=True, reasoning="thinking…", done_seen=True, finish_reason="stop"))
    assert "finish_reason 'stop'" in stop[0].message


async def test_the_demo_tools_say_their_answers_are_made_up():
    """Issue 10: the built-in weather and ticket tools returned canned data without saying so."""
    from console.chat.tools import DEMO_TICKET

    reg = default_registry()
    weather = json.loads((await reg.execute("get_weather", {"location": "Paris"})).result)
    ticket = json.loads((await reg.execute("create_ticket", {"title": "GPU 3 hot", "priority": "high"})).result)
    assert weather["demo"] == DEMO_WEATHER and "not a weather service" in DEMO_WEATHER
    assert ticket["demo"] == DEMO_TICKET and "no ticket was filed" in DEMO_TICKET
    real = json.loads((await reg.execute("calculator", {"expression": "6*7"})).result)
    assert "demo" not in real and real["result"] == 42  # the tools that compute for real carry no such note
