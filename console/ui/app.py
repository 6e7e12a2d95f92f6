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

import ast
import copy
import importlib
import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.containers import Container
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import ContentSwitcher, Footer, Header
from textual.worker import WorkerFailed

import console
from console.ui import messages
from console.ui.commands import AreaCommands
from console.ui.app_history import AppHistory
from console.ui.gpu_feed import GpuFeed, default_sampler

DARK, LIGHT = "textual-dark", "textual-light"


def default_host():  # the GPUs area's /proc reader (tests read a recorded one)
    from console.gpu.nvml import REPLAY_ENV
    from console.host import HostReader

    # A replayed recording's PIDs are not this machine's processes: no host columns for them.
    return HostReader(processes=not os.environ.get(REPLAY_ENV))
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
    pane: type[Widget] | None = None  # None: the module is imported on first use

    def load(self) -> type[Widget]:
        """The pane's widget class (imports its module the first time)."""
        if self.pane is not None:
            return self.pane
        return importlib.import_module(f"console.ui.panes.{self.name}").PANE


_META = ("TITLE", "ORDER", "KEY", "HELP")
_CONST = re.compile(r"^(TITLE|ORDER|KEY|HELP)\s*=\s*(.+?)\s*(?:#.*)?$", re.M)
_PANE = re.compile(r"^(PANE\s*=|class PANE\b|from .* import .*\bPANE\b)", re.M)
_DOC = re.compile(r'\A\s*[rRuU]?(?:"""|\'\'\')\s*(.*?)\s*(?:"""|\'\'\')?\s*$', re.M)


