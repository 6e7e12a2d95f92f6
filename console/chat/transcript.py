"""Transcripts: a conversation with its reasoning, tool calls and raw exchanges.

JSONL, one record a line, so a bug report can be read with ``jq`` or ``grep``:

- ``{"kind": "session", "version": 1, "settings": {...}, "saved_at": ...}`` (no API key)
- ``{"kind": "turn", "index": n, "user": "...", "replay_of": null}``
- ``{"kind": "event", "turn": n, "type": "ContentDelta", "data": {...}}``: every event of
  the turn; consecutive text deltas are merged, raw chunks kept one per line
- ``{"kind": "exchange", "turn": n, "data": {...}}``: each request/response as sent and received
- ``{"kind": "messages", "messages": [...]}``: the history, so a loaded session can go on.

Files are written 0600: they can hold prompts and tool results people consider private.
Every record goes through the secret scrubber first (a server's error text can quote a key).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from console.chat import events as ev_mod
from console.chat.events import (
    ChunkReceived, ContentDelta, Finding, ReasoningDelta, RequestSent, ToolCallRequested, ToolResult, TurnError,
    TurnStats,
)
from console.chat.session import ChatSession, ChatSettings, Exchange, TurnRecord
from console.errors import ConsoleError
from console.exit_codes import EXIT_NOT_FOUND, EXIT_USAGE
from console.private_file import write_private
from console.records import build, fits
from console.settings.mask import scrub, scrub_obj

VERSION = 1
_EVENT_TYPES = {name: getattr(ev_mod, name) for name in ev_mod.__all__
                if isinstance(getattr(ev_mod, name), type) and name != "ChatEvent"}


def _merge_deltas(events: list[Any]) -> list[Any]:
    """Join each stretch of text deltas (raw chunks may sit between them) into one event per kind."""
    out: list[Any] = []
    last: dict[type, int] = {}  # delta kind -> its position in ``out`` within the current stretch
    for e in events:
        kind = type(e)
        if kind in (ContentDelta, ReasoningDelta):
            i = last.get(kind)
            if i is not None and out[i].round == e.round:
                out[i] = kind(e.round, out[i].text + e.text)
                continue
            last[kind] = len(out)
        elif kind is not ChunkReceived:
            last.clear()
        out.append(e)
    return out


def _exchange_dict(ex: Exchange) -> dict[str, Any]:
    d = asdict(ex)
    wire = d.pop("wire_request")
    d["wire_request_b64"] = base64.b64encode(wire).decode() if wire else None
    return d


def save_jsonl(session: ChatSession, path: str | os.PathLike) -> Path:
    def records():
        yield {"kind": "session", "version": VERSION, "settings": session.settings.public(), "saved_at": time.time()}
        for i, t in enumerate(session.turns):
            yield {"kind": "turn", "index": i, "user": t.user_text, "replay_of": t.replay_of}
            for e in _merge_deltas(t.events):
                yield {"kind": "event", "turn": i, "type": type(e).__name__, "data": asdict(e)}
            for ex in t.exchanges:
                yield {"kind": "exchange", "turn": i, "data": _exchange_dict(ex)}
        yield {"kind": "messages", "messages": session.messages}

    return write_private(path, (json.dumps(scrub_obj(r), ensure_ascii=False, default=str) + "\n" for r in records()))


def _event_from(type_name: Any, data: Any) -> Any:
    cls = _EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        return None  # an event this version does not know: skipped
    return build(cls, data, what=f"the {type_name} event")


@dataclass
class _TurnLine:
    index: int
    user: str | None = None
    replay_of: int | None = None


def _key(turn: Any) -> Any:
    """A record's turn number as a dict key (a list or object there is no turn of ours)."""
    return turn if isinstance(turn, int) and not isinstance(turn, bool) else None


