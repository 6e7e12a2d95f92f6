"""A one-line question for a file path (save, load, export)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from console.ui.fields import TextField


class PathScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, default: str) -> None:
        super().__init__(classes="path-prompt")
        self.title_text = title
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="path-dialog"):
            yield Label(f"{self.title_text} — Enter confirm · Esc cancel")
            yield TextField(self.default, id="path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value or None)
