"""Chats kept as they happen: every conversation is a JSONL transcript (console.chat.transcript)
under ``$XDG_DATA_HOME/gpt-oss-console/chats/`` (0700, files 0600), rewritten after each turn.

``list_chats`` says what is there (newest first) without building sessions; ``delete_chat``
removes one; ``prune`` drops those untouched for longer than the retention
(``GPT_OSS_CONSOLE_CHAT_DAYS``, 30 by default). Transcripts never hold the API key: the session's
settings are written through ``ChatSettings.public()`` and requests without their headers.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from console.errors import ConsoleError
from console.exit_codes import EXIT_NOT_FOUND
from console.private_file import private_dir

SUFFIX = ".jsonl"


def chats_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "gpt-oss-console" / "chats"


def new_chat_path(now: float | None = None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return chats_dir() / f"chat-{stamp}-{secrets.token_hex(2)}{SUFFIX}"


@dataclass(frozen=True)
class SavedChat:
    path: Path
    title: str  # the first message, on one line
    model: str | None
    turns: int
    updated: float  # the file's modification time

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.updated))


def _summary(path: Path) -> SavedChat | None:
    """Title, model and turn count from the file's lines (no session is built); None: unreadable."""
    try:
        updated = path.stat().st_mtime
        title, model, turns = "", None, 0
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if '"kind": "session"' in line[:40] or '"kind": "turn"' in line[:40]:
                    rec = json.loads(line)
                    if not isinstance(rec, dict):
                        return None  # not a record of ours: not a chat to offer
                    if rec.get("kind") == "session":
                        settings = rec.get("settings")
                        model = settings.get("model") if isinstance(settings, dict) else None
                        model = model if isinstance(model, str) else None
                    else:
                        turns += 1
                        title = title or " ".join(str(rec.get("user") or "").split())
    except (OSError, ValueError):  # unreadable, not UTF-8, not JSON
        return None
    return SavedChat(path, title[:200] or "(no message)", model, turns, updated)


def list_chats(folder: Path | None = None) -> list[SavedChat]:
    folder = folder or chats_dir()
    try:
        files = [p for p in folder.iterdir() if p.suffix == SUFFIX and p.is_file()]
    except OSError:
        return []
    found = [c for p in files if (c := _summary(p)) is not None]
    return sorted(found, key=lambda c: c.updated, reverse=True)


def delete_chat(path: Path) -> None:
    try:
        Path(path).unlink()
    except FileNotFoundError:
        raise ConsoleError(f"{path} is already gone", exit_code=EXIT_NOT_FOUND) from None


def prune(days: float, now: float | None = None, folder: Path | None = None) -> int:
    """Delete chats not written for ``days``; returns how many."""
    cut = (time.time() if now is None else now) - days * 86400
    gone = 0
    for chat in list_chats(folder):
        if chat.updated < cut:
            try:
                chat.path.unlink()
                gone += 1
            except OSError:
                pass
    return gone


def save(session, path: Path) -> Path:
    """Write the conversation so far (atomic, 0600; the folder 0700)."""
    from console.chat import transcript

    private_dir(Path(path).parent)
    return transcript.save_jsonl(session, path)
