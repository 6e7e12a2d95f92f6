"""Quit confirmation, shown only when a pane reports work that quitting would interrupt."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class QuitScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    def __init__(self, warnings: list[str]) -> None:
        super().__init__()
        self.warnings = warnings

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-dialog") as box:
            box.border_title = "Quit?"
            yield Static("\n".join(f"• {w}" for w in self.warnings), id="quit-reasons")
            with Horizontal(id="quit-buttons"):
                yield Button("Quit (y)", id="quit-yes", variant="error")
                yield Button("Stay (n)", id="quit-no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#quit-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit-yes")

    def action_answer(self, quit_now: bool) -> None:
        self.dismiss(quit_now)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question about something that cannot be undone; No has the focus."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape,q", "answer(False)", "No"),
    ]

    def __init__(self, title: str, lines: list[str], yes: str = "Yes") -> None:
        super().__init__()
        self.title_text, self.lines, self.yes = title, lines, yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="confirm-dialog") as box:
            box.border_title = self.title_text
            yield Static("\n".join(self.lines), id="confirm-lines")
            with Horizontal(classes="confirm-buttons"):
                yield Button(f"{self.yes} (y)", id="confirm-yes", variant="error")
                yield Button("No (n)", id="confirm-no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
