"""The help screen: every key, grouped by area (F1 or ? opens and closes it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.ui.commands import pane_bindings, widget_bindings

if TYPE_CHECKING:
    from console.ui.app import ConsoleApp


def _table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", min_width=12, no_wrap=True)
    table.add_column()
    for key, what in rows:
        table.add_row(key, what)
    return table


def _class_bindings(area) -> list:
    try:
        return pane_bindings(area.load())
    except Exception:  # noqa: BLE001 - a broken area has no keys to list
        return []


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        app: ConsoleApp = self.app  # type: ignore[assignment]
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Help — Esc closes"
            yield Static(self._global_keys(app), classes="help-section")
            for area in app.areas:
                pane = app.pane(area.name)
                bindings = [b for _, b in widget_bindings(pane)] if pane else _class_bindings(area)
                rows = [(app.get_key_display(b), b.description) for b in bindings]
                title = Text(area.title, style="bold underline")
                if area.help:
                    title.append(f"  {area.help}", style="not bold not underline dim")
                yield Static(title, classes="help-title")
                yield Static(_table(rows) if rows else Text("no keys of its own", style="dim"), classes="help-section")

    def _global_keys(self, app: ConsoleApp) -> Table:
        digits = [f"{a.key} {a.title}" for a in app.areas if a.key]
        rows = [
            ("F1 ?", "this help"),
            ("ctrl+p", "command palette: every command, searchable"),
            ("ctrl+t", "light / dark theme"),
            ("tab shift+tab", "move focus"),
        ]
        if digits:
            rows.append(("digits", "go to an area: " + ", ".join(digits) + "; ctrl+PgUp/PgDn from anywhere"))
        rows.append(("q ctrl+q", "quit (asks first if something is running)"))
        return _table(rows)
