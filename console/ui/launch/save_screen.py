"""Ctrl+S asks for the profile's name: the current one offered, a bad name said where it is typed."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from console.errors import ConsoleError
from console.runtime import profiles
from console.ui.fields import TextField


class ProfileNameScreen(ModalScreen[str | None]):
    """Dismissed with a valid profile name (Enter), or None (Esc)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    DEFAULT_CSS = """
    ProfileNameScreen { align: center middle; }
    ProfileNameScreen #profile-dialog { border: thick $accent; }
    ProfileNameScreen #profile-problem { color: $error; height: auto; }
    """

    def __init__(self, name: str, *, with_secrets: bool = False) -> None:
        super().__init__()
        self.name_given = name
        self.with_secrets = with_secrets

    def compose(self) -> ComposeResult:
        with Vertical(id="profile-dialog", classes="confirm-dialog") as box:
            box.border_title = "Save profile" + (" with secrets (0600)" if self.with_secrets else "")
            yield Label("Name — Enter saves · Esc cancels")
            yield TextField(self.name_given, id="profile-name")
            yield Static("", id="profile-problem")

    def on_mount(self) -> None:
        field = self.query_one("#profile-name", Input)
        field.focus()
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#profile-name")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.input.value.strip()
        try:
            profiles.check_name(name)
        except ConsoleError as exc:
            self.query_one("#profile-problem", Static).update(f"{exc.message}: {exc.hint or ''}".strip())
            return
        self.dismiss(name)
