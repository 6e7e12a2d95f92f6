"""What one assistant turn looked like on the wire, kept for the inspector and replay.

Filled from chat events as they arrive; plain data (no Textual) so tests can build one directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from console.chat import events as ev


@dataclass
class RoundRecord:
    """One request and the chunks that answered it (a tool loop has several rounds)."""

    index: int
    request: dict[str, Any] | None = None
    sent_at: float | None = None
    chunks: list[tuple[float, dict[str, Any] | str]] = field(default_factory=list)


@dataclass
class ToolCallRecord:
    round: int
    call_id: str
    name: str
    arguments_raw: str
    arguments: Any | None
    problems: tuple[str, ...] = ()
    result: str | None = None
    error: str | None = None
    elapsed_s: float | None = None


@dataclass
class TurnRecord:
    user_text: str
    rounds: list[RoundRecord] = field(default_factory=list)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    findings: list[ev.Finding] = field(default_factory=list)
    stats: ev.TurnStats | None = None
    error: ev.TurnError | None = None
    done: ev.TurnDone | None = None

    def round(self, index: int) -> RoundRecord:
        while len(self.rounds) <= index:
            self.rounds.append(RoundRecord(len(self.rounds)))
        return self.rounds[index]

    def call(self, call_id: str) -> ToolCallRecord | None:
        for call in reversed(self.tool_calls):
            if call.call_id == call_id:
                return call
        return None

    def add(self, event: ev.ChatEvent) -> None:
        """Record the parts of an event the inspector needs (text deltas are kept by the widgets)."""
        if isinstance(event, ev.ChunkReceived):
            self.round(event.round).chunks.append((event.at, event.raw))
        elif isinstance(event, ev.RequestSent):
            rec = self.round(event.round)
            rec.request, rec.sent_at = event.request, event.at
        elif isinstance(event, ev.ToolCallRequested):
            self.tool_calls.append(
                ToolCallRecord(event.round, event.call_id, event.name, event.arguments_raw, event.arguments, event.problems)
            )
        elif isinstance(event, ev.ToolResult):
            call = self.call(event.call_id)
            if call is not None:
                call.result, call.error, call.elapsed_s = event.result, event.error, event.elapsed_s
        elif isinstance(event, ev.Finding):
            self.findings.append(event)
        elif isinstance(event, ev.TurnStats):
            self.stats = event
        elif isinstance(event, ev.TurnError):
            self.error = event
        elif isinstance(event, ev.TurnDone):
            self.done = event

    @property
    def last_request(self) -> dict[str, Any] | None:
        for rec in reversed(self.rounds):
            if rec.request is not None:
                return rec.request
        return None


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def chunk_line(round_index: int, n: int, at: float, t0: float | None, raw: dict[str, Any] | str) -> str:
    """One stream chunk as a single inspector line: round, sequence, offset from the request,
    what the chunk brings (its delta, finish reason, usage), then the JSON. What differs from
    chunk to chunk comes first: at 80 columns the JSON's id/object/created/model prefix,
    the same on every row, was all that showed."""
    offset = f"+{at - t0:7.3f}s" if t0 is not None else ""
    body = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    gist = chunk_gist(raw)
    return f"r{round_index} #{n:<5d}{offset} " + (f"{gist} │ {body}" if gist else body)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def chunk_gist(raw: dict[str, Any] | str) -> str:
    """What a chunk adds, in words: ``content "Hi"``, ``reasoning "…"``, ``tool_calls […]``,
    ``finish stop``, ``usage {…}``; "" for a line that is not a JSON object (shown as it came)."""
    if not isinstance(raw, dict):
        return ""
    parts: list[str] = []
    choices = raw.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else choice.get("message")
        if isinstance(delta, dict):
            for key, word in (("role", "role"), ("reasoning_content", "reasoning"), ("reasoning", "reasoning"),
                              ("content", "content")):
                value = delta.get(key)
                if isinstance(value, str) and value:
                    parts.append(f"{word} {value}" if key == "role" else f"{word} {_compact(value)}")
            if delta.get("tool_calls"):
                parts.append(f"tool_calls {_compact(delta['tool_calls'])}")
        if choice.get("finish_reason"):
            parts.append(f"finish {choice['finish_reason']}")
    if raw.get("usage"):
        parts.append(f"usage {_compact(raw['usage'])}")
    if raw.get("error"):
        parts.append(f"error {_compact(raw['error'])}")
    return " · ".join(parts) or "(empty delta)"
