"""Snapshots of the chat pane at 80×24 and 160×48 (scripted events: no live clocks)."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input

from console.chat import events as ev
from tests.test_ui_chat_support import ChatTestApp, ScriptedSession, fault_turn, plain_turn, tool_turn

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def _quiet(app) -> None:
    for widget in app.query(Input):
        widget.cursor_blink = False


async def _send(pilot, text: str) -> None:
    app = pilot.app
    _quiet(app)
    app.pane.query_one("#chat-input").value = text
    await pilot.press("enter")
    while not app.pane.turns:
        await pilot.pause()


async def _finish(pilot, text: str):
    await _send(pilot, text)
    message = pilot.app.pane.turns[-1]
    await asyncio.wait_for(message.wait_rendered(), 10)
    await pilot.pause()
    return message


@pytest.mark.parametrize("size", SIZES)
def test_streaming_message(snap_compare, size):
    gate = asyncio.Event()
    script = plain_turn()
    hold = next(i for i, e in enumerate(script) if isinstance(e, ev.ContentDelta) and "weather" in e.text)
    app = ChatTestApp(ScriptedSession(script, gate=gate, hold_after=hold))

    async def run_before(pilot):
        await _send(pilot, "hi")
        message = pilot.app.pane.turns[-1]
        for _ in range(200):
            await pilot.pause(0.02)
            views = message.views
            if views and views[0]._rendered == len(views[0].data.content) and views[0].data.content:
                if message._dirty.is_set() is False:
                    break
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_reasoning_collapsed(snap_compare, size):
    app = ChatTestApp(ScriptedSession(plain_turn()))

    async def run_before(pilot):
        await _finish(pilot, "hi")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_reasoning_expanded(snap_compare, size):
    app = ChatTestApp(ScriptedSession(plain_turn()))

    async def run_before(pilot):
        message = await _finish(pilot, "hi")
        await message.action_toggle_reasoning()
        message.scroll_visible(animate=False, top=True)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_tool_call_with_result(snap_compare, size):
    app = ChatTestApp(ScriptedSession(tool_turn()))

    async def run_before(pilot):
        await _finish(pilot, "What is the weather in Paris?")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_inspector_view(snap_compare, size):
    app = ChatTestApp(ScriptedSession(fault_turn()))

    async def run_before(pilot):
        message = await _finish(pilot, "Hi")
        pilot.app.pane.inspect(message)
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_inspector_stream_tab(snap_compare, size):
    app = ChatTestApp(ScriptedSession(tool_turn()))

    async def run_before(pilot):
        message = await _finish(pilot, "What is the weather in Paris?")
        pilot.app.pane.inspect(message)
        await pilot.pause()
        pilot.app.screen.query_one("#inspector-tabs").active = "tab-stream"
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_smoke_results_with_a_failure_selected(snap_compare, size):
    from console.smoke.runner import CheckResult
    from console.ui.smoke.view import SmokeView
    from tests.test_ui_chat_server import SmokeApp

    results = [
        CheckResult("models", "pass", "1 model(s): openai/gpt-oss-20b", 0.012),
        CheckResult("plain-chat", "pass", "answered in 41 tokens", 0.184),
        CheckResult("streaming", "fail", "the stream ended without data: [DONE]", 0.231,
                    {"findings": ["no-done: the stream ended without data: [DONE]"], "ttft_s": 0.021,
                     "finish_reason": "stop", "request": {"model": "openai/gpt-oss-20b", "stream": True}}),
        CheckResult("tool-auto", "pass", "get_weather called with {\"location\": \"Paris\"}", 0.402),
        CheckResult("tool-required", "unsupported", "the server refused it: tool_choice required", 0.050,
                    {"hint": "llama.cpp answers this mode with an error"}),
    ]

    async def run_before(pilot):
        view = pilot.app.query_one(SmokeView)
        for widget in view.query("Input"):
            widget.cursor_blink = False
        view.set_endpoint("http://127.0.0.1:8000", None, "openai/gpt-oss-20b")
        for result in results:
            view.show_result(result)
        table = view.query_one("#smoke-table")
        table.focus()
        table.move_cursor(row=2, scroll=False)
        await pilot.pause()
        table.scroll_home(animate=False)
        await pilot.pause()

    assert snap_compare(SmokeApp(), terminal_size=size, run_before=run_before)
