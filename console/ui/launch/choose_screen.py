"""Which running console server to watch, when more than one could be meant (re-attach, F4)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


def describe(info) -> str:
    """``name  profile p · model · http://127.0.0.1:8000 · image`` — enough to tell servers apart."""
    parts = [f"profile {info.profile or '-'}", info.served_model or info.model or "?"]
    if info.base_url:
        parts.append(info.base_url)
    parts.append(info.image)
    return f"{info.name}  " + " · ".join(parts)


class ChooseServerScreen(ModalScreen[str | None]):
    """Dismissed with the chosen container's id (Enter), or None (Esc)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    AUTO_FOCUS = "#choose-list"
    DEFAULT_CSS = """
    ChooseServerScreen { align: center middle; }
    ChooseServerScreen #choose-dialog { width: 90%; height: auto; max-height: 80%; border: thick $accent;
                                        background: $surface; padding: 0 1; }
    ChooseServerScreen OptionList { height: auto; max-height: 12; }
    """

    def __init__(self, infos: list, why: str) -> None:
        super().__init__()
        self.infos = infos
        self.why = why

    def compose(self) -> ComposeResult:
        with Vertical(id="choose-dialog") as box:
            box.border_title = "Watch which server?"
            yield Label(f"{self.why} — Enter watches it · Esc: none")
            yield OptionList(*(Option(describe(i), id=i.id) for i in self.infos), id="choose-list")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
