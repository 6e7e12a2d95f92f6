"""The saved chats (console.chat.saved) as a list: Enter resumes one, Delete removes it (after a yes).

Shown in the empty conversation at start, and on F5 as a screen of its own.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class ResumeChat(Message):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path


class SavedChatsList(OptionList):
    """One line per saved chat: when, turns, model, first message."""

    BINDINGS = [
        Binding("enter", "resume", "Resume", show=True),
        Binding("delete,d", "delete", "Delete", show=True),
    ]

    def __init__(self, chats: list, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chats = list(chats)
        self._fill()

    def _fill(self) -> None:
        self.clear_options()
        for c in self.chats:
            line = Text.assemble((c.when, "dim"), f"  {c.turns:>3} turn{'s' if c.turns != 1 else ' '}  ",
                                 ((c.model or "?").split("/")[-1][:16], "cyan"), "  ", c.title)
            line.truncate(200)
            self.add_option(Option(line, id=str(c.path)))

    def on_mount(self) -> None:
        if self.chats:
            self.highlighted = 0

    def _current(self):
        i = self.highlighted
        return self.chats[i] if i is not None and 0 <= i < len(self.chats) else None

    def action_resume(self) -> None:
        chat = self._current()
        if chat is not None:
            self.post_message(ResumeChat(chat.path))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_resume()

    def action_delete(self) -> None:
        from console.ui.screens.confirm import ConfirmScreen

        chat = self._current()
        if chat is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            from console.chat.saved import delete_chat
            from console.errors import ConsoleError

            try:
                delete_chat(chat.path)
            except ConsoleError as exc:
                self.notify(exc.message, severity="warning")
            self.chats = [c for c in self.chats if c.path != chat.path]
            self._fill()
            if self.chats:
                self.highlighted = 0
            self.notify(f"Deleted {chat.path.name}", title="Chats")

        self.app.push_screen(ConfirmScreen("Delete this chat?", [f"{chat.when} · {chat.turns} turn(s)",
                                                                 chat.title[:60], str(chat.path)], "Delete"),
                             answered)


class SavedChatsScreen(ModalScreen[Path | None]):
    """F5: every saved chat; Enter resumes one (the screen returns its path)."""

    BINDINGS = [Binding("escape,q", "dismiss_none", "Close")]

    def __init__(self, chats: list) -> None:
        super().__init__()
        self.chats = chats

    def compose(self) -> ComposeResult:
        with Vertical(id="saved-chats-dialog") as box:
            box.border_title = "Saved chats — Enter resume · Delete remove · Esc close"
            if self.chats:
                yield SavedChatsList(self.chats, id="saved-chats")
            else:
                yield Label("No saved chats yet: each conversation is saved as it goes.")

    def on_resume_chat(self, message: ResumeChat) -> None:
        message.stop()
        self.dismiss(message.path)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
