"""Pick a running container to follow in the Logs area (any container, the console's first)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.runtime.lifecycle import ContainerRow


class ContainerPicker(ModalScreen[str | None]):
    """Enter follows the highlighted container's log; Esc (or q) leaves the Logs as they were."""

    BINDINGS = [Binding("escape,q", "cancel", "Cancel")]

    def __init__(self, rows: list[ContainerRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog") as box:
            box.border_title = "Follow which container's log?"
            options = []
            for r in self.rows:
                label = Text(r.name, style="bold")
                label.append(f"  {r.image}  {r.status}", style="dim")
                if r.owned:
                    label.append("  (console)", style="cyan")
                options.append(Option(label, id=r.id))
            yield OptionList(*options, id="picker-list")
            yield Static("Enter: follow  Esc: cancel", id="picker-help")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
