"""Chat pane with scripted event sources: rendering, reasoning, tool calls, findings, inspector, stop."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Log, Markdown, TabbedContent, TextArea

from console.chat import events as ev
from console.ui import messages
from console.ui.chat.inspector import CallReplay, InspectorScreen, validate_messages
from console.chat.settings import ChatSettings
from console.secret import mask_secret, reveal
from console.ui.chat.settings_screen import ChatSettingsScreen
from console.ui.chat.stream import FORCE_CHARS, SEGMENT_CHARS, BlockSplitter, PlainSegment, StreamingMarkdown
from console.ui.chat.widgets import ReasoningBlock, ToolCallView
from tests.test_ui_chat_support import (
    ANSWER, REASONING, ChatTestApp, ScriptedSession, error_turn, fault_turn, plain_turn, send_and_wait, tool_turn,
)
from tests.ui_helpers import screen_text


async def test_streamed_answer_renders_markdown_incrementally_and_stats():
    gate = asyncio.Event()
    script = plain_turn()
    hold = next(i for i, e in enumerate(script) if isinstance(e, ev.ContentDelta) and "weather" in e.text)
    session = ScriptedSession(script, gate=gate, hold_after=hold)
    app = ChatTestApp(session)
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.pane
        pane.query_one("#chat-input").value = "hi"
        await pilot.press("enter")
        for _ in range(40):
            await pilot.pause(0.05)
            if "I can help with" in screen_text(app):
                break
        message = pane.turns[-1]
        # Mid-stream: the first part is on screen, the rest is not there yet.
        text = screen_text(app)
        assert "Hello! I can help with:" in text
        assert "calculator" not in text
        assert not message.finished and pane._turn_running
        gate.set()
        await asyncio.wait_for(message.wait_rendered(), 5)
        await pilot.pause()
        text = screen_text(app)
        assert "arithmetic with calculator" in text
        assert "TTFT 42 ms (content 180 ms) · 57 tok · 312.5 tok/s · prompt 96 · cached 64" in text
        assert message.content_text == ANSWER
        assert session.sent == ["hi"]
        assert not pane._turn_running
        # The Markdown was rendered (a list became bullets), not shown raw.
        assert "• the weather in a city" in text


async def test_reasoning_is_collapsed_by_default_and_expands():
    app = ChatTestApp(ScriptedSession(plain_turn()))
    async with app.run_test(size=(80, 30)) as pilot:
        message = await send_and_wait(pilot, app.pane, "hi")
        block = message.query_one(ReasoningBlock)
        assert not block.expanded
        text = screen_text(app)
        assert f"▶ Reasoning ({len(REASONING) + 1:,} chars)" in text
        assert "The user greets me" not in text
        message.focus()
        await pilot.press("r")
        await pilot.pause()
        assert block.expanded
        assert "▼ Reasoning" in screen_text(app)
        assert "The user greets me" in screen_text(app)
        # Enter on the focused block collapses it again.
        block.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert not block.expanded
        assert "The user greets me" not in screen_text(app)


async def test_tool_call_shows_name_arguments_result_and_timing():
    app = ChatTestApp(ScriptedSession(tool_turn()))
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "weather")
        view = message.query_one(ToolCallView)
        assert view.call.result is not None
        text = screen_text(app)
        assert "⚙ get_weather  call_1  2.1 ms" in text
        assert '{"location": "Paris", "unit": "celsius"}' in text
        assert '"conditions": "partly cloudy"' in text
        assert "It is 18 °C and partly cloudy in Paris." in text
        assert "2 rounds" in str(message.query_one(".stats").render())
        # Round 2's text comes after the call made in round 1.
        assert text.index("get_weather") < text.index("It is 18 °C")


async def test_findings_and_invalid_arguments_are_flagged_inline():
    app = ChatTestApp(ScriptedSession(fault_turn()))
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "fault")
        text = screen_text(app)
        assert "✖ harmony-leak in content" in text
        assert "✖ invalid-json-args in arguments:get_weather" in text
        assert "⚠ no-done in stream" in text
        assert "✖ invalid JSON: Expecting property name" in text
        assert message.has_class("-findings")
        assert message.query_one(ToolCallView).has_class("-problem")


async def test_inspector_shows_request_chunks_findings_and_validates_replay():
    session = ScriptedSession(fault_turn(), plain_turn("Replayed."))
    app = ChatTestApp(session)
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "fault")
        message.focus()
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectorScreen)
        # Findings first when there are any.
        assert screen.query_one(TabbedContent).active == "tab-findings"
        assert "harmony-leak" in screen_text(app)
        request = screen.query_one("#inspector-request", TextArea).text
        assert '"content": "Hi"' in request and "// round 1" in request
        log = screen.query_one("#inspector-stream", Log)
        assert log.line_count == 2 and "<|channel|>final" in log.lines[0] and log.lines[0].startswith("r0 #0")
        # Broken JSON is refused with the reason, the screen stays.
        screen.query_one("#replay-messages", TextArea).text = '[{"role": "user", "content": '
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.screen is screen
        assert "not JSON" in str(screen.query_one("#replay-status").render())
        # Valid edited messages replay the turn through the session.
        screen.query_one("#replay-messages", TextArea).text = '[{"role": "user", "content": "Hi again"}]'
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not isinstance(app.screen, InspectorScreen)
        replayed = app.pane.turns[-1]
        await asyncio.wait_for(replayed.wait_rendered(), 5)
        assert session.replays == [[{"role": "user", "content": "Hi again"}]]
        assert replayed.content_text == "Replayed."
        assert "(replay with edited messages)" in screen_text(app)


async def test_inspector_replays_a_tool_call_with_edited_arguments():
    app = ChatTestApp(ScriptedSession(tool_turn()))
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.pane
        message = await send_and_wait(pilot, pane, "weather")
        replays = []
        pane._run_turn = lambda text, replay: replays.append(replay)  # capture what the pane would run
        pane._turn_running = False
        pane.inspect(message)
        await pilot.pause()
        screen = app.screen
        args = screen.query_one("#replay-arguments", TextArea)
        assert '"location": "Paris"' in args.text
        args.text = "[1, 2]"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert "must be a JSON object" in str(screen.query_one("#replay-status").render())
        args.text = '{"location": "Tokyo"}'
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert replays == [CallReplay("call_1", "get_weather", {"location": "Tokyo"})]


def test_validate_messages_reasons():
    assert validate_messages('[{"role": "user", "content": "x"}]') == [{"role": "user", "content": "x"}]
    for bad, reason in [("{}", "non-empty JSON list"), ("[]", "non-empty JSON list"), ('[{"content": 1}]', "'role'"),
                        ('[{"role": "robot"}]', "unknown role"), ("[", "not JSON")]:
        with pytest.raises(ValueError, match=reason):
            validate_messages(bad)


async def test_server_error_is_shown_in_the_conversation_without_crashing():
    app = ChatTestApp(ScriptedSession(error_turn(), plain_turn("Still here.")))
    async with app.run_test(size=(100, 30)) as pilot:
        message = await send_and_wait(pilot, app.pane, "weather")
        text = screen_text(app)
        assert "✖ Server error 500" in text and "try tool_choice auto" in text
        assert message.has_class("-error")
        # The conversation goes on.
        second = await send_and_wait(pilot, app.pane, "again")
        assert second.content_text == "Still here."


async def test_an_exception_from_the_session_becomes_an_error_message():
    class Exploding(ScriptedSession):
        async def run_turn(self, text):
            yield ev.RequestSent(0, {"messages": []}, 1.0)
            raise ConnectionResetError("connection reset by peer")

    app = ChatTestApp(Exploding())
    async with app.run_test(size=(100, 30)) as pilot:
        message = await send_and_wait(pilot, app.pane, "hi")
        assert "✖ connection reset by peer" in screen_text(app)
        assert message.record.error is not None


async def test_empty_answer_is_said_plainly():
    app = ChatTestApp(ScriptedSession([ev.RequestSent(0, {}, 1.0), ev.Finding("empty-stream", "the stream carried no chunks", "stream"),
                                       ev.TurnDone()]))
    async with app.run_test(size=(100, 30)) as pilot:
        await send_and_wait(pilot, app.pane, "hi")
        text = screen_text(app)
        assert "(the server sent an empty answer)" in text
        assert "✖ empty-stream in stream: the stream carried no chunks" in text


async def test_escape_stops_generation():
    gate = asyncio.Event()
    session = ScriptedSession(plain_turn(), gate=gate, hold_after=5)
    app = ChatTestApp(session)
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.pane
        pane.query_one("#chat-input").value = "hi"
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert pane._turn_running
        await pilot.press("escape")
        message = pane.turns[-1]
        await asyncio.wait_for(message.wait_rendered(), 5)
        await pilot.pause()
        assert session.cancelled
        assert message.record.done.cancelled
        assert "⏹ stopped" in screen_text(app)
        assert not pane._turn_running


async def test_a_second_message_waits_for_the_running_answer():
    gate = asyncio.Event()
    app = ChatTestApp(ScriptedSession(plain_turn(), gate=gate, hold_after=3))
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.pane
        pane.query_one("#chat-input").value = "one"
        await pilot.press("enter")
        await pilot.pause(0.1)
        pane.query_one("#chat-input").value = "two"
        await pilot.press("enter")
        await pilot.pause()
        assert pane.query_one("#chat-input").value == "two"  # kept, not sent
        assert len(pane.turns) == 1
        gate.set()
        await asyncio.wait_for(pane.turns[0].wait_rendered(), 5)


async def test_no_endpoint_says_how_to_set_one():
    app = ChatTestApp(ScriptedSession(), settings=ChatSettings())
    async with app.run_test(size=(100, 30)) as pilot:
        await send_and_wait(pilot, app.pane, "hi")
        text = screen_text(app)
        assert "No endpoint to talk to." in text and "F2" in text


async def test_settings_screen_applies_and_announces_the_endpoint():
    app = ChatTestApp(ScriptedSession())
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.pane
        await pilot.press("f2")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChatSettingsScreen)
        screen.query_one("#base-url").value = "http://10.0.0.5:30000"
        screen.query_one("#api-key").value = "sk-another-long-secret"
        screen.query_one("#system-prompt").text = "Be brief."
        screen.query_one("#effort").value = "high"
        screen.query_one("#tool-choice").value = "get_weather"
        await pilot.press("ctrl+s")
        await pilot.pause()
        s = pane.settings
        assert (s.base_url, reveal(s.api_key), s.system_prompt, s.reasoning_effort, s.tool_choice) == (
            "http://10.0.0.5:30000", "sk-another-long-secret", "Be brief.", "high", "get_weather")
        header = str(pane.query_one("#chat-endpoint").render())
        assert "sk-another-long-secret" not in header and mask_secret("sk-another-long-secret") in header
        assert "effort high" in header and "tools →get_weather" in header
        await pilot.pause()
        changed = app.endpoint_changes
        assert len(changed) == 1 and changed[0].base_url == "http://10.0.0.5:30000"


async def test_settings_screen_by_keyboard_alone():
    """What an operator over SSH does: F2, type the URL, Tab, type the key, Ctrl+S."""
    app = ChatTestApp(ScriptedSession(), settings=ChatSettings())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press(*"http://127.0.0.1:9")
        await pilot.press("tab", *"k-123")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert (app.pane.settings.base_url, reveal(app.pane.settings.api_key)) == ("http://127.0.0.1:9", "k-123")


async def test_settings_screen_keeps_a_bad_url_and_says_why():
    app = ChatTestApp(ScriptedSession(), settings=ChatSettings())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press(*"http://127.0.0.1:185575", "ctrl+s")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChatSettingsScreen)  # still open, the typed URL still there
        assert screen.query_one("#base-url").value == "http://127.0.0.1:185575"
        assert "not a usable server URL" in str(screen.query_one("#models-status").render())
        assert app.pane.settings.base_url != "http://127.0.0.1:185575"


async def test_endpoint_changed_from_the_launch_area_is_followed():
    app = ChatTestApp(ScriptedSession(), settings=ChatSettings())
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.pane
        pane.on_endpoint_changed(messages.EndpointChanged("http://127.0.0.1:8000", "key-123456789012", "openai/gpt-oss-120b"))
        await pilot.pause()
        assert pane.settings.base_url == "http://127.0.0.1:8000"
        assert pane.settings.model == "openai/gpt-oss-120b"
        assert "key-123456789012" not in str(pane.query_one("#chat-endpoint").render())
        # A conversation carries over to a new server; its model is asked for afresh.
        await send_and_wait(pilot, pane, "hi")
        session = pane.session
        pane.on_endpoint_changed(messages.EndpointChanged("http://10.1.1.1:30000", None, None))
        assert pane.session is session and pane.settings.model is None
        assert session.config.base_url == "http://10.1.1.1:30000"


async def test_keyboard_moves_from_input_to_messages():
    app = ChatTestApp(ScriptedSession(plain_turn(), tool_turn()))
    async with app.run_test(size=(100, 40)) as pilot:
        first = await send_and_wait(pilot, app.pane, "hi")
        second = await send_and_wait(pilot, app.pane, "weather")
        app.pane.query_one("#chat-input").focus()
        await pilot.press("up")
        assert app.focused is second
        await pilot.press("up")
        assert app.focused is first
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, InspectorScreen) and app.screen.record is first.record
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InspectorScreen)
        await pilot.press("escape")
        assert app.focused is app.pane.query_one("#chat-input")


async def test_long_stream_renders_only_what_can_be_seen_and_the_rest_on_scroll():
    paragraph = " ".join(f"word{i}" for i in range(60))
    deltas = []
    for n in range(120):
        deltas += [f"## Part {n}\n\n", paragraph + "\n\n", "- one\n- two\n\n"]
    script = [ev.RequestSent(0, {}, 1.0)] + [ev.ContentDelta(0, d) for d in deltas] + [ev.TurnDone()]
    app = ChatTestApp(ScriptedSession(script))
    async with app.run_test(size=(80, 24)) as pilot:
        message = await send_and_wait(pilot, app.pane, "long")
        stream = message.query_one(StreamingMarkdown)
        assert stream.text == "".join(deltas)
        plain = stream.query(PlainSegment)
        rendered = [w for w in stream.children if isinstance(w, Markdown)]
        assert plain, "off-screen text should stay plain"
        assert len(rendered) <= 6, "only segments near the viewport are Markdown"
        assert "Part 119" in screen_text(app)
        # Scrolling to the top renders what comes into view.
        log = app.pane.query_one("#chat-log")
        log.scroll_home(animate=False)
        await pilot.pause(0.2)
        await pilot.pause()
        text = screen_text(app)
        assert "Part 0" in text and "## Part 0" not in text


def _split_all(pieces: list[str]) -> tuple[list[str], str]:
    splitter = BlockSplitter()
    closed: list[str] = []
    for piece in pieces:
        closed += splitter.feed(piece)
    return closed, splitter.buf


def test_splitter_cuts_at_blank_lines_and_loses_nothing():
    para = ("lorem ipsum " * 30).strip() + "\n\n"
    text = "".join(f"## H{i}\n\n{para}" for i in range(20))
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)]  # token-sized, cutting anywhere
    closed, rest = _split_all(pieces)
    assert "".join(closed) + rest == text
    assert len(closed) >= 3
    assert all(seg.endswith("\n\n") and len(seg) >= SEGMENT_CHARS for seg in closed)


def test_splitter_never_cuts_inside_a_code_fence_below_the_force_limit():
    code = "```python\n" + "".join(f"x{i} = {i}\n\n" for i in range(300)) + "```\n\n"
    assert len(code) < FORCE_CHARS
    closed, rest = _split_all(["intro\n\n", code, "after\n\n"])
    joined = closed + [rest]
    owner = [seg for seg in joined if "x0 = 0" in seg][0]
    assert "x299 = 299" in owner and owner.count("```") == 2


def test_splitter_closes_and_reopens_a_huge_fence():
    code = "~~~\n" + "".join(f"line {i}\n" for i in range(3000)) + "~~~\n"
    closed, rest = _split_all([code[i : i + 50] for i in range(0, len(code), 50)])
    assert closed
    for seg in closed:
        assert seg.startswith("~~~") and seg.rstrip().endswith("~~~"), seg[:20] + "…" + seg[-20:]
    body = "".join(closed) + rest
    assert all(f"line {i}\n" in body for i in range(3000))


def test_splitter_cuts_an_endless_line_at_a_space():
    words = "".join(f"w{i} " for i in range(5000))
    closed, rest = _split_all([words[i : i + 9] for i in range(0, len(words), 9)])
    assert closed and all(len(seg) <= FORCE_CHARS + 10 for seg in closed)
    assert "".join(s.rstrip("\n") for s in closed) + rest == words


async def test_typing_the_first_message_imports_the_client_off_the_ui_thread(monkeypatch):
    import sys

    from console.ui.chat.pane import ChatPane

    started: list = []
    real = ChatPane.run_worker

    def spy(self, work, *args, **kwargs):
        worker = real(self, work, *args, **kwargs)
        if kwargs.get("group") == "chat-warm":
            started.append((worker, kwargs.get("thread")))
        return worker

    monkeypatch.setattr(ChatPane, "run_worker", spy)
    app = ChatTestApp(ScriptedSession())
    async with app.run_test(size=(100, 30)) as pilot:
        app.pane.query_one("#chat-input").focus()
        await pilot.press("h", "i")
        await pilot.pause()
        assert len(started) == 1  # once, however many keys are typed
        worker, thread = started[0]
        assert thread is True  # the import runs beside the UI loop, not on it
        await worker.wait()
        assert "openai" in sys.modules and "httpx" in sys.modules


async def test_settings_screen_opens_with_its_title_in_view_at_80x24():
    """Issue 10: the dialog opened scrolled past its title (focusing the URL scrolled the form)."""
    app = ChatTestApp(ScriptedSession(), settings=ChatSettings())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        text = screen_text(app)
        assert "Chat settings" in text and "Ctrl+S apply" in text and "Base URL" in text
        assert app.screen.focused is app.screen.query_one("#base-url")


def test_inspector_stream_rows_differ_within_80_columns():
    """Issue 10: at 80 columns the Stream tab showed only the JSON prefix every chunk shares
    (id, object, created, model). What the chunk brings now comes first."""
    from console.ui.chat.record import chunk_line

    def chunk(delta: dict, finish=None, usage=None) -> dict:
        return {"id": "chatcmpl-0123456789abcdef", "object": "chat.completion.chunk", "created": 1764000000,
                "model": "openai/gpt-oss-120b", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                "usage": usage}

    rows = [chunk_line(0, n, 1.0 + n / 10, 1.0, raw) for n, raw in enumerate([
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "Thinking"}),
        chunk({"content": "Hello"}),
        chunk({"tool_calls": [{"index": 0, "function": {"name": "get_weather", "arguments": "{}"}}]}),
        chunk({}, finish="stop"),
        chunk({}, usage={"prompt_tokens": 9, "completion_tokens": 3}),
        "data: not json",
    ])]
    seen = [row[:80] for row in rows]
    for word in ("role assistant", 'reasoning "Thinking"', 'content "Hello"', "tool_calls [", "finish stop",
                 'usage {"prompt_tokens":9'):
        assert any(word in row for row in seen), (word, seen)
    assert len(set(row[14:80] for row in seen)) == len(seen)  # past the sequence and offset, every row differs
    assert all('"chatcmpl-0123456789abcdef"' in row for row in rows[:-1])  # the JSON is still there in full
    assert rows[-1].endswith("data: not json")
