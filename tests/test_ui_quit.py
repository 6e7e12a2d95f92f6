"""The one quit policy (issue 10 bugs 1 and 8), through Textual's Pilot: `q` in a pushed screen
closes that screen only, asking first when it runs work; quitting asks about work in pushed
screens too, and cancels it before the app exits. The real program is driven in tests/test_tmux.py."""

from __future__ import annotations

import time

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static

from console.ui.app import ConsoleApp
from console.ui.areas import Area
from console.ui.metrics.bench_screen import BenchScreen
from console.ui.screens.confirm import ConfirmScreen, QuitScreen
from console.ui.screens.help import HelpScreen
from tests.metrics_helpers import metrics_app
from tests.test_bench_screen import fill, open_bench
from tests.ui_helpers import screen_text, until


class Plain(Static, can_focus=True):
    def __init__(self, **kw) -> None:
        super().__init__("plain", **kw)


class Pushed(Screen):
    """A pushed screen with no q of its own (as the chat Inspector was)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, field: bool = False) -> None:
        super().__init__()
        self.field = field

    def compose(self):
        yield Static("pushed screen")
        if self.field:
            yield Input(id="pushed-input")


class Working(Screen):
    """A pushed screen that runs work until it is cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.running = True
        self.cancelled = 0

    def compose(self):
        yield Static("working screen")

    def quit_warning(self) -> str | None:
        return "a stand-in run is going" if self.running else None

    def cancel_work(self) -> None:
        self.cancelled += 1
        self.running = False


def make_app() -> ConsoleApp:
    return ConsoleApp(areas=[Area("plain", "Plain", "1", "", Plain)])


async def test_q_in_a_pushed_screen_closes_it_not_the_app() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(Pushed())
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, Pushed) and not app._exit
        # q typed into a field of a pushed screen is text, not a key
        app.push_screen(Pushed(field=True))
        await pilot.pause()
        app.screen.query_one("#pushed-input", Input).focus()
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, Pushed) and app.screen.query_one("#pushed-input", Input).value == "q"


async def test_q_in_help_closes_help() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen) and not app._exit


async def test_q_on_a_screen_running_work_asks_then_cancels_and_closes() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        working = Working()
        app.push_screen(working)
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "a stand-in run is going" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is working and working.running and working.cancelled == 0
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert working.cancelled == 1 and not working.is_attached and not app._exit


async def test_quit_asks_about_work_in_a_pushed_screen_and_cancels_it() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        working = Working()
        app.push_screen(working)
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen) and "a stand-in run is going" in screen_text(app)
        await pilot.press("y")
        await pilot.pause()
        assert working.cancelled == 1 and app._exit


async def test_quitting_during_a_bench_cancels_its_streams_within_a_second(quiet_metrics, sglang_shaped_factory):
    peer = sglang_shaped_factory(token_interval_s=0.02)  # 1000 tokens: 20 s a request
    srv = peer.server
    app = metrics_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_bench(pilot, peer.base_url, peer.model)
        await fill(pilot, screen, concurrency="4", output_len="1000", requests="8", workers="1")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: srv.streams_open == 4, "four streams in flight", timeout=60)
        await pilot.press("q")  # closing the bench screen would lose the run: asked
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "a bench is running" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and screen.running and srv.streams_open == 4
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen) and "a bench is running" in screen_text(app)
        await pilot.press("y")
        said_yes = time.monotonic()
        await until(pilot, lambda: srv.streams_open == 0, "the streams to close", timeout=5)
        assert time.monotonic() - said_yes < 1.0
        assert app._exit and srv.streams_cut == 4
