"""The chat core: no UI, no network at import time.

- ``events``: the typed events a turn produces (the contract with the chat pane and smoke suite).
- ``session.ChatSession(ChatSettings(base_url, ...))``: ``run_turn(text)`` → async iterator of
  events; ``cancel()``; ``replay_turn(messages)`` / ``replay_call(call_id, args)`` / ``send_raw(body)``;
  ``turns[i].exchanges`` keep every request and raw chunk.
- ``tools``: ``default_registry(now=..., tools_file=...)`` — deterministic built-ins plus operator tools.
- ``inspect``: Harmony-leak and tool-call checks that become ``Finding`` events.
- ``transcript``: JSONL save/load and Markdown export.
"""


def import_client_libraries(*extra: str) -> None:
    """Import what talking to a server needs (openai + httpx: most of a second, more on a busy
    box). Run it on a thread (``asyncio.to_thread``): imported inside a coroutine it stalls the
    event loop, and with it any UI that shares the loop."""
    import importlib

    for name in ("httpx", "openai", *extra):
        importlib.import_module(name)
