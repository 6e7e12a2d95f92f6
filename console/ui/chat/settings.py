"""The chat's endpoint and request settings (the screen that edits them: settings_screen)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from console.secret import Secret, as_secret

EFFORTS = ("low", "medium", "high")
CHOICES = ("auto", "required", "none")


@dataclass(frozen=True)
class ChatSettings:
    base_url: str = ""
    api_key: Secret | None = None  # a typed key arrives as text and is kept as a Secret
    model: str | None = None
    system_prompt: str = ""
    reasoning_effort: str | None = "medium"  # None: don't send the field
    tool_choice: str = "auto"  # auto | required | none | the name of one tool
    streaming: bool = True
    tools_enabled: bool = True
    tools: tuple[str, ...] | None = None  # names offered; None = every known tool
    tools_file: str | None = None
    max_tokens: int | None = None  # None: the server's default

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_key", as_secret(self.api_key, "Chat settings"))

    def with_(self, **changes) -> ChatSettings:
        return replace(self, **changes)

    def summary(self, width: int = 80) -> str:
        """One line for the pane's header; the API key is only ever shown masked."""
        url = self.base_url or "no endpoint (F2)"
        key = f" key {self.api_key.masked}" if self.api_key else ""
        tools = "off"
        if self.tools_enabled:
            tools = self.tool_choice if self.tool_choice in CHOICES else f"→{self.tool_choice}"
            if self.tools is not None:
                tools += f"({len(self.tools)})"
        parts = [
            f"{url}{key}",
            self.model or "model ?",
            f"effort {self.reasoning_effort or 'default'}",
            f"tools {tools}",
            "stream" if self.streaming else "no stream",
        ]
        return " · ".join(parts)


async def fetch_model_ids(base_url: str, api_key: Secret | str | None) -> list[str]:
    from console.server.client import AsyncServerClient  # httpx stays out of start-up

    async with AsyncServerClient(base_url, api_key) as client:
        models = await client.models()
    return [str(m.get("id")) for m in models if m.get("id")]


def describe_error(exc: BaseException) -> str:
    """A person-facing line for any failure (ConsoleError carries its own hint)."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    hint = getattr(exc, "hint", None)
    return f"{message} — {hint}" if hint else message
