"""Conversation widgets: user and assistant messages, reasoning blocks, tool calls.

An assistant message is fed chat events synchronously (``feed``: only lists and
records change) and renders at its own pace: a render task joins the pending deltas
and appends them to a ``StreamingMarkdown`` at most once per frame, less often when
text floods in (see ``_render_loop``). A fast stream's consumer never waits on
Markdown parsing, which is what limits token-by-token writing.
"""

from __future__ import annotations

import asyncio
import time

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from console.chat import events as ev
from console.ui.chat.format import arguments_text, finding_line, result_text, stats_line
from console.ui.chat.record import ToolCallRecord, TurnRecord
from console.ui.chat.stream import StreamingMarkdown

FRAME_S = 1 / 20  # at most this many renders per second per message
FAST_CHARS = 1500  # more new text than this per frame: nobody reads it live, render less often
MAX_FRAME_S = 0.3


class UserMessage(Static):
    """What the operator typed."""

    def __init__(self, text: str) -> None:
        super().__init__(Text(text), classes="user-message", markup=False)
        self.text = text


class ReasoningBlock(Widget, can_focus=True):
    """Reasoning, collapsed to one line by default; Enter (or click) expands it.

    While collapsed only the character count changes, so a long chain of thought costs
    nothing to render until someone opens it.
    """

    BINDINGS = [Binding("enter,space", "toggle", "Expand", show=False)]

    DEFAULT_CSS = """
    ReasoningBlock { height: auto; }
    ReasoningBlock > .reasoning-title { height: 1; }
    ReasoningBlock > StreamingMarkdown { display: none; }
    ReasoningBlock.-expanded > StreamingMarkdown { display: block; }
    """

    def __init__(self, parts: list[str]) -> None:
        super().__init__(classes="reasoning")
        self.parts = parts  # shared with the message's round data: appended to as deltas arrive
        self._rendered = 0  # how many of ``parts`` the Markdown body already holds
        self.expanded = False
        self.streaming = True

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="reasoning-title", markup=False)
        yield StreamingMarkdown(classes="reasoning-body")

    def _title(self) -> Text:
        arrow = "▼" if self.expanded else "▶"
        chars = sum(map(len, self.parts))
        state = " …" if self.streaming else ""
        return Text.assemble((f"{arrow} Reasoning", "bold"), f" ({chars:,} chars{state})", style="italic")

    async def flush(self) -> None:
        title = self.query_one(".reasoning-title", Static)
        title.update(self._title())
        if self.expanded and self._rendered < len(self.parts):
            pending = "".join(self.parts[self._rendered :])
            self._rendered = len(self.parts)
            await self.query_one(StreamingMarkdown).append(pending)

    async def action_toggle(self) -> None:
        await self.set_expanded(not self.expanded)

    async def set_expanded(self, expanded: bool) -> None:
        self.expanded = expanded
        self.set_class(expanded, "-expanded")
        await self.flush()

    async def _on_click(self, event: events.Click) -> None:
        event.stop()
        await self.action_toggle()


class ToolCallView(Static):
    """One tool call: name, id, pretty arguments (with validation problems), result and timing."""

    def __init__(self, call: ToolCallRecord) -> None:
        super().__init__(classes="tool-call", markup=False)
        self.call = call
        self._shown: tuple | None = None

    def sync(self) -> None:
        call = self.call
        state = (call.result, call.error, call.elapsed_s)
        if state == self._shown:
            return
        self._shown = state
        self.set_class(bool(call.problems or call.error), "-problem")
        self.update(self._render_call())

    def _render_call(self) -> Text:
        call = self.call
        text = Text.assemble(("⚙ ", "bold"), (call.name, "bold"), (f"  {call.call_id}", "dim"))
        if call.elapsed_s is not None:
            text.append(f"  {call.elapsed_s * 1000:.1f} ms", "dim")
        text.append("\n")
        text.append(arguments_text(call.arguments, call.arguments_raw))
        for problem in call.problems:
            text.append(f"\n✖ {problem}", "bold red")
        if call.error:
            text.append(f"\n✖ {call.error}", "bold red")
        elif call.result is not None:
            text.append("\n→ ", "bold green")
            text.append(result_text(call.result))
        else:
            text.append("\n… running", "dim italic")
        return text


