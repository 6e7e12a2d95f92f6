"""Property tests: files the operator hands the console — a chat tools file (``--tools-file``), a
bench dataset (``--dataset``, JSONL or ShareGPT), the ``.env`` that ``connect --write-env``
updates. Whatever they hold: the tools, the prompts, the updated file, or one sentence that says
what to do; never a traceback, and the ``.env``'s other lines are kept as they were.
"""

from __future__ import annotations

import json

from hypothesis import event, example, given, strategies as st

from console.bench.prompts import load_dataset
from console.chat.tools import load_tools_file
from console.connect.dotenv import parse_value, update_env_file
from console.errors import ConsoleError
from console.secret import Secret

scalars = st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=10)
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                           max_leaves=8)


def loose(strategy):
    return st.one_of(strategy, strategy, json_values)


def _sentence(exc: ConsoleError) -> None:
    assert exc.message.strip() and "Traceback" not in exc.message, exc.message
    assert exc.exit_code in (1, 2, 3, 4)


# -------------------------------------------------------------------------- tools file

schema = st.sampled_from([{"type": "object", "properties": {"city": {"type": "string"}}}, {}, {"type": "bogus"},
                          {"type": "object", "required": "city"}, None])
tool_entry = st.fixed_dictionaries({"type": st.just("function"), "function": loose(st.fixed_dictionaries(
    {"name": loose(st.sampled_from(["get_time", "lookup", "a.b", ""]))},
    optional={"description": loose(st.text(max_size=10)), "parameters": loose(schema)}))},
    optional={"result": json_values, "command": loose(st.sampled_from([["echo", "hi"], "echo 'unbalanced", "true"])),
              "timeout_s": loose(st.sampled_from([1, 0.5, "10", "abc", -1, 0, 1e309]))})
tools_docs = st.one_of(st.lists(loose(tool_entry), max_size=3), st.fixed_dictionaries({"tools": loose(st.lists(
    loose(tool_entry), max_size=3))}), json_values)


@given(doc=tools_docs)
@example(doc=[{"type": "function", "function": {"name": "t"}, "result": "ok", "timeout_s": "abc"}])  # float('abc')
@example(doc=[{"type": "function", "function": {"name": "t"}, "result": "ok", "timeout_s": None}])  # float(None)
@example(doc=[{"type": "function", "function": {"name": "t", "parameters": 1}, "result": "ok"}])  # jsonschema's TypeError
@example(doc=[{"type": "function", "function": {"name": "t"}, "command": "echo 'unbalanced"}])  # shlex's ValueError
def test_any_tools_file_gives_tools_or_a_sentence(doc, tmp_path_factory):
    path = tmp_path_factory.mktemp("tools") / "tools.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    try:
        tools = load_tools_file(path)
    except ConsoleError as exc:
        _sentence(exc)
        assert exc.hint, exc.message
        event("refused in words")
        return
    event("loaded")
    for t in tools:
        assert isinstance(t.name, str) and t.timeout_s > 0 and t.timeout_s < float("inf")


# -------------------------------------------------------------------------- bench dataset

turn = st.fixed_dictionaries({}, optional={"from": loose(st.sampled_from(["human", "user", "gpt"])),
                                           "value": loose(st.text(max_size=10)),
                                           "role": loose(st.just("user")), "content": loose(st.text(max_size=10))})
row = st.fixed_dictionaries({}, optional={
    "prompt": loose(st.text(max_size=20)), "messages": loose(st.lists(loose(turn), max_size=2)),
    "conversations": loose(st.lists(loose(turn), max_size=3)),
    "output_len": loose(st.sampled_from([1, 256, 0, -5, "64", "many", 1.5, 2**70])),
    "max_tokens": loose(st.integers(-3, 9))})
lines = st.lists(st.one_of(row.map(json.dumps), row.map(json.dumps), json_values.map(json.dumps),
                           st.text(max_size=20)), max_size=5)


