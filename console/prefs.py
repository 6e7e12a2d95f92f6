"""The console's own preferences (not the server's launch settings): declared once here,
read from the environment, shown by ``history --help`` and listed in the README.

Each is ``GPT_OSS_CONSOLE_<NAME>``; a bad value is a sentence that says what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Mapping

from console.errors import ConsoleError
from console.exit_codes import EXIT_USAGE


@dataclass(frozen=True)
class Pref:
    env: str
    default: str
    help: str
    read: Callable[[str], object]


def _positive(what: str) -> Callable[[str], float]:
    def read(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = -1.0
        if not v > 0 or v != v or v == float("inf"):
            raise ValueError(f"{what} must be a positive number, not {text!r}")
        return v

    return read


def _switch(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "on", "yes", "true"):
        return True
    if t in ("0", "off", "no", "false"):
        return False
    raise ValueError(f"say on or off, not {text!r}")


PREFS: dict[str, Pref] = {p.env: p for p in (
    Pref("GPT_OSS_CONSOLE_HISTORY", "on", "record GPU and serving history to the state dir (on/off)", _switch),
    Pref("GPT_OSS_CONSOLE_HISTORY_DAYS", "7", "days of history kept (minute resolution; 1 s for the last day)",
         _positive("the history retention in days")),
    Pref("GPT_OSS_CONSOLE_HISTORY_MAX_MB", "256", "size bound of the history database in MiB",
         _positive("the history size bound in MiB")),
    Pref("GPT_OSS_CONSOLE_CHAT_DAYS", "30", "days a saved chat is kept after its last message",
         _positive("the chat retention in days")),
)}


def pref(env_name: str, env: Mapping[str, str] | None = None):
    """The value of one preference (its default when unset). Raises ConsoleError on a bad value."""
    p = PREFS[env_name]
    text = (os.environ if env is None else env).get(p.env, "").strip() or p.default
    try:
        return p.read(text)
    except ValueError as exc:
        raise ConsoleError(f"{p.env}: {exc}", f"set it to a value like {p.default}, or unset it",
                           exit_code=EXIT_USAGE) from None
