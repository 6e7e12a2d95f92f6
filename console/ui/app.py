"""The application shell: header, one tab per discovered area, footer, help, palette.

Areas are the modules of ``console.ui.panes`` (see that package's docstring).
Besides ``TITLE``/``ORDER``/``KEY``/``PANE`` a module may define ``HELP`` (one
line shown in the help screen), and a pane widget may implement:

- ``quit_warning() -> str | None``: what quitting would interrupt (asks before quitting);
- ``palette_commands() -> Iterable[tuple[str, Callable[[], object], str]]``:
  extra command-palette entries (name, callback, help). Bindings that a pane
  class declares with a description are offered in the palette automatically.

Cross-pane messages (``console.ui.messages``) bubble up to the app, which hands a
copy to every other pane, so a pane simply defines ``on_plan_chosen`` etc.

Start-up is benchmarked (tests/perf/bench_startup.py): keep this module and
every pane module cheap to import; heavy libraries load inside workers.
"""

from __future__ import annotations

import copy
import importlib
import os
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Iterable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer, Header, TabbedContent, TabPane
from textual.worker import WorkerFailed

import console
from console.ui import messages
from console.ui.commands import AreaCommands

DARK, LIGHT = "textual-dark", "textual-light"
THEME_ENV = "GPT_OSS_CONSOLE_THEME"  # "light" or "dark" (default)


def _styles_dir() -> Path:
    here = Path(console.__file__).parent
    shipped = here / "styles"  # inside the wheel (force-include in pyproject)
    return shipped if shipped.is_dir() else here.parent / "styles"  # source checkout


def _css_paths() -> list[str]:
    # app.tcss first: pane files may refine shared rules. A pane's file is listed
    # by name so a half-written stylesheet elsewhere cannot break start-up.
    names = ["app.tcss", "gpus.tcss", "launch.tcss", "logs.tcss", "chat.tcss", "smoke.tcss", "metrics.tcss"]
    d = _styles_dir()
    return [str(d / n) for n in names if (d / n).is_file()]


@dataclass(frozen=True)
class Area:
    """One tab: what a pane module declares."""

    name: str  # module name, used in ids: tab-<name>, pane-<name>
    title: str
    order: int
    key: str | None
    help: str
    pane: type[Widget]


def discover_areas() -> tuple[list[Area], list[tuple[str, str]]]:
    """Import every pane module; return the areas in tab order and the failures.

    A pane that fails to import is reported, not fatal: one broken area must
    not take the whole console down.
    """
    import console.ui.panes as pkg

    areas: list[Area] = []
    failures: list[tuple[str, str]] = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        try:
            mod: ModuleType = importlib.import_module(f"console.ui.panes.{info.name}")
        except Exception as exc:  # noqa: BLE001 - any import error of a pane is reported the same way
            failures.append((info.name, f"{type(exc).__name__}: {exc}"))
            continue
        if not hasattr(mod, "PANE"):
            continue
        areas.append(
            Area(
                name=info.name,
                title=getattr(mod, "TITLE", info.name.title()),
                order=getattr(mod, "ORDER", 100),
                key=getattr(mod, "KEY", None),
                help=getattr(mod, "HELP", "") or (mod.__doc__ or "").strip().split("\n")[0],
                pane=mod.PANE,
            )
        )
    areas.sort(key=lambda a: (a.order, a.name))
    return areas, failures