@given(text=lines.map("\n".join), count=st.none() | st.integers(1, 7))
@example(text='{"conversations": [1]}', count=None)  # found: 1.get("from")
@example(text='{"prompt": "hi", "output_len": "many"}', count=None)  # found: int("many")
@example(text='{"messages": [1]}', count=None)  # found: 1.get("content")
def test_any_dataset_gives_prompts_or_a_sentence(text, count, tmp_path_factory):
    path = tmp_path_factory.mktemp("ds") / "prompts.jsonl"
    path.write_text(text, encoding="utf-8")
    try:
        prompts = load_dataset(path, count=count)
    except ConsoleError as exc:
        _sentence(exc)
        assert exc.hint, exc.message
        event("refused in words")
        return
    event("loaded")
    assert prompts and (count is None or len(prompts) == count)
    for p in prompts:
        assert all(isinstance(m, dict) for m in p.messages)
        assert p.output_len is None or (isinstance(p.output_len, int) and p.output_len > 0)


# -------------------------------------------------------------------------- .env updates

env_line = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["LLM_BASE_URL", "OPENAI_BASE_URL", "LLM_MODEL", "OTHER", "export X"]),
              st.text(st.characters(exclude_characters="\n\r"), max_size=15)),
    st.sampled_from(["# comment", "", "LLM_MODEL='quoted # not a comment'", 'OPENAI_BASE_URL="http://x/v1"',
                     "LLM_BASE_URL=  spaced  ", "=novalue", "export LLM_MODEL=m"]),
    st.text(st.characters(exclude_characters="\n\r"), max_size=20))
updates = st.fixed_dictionaries({"LLM_BASE_URL": st.sampled_from(["http://127.0.0.1:30000/v1", "http://[::1]:8000/v1"])},
                                optional={"LLM_MODEL": st.sampled_from(["openai/gpt-oss-20b", "a b", "x'y\"z#"]),
                                          "OPENAI_API_KEY": st.just(Secret("sk-EnvFile0123456789Key"))})


@given(before=st.lists(env_line, max_size=8), ups=updates, force=st.booleans(), crlf=st.booleans())
@example(before=["LLM_BASE_URL="], ups={"LLM_BASE_URL": "http://127.0.0.1:30000/v1"}, force=True,
         crlf=False)  # found: the empty value's newline taken by the '=' match, the new value on a line of its own
@example(before=["LLM_BASE_URL=\x850"], ups={"LLM_BASE_URL": "http://127.0.0.1:30000/v1"}, force=True,
         crlf=False)  # found: str.splitlines cut the value at U+0085 and wrote it back as two lines
def test_any_env_file_is_updated_or_left_alone(before, ups, force, crlf, tmp_path_factory):
    folder = tmp_path_factory.mktemp("env")
    path = folder / ".env"
    nl = "\r\n" if crlf else "\n"
    original = nl.join(before) + (nl if before else "")
    path.write_bytes(original.encode("utf-8", "surrogatepass"))
    try:
        update_env_file(path, ups, force=force)
    except ConsoleError as exc:
        _sentence(exc)
        assert path.read_bytes() == original.encode("utf-8", "surrogatepass")  # nothing written
        assert "sk-EnvFile0123456789Key" not in exc.message
        event("refused in words")
        return
    event("updated")
    after = path.read_text(encoding="utf-8")
    got = {}
    for line in after.replace("\r\n", "\n").split("\n"):
        key, sep, raw = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        if sep and key in ups:
            got[key] = parse_value(raw)
    for key, value in ups.items():  # each value reads back as itself
        assert got.get(key) == (value.reveal() if isinstance(value, Secret) else value), (key, after)
    kept = [line for line in original.replace("\r\n", "\n").split("\n")
            if line.partition("=")[0].strip().removeprefix("export ").strip() not in ups]
    remaining = after.replace("\r\n", "\n").split("\n")
    assert all(line in remaining for line in kept)  # the other lines stay
