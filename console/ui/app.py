"""The application shell: header, one tab per area, footer, help, palette.

The areas are the table in :mod:`console.ui.areas` (what a pane may implement is said there).
Cross-area messages (``console.ui.messages``) bubble up to the app, which hands a copy to every
other pane — and the latest of each to a pane that mounts later — so a pane simply defines
``on_plan_chosen`` etc. App-level state the areas share: ``gpu_feed`` (the one NVML sampler),
``log_hub`` (one log follower per container), ``container_lookup`` (GPU process → container).

Start-up is benchmarked (tests/perf/bench_startup.py): keep this module and the first area
cheap to import; the other areas mount through Textual's ``Lazy`` after the first frame, and
heavy libraries load inside workers.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.content import Content
from textual.lazy import Lazy
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Header, Static
from textual.worker import WorkerFailed

import console
from console.ui import messages
from console.ui.areas import AREAS, Area
from console.ui.commands import AreaCommands
from console.ui.app_history import AppHistory
from console.ui.gpu_feed import GpuFeed, default_sampler

if TYPE_CHECKING:
    from console.logs.feed import LogHub

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


def container_names(pids: Iterable[int]) -> dict[int, str]:
    """PID → container name through the runtime (Docker is asked in the caller's thread)."""
    from console.runtime.vram import container_names as lookup  # the docker SDK comes with it

    return lookup(pids)


def stylesheet_of(name: str) -> Path | None:
    """``styles/<name>.tcss`` when it exists (an area's, or ``app``)."""
    path = _styles_dir() / f"{name}.tcss"
    return path if path.is_file() else None


class LazyArea(Lazy):
    """An area's pane, imported, made and mounted after the first frame.

    Textual's ``Lazy`` mounts a widget after the first refresh; this one also makes the widget
    only then, because importing every area's module before the first frame was most of
    start-up. The area's stylesheet is read first (``ConsoleApp.load_area_styles``).
    """

    def __init__(self, area: Area) -> None:
        super().__init__(Widget())  # replaced by the pane when it mounts
        self.area = area

    async def mount_composed_widgets(self, widgets: list[Widget]) -> None:
        app: ConsoleApp = self.app  # type: ignore[assignment]
        parent = self.parent

        async def mount() -> None:
            if parent is None or app._exit or not app.is_running:
                return
            app.load_area_styles()
            pane = app.make_pane(self.area)
            await parent.mount(pane, after=self)
            await self.remove()
            app.catch_up(pane)

        self.call_after_refresh(mount)


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
    COMMANDS = App.COMMANDS | {AreaCommands}
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", key_display="F1"),
        Binding("ctrl+t", "toggle_theme", "Theme"),
        # q quits from the areas and closes a pushed screen; ctrl+q quits from anywhere.
        # Both ask first when work would be cut short (console/ui/quit.py).
        Binding("q", "quit_or_close", "Quit"),
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
    # GPU process → the container that runs it, for the GPUs area (called off the UI thread);
    # tests swap it (None: no lookup).
    container_lookup = staticmethod(container_names)

    def __init__(self, *, areas: Iterable[Area] | None = None) -> None:
        # Stylesheets: app.tcss and the first area's before the first frame; the other areas'
        # when they mount (parsing and matching every area's rules up front cost more than the
        # rest of start-up).
        self.areas = list(AREAS if areas is None else areas)
        first = [stylesheet_of("app")] + ([stylesheet_of(self.areas[0].name)] if self.areas else [])
        super().__init__(css_path=[str(p) for p in first if p is not None])
        self._deferred_css = [str(p) for a in self.areas[1:] if (p := stylesheet_of(a.name)) is not None]
        # One timeline for every chart, kept on disk by the history recorder (console/ui/app_history.py).
        self.history = AppHistory(clock=type(self).clock)
        self.gpu_feed = GpuFeed(lambda: type(self).sampler_factory(), on_open=self.history.inventory,
                                on_tick=self.history.gpu)
        self._log_hub: LogHub | None = None
        self._hub_lock = threading.Lock()
        self._latest: dict[type, messages.Message] = {}  # the last of each cross-area message
        taken: dict[str, str] = {}
        for i, area in enumerate(self.areas):
            if not area.key:
                continue
            if area.key in taken:
                # Two areas claim one key: the first in tab order keeps it, the
                # other is reached by tab, mouse or palette (a developer's slip,
                # not the operator's business, so logged rather than shown).
                self.log.warning(f"area {area.name}: key {area.key} is already {taken[area.key]}'s")
                self.areas[i] = Area(area.name, area.title, None, area.help, area.pane)
                continue
            taken[area.key] = area.title
            # Priority, so a digit switches before the keys typed after it are handed to the area
            # being left (check_action lets a digit typed into a text field stay text).
            self._bindings.bind(area.key, f"show_area('{area.name}')", description=area.title, show=False,
                                priority=True)
        self.theme = LIGHT if os.environ.get(THEME_ENV, "").lower() == "light" else DARK

    # -- shared state -------------------------------------------------------------

    @property
    def log_hub(self) -> LogHub:
        """One log follower per container, shared by the areas (created on first use, off the
        first frame: the log modules take a good part of start-up to import)."""
        with self._hub_lock:
            if self._log_hub is None:
                from console.logs.feed import LogHub
                from console.runtime.engine import connect
                from console.runtime.secret_files import known_secrets
                from console.engines.follow import scanner_for

                # The runtime's pinned client; each container's secrets masked while it is followed.
                self._log_hub = LogHub(connect=connect, hold=known_secrets, scanners=scanner_for)
            return self._log_hub


    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield AreaTabs(self.areas, id="area-tabs")
        first = f"tab-{self.areas[0].name}" if self.areas else None
        with ContentSwitcher(id="areas", initial=first):
            for i, area in enumerate(self.areas):
                with Container(id=f"tab-{area.name}", classes="area"):
                    # Only the first area is made before the first frame.
                    yield self.make_pane(area) if i == 0 else LazyArea(area)
        yield Footer()

    def load_area_styles(self) -> None:
        """Read the stylesheets of the areas not visible at start (once)."""
        from textual.css.stylesheet import StylesheetError

        paths, self._deferred_css = self._deferred_css, []
        for path in paths:
            try:
                self.stylesheet.read(path)
                self.stylesheet.parse()
            except StylesheetError as exc:
                self.stylesheet.source.pop((str(Path(path).absolute()), ""), None)
                self.stylesheet.parse()
                self.notify(str(exc), title=f"{Path(path).name} has errors", severity="error", timeout=15)
        if paths:
            self.stylesheet.update(self)

    def make_pane(self, area: Area) -> Widget:
        """The area's widget; a module that fails to import becomes a message in its tab."""
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_area" and self._typing():
            return False  # the digit goes to the field
        return True

    def _typing(self) -> bool:
        """Whether the focused widget takes typed text (a digit there is text, not an area key)."""
        from textual.widgets import Input, TextArea

        focused = self.focused
        return isinstance(focused, (Input, TextArea)) and not getattr(focused, "read_only", False)

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
            self.call_after_refresh(self._focus_area, self.areas[0].name)
        self.call_after_refresh(self.history.open_in, self)
        self.call_after_refresh(self._say_state_problem)

    def _say_state_problem(self) -> None:
        """A remembered-state file that cannot be read: one sentence; the areas start from defaults."""
        from console.ui import state

        problem = state.problem()
        if problem:
            self.notify(problem, title="Remembered settings", severity="warning", timeout=15)

    def on_unmount(self) -> None:
        # After every pane has gone: the sampler, the history and the log feeds live as long as the app.
        self.gpu_feed.close()
        self.history.close()  # writes what is left
        if self._log_hub is not None:
            self._log_hub.close()

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
        # Focus now, not after the next refresh: keys typed right after the area's key ("4hello"
        # in one burst, as over SSH) are already queued, and would go to the area just left.
        if not self._focus_area(name):
            self.call_after_refresh(self._focus_area, name)

    def _focus_area(self, name: str) -> bool:
        pane = self.pane(name)
        if pane is None:
            return False
        target = pane if pane.focusable else next((w for w in pane.query("*") if w.focusable), None)
        if target is None:
            return False
        target.screen.set_focus(target)  # at once; Widget.focus() would queue it behind the typed keys
        return True

    # -- messages between panes --------------------------------------------------

    def _relay(self, message: messages.Message) -> None:
        """Give every pane except the sender its own copy of a cross-pane message."""
        if getattr(message, "relayed", False):
            return
        self._latest[type(message)] = message
        sender = message._sender
        for pane in self.panes():
            if isinstance(sender, Widget) and pane in sender.ancestors_with_self:
                continue  # the pane the message came from
            self._hand(pane, message)

    @staticmethod
    def _hand(pane: Widget, message: messages.Message) -> None:
        twin = copy.copy(message)
        twin.relayed = True
        twin.bubble = False  # handled by that pane only; never comes back up
        twin._stop_propagation = False
        pane.post_message(twin)

    def catch_up(self, pane: Widget) -> None:
        """A pane that mounted late gets the latest of each cross-area message (the endpoint
        that became ready, the container being watched, the plan chosen) it missed."""
        for message in list(self._latest.values()):
            sender = message._sender
            if not (isinstance(sender, Widget) and pane in sender.ancestors_with_self):
                self._hand(pane, message)

    def on_plan_chosen(self, message: messages.PlanChosen) -> None:
        self._relay(message)
        if self.area("launch") is not None:
            self.action_show_area("launch")
        model = message.values.get("model", "plan")
        self.notify(f"{model}: settings carried to the launch form" if self.area("launch") else f"{model} chosen")

    def on_endpoint_changed(self, message: messages.EndpointChanged) -> None:
        self._relay(message)

    def on_container_watched(self, message: messages.ContainerWatched) -> None:
        self._relay(message)

    # -- help, theme, quit -----------------------------------------------------

    def action_help(self) -> None:
        from console.ui.screens.help import HelpScreen  # its widgets load when first asked for

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme != LIGHT else DARK

    def quit_warnings(self) -> list[str]:
        """What quitting now would interrupt, in words (every pane and pushed screen is asked)."""
        from console.ui import quit

        return quit.warnings_of(quit.holders(self))

    async def action_quit(self) -> None:
        from console.ui import quit
        from console.ui.screens.confirm import QuitScreen  # as the help screen: on first use

        if isinstance(self.screen, QuitScreen):
            return
        warnings = self.quit_warnings()
        if not warnings:
            self.exit()
            return

        def decided(quit_now: bool | None) -> None:
            if quit_now:
                quit.cancel_work(quit.holders(self))  # streams closed now, not after they finish
                self.exit()

        self.push_screen(QuitScreen(warnings), decided)

    async def action_quit_or_close(self) -> None:
        """q: close the screen pushed over the areas (asking when it runs work); quit from the areas."""
        from console.ui import quit
        from console.ui.screens.confirm import ConfirmScreen

        screen = self.screen
        if not quit.is_pushed(self, screen):
            await self.action_quit()
            return
        warnings = quit.warnings_of([screen])
        if not warnings:
            quit.close(screen)
            return

        def decided(yes: bool | None) -> None:
            if yes and screen.is_attached:
                quit.cancel_work([screen])
                screen.dismiss(None)

        self.push_screen(ConfirmScreen("Close?", [f"• {w}" for w in warnings], yes="Close"), decided)

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