class ConsoleApp(App):
    TITLE = "gpt-oss-console"
    SUB_TITLE = f"v{console.__version__}"
    CSS_PATH = _css_paths()
    COMMANDS = App.COMMANDS | {AreaCommands}
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", key_display="F1"),
        Binding("ctrl+t", "toggle_theme", "Theme"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, *, areas: list[Area] | None = None) -> None:
        super().__init__()
        if areas is None:
            areas, self.area_failures = discover_areas()
        else:
            self.area_failures = []
        self.areas = areas
        for area in areas:
            if area.key:
                self.bind(area.key, f"show_area('{area.name}')", description=area.title, show=False)
        self.theme = LIGHT if os.environ.get(THEME_ENV, "").lower() == "light" else DARK

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="areas"):
            for i, area in enumerate(self.areas):
                label = f"{area.key} {area.title}" if area.key else area.title
                with TabPane(label, id=f"tab-{area.name}"):
                    # Only the first tab is visible at start; the others mount
                    # after the first frame so the console paints sooner.
                    if i == 0:
                        yield area.pane(id=f"pane-{area.name}")
        yield Footer()

    async def _mount_hidden_panes(self) -> None:
        for area in self.areas[1:]:
            if self._exit or not self.is_running:
                return
            tab = self.query_one(f"#tab-{area.name}", TabPane)
            if tab.is_attached and not tab.children:
                await tab.mount(area.pane(id=f"pane-{area.name}"))

    def on_mount(self) -> None:
        self.call_after_refresh(self._mount_hidden_panes)
        if self.areas:
            self.call_after_refresh(self._focus_area, self.areas[0].name)
        for name, error in self.area_failures:
            self.notify(error, title=f"The {name} area could not load", severity="error", timeout=15)
        if not self.areas:
            self.notify("No areas were found in console.ui.panes.", severity="error")

    # -- areas ----------------------------------------------------------------

    def area(self, name: str) -> Area | None:
        return next((a for a in self.areas if a.name == name), None)

    def pane(self, name: str) -> Widget | None:
        """The mounted pane widget of an area (None before it mounts or if absent)."""
        found = self.query(f"#pane-{name}")
        return found.first() if found else None

    def panes(self) -> list[Widget]:
        return [p for a in self.areas if (p := self.pane(a.name)) is not None]

    @property
    def current_area(self) -> str | None:
        active = self.query_one("#areas", TabbedContent).active
        return active.removeprefix("tab-") if active else None

    def action_show_area(self, name: str) -> None:
        if self.area(name) is None:
            return
        self.query_one("#areas", TabbedContent).active = f"tab-{name}"
        self.call_after_refresh(self._focus_area, name)

    def _focus_area(self, name: str) -> None:
        pane = self.pane(name)
        if pane is None:
            return
        if pane.focusable:
            pane.focus()
            return
        target = next((w for w in pane.query("*") if w.focusable), None)
        if target is not None:
            target.focus()

    # -- messages between panes --------------------------------------------------

    def _relay(self, message: messages.Message) -> None:
        """Give every pane except the sender its own copy of a cross-pane message."""
        if getattr(message, "relayed", False):
            return
        sender = message._sender
        for pane in self.panes():
            if isinstance(sender, Widget) and pane in sender.ancestors_with_self:
                continue  # the pane the message came from
            twin = copy.copy(message)
            twin.relayed = True
            twin.bubble = False  # handled by that pane only; never comes back up
            twin._stop_propagation = False
            pane.post_message(twin)

    def on_plan_chosen(self, message: messages.PlanChosen) -> None:
        self._relay(message)
        if self.area("launch") is not None:
            self.action_show_area("launch")
        model = message.values.get("model", "plan")
        self.notify(f"{model}: settings carried to the launch form" if self.area("launch") else f"{model} chosen")

    def on_endpoint_changed(self, message: messages.EndpointChanged) -> None:
        self._relay(message)

    # -- help, theme, quit -----------------------------------------------------

    def action_help(self) -> None:
        from console.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme != LIGHT else DARK

    def quit_warnings(self) -> list[str]:
        warnings = []
        for pane in self.panes():
            hook = getattr(pane, "quit_warning", None)
            if hook is None:
                continue
            try:
                text = hook()
            except Exception as exc:  # noqa: BLE001 - a broken hook must not block quitting
                text = f"could not ask {pane.id}: {exc}"
            if text:
                warnings.append(text)
        return warnings

    async def action_quit(self) -> None:
        from console.ui.screens.confirm import QuitScreen

        if isinstance(self.screen, QuitScreen):
            return
        warnings = self.quit_warnings()
        if not warnings:
            self.exit()
            return

        def decided(quit_now: bool | None) -> None:
            if quit_now:
                self.exit()

        self.push_screen(QuitScreen(warnings), decided)

    # -- failures ----------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        # A worker of some pane failed: say so and keep running. Textual's default
        # (and the right thing for any other unhandled error) is to exit.
        if isinstance(error, WorkerFailed):
            cause = error.error
            self.log.error("worker failed", repr(cause))
            self.notify(f"{type(cause).__name__}: {cause}", title="A background task failed", severity="error", timeout=10)
            return
        super()._handle_exception(error)


def run_app() -> int:
    app = ConsoleApp()
    app.run()
    return app.return_code or 0
