"""How the Chat area shows its settings (the value itself is the core's ChatSettings; the screen
that edits it: settings_screen)."""

from __future__ import annotations

from console.chat.settings import TOOL_CHOICES, ChatSettings
from console.secret import Secret


def summary(settings: ChatSettings) -> str:
    """One line for the pane's header; the API key is only ever shown masked."""
    s = settings
    url = s.base_url or "no endpoint (F2)"
    key = f" key {s.api_key.masked}" if s.api_key else ""
    tools = "off"
    if s.tools_enabled:
        tools = s.tool_choice if s.tool_choice in TOOL_CHOICES else f"→{s.tool_choice}"
        if s.tools is not None:
            tools += f"({len(s.tools)})"
    parts = [
        f"{url}{key}",
        s.model or "model ?",
        f"effort {s.reasoning_effort or 'default'}",
        f"tools {tools}",
        "stream" if s.stream else "no stream",
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