class RoundData:
    """Text of one round as it streams in (lists of deltas, joined only when rendered)."""

    __slots__ = ("content", "reasoning")

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []


class RoundView(Vertical):
    """What one request produced: reasoning, streamed Markdown content, tool calls."""

    DEFAULT_CSS = """
    RoundView { height: auto; }
    """

    def __init__(self, index: int, data: RoundData) -> None:
        super().__init__(classes="round")
        self.index = index
        self.data = data
        self.reasoning = ReasoningBlock(data.reasoning)
        self.reasoning.display = False
        self.markdown = StreamingMarkdown(classes="content")
        self.markdown.display = False
        self.calls: dict[int, ToolCallView] = {}
        self._rendered = 0

    def compose(self) -> ComposeResult:
        yield self.reasoning
        yield self.markdown

    async def sync(self, record: TurnRecord, finished: bool) -> None:
        data = self.data
        if data.reasoning:
            self.reasoning.streaming = not finished
            self.reasoning.display = True
            await self.reasoning.flush()
        if self._rendered < len(data.content):
            pending = "".join(data.content[self._rendered :])
            self._rendered = len(data.content)
            self.markdown.display = True
            await self.markdown.append(pending)
        for n, call in enumerate(record.tool_calls):
            if call.round != self.index:
                continue
            view = self.calls.get(n)
            if view is None:
                view = self.calls[n] = ToolCallView(call)
                await self.mount(view)
            view.sync()


