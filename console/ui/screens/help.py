"""The help screen: every key, grouped by area (F1 or ? opens and closes it)."""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.ui.commands import keys_display, pane_bindings, widget_bindings

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


def _elsewhere(app: ConsoleApp, pane_cls: type) -> list[tuple[str, str]]:
    """Keys of widgets an area shows only sometimes (a chat message), named by the pane's
    ``HELP_ELSEWHERE``: ((where, "module:Class"), …)."""
    rows = []
    for where, ref in getattr(pane_cls, "HELP_ELSEWHERE", ()):
        module, _, name = ref.partition(":")
        try:
            cls = getattr(importlib.import_module(module), name)
        except Exception:  # noqa: BLE001 - a broken module has no keys to list
            continue
        rows += [(keys_display(app, b), f"{b.description} ({where})") for b in pane_bindings(cls)]
    return rows


# Longer words for the app's own keys than their footer labels; the keys come from the bindings.
GLOBAL_WORDS = {
    "help": "this help",
    "command_palette": "command palette: every command, searchable",
    "toggle_theme": "light / dark theme",
    "quit_or_close": "quit (in a screen over the areas: close it)",
    "quit": "quit from anywhere; both ask first if work would be cut short",
}


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        app: ConsoleApp = self.app  # type: ignore[assignment]
        stack = app.screen_stack
        under = stack[-2] if len(stack) >= 2 and stack[-1] is self else app.screen  # what help was opened over
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Help — Esc or q closes"
            if under is not stack[0] and not isinstance(under, HelpScreen):  # a screen over the areas
                rows = [(keys_display(app, b), b.description) for _, b in widget_bindings(under)]
                yield Static(Text("This screen", style="bold underline"), classes="help-title")
                yield Static(_table(rows) if rows else Text("no keys of its own", style="dim"),
                             classes="help-section")
                yield Static(Text("Everywhere", style="bold underline"), classes="help-title")
            yield Static(self._global_keys(app), classes="help-section")
            for area in app.areas:
                pane = app.pane(area.name)
                bindings = [b for _, b in widget_bindings(pane)] if pane else _class_bindings(area)
                rows = [(keys_display(app, b), b.description) for b in bindings]
                rows += _elsewhere(app, type(pane) if pane is not None else _area_class(area))
                title = Text(area.title, style="bold underline")
                if area.help:
                    title.append(f"  {area.help}", style="not bold not underline dim")
                yield Static(title, classes="help-title")
                yield Static(_table(rows) if rows else Text("no keys of its own", style="dim"), classes="help-section")

    def _global_keys(self, app: ConsoleApp) -> Table:
        rows: list[tuple[str, str]] = []
        shown: dict[str, int] = {}
        palette = [Binding(app.COMMAND_PALETTE_BINDING, "command_palette", "palette")] if app.ENABLE_COMMAND_PALETTE else []
        for b in [*Binding.make_bindings(type(app).BINDINGS), *palette]:
            words = GLOBAL_WORDS.get(b.action)
            if words is None:
                continue  # the area keys and ctrl+PgUp/PgDn: one row below
            if b.action in shown:  # two bindings of one action ("q" twice, or an alias)
                i = shown[b.action]
                rows[i] = (f"{rows[i][0]} {keys_display(app, replace(b, key_display=None))}", rows[i][1])
                continue
            shown[b.action] = len(rows)
            rows.append((keys_display(app, b), words))
        rows.append(("tab shift+tab", "move focus"))
        digits = [f"{a.key} {a.title}" for a in app.areas if a.key]
        if digits:
            rows.append(("digits", "go to an area: " + ", ".join(digits) + "; ctrl+PgUp/PgDn from anywhere "
                         "(in a text field digits are text)"))
        return _table(rows)


def _area_class(area) -> type:
    try:
        return area.load()
    except Exception:  # noqa: BLE001 - a broken area has no keys to list
        return object
