"""Property tests: what the console remembers between runs lives in files a person can edit,
copy from another machine, or find half-written after a crash — saved chats (JSONL), the fleet's
state (JSON), launch profiles (TOML, any bytes) and the preferences in the environment. Whatever
they hold, reading them gives the remembered thing or a sentence that says what to do; never
a traceback, and an unreadable file is kept (moved aside or left), never lost.
"""

from __future__ import annotations

import json
import os

from hypothesis import event, example, given, strategies as st

from console.chat import events as ev, saved, transcript
from console.chat.session import ChatSession, ChatSettings, Exchange, TurnRecord
from console.chat.tools import smoke_registry
from console.cli import main
from console.errors import ConsoleError
from console.prefs import PREFS, pref

scalars = st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False) | st.text(max_size=10)
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                           max_leaves=8)


def _sentence(exc: ConsoleError) -> None:
    assert exc.message.strip() and "Traceback" not in exc.message and exc.hint, (exc.message, exc.hint)
    assert exc.exit_code in (1, 2, 3, 4)


# -------------------------------------------------------------------------- saved chats


def _written_chat() -> list[dict]:
    """The records of a real saved chat (one turn with reasoning, a tool call, a result, stats)."""
    s = ChatSession(ChatSettings("http://127.0.0.1:9", model="openai/gpt-oss-20b", system_prompt="Be brief."),
                    smoke_registry())
    s.turns = [TurnRecord("What is the weather in Paris?", events=[
        ev.RequestSent(0, {"model": "openai/gpt-oss-20b"}, 1.0), ev.ReasoningDelta(0, "The user asks"),
        ev.ToolCallRequested(0, "call_1", "get_weather", '{"location": "Paris"}', {"location": "Paris"}),
        ev.ToolResult(0, "call_1", "get_weather", '{"temp_c": 18}', 0.001),
        ev.ContentDelta(1, "18 °C in Paris."), ev.Finding("harmony-leak", "leaked", "content", "warning", 1),
        ev.TurnStats(0.1, 0.2, 12, 40, 0, 120.0, 0.3, "stop", 2), ev.TurnError("late", "retry", 1, 500)],
        exchanges=[Exchange(0, {"model": "m"}, True, 1.0, 200, b'{"model": "m"}', ["[DONE]"], True)])]
    s.messages = [{"role": "user", "content": "What is the weather in Paris?"},
                  {"role": "assistant", "content": "18 °C in Paris."}]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = transcript.save_jsonl(s, os.path.join(d, "chat.jsonl"))
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


WRITTEN = _written_chat()


@st.composite
def damaged_chats(draw) -> str:
    records = [json.loads(json.dumps(r)) for r in WRITTEN]
    for _ in range(draw(st.integers(0, 3))):
        what = draw(st.sampled_from(["field", "data", "drop", "insert", "kind"]))
        i = draw(st.integers(0, len(records) - 1)) if records else 0
        if what == "drop" and records:
            records.pop(i)
        elif what == "insert":
            records.insert(i, draw(json_values))
        elif what == "kind" and records and isinstance(records[i], dict):
            records[i]["kind"] = draw(st.sampled_from(["session", "turn", "event", "exchange", "messages", "x"]))
        elif records and isinstance(records[i], dict):
            target = records[i].get("data") if what == "data" and isinstance(records[i].get("data"), dict) else records[i]
            if what == "data" and records[i].get("kind") == "session":
                target = records[i]["settings"]
            keys = sorted(target) or ["x"]
            target[draw(st.sampled_from(keys))] = draw(json_values)
    lines = [json.dumps(r) for r in records]
    if draw(st.booleans()) and lines:  # a crash mid-write: the last line cut
        lines[-1] = lines[-1][: draw(st.integers(0, len(lines[-1])))]
    return "\n".join(lines) + "\n"


@given(text=damaged_chats())
@example(text='[{"kind": "session"}]\n')  # found: a list read as a record ('list' has no attribute 'get')
@example(text=json.dumps({**WRITTEN[0], "settings": {"model": ["x"]}}) + "\n")  # found: a list as the model
@example(text=json.dumps(WRITTEN[0]) + "\n" + json.dumps({"kind": "turn", "index": []}) + "\n")  # unhashable index
def test_any_saved_chat_lists_loads_or_says_why(text, tmp_path_factory):
    folder = tmp_path_factory.mktemp("chats")
    path = folder / "chat-1.jsonl"
    path.write_text(text, encoding="utf-8")
    for chat in saved.list_chats(folder):  # the saved-chats list: a summary or nothing, never a crash
        assert isinstance(chat.title, str) and (chat.model is None or isinstance(chat.model, str))
    try:
        session = transcript.load_jsonl(path, registry=smoke_registry())
    except ConsoleError as exc:
        _sentence(exc)
        assert path.exists()  # the file stays for the operator to look at
        event("refused in words")
        return
    event("loaded")
    assert transcript.to_markdown(session).startswith("# Chat transcript")
    assert all(isinstance(m, dict) for m in session.messages)
    for t in session.turns:
        transcript._merge_deltas(t.events)
    again = transcript.save_jsonl(session, folder / "again.jsonl")  # and it saves again
    transcript.load_jsonl(again, registry=smoke_registry())
    session.settings.with_(model="openai/gpt-oss-20b").public()


