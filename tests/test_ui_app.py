"""The app shell driven through Textual's Pilot: the area table, keys, help, palette, relay, quit."""

from __future__ import annotations

import sys
import textwrap

import pytest
from textual import work
from textual.widgets import Input, Static
from textual.worker import WorkerState

from console.ui import messages
from console.ui.app import ConsoleApp, stylesheet_of
from console.ui.areas import AREAS, Area
from console.ui.screens.confirm import QuitScreen
from console.ui.screens.help import HelpScreen
from tests.ui_helpers import screen_text


class Alpha(Static, can_focus=True):
    BINDINGS = [("x", "mark", "Mark it")]

    def __init__(self, **kw) -> None:
        super().__init__("alpha", **kw)
        self.marked = 0
        self.busy: str | None = None

    def action_mark(self) -> None:
        self.marked += 1

    def quit_warning(self) -> str | None:
        return self.busy

    def palette_commands(self):
        yield ("Say hello", lambda: self.app.notify("hello from alpha"), "greets")

    @work(thread=True)
    def explode(self) -> None:
        raise RuntimeError("sampler went away")


class Launch(Static):
    def __init__(self, **kw) -> None:
        super().__init__("launch", **kw)
        self.received: list[dict] = []

    def on_plan_chosen(self, message: messages.PlanChosen) -> None:
        self.received.append(message.values)


class Beta(Static):
    BINDINGS = [("b", "noop", "Beta thing")]

    def __init__(self, **kw) -> None:
        super().__init__("beta", **kw)
        self.plans: list[dict] = []

    def on_plan_chosen(self, message: messages.PlanChosen) -> None:
        self.plans.append(message.values)

    def action_noop(self) -> None:
        pass


TEST_AREAS = [
    Area("alpha", "Alpha", "1", "the first area", Alpha),
    Area("launch", "Launch", "2", "", Launch),
    Area("beta", "Beta", "3", "", Beta),
]


def make_app() -> ConsoleApp:
    return ConsoleApp(areas=list(TEST_AREAS))


def active(app: ConsoleApp) -> str:
    return f"tab-{app.current_area}"


async def test_tabs_follow_the_table_order_and_digit_keys() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert active(app) == "tab-alpha"
        await pilot.press("3")
        await pilot.pause()
        assert active(app) == "tab-beta"
        assert app.current_area == "beta"
        await pilot.press("2")
        await pilot.pause()
        assert active(app) == "tab-launch"
        await pilot.press("1")
        await pilot.pause()
        assert active(app) == "tab-alpha"
        # The focused pane gets its own keys.
        assert app.focused is app.pane("alpha")
        await pilot.press("x")
        assert app.pane("alpha").marked == 1


async def test_help_lists_keys_per_area_and_closes() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for expected in ("Alpha", "Mark it", "Beta thing", "^p", "1 Alpha, 2 Launch, 3", "the first area"):
            assert expected in text, expected
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def _palette_run(pilot, app: ConsoleApp, query: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    palette_input = app.screen.query_one(Input)
    palette_input.value = query
    await pilot.pause(0.3)
    await pilot.press("enter")
    await pilot.pause(0.2)


async def test_palette_jumps_to_areas_and_runs_discovered_pane_actions() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _palette_run(pilot, app, "Go to Beta")
        assert active(app) == "tab-beta"
        # A binding the Alpha pane declares is offered without being listed anywhere.
        await _palette_run(pilot, app, "Alpha: Mark it")
        assert active(app) == "tab-alpha"
        assert app.pane("alpha").marked == 1
        await _palette_run(pilot, app, "Alpha: Say hello")
        assert any("hello from alpha" in str(n.message) for n in app._notifications)
        theme = app.theme
        await _palette_run(pilot, app, "Toggle light/dark theme")
        assert app.theme != theme


async def test_plan_chosen_reaches_other_panes_and_switches_to_launch() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        values = {"model": "openai/gpt-oss-20b", "tensor_parallel_size": 1}
        app.pane("alpha").post_message(messages.PlanChosen(values))
        await pilot.pause()
        await pilot.pause()
        assert app.pane("launch").received == [values]
        assert app.pane("beta").plans == [values]
        assert active(app) == "tab-launch"


async def test_theme_toggles_with_ctrl_t() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == "textual-dark"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-dark"


async def test_theme_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("GPT_OSS_CONSOLE_THEME", "light")
    app = make_app()
    async with app.run_test(size=(80, 24)):
        assert app.theme == "textual-light"


async def test_quit_without_running_work_exits_at_once() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app._exit


async def test_quit_asks_when_a_pane_reports_running_work() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.pane("alpha").busy = "a launch is in progress"
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        assert "a launch is in progress" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen)
        assert not app._exit
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("y")
        await pilot.pause()
        assert app._exit


async def test_failed_worker_is_a_notification_not_a_crash() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        worker = app.pane("alpha").explode()
        for _ in range(100):
            if worker.is_finished:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        assert worker.state == WorkerState.ERROR
        assert app.is_running and not app._exit
        notes = [str(n.message) for n in app._notifications]
        assert any("sampler went away" in n for n in notes), notes
        await pilot.press("3")
        await pilot.pause()
        assert active(app) == "tab-beta"


