"""Typed events a chat turn produces, in order. The UI and the smoke suite consume them.

A turn: RequestSent, then ChunkReceived/ReasoningDelta/ContentDelta as the answer
streams, ToolCallRequested/ToolResult for each call (then another round starting
with RequestSent), Finding whenever the inspector spots a problem, and finally
TurnStats + TurnDone, or TurnError + TurnDone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestSent:
    round: int  # 0 for the first request of a turn, +1 per tool round
    request: dict[str, Any]  # the exact JSON body sent (API key never in it)
    at: float  # time.monotonic()


@dataclass(frozen=True)
class ChunkReceived:
    round: int
    raw: dict[str, Any] | str  # one decoded stream chunk / whole response; str for non-JSON data
    at: float


@dataclass(frozen=True)
class ReasoningDelta:
    round: int
    text: str


@dataclass(frozen=True)
class ContentDelta:
    round: int
    text: str


@dataclass(frozen=True)
class ToolCallRequested:
    round: int
    call_id: str
    name: str
    arguments_raw: str
    arguments: Any | None  # parsed JSON, None when invalid
    problems: tuple[str, ...] = ()  # invalid JSON, schema violations, unknown tool


@dataclass(frozen=True)
class ToolResult:
    round: int
    call_id: str
    name: str
    result: str
    elapsed_s: float
    error: str | None = None


@dataclass(frozen=True)
class Finding:
    """Something the inspector flags: leak, invalid args, unknown tool, no [DONE], ..."""

    code: str  # stable identifier, e.g. "harmony-leak", "invalid-json-args"
    message: str
    where: str  # "content", "reasoning", "arguments:get_weather", "stream", ...
    severity: str = "error"  # "error" | "warning"
    round: int = 0


@dataclass(frozen=True)
class TurnStats:
    """A turn's figures. Token counts are per turn, summed over its rounds the same way (a tool
    turn sends the conversation once per round, and each request's prompt is prefilled), so
    cached ≤ prompt always; None when any round's usage is missing."""

    ttft_any_s: float | None  # first token of any kind (reasoning or content)
    ttft_content_s: float | None  # first content token
    completion_tokens: int | None
    prompt_tokens: int | None
    cached_tokens: int | None
    tokens_per_s: float | None
    elapsed_s: float
    finish_reason: str | None
    rounds: int = 1

    def summary(self) -> str:
        """The turn in one line, the same in the CLI, transcripts and the TUI:
        "TTFT 35 ms (content 80 ms) · 120 tok · 95.0 tok/s · prompt 1,024 · cached 512 · total 1.20 s · …"."""
        parts = [f"TTFT {_secs(self.ttft_any_s)}"]
        if self.ttft_content_s is not None and self.ttft_content_s != self.ttft_any_s:
            parts[0] += f" (content {_secs(self.ttft_content_s)})"
        if self.completion_tokens is not None:
            parts.append(f"{self.completion_tokens:,} tok")
        if self.tokens_per_s is not None:
            parts.append(f"{self.tokens_per_s:,.1f} tok/s")
        if self.prompt_tokens is not None:
            parts.append(f"prompt {self.prompt_tokens:,}")
        if self.cached_tokens is not None:
            parts.append(f"cached {self.cached_tokens:,}")
        parts.append(f"total {_secs(self.elapsed_s)}")
        if self.rounds > 1:
            parts.append(f"{self.rounds} rounds")
        if self.finish_reason:
            parts.append(f"finish {self.finish_reason}")
        return " · ".join(parts)


def _secs(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


@dataclass(frozen=True)
class TurnError:
    message: str
    hint: str | None = None
    round: int = 0
    status: int | None = None  # HTTP status when the server answered with an error


@dataclass(frozen=True)
class TurnDone:
    cancelled: bool = False


ChatEvent = (
    RequestSent | ChunkReceived | ReasoningDelta | ContentDelta | ToolCallRequested
    | ToolResult | Finding | TurnStats | TurnError | TurnDone
)

__all__ = [name for name in dir() if name[0].isupper()]