def _declared(path: Path) -> tuple[dict, bool, str]:
    """Read a pane module's constants without importing it: (constants, defines PANE, summary).

    Importing every area's widgets before the first frame is what made start-up
    slow; only the first tab's module is imported then, the rest after it.
    Only plain one-line literals are read; anything else makes the caller import.
    """
    text = path.read_text(encoding="utf-8")
    meta: dict = {}
    for name, value in _CONST.findall(text):
        try:
            meta[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return {}, True, ""
    doc = _DOC.match(text)
    return meta, bool(_PANE.search(text)), doc.group(1) if doc else ""


def _area_from_module(name: str) -> Area | None:
    mod: ModuleType = importlib.import_module(f"console.ui.panes.{name}")
    if not hasattr(mod, "PANE"):
        return None
    return Area(
        name=name,
        title=getattr(mod, "TITLE", name.title()),
        order=getattr(mod, "ORDER", 100),
        key=getattr(mod, "KEY", None),
        help=getattr(mod, "HELP", "") or (mod.__doc__ or "").strip().split("\n")[0],
        pane=mod.PANE,
    )


def _pane_modules(paths) -> list[tuple[str, Path]]:
    """(module name, file) of each pane module: ``x.py`` or ``x/__init__.py``
    (a directory listing; pkgutil costs more to import than this takes)."""
    found: dict[str, Path] = {}
    for base in map(Path, paths):
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            name = entry.stem if entry.suffix == ".py" else entry.name
            if name.startswith("_") or name in found or not name.isidentifier():
                continue
            if entry.suffix == ".py" and entry.is_file():
                found[name] = entry
            elif entry.is_dir() and (entry / "__init__.py").is_file():
                found[name] = entry / "__init__.py"
    return list(found.items())


def discover_areas() -> tuple[list[Area], list[tuple[str, str]]]:
    """Find every pane module; return the areas in tab order and the failures.

    Modules are read, not imported (see ``_declared``); one whose constants are
    not plain literals is imported. A pane that fails is reported, not fatal:
    one broken area must not take the whole console down.
    """
    import console.ui.panes as pkg

    areas: list[Area] = []
    failures: list[tuple[str, str]] = []
    for name, path in _pane_modules(pkg.__path__):
        try:
            meta, has_pane, doc = _declared(path) if path.is_file() else ({}, True, "")
            if not has_pane:
                continue
            if "TITLE" in meta and "ORDER" in meta and all(
                isinstance(meta.get(k, ""), t) for k, t in (("TITLE", str), ("ORDER", int), ("HELP", str))
            ):
                area = Area(
                    name=name,
                    title=meta["TITLE"],
                    order=meta["ORDER"],
                    key=meta.get("KEY"),
                    help=meta.get("HELP") or doc.strip().split("\n")[0],
                )
            else:
                area = _area_from_module(name)
        except Exception as exc:  # noqa: BLE001 - any failure of a pane is reported the same way
            failures.append((name, f"{type(exc).__name__}: {exc}"))
            continue
        if area is not None:
            areas.append(area)
    areas.sort(key=lambda a: (a.order, a.name))
    return areas, failures


class AreaTabs(Widget):
    """The tab bar: one line, one label per area (with its key), the current one
    highlighted; a click switches. Lighter than Tabs/TabbedContent, whose widgets
    per tab were a good part of the first frame's cost."""

    DEFAULT_CSS = """
    AreaTabs {
        height: 1;
        background: $panel;
        link-style: none;
        link-style-hover: bold;
        link-background-hover: $boost;
    }
    """
    current: reactive[str] = reactive("")

    def __init__(self, areas: list[Area], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.areas = areas

    def render(self) -> Content:
        parts: list[Content | tuple[str, str]] = []
        for area in self.areas:
            label = f" {area.key} {area.title} " if area.key else f" {area.title} "
            style = "bold reverse" if area.name == self.current else "dim"
            parts.append(Content.from_markup(f"[{style} @click=app.show_area({area.name!r})]$label[/]", label=label))
            parts.append(" ")
        return Content.assemble(*parts)


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
        # Digits are text inside a text field (the chat input). ctrl+PgUp/PgDn reach every area from
        # anywhere (xterm, tmux and most terminals send them); alt+digit works where the terminal
        # reports it as such (kitty's keyboard protocol; Textual reads a bare ESC+digit as ¡, ™, …).
        Binding("ctrl+pagedown", "cycle_area(1)", "Next area", show=False, priority=True),
        Binding("ctrl+pageup", "cycle_area(-1)", "Previous area", show=False, priority=True),
        *(Binding(f"alt+{k}", f"area_key('{k}')", show=False, priority=True) for k in "123456789"),
    ]

    # The one GPU sampler every area shares (console/ui/gpu_feed.py); tests swap the factory.
    sampler_factory = staticmethod(default_sampler)
    # The clock of the app's timeline and history (tests fix it).
    clock = staticmethod(time.time)
    # The host's /proc for the GPUs area (tests read a recorded tree).
    host_factory = staticmethod(default_host)

    def __init__(self, *, areas: list[Area] | None = None) -> None:
        super().__init__()
        if areas is None:
            areas, self.area_failures = discover_areas()
        else:
            self.area_failures = []
        self.areas = areas
        # One timeline for every chart, kept on disk by the history recorder (console/ui/app_history.py).
        self.history = AppHistory(clock=type(self).clock)
        self.gpu_feed = GpuFeed(lambda: type(self).sampler_factory(), on_open=self.history.inventory,
                                on_tick=self.history.gpu)
        taken: dict[str, str] = {}
        for i, area in enumerate(areas):
            if not area.key:
                continue
            if area.key in taken:
                # Two areas claim one key: the first in tab order keeps it, the
                # other is reached by tab, mouse or palette (a developer's slip,
                # not the operator's business, so logged rather than shown).
                self.log.warning(f"area {area.name}: key {area.key} is already {taken[area.key]}'s")
                areas[i] = replace(area, key=None)
                continue
            taken[area.key] = area.title
            self.bind(area.key, f"show_area('{area.name}')", description=area.title, show=False)
        self.theme = LIGHT if os.environ.get(THEME_ENV, "").lower() == "light" else DARK
        # Stylesheets of the areas that are not visible at start are read after
        # the first frame (parsing and matching every pane's rules up front cost
        # more than the rest of start-up). CSS_PATH still lists them all.
        hidden = {a.name for a in self.areas[1:]}
        self._deferred_css = [p for p in self.css_path if Path(p).stem in hidden]
        self.css_path = [p for p in self.css_path if Path(p).stem not in hidden]

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield AreaTabs(self.areas, id="area-tabs")
        first = f"tab-{self.areas[0].name}" if self.areas else None
        with ContentSwitcher(id="areas", initial=first):
            for i, area in enumerate(self.areas):
                with Container(id=f"tab-{area.name}", classes="area"):
                    # Only the first tab is visible at start; the others mount
                    # after the first frame so the console paints sooner.
                    if i == 0:
                        yield self._make_pane(area)
        yield Footer()

    def _load_deferred_css(self) -> None:
        from textual.css.stylesheet import StylesheetError

        for path in self._deferred_css:
            try:
                self.stylesheet.read(path)
                self.stylesheet.parse()
            except StylesheetError as exc:
                self.stylesheet.source.pop((str(Path(path).absolute()), ""), None)
                self.stylesheet.parse()
                self.notify(str(exc), title=f"{Path(path).name} has errors", severity="error", timeout=15)
        if self._deferred_css:
            self._deferred_css = []
            self.stylesheet.update(self)

    async def _mount_hidden_panes(self) -> None:
        if self._exit or not self.is_running:
            return
        self._load_deferred_css()
        for area in self.areas[1:]:
            if self._exit or not self.is_running:
                return
            tab = self.query_one(f"#tab-{area.name}", Container)
            if tab.is_attached and not tab.children:
                await tab.mount(self._make_pane(area))

    def _make_pane(self, area: Area) -> Widget:
        """The area's widget; a module that fails to import becomes a message in its tab."""
        from textual.widgets import Static

        try:
            return area.load()(id=f"pane-{area.name}")
        except Exception as exc:  # noqa: BLE001 - a broken area is shown, never fatal
            self.log.error(f"area {area.name} failed", repr(exc))
            self.call_later(
                self.notify, f"{type(exc).__name__}: {exc}", title=f"The {area.title} area could not load",
                severity="error", timeout=15,
            )
            return Static(f"The {area.title} area could not load: {type(exc).__name__}: {exc}",
                          id=f"broken-{area.name}", classes="area-broken")

    def action_cycle_area(self, step: int) -> None:
        names = [a.name for a in self.areas]
        if names:
            here = names.index(self.current_area) if self.current_area in names else 0
            self.action_show_area(names[(here + step) % len(names)])

    def action_area_key(self, key: str) -> None:
        area = next((a for a in self.areas if a.key == key), None)
        if area is not None:
            self.action_show_area(area.name)

    def on_mount(self) -> None:
        if self.areas:
            self.query_one(AreaTabs).current = self.areas[0].name
        self.call_after_refresh(self._mount_hidden_panes)
        self.call_after_refresh(self.history.open_in, self)
        if self.areas:
            self.call_after_refresh(self._focus_area, self.areas[0].name)
        for name, error in self.area_failures:
            self.notify(error, title=f"The {name} area", severity="error", timeout=15)
        if not self.areas:
            self.notify("No areas were found in console.ui.panes.", severity="error")

    def on_unmount(self) -> None:
        self.gpu_feed.close()  # after every pane has gone: the sampler lives as long as the app
        self.history.close()  # writes what is left

    def history_loaded(self) -> None:
        """What was recorded before is on the timeline: charts and panes show it now, not at their next tick."""
        from console.ui.chart_view import ChartView

        for chart in self.query(ChartView):
            chart.redraw(force=True)
        for pane in self.panes():
            hook = getattr(pane, "history_loaded", None)
            if hook is not None:
                hook()

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
        active = self.query_one("#areas", ContentSwitcher).current
        return active.removeprefix("tab-") if active else None

    def action_show_area(self, name: str) -> None:
        if self.area(name) is None:
            return
        self.query_one("#areas", ContentSwitcher).current = f"tab-{name}"
        self.query_one(AreaTabs).current = name
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
    from console.ui.clipboard import exit_lines

    for line in exit_lines(app):  # copies a terminal without OSC 52 never received
        print(line)
    return app.return_code or 0