@pytest.fixture
def broken_module(tmp_path, monkeypatch):
    """A half-written area module on the import path."""
    (tmp_path / "zz_broken_area.py").write_text('raise ImportError("half-written pane")\n')
    (tmp_path / "zz_fine_area.py").write_text("from textual.widgets import Static\nclass Fine(Static):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("zz_broken_area", "zz_fine_area"):
        sys.modules.pop(name, None)


def test_the_table_names_every_area_and_imports_none_of_them() -> None:
    import subprocess

    assert [a.name for a in AREAS] == ["gpus", "launch", "logs", "chat", "smoke", "metrics", "fleet"]
    assert [a.key for a in AREAS] == ["1", "2", "3", "4", "5", "6", "7"]
    for area in AREAS:  # each a package of its own, its pane named by module and class
        assert area.pane == f"console.ui.{area.name}.pane:{area.load().__name__}"
    code = "import sys, console.ui.app; print(sorted(m for m in sys.modules if m.endswith('.pane')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # reading the table imports no area


async def test_an_area_that_fails_to_import_is_a_message_not_a_crash(broken_module) -> None:
    areas = [TEST_AREAS[0], Area("zz_broken", "Broken", "8", "", "zz_broken_area:Pane"),
             Area("zz_fine", "Fine", "9", "", "zz_fine_area:Fine")]
    app = ConsoleApp(areas=areas)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("8")
        await pilot.pause()
        assert "could not load" in screen_text(app) and "half-written pane" in screen_text(app)
        assert any("half-written pane" in str(n.message) for n in app._notifications)
        await pilot.press("9")
        await pilot.pause()
        assert app.pane("zz_fine") is not None


async def test_two_areas_claiming_one_key_do_not_fight() -> None:
    areas = [*TEST_AREAS, Area("gamma", "Gamma", "3", "", Beta)]
    app = ConsoleApp(areas=areas)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.area("gamma").key is None  # Beta (earlier in tab order) keeps 3
        await pilot.press("3")
        await pilot.pause()
        assert active(app) == "tab-beta"
        await _palette_run(pilot, app, "Go to Gamma")
        assert active(app) == "tab-gamma"


def test_styles_are_found_inside_an_installed_wheel(tmp_path, monkeypatch) -> None:
    import console
    from console.ui.app import _styles_dir

    # The wheel ships styles/ as console/styles (force-include in pyproject).
    (tmp_path / "console" / "styles").mkdir(parents=True)
    (tmp_path / "console" / "styles" / "app.tcss").write_text("")
    monkeypatch.setattr(console, "__file__", str(tmp_path / "console" / "__init__.py"))
    assert _styles_dir() == tmp_path / "console" / "styles"


async def test_deferred_stylesheets_are_loaded_once_the_areas_mount(monkeypatch) -> None:
    from pathlib import Path

    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", str(Path(__file__).parent / "data/nvml/no-driver.json"))
    # The real GPUs area first, stand-ins named like the other areas (their stylesheets are found by name).
    gpus = next(a for a in AREAS if a.name == "gpus")
    others = [Area(a.name, a.title, None, "", Beta) for a in AREAS if a.name != "gpus"]
    areas = [gpus, *others]
    app = ConsoleApp(areas=areas)
    names = {Path(p).stem for p in app.css_path}
    assert names == {"app", "gpus"}  # the others are read after the first frame
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(50):
            if all(app.pane(a.name) for a in others):
                break
            await pilot.pause(0.05)
        loaded = {Path(path).name for path, _ in app.stylesheet.source if path.endswith(".tcss")}
        assert loaded == {p.name for p in map(stylesheet_of, ["app", *(a.name for a in areas)]) if p is not None}
        assert len(loaded) == 1 + sum(stylesheet_of(a.name) is not None for a in areas)  # app.tcss and each area's


def test_styles_are_found_in_the_source_checkout() -> None:
    from console.ui.app import _styles_dir

    assert (_styles_dir() / "app.tcss").is_file()
    assert str(stylesheet_of("app")).endswith("app.tcss")
    assert stylesheet_of("no-such-area") is None


@pytest.mark.parametrize("name", ["openai", "docker", "httpx", "pynvml"])
def test_app_import_does_not_pull_heavy_libraries(name) -> None:
    import subprocess

    code = (
        "import sys; import console.ui.app as a; a.AREAS; "
        f"print({name!r} in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", f"{name} is imported at start-up"


async def test_tab_bar_shows_the_current_area_and_switches_on_click() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bar = screen_text(app).splitlines()[1]
        assert bar.split() == ["1", "Alpha", "2", "Launch", "3", "Beta"]
        x = bar.index("2 Launch")
        await pilot.click("#area-tabs", offset=(x + 1, 0))
        await pilot.pause()
        assert active(app) == "tab-launch"
        assert app.query_one("#area-tabs").current == "launch"


class Typing(Input):
    """An area whose only widget is a text field: digits are text there."""


async def test_areas_switch_by_keyboard_while_a_text_field_has_focus() -> None:
    areas = [Area("alpha", "Alpha", "1", "", Alpha), Area("typing", "Typing", "2", "", Typing)]
    app = ConsoleApp(areas=areas)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        field = app.pane("typing")
        field.focus()
        await pilot.press("1", "2")
        await pilot.pause()
        assert field.value == "12" and app.current_area == "typing"  # plain digits are typed
        await pilot.press("alt+1")
        await pilot.pause()
        assert app.current_area == "alpha"
        await pilot.press("ctrl+pagedown")
        await pilot.pause()
        assert app.current_area == "typing"
        app.pane("typing").focus()
        await pilot.press("ctrl+pagedown")  # wraps around, from inside the field
        await pilot.pause()
        assert app.current_area == "alpha" and field.value == "12"
        await pilot.press("ctrl+pageup")
        await pilot.pause()
        assert app.current_area == "typing"