def load_jsonl(path: str | os.PathLike, session: ChatSession | None = None, *, base_url: str | None = None,
               api_key: str | None = None, registry: Any = None) -> Any:
    """Rebuild a conversation (history, turns, events, exchanges). The API key is never in the file.

    Without ``session``: returns a new ChatSession built from the file's settings.
    With ``session``: fills that session (its own settings and key are kept) and returns
    its turns as ``[(user_text, events), ...]`` for a UI to redraw.
    """
    if session is not None:
        loaded = load_jsonl(path, registry=session.registry, base_url=session.settings.base_url,
                            api_key=session.settings.api_key)
        session.turns = loaded.turns
        session.messages = loaded.messages
        if not session.settings.model:
            session.settings.model = loaded.settings.model
        return [(t.user_text or "", list(t.events)) for t in session.turns]
    p = Path(path).expanduser()
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConsoleError(f"cannot read transcript {p}: {e.strerror or e}", exit_code=EXIT_NOT_FOUND) from None
    session: ChatSession | None = None
    turns: dict[int, TurnRecord] = {}
    messages: list[dict[str, Any]] | None = None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("a record must be a JSON object")
            kind = rec.get("kind")
            if kind == "session":
                st = rec.get("settings") if rec.get("settings") is not None else {}
                settings = build(ChatSettings, st, what="the session's settings", skip=("api_key",))
                settings = settings.with_(api_key=api_key, **({"base_url": base_url} if base_url else {}))
                session = ChatSession(settings, registry)
            elif kind == "turn":
                turn = build(_TurnLine, rec, what="the turn")
                turns[turn.index] = TurnRecord(turn.user, replay_of=turn.replay_of)
            elif kind == "event" and _key(rec.get("turn")) in turns:
                e = _event_from(rec.get("type", ""), rec.get("data") if rec.get("data") is not None else {})
                if e is not None:
                    turns[rec["turn"]].events.append(e)
            elif kind == "exchange" and _key(rec.get("turn")) in turns:
                d = rec.get("data") if rec.get("data") is not None else {}
                ex = build(Exchange, d, what="the exchange", skip=("wire_request",))
                b64 = d.get("wire_request_b64")
                if b64 is not None and not isinstance(b64, str):
                    raise ValueError("the exchange's 'wire_request_b64' must be base64 text")
                ex.wire_request = base64.b64decode(b64, validate=True) if b64 else None
                turns[rec["turn"]].exchanges.append(ex)
            elif kind == "messages":
                messages = rec.get("messages") or []
                if not fits(messages, list[dict[str, Any]]):
                    raise ValueError("'messages' must be a list of objects")
        except (ValueError, TypeError, binascii.Error) as exc:  # json, records.build, b64decode
            what = "not a JSON line" if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise ConsoleError(f"{p}:{n}: {what}",
                               "is this a gpt-oss-console transcript? A saved chat the console wrote loads as it "
                               "was; an edited one must keep each record's fields as they were written",
                               exit_code=EXIT_USAGE) from None
    if session is None:
        raise ConsoleError(f"{p}: no session header line", "is this a gpt-oss-console transcript?", exit_code=EXIT_USAGE)
    session.turns = [turns[i] for i in sorted(turns)]
    if messages is not None:
        session.messages = messages
    return session


def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _pretty(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return raw


def to_markdown(session: ChatSession) -> str:
    s = session.settings
    out = [f"# Chat transcript — {s.model or 'unknown model'}", "",
           f"- endpoint: `{s.base_url}`", f"- reasoning effort: {s.reasoning_effort or 'default'}",
           f"- streaming: {'on' if s.stream else 'off'}", f"- tool choice: `{json.dumps(s.tool_choice)}`"]
    if s.system_prompt:
        out += ["", "## System", "", s.system_prompt]
    for i, t in enumerate(session.turns):
        out += ["", f"## Turn {i + 1}" + (f" (replay of turn {t.replay_of + 1})" if t.replay_of is not None else ""), ""]
        if t.user_text:
            out += ["**You:**", "", t.user_text, ""]
        for e in _merge_deltas(t.events):
            if isinstance(e, ReasoningDelta) and e.text.strip():
                out += ["<details><summary>Reasoning</summary>", "", e.text.strip(), "", "</details>", ""]
            elif isinstance(e, ContentDelta):
                out += ["**Assistant:**", "", e.text, ""]
            elif isinstance(e, ToolCallRequested):
                out += [f"**Tool call** `{e.name}` (`{e.call_id}`)", "", _fence(_pretty(e.arguments_raw), "json")]
                out += [f"- problem: {p}" for p in e.problems]
                out.append("")
            elif isinstance(e, ToolResult):
                tag = f" — error: {e.error}" if e.error else ""
                out += [f"**Result** `{e.name}` in {e.elapsed_s * 1000:.1f} ms{tag}", "", _fence(_pretty(e.result), "json"), ""]
            elif isinstance(e, Finding):
                out += [f"> ⚠ **{e.code}** ({e.severity}, {e.where}): {e.message}", ""]
            elif isinstance(e, TurnError):
                out += [f"> ✖ **error**: {e.message}" + (f" — {e.hint}" if e.hint else ""), ""]
            elif isinstance(e, TurnStats):
                out += [f"*{e.summary()}*", ""]
            elif isinstance(e, (RequestSent, ChunkReceived)):
                continue
    return "\n".join(out).rstrip() + "\n"


def export_markdown(session: ChatSession, path: str | os.PathLike) -> Path:
    return write_private(path, scrub(to_markdown(session)))
