"""Chat pane and smoke view against real servers: the SGLang-shaped test server (with faults)
and llama-cpp-python's OpenAI server (a peer no one here wrote)."""

from __future__ import annotations

import asyncio
import json
import stat

from textual.app import App
from textual.widgets import DataTable, Footer, Log, Select

from console.ui.chat import adapter
from console.ui.chat.inspector import InspectorScreen
from console.chat.settings import ChatSettings
from console.ui.chat.settings_screen import ChatSettingsScreen
from console.ui.smoke.view import SmokeView
from console.ui.chat.widgets import ReasoningBlock, ToolCallView
from console.ui.smoke.pane import SmokePane
from tests.test_ui_chat_support import STYLES, ChatTestApp, send_and_wait
from tests.ui_helpers import screen_text


def real_app(base_url: str, **settings) -> ChatTestApp:
    return ChatTestApp(settings=ChatSettings(base_url=base_url, **settings), factory=adapter.make_session)


async def test_streamed_answer_with_reasoning_from_the_server(sglang_shaped_factory):
    # Tokens paced like a real server's: an answer that arrives in one burst has no tok/s.
    app = real_app(sglang_shaped_factory(token_interval_s=0.005).base_url)
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "hello there")
        assert message.record.error is None
        assert message.content_text == "You said: hello there"
        block = message.query_one(ReasoningBlock)
        assert block.text and not block.expanded
        text = screen_text(app)
        assert "You said: hello there" in text and "▶ Reasoning" in text
        stats = message.record.stats
        assert stats.completion_tokens and stats.ttft_any_s is not None
        assert "tok/s" in str(message.query_one(".stats").render())
        # The pane learnt the served model from the session.
        assert app.pane.settings.model == "openai/gpt-oss-20b"
        assert "openai/gpt-oss-20b" in str(app.pane.query_one("#chat-endpoint").render())


async def test_tool_calls_run_and_the_answer_uses_their_results(sglang_shaped_server):
    app = real_app(sglang_shaped_server.base_url)
    async with app.run_test(size=(100, 50)) as pilot:
        message = await send_and_wait(pilot, app.pane, "What is the weather in Paris and Tokyo?")
        views = list(message.query(ToolCallView))
        assert [v.call.name for v in views] == ["get_weather", "get_weather"]
        assert {v.call.arguments["location"] for v in views} == {"Paris", "Tokyo"}
        assert all(v.call.result and v.call.error is None for v in views)
        assert '"conditions": "sunny"' in message.content_text
        assert message.record.stats.rounds == 2
        assert len(message.record.rounds) == 2


async def test_harmony_leak_is_flagged_inline_and_in_the_inspector(sglang_shaped_factory):
    peer = sglang_shaped_factory(faults=["leak_content"])
    app = real_app(peer.base_url)
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "hello")
        codes = {f.code for f in message.record.findings}
        assert "harmony-leak" in codes
        assert "✖ harmony-leak in content" in screen_text(app)
        message.focus()
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectorScreen)
        assert "harmony-leak" in screen_text(app)
        log = screen.query_one("#inspector-stream", Log)
        assert any("<|channel|>" in line for line in log.lines)


async def test_invalid_arguments_and_unknown_tool_are_shown(sglang_shaped_factory):
    peer = sglang_shaped_factory(faults=["invalid_json_args"])
    app = real_app(peer.base_url)
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "What is the weather in Paris?")
        call = message.query_one(ToolCallView)
        assert call.call.problems and call.has_class("-problem")
        assert "invalid-json-args" in {f.code for f in message.record.findings}
    peer = sglang_shaped_factory(faults=["unknown_tool"])
    app = real_app(peer.base_url)
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "What is the weather in Paris?")
        assert "unknown-tool" in {f.code for f in message.record.findings}
        assert "unknown-tool" in screen_text(app)


async def test_mid_stream_disconnect_is_an_error_not_a_crash(sglang_shaped_factory):
    peer = sglang_shaped_factory(faults=["disconnect_midstream"])
    app = real_app(peer.base_url)
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "hello")
        shown = screen_text(app)
        assert message.record.error is not None or message.record.findings
        assert "✖" in shown
        # The pane is still usable.
        assert app.pane.query_one("#chat-input").display


async def test_wrong_api_key_is_shown_in_the_conversation(sglang_shaped_factory):
    peer = sglang_shaped_factory(api_key="right-key-123456")
    app = real_app(peer.base_url, api_key="wrong-key-654321")
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "hello")
        assert message.record.error is not None
        text = screen_text(app)
        assert "rejected the API key" in text
        assert "wrong-key-654321" not in text


async def test_unreachable_server_is_an_error_message():
    app = real_app("http://127.0.0.1:9")
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "hello")
        assert message.record.error is not None
        assert "✖" in screen_text(app)