# -------------------------------------------------------------------------- fleet state


fleet_docs = st.one_of(
    st.fixed_dictionaries({}, optional={
        "name": st.just("f") | json_values, "key_file": st.none() | st.text(max_size=10) | json_values,
        "model": st.none() | st.just("openai/gpt-oss-20b") | json_values, "extra": st.just({}) | json_values,
        "router": st.none() | json_values | st.fixed_dictionaries(
            {"kind": st.just("local") | json_values, "url": st.just("http://127.0.0.1:30080") | json_values,
             "prometheus_url": st.just("http://127.0.0.1:29000") | json_values},
            optional={"pid": st.none() | st.integers(1, 2**22) | json_values, "proc_start": json_values,
                      "unknown": json_values})}),
    json_values)


@given(doc=fleet_docs)
@example(doc=[1])  # found: a list as the state ('list' has no attribute 'get')
@example(doc={"router": {"kind": "local"}})  # found: RouterState(**router) missing url
def test_any_fleet_state_loads_or_is_moved_aside(doc, tmp_path_factory, monkeypatch):
    from console.fleet import state as ST

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("cfg")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    path = ST.state_path("f")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    try:
        state = ST.load("f")
    except ConsoleError as exc:
        _sentence(exc)
        assert path.with_suffix(".json.broken").exists()  # kept, not lost
        event("moved aside")
        return
    event("loaded")
    assert isinstance(state.name, str)
    ST.save(state)
    assert ST.load(state.name) == state


# -------------------------------------------------------------------------- profiles, as any bytes


profile_texts = st.one_of(
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.text(max_size=200),
    st.lists(st.sampled_from(['[profile]', 'name = "p"', '[settings]', 'model = "openai/gpt-oss-20b"',
                              'max_model_len = 8192', 'max_model_len = "lots"', 'port = -1', 'api_key = "sk-x"',
                              'api_key_file = "/nonexistent"', 'settings = 3', '[settings.model]', 'x = [1, {a = 2}]',
                              'image_mode = "stock"', '= broken', 'gpus = "0,1"', 'enable_metrics = "maybe"']),
             max_size=8).map("\n".join))


@given(text=profile_texts)
@example(text="settings = 3\n")
@example(text="[settings.model]\nx = 1\n")
def test_any_profile_file_shows_launches_or_says_why(text, tmp_path_factory, monkeypatch, capsys):
    cfg = tmp_path_factory.mktemp("cfg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cfg))
    folder = cfg / "gpt-oss-console" / "profiles"
    folder.mkdir(parents=True)
    (folder / "p.toml").write_bytes(text.encode("utf-8", "surrogatepass"))
    for argv in (["profiles", "show", "p"], ["profiles", "list"], ["launch", "--dry-run", "--profile", "p"]):
        rc = main(argv)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert rc == 0 or (rc in (2, 3, 4) and "error: " in err), (argv, rc, err)  # notes may come first
        event(f"{argv[0]} {argv[1]}: exit {rc}")
    assert (folder / "p.toml").exists() or list(folder.glob("p.toml.*"))  # never lost


# -------------------------------------------------------------------------- preferences


# What an environment can hold: text without NUL and without lone surrogates (os.environ refuses
# both), and bytes that are not UTF-8, which Python hands over as surrogate escapes (\udcff).
pref_values = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=12) | st.binary(
    min_size=1, max_size=6).filter(lambda b: b"\x00" not in b).map(lambda b: b.decode("utf-8", "surrogateescape")) | st.sampled_from(
    ["0", "-1", "nan", "inf", "1e309", "on", "OFF", " 7 ", "", "0x10", "١"])


@given(values=st.dictionaries(st.sampled_from(sorted(PREFS)), pref_values, max_size=4))
def test_any_preference_is_a_value_or_a_sentence(values, monkeypatch, capsys, tmp_path_factory):
    for name in PREFS:
        try:
            pref(name, values)
        except ConsoleError as exc:
            _sentence(exc)
            assert name in exc.message
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    replay = os.path.join(os.path.dirname(__file__), "data", "nvml", "h100.json")
    for argv in (["gpus", "--watch", "--record-history", "--count", "2", "--interval", "0.01", "--replay", replay],
                 ["history", "--json", "--since", "1m"]):
        rc = main(argv)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        if rc != 0:
            said = json.loads(out) if "--json" in argv else None
            assert rc in (2, 3, 4) and (said["error"] and said["hint"] if said else "error: " in err), (argv, rc, err)
        event(f"{argv[0]}: exit {rc}")
