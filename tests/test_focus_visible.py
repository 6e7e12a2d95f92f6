"""Focus a person can see on a 256-colour terminal (issue 10 friction; tmux's default TERM is
screen-256color, where Rich reduces the console's truecolor to the nearest of 256 colours and
Textual's own focus tint, 234 → 235, disappears).

Every focusable widget of every area and of the pushed screens is drawn focused and unfocused by
the real app, in the dark and the light theme; the cells as a 256-colour terminal shows them must
differ by more than a shade (tests/focus_audit.py) over at least a whole edge of the widget, so a
blinking cursor alone does not count. tests/test_tmux_focus.py checks the real program's escape
codes in tmux."""

from __future__ import annotations

import pytest

from console.ui.app import DARK, LIGHT, ConsoleApp
from tests.focus_audit import cells, changed, screen_strips, shown_region
from tests.gpus_helpers import use_recording
from tests.ui_helpers import until

# (key that opens it, from which area) for the pushed screens with fields, lists or buttons
PUSHED = [("4", "f2"), ("6", "b"), ("1", "f1")]


def needed(region) -> int:
    """Cells that must change: a whole edge (a row or a column), and never fewer than 3."""
    return max(3, min(region.width, region.height))


async def unseen_focus(pilot, where: str) -> list[str]:
    """The focusable widgets on the current screen whose focus does not show in 256 colours."""
    app = pilot.app
    problems = []
    chain = [w for w in app.screen.focus_chain if shown_region(w).area]
    assert chain, f"{where}: nothing to focus"
    for widget in chain:
        widget.focus()
        await pilot.pause()
        region = shown_region(widget)
        if not region.area:
            continue
        focused = cells(screen_strips(app), region)
        app.screen.set_focus(None)
        await pilot.pause()
        blurred = cells(screen_strips(app), region)
        n = changed(blurred, focused)
        if n < needed(region):
            problems.append(f"{where}: {type(widget).__name__}#{widget.id} "
                            f"({region.width}×{region.height}) changes {n} cell(s) on focus")
    return problems


@pytest.fixture
def app(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    use_recording(monkeypatch, "2xh100")
    return ConsoleApp()


@pytest.mark.parametrize("theme", [DARK, LIGHT])
async def test_every_area_shows_focus_in_256_colours(app, theme):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.theme = theme
        await pilot.pause()
        problems = []
        for key in "1234567":
            await pilot.press(key)
            await until(pilot, lambda: app.screen.focused is not None or app.screen.focus_chain,
                        f"area {key} to take focus")
            await pilot.pause()
            problems += await unseen_focus(pilot, f"area {key} ({theme})")
        assert not problems, "\n".join(problems)


@pytest.mark.parametrize("theme", [DARK, LIGHT])
async def test_every_pushed_screen_shows_focus_in_256_colours(app, theme):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.theme = theme
        await pilot.pause()
        problems = []
        for area, key in PUSHED:
            await pilot.press(f"alt+{area}")  # a digit would go into a focused field
            await pilot.pause()
            base = app.screen
            await pilot.press(key)
            await until(pilot, lambda: app.screen is not base, f"{key} in area {area} to open a screen")
            await pilot.pause()
            problems += await unseen_focus(pilot, f"{type(app.screen).__name__} ({theme})")
            app.screen.dismiss(None)
            await until(pilot, lambda: app.screen is base, "the screen to close")
        assert not problems, "\n".join(problems)