class AssistantMessage(Vertical, can_focus=True):
    """The answer to one user message, across every tool round, with its findings and stats."""

    BINDINGS = [
        Binding("i", "inspect", "Inspect"),
        Binding("r", "toggle_reasoning", "Reasoning"),
        Binding("up,k", "neighbour(-1)", "Previous", show=False),
        Binding("down,j", "neighbour(1)", "Next", show=False),
    ]

    class InspectRequested(Message):
        def __init__(self, message: AssistantMessage) -> None:
            super().__init__()
            self.message = message

    class Rendered(Message):
        """Everything of a finished turn is on screen."""

        def __init__(self, message: AssistantMessage) -> None:
            super().__init__()
            self.message = message

    def __init__(self, record: TurnRecord) -> None:
        super().__init__(classes="assistant-message")
        self.record = record
        self.data: list[RoundData] = []
        self.views: list[RoundView] = []
        self.finished = False
        self._finished_event = asyncio.Event()
        self.rendered = asyncio.Event()
        self._dirty = asyncio.Event()
        self._fed_chars = 0  # text fed since the last render (paces rendering)
        self._render_task: asyncio.Task | None = None
        self._shown_findings = 0
        self._shown_error = False
        self.render_time_s = 0.0  # time spent in flush (the benchmark reports it)
        self.renders = 0

    def compose(self) -> ComposeResult:
        yield Static("… waiting for the server", classes="status-line", markup=False)
        yield Static(classes="error", markup=False)
        yield Static(classes="findings", markup=False)
        yield Static(classes="stats", markup=False)

    def on_mount(self) -> None:
        for name in ("error", "findings", "stats"):
            self.query_one(f".{name}").display = False
        self._render_task = asyncio.create_task(self._render_loop())

    def on_unmount(self) -> None:
        if self._render_task is not None:
            self._render_task.cancel()

    # -- events (cheap, synchronous: only data changes here) ------------------------------

    def _round(self, index: int) -> RoundData:
        data = self.data
        while len(data) <= index:
            data.append(RoundData())
        return data[index]

    def feed(self, event: ev.ChatEvent) -> None:
        cls = type(event)
        if cls is ev.ContentDelta:
            self._round(event.round).content.append(event.text)
            self._fed_chars += len(event.text)
        elif cls is ev.ReasoningDelta:
            self._round(event.round).reasoning.append(event.text)
            self._fed_chars += len(event.text)
        else:
            self.record.add(event)
            if cls is ev.ChunkReceived:
                return
            if cls is ev.RequestSent or cls is ev.ToolCallRequested:
                self._round(event.round)
            elif cls is ev.TurnDone:
                self.finished = True
                self._finished_event.set()
        if not self._dirty.is_set():
            self._dirty.set()

    def replay(self, events: list[ev.ChatEvent]) -> None:
        """Feed a whole recorded turn (a loaded transcript)."""
        for event in events:
            self.feed(event)

    # -- rendering -----------------------------------------------------------------------

    async def _render_loop(self) -> None:
        """Flush pending deltas at most once per frame; when a flush is slow, wait longer
        (less often under a flood of text) so the stream keeps flowing."""
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            t0 = time.perf_counter()
            done = self.finished
            try:
                # One layout and paint for everything this render changes, not one per mount.
                with self.app.batch_update():
                    await self.flush()
            except Exception as exc:  # noqa: BLE001 - a rendering bug must not freeze the message
                self.log.error(f"chat render failed: {exc!r}")
                self.app.notify(f"Rendering this message failed: {exc!r}", severity="error")
                self.rendered.set()
                return
            cost = time.perf_counter() - t0
            self.render_time_s += cost
            self.renders += 1
            if done and not self._dirty.is_set():
                self.rendered.set()
                self.post_message(self.Rendered(self))
                return
            if not done:
                # Pace, but wake at once when the turn ends: the last text must not wait.
                # Each render re-lays-out the conversation: under a flood of text, render
                # less often (up to MAX_FRAME_S) so the stream itself keeps the CPU.
                delay = min(MAX_FRAME_S, FRAME_S * max(1.0, self._fed_chars / FAST_CHARS))
                self._fed_chars = 0
                try:
                    await asyncio.wait_for(self._finished_event.wait(), delay)
                except asyncio.TimeoutError:
                    pass

    async def flush(self) -> None:
        record = self.record
        status = self.query_one(".status-line", Static)
        while len(self.views) < len(self.data):
            view = RoundView(len(self.views), self.data[len(self.views)])
            self.views.append(view)
            await self.mount(view, before=status)
        for view in self.views:
            await view.sync(record, self.finished)
        has_output = any(d.content or d.reasoning for d in self.data) or bool(record.tool_calls)
        if record.error is not None and not self._shown_error:
            self._shown_error = True
            self.add_class("-error")
            text = Text.assemble(("✖ ", "bold red"), (record.error.message, "bold red"))
            if record.error.hint:
                text.append(f"\n  {record.error.hint}", "italic")
            error = self.query_one(".error", Static)
            error.update(text)
            error.display = True
        if len(record.findings) != self._shown_findings:
            self._shown_findings = len(record.findings)
            self.add_class("-findings")
            text = Text()
            for i, finding in enumerate(record.findings):
                style = "bold red" if finding.severity == "error" else "yellow"
                where = f" (round {finding.round + 1})" if len(record.rounds) > 1 else ""
                text.append(("\n" if i else "") + finding_line(finding) + where, style)
            findings = self.query_one(".findings", Static)
            findings.update(text)
            findings.display = True
        if record.stats is not None:
            stats = self.query_one(".stats", Static)
            stats.update(stats_line(record.stats))
            stats.display = True
        if self.finished:
            cancelled = record.done is not None and record.done.cancelled
            if cancelled:
                status.update("⏹ stopped")
            elif not has_output and record.error is None:
                status.update("(the server sent an empty answer)")
            status.display = cancelled or (not has_output and record.error is None)
        elif has_output:
            status.display = False
        elif len(record.rounds) > 1:
            status.update(f"… waiting for the server (round {len(record.rounds)})")

    async def wait_rendered(self) -> None:
        """Wait until a finished turn is fully on screen (tests, benchmarks, transcript load)."""
        await self.rendered.wait()

    # -- actions -------------------------------------------------------------------------

    def action_inspect(self) -> None:
        self.post_message(self.InspectRequested(self))

    async def action_toggle_reasoning(self) -> None:
        blocks = [v.reasoning for v in self.views if v.data.reasoning]
        expand = not any(b.expanded for b in blocks)
        for block in blocks:
            await block.set_expanded(expand)

    def action_neighbour(self, step: int) -> None:
        parent = self.parent
        siblings = [w for w in parent.children if isinstance(w, AssistantMessage)] if parent else []
        i = siblings.index(self) + step
        if 0 <= i < len(siblings):
            siblings[i].focus()
        elif step > 0:
            self.screen.focus_next()

    @property
    def content_text(self) -> str:
        return "\n\n".join("".join(d.content) for d in self.data if d.content)

    @property
    def reasoning_text(self) -> str:
        return "\n\n".join("".join(d.reasoning) for d in self.data if d.reasoning)
