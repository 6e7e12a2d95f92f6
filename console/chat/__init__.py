"""The chat core: no UI, no network at import time.

- ``events``: the typed events a turn produces (the contract with the chat pane and smoke suite).
- ``session.ChatSession(ChatSettings(base_url, ...))``: ``run_turn(text)`` → async iterator of
  events; ``cancel()``; ``replay_turn(messages)`` / ``replay_call(call_id, args)`` / ``send_raw(body)``;
  ``turns[i].exchanges`` keep every request and raw chunk.
- ``tools``: ``default_registry(now=..., tools_file=...)`` — deterministic built-ins plus operator tools.
- ``inspect``: Harmony-leak and tool-call checks that become ``Finding`` events.
- ``transcript``: JSONL save/load and Markdown export.
"""
