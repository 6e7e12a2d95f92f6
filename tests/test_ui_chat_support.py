"""Shared pieces of the chat UI tests: scripted sessions, canned turns and a one-pane app.

A scripted session plays chat events exactly as the chat core would emit them, so the
pane is tested against the event contract without a server (the server tests are in
test_ui_chat_server.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Footer

from console.chat import events as ev
from console.chat.settings import ChatSettings
from console.ui.chat.pane import ChatPane

STYLES = Path(__file__).resolve().parent.parent / "styles"
SETTINGS = ChatSettings(base_url="http://127.0.0.1:8000", api_key="sk-test-secret-key", model="openai/gpt-oss-20b")


class ScriptedSession:
    """Plays one list of events per turn; ``gate`` lets a test hold the stream mid-way."""

    def __init__(self, *turns: list, gate: asyncio.Event | None = None, hold_after: int | None = None) -> None:
        self.turns = list(turns)
        self.sent: list[str] = []
        self.replays: list[list[dict]] = []
        self.cancelled = False
        self.gate = gate
        self.hold_after = hold_after

    async def run_turn(self, text: str):
        self.sent.append(text)
        script = self.turns.pop(0) if self.turns else plain_turn("(no more scripted turns)")
        for n, event in enumerate(script):
            if self.hold_after is not None and n == self.hold_after and self.gate is not None:
                await self.gate.wait()
            if self.cancelled:
                yield ev.TurnDone(cancelled=True)
                return
            yield event
            if n % 50 == 0:
                await asyncio.sleep(0)

    async def replay(self, messages: list[dict]):
        self.replays.append(messages)
        async for event in self.run_turn(messages[-1].get("content", "")):
            yield event

    def cancel(self) -> None:
        self.cancelled = True
        if self.gate is not None:
            self.gate.set()


def request(round_: int = 0, text: str = "Hello") -> ev.RequestSent:
    body = {"model": "openai/gpt-oss-20b", "stream": True, "reasoning_effort": "medium",
            "messages": [{"role": "user", "content": text}]}
    return ev.RequestSent(round_, body, at=100.0 + round_)


def chunk(round_: int, delta: dict, n: int = 0, finish: str | None = None) -> ev.ChunkReceived:
    raw = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_700_000_000,
           "model": "openai/gpt-oss-20b", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return ev.ChunkReceived(round_, raw, at=100.0 + round_ + 0.01 * (n + 1))


def stats(**kw) -> ev.TurnStats:
    base = dict(ttft_any_s=0.042, ttft_content_s=0.180, completion_tokens=57, prompt_tokens=96,
                cached_tokens=64, tokens_per_s=312.5, elapsed_s=0.36, finish_reason="stop")
    base.update(kw)
    return ev.TurnStats(**base)


REASONING = "The user greets me. I should answer briefly and mention what I can do: **tools**, maths, weather."
ANSWER = "Hello! I can help with:\n\n- the **weather** in a city\n- arithmetic with `calculator`\n\n```python\nprint('hi')\n```\n"


def plain_turn(answer: str = ANSWER, reasoning: str = REASONING) -> list:
    out: list = [request()]
    n = 0
    for word in reasoning.split(" "):
        out += [chunk(0, {"reasoning_content": word + " "}, n), ev.ReasoningDelta(0, word + " ")]
        n += 1
    words = answer.split(" ")
    for i, piece in enumerate(words):
        piece = piece + " " if i < len(words) - 1 else piece
        out += [chunk(0, {"content": piece}, n), ev.ContentDelta(0, piece)]
        n += 1
    out += [chunk(0, {}, n, finish="stop"), stats(), ev.TurnDone()]
    return out


def tool_turn() -> list:
    args = {"location": "Paris", "unit": "celsius"}
    result = '{"location": "Paris", "temperature": 18, "unit": "celsius", "conditions": "partly cloudy"}'
    return [
        request(0, "Weather in Paris?"),
        chunk(0, {"reasoning_content": "I should call get_weather."}, 0),
        ev.ReasoningDelta(0, "I should call get_weather."),
        chunk(0, {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                  "function": {"name": "get_weather", "arguments": '{"location": "Paris", "unit": "celsius"}'}}]}, 1),
        chunk(0, {}, 2, finish="tool_calls"),
        ev.ToolCallRequested(0, "call_1", "get_weather", '{"location": "Paris", "unit": "celsius"}', args),
        ev.ToolResult(0, "call_1", "get_weather", result, elapsed_s=0.0021),
        request(1, "Weather in Paris?"),
        chunk(1, {"content": "It is 18 °C and partly cloudy in Paris."}, 0),
        ev.ContentDelta(1, "It is 18 °C and partly cloudy in Paris."),
        chunk(1, {}, 1, finish="stop"),
        stats(rounds=2, completion_tokens=31),
        ev.TurnDone(),
    ]


def fault_turn() -> list:
    leaked = "<|channel|>final<|message|>Hi there"
    return [
        request(0, "Hi"),
        chunk(0, {"content": leaked}, 0),
        ev.ContentDelta(0, leaked),
        chunk(0, {"tool_calls": [{"index": 0, "id": "call_9", "type": "function",
                                  "function": {"name": "get_weather", "arguments": "{location: Paris"}}]}, 1),
        ev.ToolCallRequested(0, "call_9", "get_weather", "{location: Paris", None,
                             ("invalid JSON: Expecting property name enclosed in double quotes at column 2",)),
        ev.Finding("harmony-leak", "Harmony marker '<|channel|>' in content", "content"),
        ev.Finding("invalid-json-args", "arguments of get_weather are not JSON", "arguments:get_weather"),
        ev.Finding("no-done", "the stream ended without data: [DONE]", "stream", severity="warning"),
        ev.ToolResult(0, "call_9", "get_weather", '{"error": "invalid arguments"}', 0.0004, error="invalid arguments: not JSON"),
        stats(finish_reason="tool_calls", ttft_content_s=0.042),
        ev.TurnDone(),
    ]


def error_turn() -> list:
    return [
        request(0, "Weather?"),
        ev.TurnError("Server error 500: 'tool_choice' = required is not supported with stream=true",
                     "llama.cpp answers this mode with an error; try tool_choice auto or streaming off"),
        ev.TurnDone(),
    ]


class ChatTestApp(App):
    """Just the chat pane (the shell mounts the same widget into the real app)."""

    CSS_PATH = [str(STYLES / "app.tcss"), str(STYLES / "chat.tcss")]

    def __init__(self, session: ScriptedSession | None = None, settings: ChatSettings = SETTINGS, factory=None) -> None:
        super().__init__()
        self.session = session
        self._settings = settings
        self._factory = factory or (lambda s: self.session)
        self.endpoint_changes: list = []

    def compose(self) -> ComposeResult:
        yield ChatPane(settings=self._settings, session_factory=self._factory, id="pane-chat")
        yield Footer()

    def on_endpoint_changed(self, message) -> None:
        self.endpoint_changes.append(message)

    @property
    def pane(self) -> ChatPane:
        return self.query_one(ChatPane)


async def send_and_wait(pilot, pane: ChatPane, text: str, timeout: float = 20):
    """Type a message, press Enter, wait until its answer is fully rendered."""
    pane.query_one("#chat-input").focus()
    await pilot.press(*text) if len(text) < 40 else None
    if len(text) >= 40:
        pane.query_one("#chat-input").value = text
    await pilot.press("enter")
    await pilot.pause()
    while not pane.turns:
        await pilot.pause()
    message = pane.turns[-1]
    await asyncio.wait_for(message.wait_rendered(), timeout)
    await pilot.pause()
    return message
