"""The Fleet area's two dialogs: a yes/no question and a text viewer (plan, logs)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.ui.screens.text import TextScreen as PageScreen


class ConfirmScreen(ModalScreen[bool]):
    """``question`` with what it will do; y confirms, n / Esc keeps things as they are."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 70; height: auto; max-height: 90%; border: thick $accent; padding: 0 1;
                               background: $surface; }
    ConfirmScreen #confirm-keys { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str, details: str) -> None:
        super().__init__()
        self.question = question
        self.details = details

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.question
            yield Static(self.details, markup=False)
            yield Static("y: yes   n / Esc: no", id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TextScreen(PageScreen):
    """A scrollable page of text (the plan, a log tail), shown from its end; Esc or q closes it."""

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(VerticalScroll).scroll_end(animate=False)
