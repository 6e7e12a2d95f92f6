"""The one copy helper of the TUI: the terminal's clipboard, and a file that works without it.

A terminal app can only *ask* the terminal to set the clipboard (OSC 52); many terminals,
tmux without ``set-clipboard on`` and most SSH set-ups ignore it, and nothing tells the app.
So a copy never claims "copied": it says it was sent to the terminal clipboard (OSC 52), and
always also writes the text to a private file (0600, ``$XDG_STATE_HOME/gpt-oss-console/
clipboard/``), whose paths are printed when the console exits. Callers pass text that is safe
to show (secrets already masked, or never there).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

OSC52 = "sent to the terminal clipboard (OSC 52)"


def clipboard_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "gpt-oss-console" / "clipboard"


def _slug(what: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")[:40] or "copy"


def copy_text(app, text: str, what: str, *, title: str = "Copy", preview: bool = False) -> Path | None:
    """Send ``text`` to the terminal clipboard and save it to a file; tell the operator both."""
    from console.private_file import write_private

    app.copy_to_clipboard(text)
    try:
        path: Path | None = write_private(clipboard_dir() / f"{_slug(what)}.txt", text, own_dir=True)
    except OSError as exc:
        path = None
        saved = f"not saved to a file ({exc.strerror or exc})"
    else:
        saved = f"also in {path}"
        copied = getattr(app, "_copied_files", None)
        if copied is None:
            copied = app._copied_files = {}
        copied[what] = path
    shown = f" {text[:60]}{'…' if len(text) > 60 else ''}" if preview else ""
    app.notify(f"{what}{shown}: {OSC52}; {saved}", title=title, timeout=8)
    return path


def exit_lines(app) -> list[str]:
    """What to print after the TUI closes: where each copy was saved (for terminals without OSC 52)."""
    copied = getattr(app, "_copied_files", None) or {}
    return [f"copied in this session ({OSC52}; also saved): {what} → {path}" for what, path in copied.items()]
