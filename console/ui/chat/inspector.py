"""The inspector: what went over the wire for one assistant message, and replay.

Tabs: findings, the exact request of every round, every raw stream chunk (one line
each, offset from its request), the tool calls, and replay — the turn with edited
messages, or one tool call with edited arguments. Edited JSON is validated before
anything runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Log, Select, Static, TabbedContent, TabPane, TextArea

from console.ui.chat.format import arguments_text, finding_line, result_text
from console.ui.chat.record import TurnRecord, chunk_line, pretty_json


@dataclass(frozen=True)
class TurnReplay:
    """Re-send the turn with these messages (the inspector's answer to the pane)."""

    messages: list[dict[str, Any]]


@dataclass(frozen=True)
class CallReplay:
    """Run one tool call again with edited arguments and let the model continue from its result."""

    call_id: str
    name: str
    arguments: Any


def validate_messages(text: str) -> list[dict[str, Any]]:
    """Parse edited messages; ValueError says what is wrong in words."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(value, list) or not value:
        raise ValueError("messages must be a non-empty JSON list")
    for i, msg in enumerate(value):
        if not isinstance(msg, dict) or "role" not in msg:
            raise ValueError(f"message {i} must be an object with a 'role'")
        if msg["role"] not in ("system", "developer", "user", "assistant", "tool"):
            raise ValueError(f"message {i} has an unknown role {msg['role']!r}")
    return value


def validate_arguments(text: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(value, dict):
        raise ValueError("tool arguments must be a JSON object")
    return value


class InspectorScreen(Screen[TurnReplay | CallReplay | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("ctrl+r", "replay_turn", "Replay turn"),
        Binding("ctrl+t", "replay_call", "Replay call"),
    ]

    def __init__(self, record: TurnRecord) -> None:
        super().__init__(id="chat-inspector")
        self.record = record

    def compose(self) -> ComposeResult:
        rec = self.record
        chunks = sum(len(r.chunks) for r in rec.rounds)
        head = (
            f"Inspector · {len(rec.rounds)} round(s) · {chunks:,} chunk(s) · "
            f"{len(rec.tool_calls)} tool call(s) · {len(rec.findings)} finding(s) · q closes"
        )
        yield Static(head, id="inspector-title", markup=False)
        with TabbedContent(id="inspector-tabs"):
            with TabPane("Findings", id="tab-findings"):
                yield VerticalScroll(Static(self._findings_text(), markup=False, id="inspector-findings"))
            with TabPane("Request", id="tab-request"):
                yield TextArea(self._requests_text(), read_only=True, id="inspector-request")
            with TabPane("Stream", id="tab-stream"):
                yield Log(id="inspector-stream", highlight=False)
            with TabPane("Calls", id="tab-calls"):
                yield VerticalScroll(Static(self._calls_text(), markup=False, id="inspector-calls"))
            with TabPane("Replay", id="tab-replay"):
                with Vertical(id="replay"):
                    yield Label("Turn messages (JSON) · Ctrl+R sends the turn again with them")
                    yield TextArea(self._messages_text(), id="replay-messages")
                    with Horizontal(classes="row"):
                        yield Label("Tool call")
                        options = [
                            (f"{c.name} {c.call_id}", n) for n, c in enumerate(rec.tool_calls)
                        ]
                        yield Select(options, value=0 if options else Select.NULL, id="replay-call",
                                     allow_blank=not options)
                    yield TextArea(self._call_args(0), id="replay-arguments")
                    yield Label("Ctrl+T runs this call with the edited arguments; the model continues from its result")
                    yield Static("", id="replay-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one("#inspector-stream", Log)
        lines = []
        for rnd in self.record.rounds:
            for n, (at, raw) in enumerate(rnd.chunks):
                lines.append(chunk_line(rnd.index, n, at, rnd.sent_at, raw))
        log.write_lines(lines or ["(no chunks received)"], scroll_end=False)
        if self.record.findings:
            self.query_one(TabbedContent).active = "tab-findings"

    # -- text of the read-only tabs --------------------------------------------------------

    def _findings_text(self) -> Text:
        rec = self.record
        if not rec.findings and rec.error is None:
            return Text("No findings: nothing in this message looked wrong.", "green")
        text = Text()
        if rec.error is not None:
            text.append(f"✖ server error: {rec.error.message}\n", "bold red")
            if rec.error.hint:
                text.append(f"  {rec.error.hint}\n", "italic")
        for f in rec.findings:
            text.append(f"{finding_line(f)}  (round {f.round + 1})\n", "bold red" if f.severity == "error" else "yellow")
        return text

    def _requests_text(self) -> str:
        parts = []
        for rnd in self.record.rounds:
            parts.append(f"// round {rnd.index + 1}\n" + (pretty_json(rnd.request) if rnd.request else "(not sent)"))
        return "\n\n".join(parts) or "(no request sent)"

    def _calls_text(self) -> Text:
        if not self.record.tool_calls:
            return Text("No tool calls in this message.")
        text = Text()
        for c in self.record.tool_calls:
            text.append(f"⚙ {c.name}", "bold")
            text.append(f"  {c.call_id}  round {c.round + 1}", "dim")
            if c.elapsed_s is not None:
                text.append(f"  {c.elapsed_s * 1000:.1f} ms", "dim")
            text.append("\nraw arguments: ", "dim")
            text.append(c.arguments_raw or "(empty)")
            text.append("\n" + arguments_text(c.arguments, c.arguments_raw) + "\n")
            for p in c.problems:
                text.append(f"✖ {p}\n", "bold red")
            if c.error:
                text.append(f"✖ {c.error}\n", "bold red")
            elif c.result is not None:
                text.append("→ " + result_text(c.result) + "\n", "green")
            text.append("\n")
        return text

    def _messages_text(self) -> str:
        first = self.record.rounds[0].request if self.record.rounds else None
        messages = (first or {}).get("messages") or [{"role": "user", "content": self.record.user_text}]
        return pretty_json(messages)

    def _call_args(self, n: int) -> str:
        calls = self.record.tool_calls
        if not calls:
            return ""
        c = calls[n]
        return pretty_json(c.arguments) if c.arguments is not None else c.arguments_raw

    # -- replay ----------------------------------------------------------------------------

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "replay-call" and event.value != Select.NULL:
            self.query_one("#replay-arguments", TextArea).text = self._call_args(int(event.value))

    def _status(self, text: str, ok: bool) -> None:
        self.query_one("#replay-status", Static).update(Text(text, "green" if ok else "bold red"))

    def action_replay_turn(self) -> None:
        try:
            messages = validate_messages(self.query_one("#replay-messages", TextArea).text)
        except ValueError as exc:
            self.query_one(TabbedContent).active = "tab-replay"
            self._status(f"✖ {exc}", False)
            return
        self.dismiss(TurnReplay(messages))

    def action_replay_call(self) -> None:
        self.query_one(TabbedContent).active = "tab-replay"
        select = self.query_one("#replay-call", Select)
        if select.value == Select.NULL or not self.record.tool_calls:
            self._status("✖ this message has no tool call to replay", False)
            return
        try:
            args = validate_arguments(self.query_one("#replay-arguments", TextArea).text)
        except ValueError as exc:
            self._status(f"✖ {exc}", False)
            return
        call = self.record.tool_calls[int(select.value)]
        self.dismiss(CallReplay(call.call_id, call.name, args))
