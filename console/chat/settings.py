"""What a chat sends and where: the one settings value for the chat core, the CLI and the Chat
area (which edits it in its settings screen). Stdlib only: the Chat area imports it at start,
the session's own imports (asyncio, openai) come later."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from console.secret import Secret, as_secret

REASONING_EFFORTS = ("low", "medium", "high")
TOOL_CHOICES = ("auto", "required", "none")


@dataclass
class ChatSettings:
    base_url: str = ""  # empty: no endpoint yet (the Chat area asks for one)
    api_key: Secret | str | None = None  # kept as a Secret (typed keys too); revealed only for the HTTP client
    model: str | None = None  # None: the first id /v1/models lists
    stream: bool = True
    reasoning_effort: str | None = "medium"  # low | medium | high | None (not sent)
    system_prompt: str | None = None
    tool_choice: Any = "auto"  # "auto" | "required" | "none" | a tool name | {"type": "function", ...}
    tools: list[str] | None = None  # names offered; None = every tool in the registry; [] = none
    parallel_tool_calls: bool | None = None  # None: not sent
    max_rounds: int = 8  # tool rounds per turn (the depth limit)
    max_tokens: int | None = None
    temperature: float | None = None
    include_usage: bool = True  # stream_options.include_usage
    timeout_s: float = 120.0
    extra_body: dict[str, Any] = field(default_factory=dict)
    tools_file: str | None = None  # operator tools (JSON) added to the built-ins when no registry is given
    tools_enabled: bool = True  # False: none offered (``tools`` keeps the choice for when they are on again)
    # Where this front end takes the key from, for a 401's hint (the CLI's flags, the console's F2).
    key_hint: str = "set the API key the server was started with"

    def __post_init__(self) -> None:
        self.api_key = as_secret(self.api_key, "chat settings")

    def offered_tools(self) -> list[str] | None:
        """The names to offer: None for every tool, [] for none."""
        return self.tools if self.tools_enabled else []

    def with_(self, **changes: Any) -> "ChatSettings":
        """A copy with ``changes`` (the UI keeps its settings as values; a session gets its own)."""
        return replace(self, **changes)

    def public(self) -> dict[str, Any]:
        """Settings without the API key (for transcripts and reports)."""
        d = asdict(self)
        d["api_key"] = "set" if self.api_key else None
        d.pop("key_hint", None)
        return d
