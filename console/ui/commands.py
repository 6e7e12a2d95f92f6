"""Command-palette provider: jump to an area, help, theme, and what panes offer.

Pane commands are discovered, not listed: every binding a pane class (or its
non-Textual base classes) declares with a description becomes
"<Area>: <description>", and a pane may add more via ``palette_commands()``.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterator

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from textual.widget import Widget

if TYPE_CHECKING:
    from console.ui.app import ConsoleApp

Command = tuple[str, Callable[[], Any], str]  # name, callback, help


def pane_bindings(pane_cls: type) -> list[Binding]:
    """Bindings with a description declared by the pane's own classes (not Textual's bases).

    One binding per action: an action with several keys ("N,p") keeps them all in ``key``
    (comma-separated), so the help lists every key the footer or a user may know it by."""
    found: dict[str, Binding] = {}
    for cls in reversed(pane_cls.__mro__):
        if cls.__module__.split(".")[0] == "textual" or "BINDINGS" not in cls.__dict__:
            continue
        own: dict[str, Binding] = {}
        for binding in Binding.make_bindings(cls.__dict__["BINDINGS"]):
            if not binding.description:
                continue
            first = own.get(binding.action)
            own[binding.action] = binding if first is None else replace(first, key=f"{first.key},{binding.key}")
        found.update(own)  # subclasses override their bases
    return list(found.values())


def keys_display(app, binding: Binding) -> str:
    """Every key of a binding as the footer writes each one ("N p", "f5", "^s")."""
    return " ".join(app.get_key_display(replace(binding, key=key, key_display=None if i else binding.key_display))
                    for i, key in enumerate(binding.key.split(",")))


def widget_bindings(root: Widget) -> list[tuple[Widget, Binding]]:
    """Described bindings of a mounted pane and of its descendants' own classes
    (e.g. Enter on the planner's matrix), each with the widget that runs it."""
    found: list[tuple[Widget, Binding]] = []
    seen: set[tuple[type, str]] = set()
    for widget in [root, *root.query("*")]:
        for binding in pane_bindings(type(widget)):
            if (type(widget), binding.action) not in seen:
                seen.add((type(widget), binding.action))
                found.append((widget, binding))
    return found


class AreaCommands(Provider):
    def _commands(self) -> Iterator[Command]:
        app: ConsoleApp = self.app  # type: ignore[assignment]
        for area in app.areas:
            key = f" (key {area.key})" if area.key else ""
            yield (f"Go to {area.title}", partial(app.action_show_area, area.name), f"Show the {area.title} area{key}")
        yield ("Help: keys of every area", app.action_help, "Open the help screen (F1)")
        yield ("Toggle light/dark theme", app.action_toggle_theme, "Switch between the light and dark theme (ctrl+t)")
        for area in app.areas:
            pane = app.pane(area.name)
            if pane is None:
                continue
            for widget, binding in widget_bindings(pane):
                yield (
                    f"{area.title}: {binding.description}",
                    partial(self._run_pane_action, area.name, widget, binding.action),
                    f"key {binding.key_display or binding.key}",
                )
            extra = getattr(pane, "palette_commands", None)
            if extra is not None:
                try:
                    for name, callback, help_text in extra():
                        yield (f"{area.title}: {name}", callback, help_text)
                except Exception as exc:  # noqa: BLE001 - a pane's hook must not break the palette
                    app.log.error(f"palette_commands of {area.name} failed: {exc!r}")

    async def _run_pane_action(self, area: str, pane: Widget, action: str) -> None:
        app: ConsoleApp = self.app  # type: ignore[assignment]
        app.action_show_area(area)
        await app.run_action(action, pane)

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
