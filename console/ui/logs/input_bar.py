"""The Logs area's one-line input, shown on demand: a filter typed live, a path to save the
view to, or a saved log to open. It says what it wants in messages; the pane acts."""

from __future__ import annotations

import os
import time

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from console.private_file import state_dir
from console.ui.fields import TextField


def default_save_path(name: str) -> str:
    """Where a save goes unless the operator types another path: the console's state folder
    (not the working directory, which may be a clone the file would litter)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return str(state_dir("logs") / f"gpt-oss-console-{name}-{stamp}.log")


class LogInputBar(Horizontal):
    class FilterChanged(Message):
        def __init__(self, text: str, done: bool) -> None:
            super().__init__()
            self.text = text
            self.done = done  # Enter: apply and close

    class SaveAsked(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class OpenAsked(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mode = "filter"  # or "save" / "open"

    def compose(self) -> ComposeResult:
        yield TextField(id="logs-input", placeholder="filter (Enter: apply, Esc: close)")
        yield Static(id="logs-input-error")

    def on_mount(self) -> None:
        self.display = False

    @property
    def value(self) -> str:
        return self.query_one("#logs-input", Input).value

    def show(self, mode: str, value: str, placeholder: str) -> None:
        self.mode = mode
        self.display = True
        inp = self.query_one("#logs-input", Input)
        inp.placeholder = placeholder
        inp.value = value
        inp.cursor_position = len(value)
        self.say("")
        # At once: keys typed right after "/" (one burst over SSH) must land in the field.
        self.screen.set_focus(inp)

    def ask_save(self, name: str) -> None:
        self.show("save", default_save_path(name), "save to file (Enter: write, Esc: cancel)")

    def hide(self) -> None:
        self.display = False

    def say(self, text: str, style: str = "") -> None:
        self.query_one("#logs-input-error", Static).update(Text(text, style=style) if text else "")

    @on(Input.Changed, "#logs-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "filter" and self.display:
            self.post_message(self.FilterChanged(event.value, False))

    @on(Input.Submitted, "#logs-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.mode == "filter":
            self.post_message(self.FilterChanged(event.value, True))
            return
        path = os.path.expanduser(event.value.strip())
        if path:
            self.post_message(self.SaveAsked(path) if self.mode == "save" else self.OpenAsked(path))