async def test_stop_cancels_a_slow_stream(sglang_shaped_factory):
    peer = sglang_shaped_factory(token_interval_s=0.05)
    app = real_app(peer.base_url)
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.pane
        pane.query_one("#chat-input").value = "stream 400 tokens"
        await pilot.press("enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if pane.turns and pane.turns[-1].data and pane.turns[-1].data[0].content:
                break
        await pilot.press("escape")
        message = pane.turns[-1]
        await asyncio.wait_for(message.wait_rendered(), 10)
        assert message.record.done.cancelled
        assert "⏹ stopped" in screen_text(app)
        assert len(message.content_text.split()) < 400


async def test_model_picker_lists_the_served_models(sglang_shaped_factory):
    peer = sglang_shaped_factory(api_key="picker-key-123456", served_model_name="openai/gpt-oss-120b")
    app = real_app(peer.base_url, api_key="picker-key-123456")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        screen = app.screen
        assert isinstance(screen, ChatSettingsScreen)
        for _ in range(50):
            await pilot.pause(0.05)
            if "model(s) served" in str(screen.query_one("#models-status").render()):
                break
        select = screen.query_one("#model", Select)
        assert select.value == "openai/gpt-oss-120b"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.pane.settings.model == "openai/gpt-oss-120b"


async def test_transcript_save_load_and_markdown_export(sglang_shaped_server, tmp_path, monkeypatch):
    import threading

    from console.ui.chat import adapter

    loaded_on: list[threading.Thread] = []
    real_load = adapter.load_transcript

    def spy(*args):
        loaded_on.append(threading.current_thread())
        return real_load(*args)

    monkeypatch.setattr(adapter, "load_transcript", spy)
    app = real_app(sglang_shaped_server.base_url)
    path = tmp_path / "chat.jsonl"
    md = tmp_path / "chat.md"
    async with app.run_test(size=(100, 40)) as pilot:
        await send_and_wait(pilot, app.pane, "What is the weather in Paris?")
        app.pane.action_save_transcript(str(path))
        app.pane.action_export_markdown(str(md))
        await pilot.pause()
    assert path.exists() and md.exists()
    assert not path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO), "transcripts are private"
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines() if line.strip()]
    assert "turn" in kinds and "exchange" in kinds
    assert "get_weather" in md.read_text()

    app = real_app(sglang_shaped_server.base_url)
    async with app.run_test(size=(100, 40)) as pilot:
        app.pane.action_load_transcript(str(path))
        for _ in range(100):
            await pilot.pause(0.05)
            if app.pane.turns and app.pane.turns[-1].rendered.is_set():
                break
        message = app.pane.turns[-1]
        assert message.query_one(ToolCallView).call.name == "get_weather"
        assert loaded_on and threading.main_thread() not in loaded_on  # read off the UI loop
        assert "Here is what the tools returned" in message.content_text
        # The loaded conversation continues on the same session.
        more = await send_and_wait(pilot, app.pane, "thanks")
        assert more.record.error is None
        assert len(app.pane.session.messages) > 3


class SmokeApp(App):
    CSS_PATH = [str(STYLES / "app.tcss"), str(STYLES / "smoke.tcss")]

    def compose(self):
        yield SmokePane(id="pane-smoke")
        yield Footer()


async def test_smoke_view_fills_the_table_and_shows_details_of_a_failure(sglang_shaped_factory):
    peer = sglang_shaped_factory(faults=["leak_reasoning"])
    app = SmokeApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(SmokeView)
        view.set_endpoint(peer.base_url, None, None)
        view.query_one("#smoke-soak").value = "3"
        await pilot.press("f5")
        for _ in range(600):
            await pilot.pause(0.05)
            if not view.running:
                break
        assert not view.running
        table = view.query_one(DataTable)
        assert set(view.results) == set(table.rows)
        statuses = {name: r.status for name, r in view.results.items()}
        assert statuses["models"] == "pass"
        assert statuses["no-harmony-leak"] == "fail"
        row = list(table.rows).index("no-harmony-leak")
        table.focus()
        table.move_cursor(row=row)
        await pilot.pause()
        details = str(view.query_one("#smoke-details").render())
        assert "no-harmony-leak" in details and "FAIL" in details and "reasoning" in details
        assert "failures" in str(view.query_one("#smoke-summary").render())


async def test_smoke_view_against_an_unreachable_server(monkeypatch):
    import threading

    from console.ui.chat import adapter

    imported_on: list[threading.Thread] = []
    real = adapter.import_client_libraries

    def spy(*extra: str) -> None:
        imported_on.append(threading.current_thread())
        real(*extra)

    monkeypatch.setattr(adapter, "import_client_libraries", spy)
    app = SmokeApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(SmokeView)
        view.set_endpoint("http://127.0.0.1:9", None, None)
        await pilot.press("f5")
        for _ in range(200):
            await pilot.pause(0.05)
            if not view.running:
                break
        assert view.results["models"].status == "fail"
        assert all(r.status in ("fail", "skip") for r in view.results.values())
        # the runner and openai load beside the UI loop, not on it
        assert imported_on and threading.main_thread() not in imported_on


async def test_llama_cpp_quirks_are_shown_without_crashing(llama_server):
    """llama-cpp-python answers some tool_choice modes and streamed tool calls with an error
    or an empty stream: each must appear as a clear message, and the pane must go on."""
    app = real_app(llama_server.base_url, model=llama_server.model, max_tokens=48)
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.pane
        for choice, streaming in [("required", True), ("get_weather", True), ("auto", True), ("auto", False)]:
            pane.apply_settings(pane.settings.with_(tool_choice=choice, stream=streaming))
            message = await send_and_wait(pilot, pane, "What is the weather in Paris?", timeout=180)
            rec = message.record
            shown = screen_text(app)
            has_output = any(d.content or d.reasoning for d in message.data) or rec.tool_calls
            assert rec.error is not None or rec.findings or has_output, (choice, streaming)
            if rec.error is not None:
                assert "✖" in shown
            elif not has_output:
                assert "(the server sent an empty answer)" in shown
        assert pane.query_one("#chat-input").display


async def test_a_401_points_at_the_chat_settings_not_at_a_cli_flag(sglang_shaped_factory):
    """Issue 10: a 401 in the console said 'pass --api-key' (a CLI flag) instead of pointing at F2."""
    peer = sglang_shaped_factory(api_key="sk-server-side-key-0003")
    app = real_app(peer.base_url, model="openai/gpt-oss-20b")
    async with app.run_test(size=(100, 40)) as pilot:
        message = await send_and_wait(pilot, app.pane, "hello")
        assert message.record.error is not None
        text = screen_text(app)
        assert "press F2 and set the API key in the Chat settings" in text and "--api-key" not in text
