"""The chat pane's only link to the chat core: sessions, tools, transcripts.

Kept in one place so the widgets stay pure renderers of events, and so the core's
heavy imports (openai, jsonschema) happen on first use, not at start-up.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator

from console.errors import ConsoleError

if TYPE_CHECKING:
    from console.chat import events as ev
    from console.chat.settings import ChatSettings
    from console.ui.chat.pane import ChatPane


KEY_HINT = "press F2 and set the API key in the Chat settings"  # a 401 says where this area takes the key


class NoEndpoint(ConsoleError):
    def __init__(self) -> None:
        super().__init__("No endpoint to talk to.", "Press F2 to enter a base URL, or launch a server in the Launch area.")


def transcripts_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "gpt-oss-console" / "transcripts"


def _registry(settings: ChatSettings):
    from console.chat.tools import default_registry

    return default_registry(tools_file=settings.tools_file)


def tool_names(settings: ChatSettings) -> list[str]:
    """Every tool the session could offer; a broken tools file falls back to the built-ins."""
    try:
        return _registry(settings).names()
    except ConsoleError:
        from console.chat.tools import default_registry

        return default_registry().names()


def import_client_libraries(*extra: str) -> None:
    """Warm the client imports on a thread while the operator types (see the core's helper)."""
    from console.chat import import_client_libraries as core_import

    core_import(*extra)


def make_session(settings: ChatSettings):
    from console.chat.session import ChatSession

    return ChatSession(settings.with_(key_hint=KEY_HINT))  # its own copy: a session edits its system prompt


def update_session(session: Any, settings: ChatSettings) -> bool:
    """Carry new request settings into a live session (keeps the conversation); False if it cannot."""
    try:
        session.config = settings.with_(key_hint=KEY_HINT)
    except Exception:  # noqa: BLE001 - any refusal means: build a new session
        return False
    return True


def replay_turn(session: Any, messages: list[dict[str, Any]]) -> AsyncIterator[ev.ChatEvent]:
    return session.replay(messages)


def replay_call(session: Any, call_id: str, arguments: Any) -> AsyncIterator[ev.ChatEvent]:
    return session.replay_call(call_id, arguments)


def save_transcript(pane: ChatPane, path: Path) -> Path:
    from console.chat import transcript

    if pane.session is None:
        raise ConsoleError("Nothing to save yet.", "Send a message first.")
    return transcript.save_jsonl(pane.session, path)


def export_markdown(pane: ChatPane, path: Path) -> Path:
    from console.chat import transcript

    if pane.session is None:
        raise ConsoleError("Nothing to export yet.", "Send a message first.")
    return transcript.export_markdown(pane.session, path)


def load_transcript(path: Path, settings: ChatSettings) -> tuple[list[tuple[str, list[ev.ChatEvent]]], Any]:
    """The turns of a saved conversation (user text + its events) and a session continuing it."""
    from console.chat import transcript

    session = make_session(settings)
    turns = transcript.load_jsonl(path, session)
    return turns, session
