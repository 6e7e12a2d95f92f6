"""The app shell driven through Textual's Pilot: areas, keys, help, palette, relay, quit."""

from __future__ import annotations

import sys
import textwrap

import pytest
from textual import work
from textual.widgets import Input, Static
from textual.worker import WorkerState

from console.ui import messages
from console.ui.app import Area, ConsoleApp, discover_areas
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


AREAS = [
    Area("alpha", "Alpha", 10, "1", "the first area", Alpha),
    Area("launch", "Launch", 20, "2", "", Launch),
    Area("beta", "Beta", 30, "3", "", Beta),
]


def make_app() -> ConsoleApp:
    return ConsoleApp(areas=list(AREAS))


def active(app: ConsoleApp) -> str:
    return f"tab-{app.current_area}"


async def test_tabs_follow_discovery_order_and_digit_keys() -> None:
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
        for expected in ("Alpha", "Mark it", "Beta thing", "ctrl+p", "1 Alpha, 2 Launch, 3", "the first area"):
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
def extra_panes(tmp_path, monkeypatch):
    import console.ui.panes as pkg

    (tmp_path / "zz_broken.py").write_text(
        'TITLE = "Broken"\nORDER = 98\nKEY = "8"\nraise ImportError("half-written pane")\nPANE = None\n'
    )
    (tmp_path / "zz_syntax.py").write_text("TITLE = (\n")
    (tmp_path / "zz_helper.py").write_text("X = 1\n")  # no PANE: not an area
    (tmp_path / "zz_fine.py").write_text(
        textwrap.dedent(
            """
            \"\"\"A fine area.\"\"\"
            from textual.widgets import Static
            TITLE = "Fine"
            ORDER = 99
            KEY = "9"  # read without importing
            class PANE(Static):
                pass
            """
        )
    )
    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(tmp_path)])
    yield
    for name in ("zz_fine", "zz_broken", "zz_syntax", "zz_helper"):
        sys.modules.pop(f"console.ui.panes.{name}", None)


def test_discovery_reads_areas_without_importing_them(extra_panes) -> None:
    areas, failures = discover_areas()
    names = [a.name for a in areas]
    assert "zz_fine" in names and "zz_broken" in names and "zz_helper" not in names
    assert [f[0] for f in failures] == ["zz_syntax"] and "SyntaxError" in failures[0][1]
    assert [a.order for a in areas] == sorted(a.order for a in areas)
    fine = next(a for a in areas if a.name == "zz_fine")
    assert (fine.title, fine.key, fine.help) == ("Fine", "9", "A fine area.")
    assert "console.ui.panes.zz_fine" not in sys.modules  # read, not imported
    assert fine.load().__name__ == "PANE"


async def test_an_area_that_fails_to_import_is_a_message_not_a_crash(extra_panes) -> None:
    areas, _ = discover_areas()
    keep = [a for a in areas if a.name in ("zz_broken", "zz_fine")]
    app = ConsoleApp(areas=[AREAS[0], *keep])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("8")
        await pilot.pause()
        assert "could not load" in screen_text(app) and "half-written pane" in screen_text(app)
        assert any("half-written pane" in str(n.message) for n in app._notifications)
        await pilot.press("9")
        await pilot.pause()
        assert app.pane("zz_fine") is not None


async def test_broken_pane_failure_shows_as_notification() -> None:
    app = make_app()
    app.area_failures = [("logs", "ImportError: nope")]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert any("nope" in str(n.message) for n in app._notifications)


async def test_two_areas_claiming_one_key_do_not_fight() -> None:
    areas = [*AREAS, Area("gamma", "Gamma", 40, "3", "", Beta)]
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

    from console.ui.app import _css_paths, discover_areas

    monkeypatch.setenv("GPT_OSS_CONSOLE_NVML_REPLAY", str(Path(__file__).parent / "data/nvml/no-driver.json"))
    # The real GPUs area first, stand-ins named like the other areas' stylesheets.
    gpus = next(a for a in discover_areas()[0] if a.name == "gpus")
    others = [Area(Path(p).stem, Path(p).stem.title(), 20 + i, None, "", Beta)
              for i, p in enumerate(_css_paths()) if Path(p).stem not in ("app", "gpus")]
    areas = [gpus, *others]
    app = ConsoleApp(areas=areas)
    names = {Path(p).stem for p in app.css_path}
    assert "app" in names and areas[0].name in names
    assert not names & {a.name for a in areas[1:]}  # read after the first frame
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(50):
            if all(app.pane(a.name) for a in others):
                break
            await pilot.pause(0.05)
        loaded = {Path(path).name for path, _ in app.stylesheet.source if path.endswith(".tcss")}
        assert loaded == {Path(p).name for p in _css_paths()}


def test_styles_are_found_in_the_source_checkout() -> None:
    from console.ui.app import _css_paths, _styles_dir

    assert (_styles_dir() / "app.tcss").is_file()
    assert _css_paths()[0].endswith("app.tcss")


@pytest.mark.parametrize("name", ["openai", "docker", "httpx", "pynvml"])
def test_app_import_does_not_pull_heavy_libraries(name) -> None:
    import subprocess

    code = (
        "import sys; import console.ui.app as a; a.discover_areas(); "
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
    areas = [Area("alpha", "Alpha", 10, "1", "", Alpha), Area("typing", "Typing", 20, "2", "", Typing)]
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
