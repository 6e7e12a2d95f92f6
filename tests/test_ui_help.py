"""The help screen is generated from the bindings (issue 10 "help and keys agree"): every key
of every action, as the footer writes it, the keys of widgets shown only sometimes (a chat
answer), and the keys of the screen it was opened over."""

from __future__ import annotations

import re

from console.ui.app import ConsoleApp
from console.ui.areas import AREAS
from console.ui.commands import pane_bindings
from console.ui.logs.pane import LogsPane
from console.ui.screens.help import HelpScreen
from tests.gpus_helpers import use_recording
from tests.metrics_helpers import metrics_app
from tests.test_bench_screen import open_bench
from tests.ui_helpers import screen_text


def rows(text: str) -> list[str]:
    """The help box's lines, whitespace folded (what shows beside the box cut off); its border is
    double while its body has the focus."""
    inside = [re.split("[│║]", line)[1] for line in text.splitlines() if len(re.findall("[│║]", line)) >= 2]
    return [re.sub(r"\s+", " ", line.strip()) for line in inside]


async def test_help_lists_every_key_of_every_area_as_the_footer_writes_it(monkeypatch) -> None:
    use_recording(monkeypatch, "2xh100")
    app = ConsoleApp()
    async with app.run_test(size=(110, 400)) as pilot:
        for area in AREAS:  # every area mounted, so the help reads the live panes
            app.action_show_area(area.name)
            await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        lines = rows(screen_text(app))
        # The footer says "N Prev error"; p is the other key: both, on one row.
        assert any(line.startswith("N p Prev error") for line in lines), lines
        assert any(line.startswith("^s Save transcript") for line in lines)
        assert any(line.startswith("^o Load transcript") for line in lines)
        assert any(line.startswith("i Inspect (on an answer)") for line in lines)
        assert any(line.startswith("q quit (in a screen over the areas: close it)") for line in lines)
        assert any(line.startswith("^q quit from anywhere") for line in lines)
        for area in AREAS:
            for b in pane_bindings(area.load()):
                first = app.get_key_display(b.__class__(b.key.split(",")[0], b.action, b.description))
                assert any(line.startswith(first) and b.description in line for line in lines), (area.name, b)


def test_an_action_with_two_keys_is_one_binding_with_both() -> None:
    prev = next(b for b in pane_bindings(LogsPane) if b.action == "prev_error")
    assert prev.key == "N,p"


async def test_help_over_a_pushed_screen_lists_that_screen_first(quiet_metrics) -> None:
    app = metrics_app()
    async with app.run_test(size=(100, 60)) as pilot:
        await open_bench(pilot, None)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        lines = rows(screen_text(app))
        at = lines.index("This screen")
        assert lines[at + 1].startswith("^r Run") and any(line.startswith("^s Save JSON") for line in lines[at:])
        await pilot.press("q")  # closes the help, not the bench under it
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen) and not app._exit
