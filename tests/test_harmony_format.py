"""The Harmony renderer, raw parser and leak detector against openai/harmony's own test data.

``tests/data/harmony/test-data.json`` holds harmony's ``test-data/`` files verbatim (source and
commit inside). The expected messages of the two token-id files and the parse cases below are
those of harmony's ``tests/test_harmony.py`` (named per case).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from console.chat.inspect import harmony_leaks
from console.smoke.harmony import (
    SPECIAL_TOKENS, TOKEN_TEXT, find_calls, parse_completion, render_prompt,
)

DATA = json.loads((Path(__file__).parent / "data" / "harmony" / "test-data.json").read_text(encoding="utf-8"))
RENDERINGS: dict[str, str] = DATA["renderings"]
SPECIAL = re.compile(r"<\|[a-z_0-9]+\|>")


def strip_specials(text: str) -> str:
    """What an engine's detokenizer makes of Harmony with skip_special_tokens: the markers go,
    the header words stay."""
    return SPECIAL.sub("", text)


def test_fixture_holds_harmony_test_data():
    assert "openai/harmony" in DATA["source"] and len(RENDERINGS) >= 20
    assert set(DATA["token_files"]) == {"test_simple_tool_call.txt", "test_simple_reasoning_response.txt"}


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_every_rendering_is_a_leak_when_shown_raw(name):
    text = RENDERINGS[name]
    leaks = harmony_leaks(text)
    assert leaks and all(m in text for m in leaks if m.startswith("<|")), (name, leaks)


# Renderings with assistant output or tool traffic in them: stripped of their special tokens
# (the skip_special_tokens shape of sglang issue 9244), the header words left behind must still
# read as a leak.
WITH_ASSISTANT_TURNS = sorted(n for n, t in RENDERINGS.items()
                              if re.search(r"(<\|start\|>assistant|^)<\|channel\|>|to=", t))


@pytest.mark.parametrize("name", WITH_ASSISTANT_TURNS)
def test_stripped_renderings_still_read_as_leaks(name):
    stripped = strip_specials(RENDERINGS[name])
    assert "<|" not in stripped
    assert harmony_leaks(stripped), (name, stripped[-300:])


def test_the_stripped_shapes_are_named():
    assert "assistantfinal" in harmony_leaks(strip_specials(RENDERINGS["test_keep_analysis_between_finals.txt"]))
    ongoing = harmony_leaks(strip_specials(RENDERINGS["test_does_not_drop_if_ongoing_analysis.txt"]))
    assert "to=functions." in ongoing and "assistantanalysis" in ongoing
    streamable = harmony_leaks(strip_specials(RENDERINGS["test_streamable_parser.txt"]))
    assert "to=browser." in streamable and "analysis" in streamable  # "analysisUser asks…"


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_message_contents_are_not_leaks(name):
    """No false alarms: the text inside each message (what a correct parser hands out) is clean."""
    for m in parse_completion(RENDERINGS[name], role="assistant"):
        assert harmony_leaks(m.content) == [], (name, m)


def test_parse_ongoing_tool_round():
    msgs = parse_completion(RENDERINGS["test_does_not_drop_if_ongoing_analysis.txt"])
    assert [(m.role, m.channel, m.recipient) for m in msgs] == [
        ("user", None, None), ("assistant", "analysis", None),
        ("assistant", "commentary", "functions.lookup_weather"), ("functions.lookup_weather", None, None),
        ("assistant", None, None)]
    call = msgs[2]
    assert call.content_type == "<|constrain|>json" and call.end == "<|call|>"
    assert json.loads(call.content) == {"location": "San Francisco"}
    [found] = find_calls(msgs, offered={"lookup_weather"})
    assert found.name == "lookup_weather" and found.well_formed


def test_parse_streamable_parser_rendering():
    msgs = parse_completion(RENDERINGS["test_streamable_parser.txt"])
    assert msgs[0].channel == "analysis" and msgs[0].content.startswith('User asks "Who is the current US president?"')
    call = msgs[1]
    assert (call.recipient, call.channel, call.content_type, call.end) == ("browser.search", "commentary", "code", "<|call|>")
    assert msgs[2].role == "browser.search" and msgs[2].recipient == "assistant"


# harmony tests/test_harmony.py: test_simple_reasoning_response / test_simple_tool_call — the
# ordinary text between the special tokens, as the messages those tests expect.
TOKEN_FILE_TEXT = {
    "test_simple_reasoning_response.txt": [
        "analysis", 'User asks: "What is 2 + 2?" Simple arithmetic. Provide answer.', "assistant", "final",
        "2 + 2 = 4."],
    "test_simple_tool_call.txt": [
        "analysis", 'User asks: "What is the weather in Tokyo?" We need to use lookup_weather tool.',
        "assistant to=lookup_weather", "analysis code", '{"location": "Tokyo"}'],
}


def _decode(tokens: list[int], runs: list[str]) -> str:
    """Special tokens by their ids; each run of ordinary ids by the next expected text."""
    out, pending, texts = [], False, iter(runs)
    for t in tokens:
        if t in TOKEN_TEXT:
            if pending:
                out.append(next(texts))
                pending = False
            out.append(TOKEN_TEXT[t])
        else:
            pending = True
    if pending:
        out.append(next(texts))
    assert next(texts, None) is None, "fixture text runs do not match the token file"
    return "".join(out)


def test_token_files_decode_and_parse():
    reasoning = parse_completion(_decode(DATA["token_files"]["test_simple_reasoning_response.txt"],
                                         TOKEN_FILE_TEXT["test_simple_reasoning_response.txt"]))
    assert [(m.channel, m.content) for m in reasoning] == [
        ("analysis", 'User asks: "What is 2 + 2?" Simple arithmetic. Provide answer.'), ("final", "2 + 2 = 4.")]
    text = _decode(DATA["token_files"]["test_simple_tool_call.txt"], TOKEN_FILE_TEXT["test_simple_tool_call.txt"])
    msgs = parse_completion(text)
    assert msgs[1].recipient == "lookup_weather" and msgs[1].channel == "analysis" and msgs[1].content_type == "code"
    [call] = find_calls(msgs)
    assert call.name == "lookup_weather" and json.loads(call.arguments) == {"location": "Tokyo"}
    # A call on the analysis channel and cut off before <|call|>: two ways this one breaks the format.
    assert any("analysis channel" in p for p in call.problems) and any("no end token" in p for p in call.problems)
    assert SPECIAL_TOKENS["<|call|>"] == 200012 and SPECIAL_TOKENS["<|start|>"] == 200006


# harmony tests/test_harmony.py parse cases (strings quoted from its tests).
PARSE_CASES = {
    "test_tool_call_with_constrain_tokenized_correctly":
        '<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{"location": "Tokyo"}<|call|>',
    "test_tool_call_with_constrain_marker_adjacent":
        '<|start|>assistant to=functions.get_weather<|channel|>commentary<|constrain|>json<|message|>{"location": "Tokyo"}<|call|>',
    "test_tool_call_with_channel_before_recipient_and_constrain_adjacent":
        '<|start|>assistant<|channel|>commentary to=functions.get_weather<|constrain|>json<|message|>{"latitude":48.8566,"longitude":2.3522}<|call|>',
}


@pytest.mark.parametrize("case", sorted(PARSE_CASES))
def test_recipient_anywhere_in_the_header(case):
    [m] = parse_completion(PARSE_CASES[case])
    assert (m.role, m.channel, m.recipient, m.content_type, m.end) == (
        "assistant", "commentary", "functions.get_weather", "<|constrain|>json", "<|call|>")
    [call] = find_calls([m], offered={"get_weather"})
    assert call.well_formed and json.loads(call.arguments)


def test_missing_message_token_is_tolerated():
    # test_streamable_parser_missing_message_token (non-strict): the header ends at the channel name.
    text = ("<|channel|>analysis I must refuse<|end|><|start|>assistant<|channel|>analysis<|message|>We must refuse<|end|>"
            "<|start|>assistant<|channel|>final<|message|>I'm sorry, but I can't help with that.<|return|>")
    msgs = parse_completion(text)
    assert [(m.channel, m.content) for m in msgs] == [
        ("analysis", "I must refuse"), ("analysis", "We must refuse"), ("final", "I'm sorry, but I can't help with that.")]
    # test_streamable_parser_missing_message_token_tool_call: content type without <|constrain|>.
    [m] = parse_completion('<|start|>assistant to=functions.get_weather<|channel|>commentary json'
                           '<|message|>{"location": "Tokyo"}<|call|>')
    assert (m.recipient, m.content_type) == ("functions.get_weather", "json")


WEATHER = {"type": "function", "function": {
    "name": "get_current_weather", "description": "Gets the current weather in the provided location.",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "format": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}},
        "required": ["location"]}}}
MULTI = {"type": "function", "function": {
    "name": "get_multiple_weathers", "description": "Gets the current weather in the provided list of locations.",
    "parameters": {"type": "object", "properties": {
        "locations": {"type": "array", "items": {"type": "string"},
                      "description": 'List of city and state, e.g. ["San Francisco, CA", "New York, NY"]'},
        "format": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}},
        "required": ["locations"]}}}
LOCATION = {"type": "function", "function": {"name": "get_location", "description": "Gets the location of the user.",
                                             "parameters": {"type": "object", "properties": {}}}}


def test_render_matches_harmony_with_functions():
    golden = RENDERINGS["test_render_functions_with_parameters.txt"]
    # Our renderer covers the JSON Schema an OpenAI request carries; harmony's kitchensink case
    # (oneOf with per-branch defaults) is left out of the comparison.
    start = golden.index("// A function with various complex schemas.")
    golden = golden[:start] + golden[golden.index("} // namespace functions"):]
    ours = render_prompt([{"role": "system", "content": "Always respond in riddles"},
                          {"role": "user", "content": "What is the weather like in SF?"}],
                         [LOCATION, WEATHER, MULTI], reasoning_effort="high", date="2025-06-28")
    assert ours == golden


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_render_matches_harmony_simple_convo(effort):
    golden = RENDERINGS[f"test_simple_convo_{effort}_effort.txt"]
    ours = render_prompt([{"role": "system", "content": "Answer the user's questions like a robot."},
                          {"role": "user", "content": "What is the capital of the largest country in the world?"}],
                         reasoning_effort=effort, date=None)
    assert ours == golden
    assert render_prompt([{"role": "user", "content": "What is the capital of the largest country in the world?"}],
                         reasoning_effort=effort, date=None) == RENDERINGS[f"test_simple_convo_{effort}_effort_no_instruction.txt"]


def test_render_tool_round_keeps_the_ongoing_reasoning():
    msgs = [{"role": "user", "content": "What is 2 + 2?"},
            {"role": "assistant", "content": "4", "reasoning_content": "easy"},
            {"role": "user", "content": "Weather in SF?"},
            {"role": "assistant", "content": None, "reasoning_content": "Need lookup_weather.",
             "tool_calls": [{"id": "c1", "type": "function",
                             "function": {"name": "lookup_weather", "arguments": '{"location": "San Francisco"}'}}]},
            {"role": "tool", "tool_call_id": "c1", "content": '{"temperature": 20}'}]
    text = render_prompt(msgs, date=None)
    assert "easy" not in text  # chain of thought of a finished turn is dropped
    assert ("<|start|>assistant<|channel|>analysis<|message|>Need lookup_weather.<|end|>"
            '<|start|>assistant to=functions.lookup_weather<|channel|>commentary <|constrain|>json<|message|>'
            '{"location": "San Francisco"}<|call|>'
            '<|start|>functions.lookup_weather to=assistant<|channel|>commentary<|message|>{"temperature": 20}<|end|>'
            "<|start|>assistant") in text
    back = parse_completion(text)
    assert [c.name for c in find_calls(back)] == ["lookup_weather"]
