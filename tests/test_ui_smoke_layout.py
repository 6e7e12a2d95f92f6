"""The Smoke area at 80×24 (issue 10): every check's row fits, each field has a label, the URL's
placeholder is whole; on a short terminal Enter shows a check's details over the area."""

from __future__ import annotations

from console.smoke.runner import CHECKS
from console.ui.app import ConsoleApp
from console.ui.areas import AREAS
from console.ui.screens.text import TextScreen
from tests.ui_helpers import screen_text


def smoke_app() -> ConsoleApp:
    return ConsoleApp(areas=[a for a in AREAS if a.name == "smoke"])


async def test_every_check_fits_at_80x24_and_the_fields_are_labelled(monkeypatch) -> None:
    monkeypatch.delenv("GPT_OSS_CONSOLE_BASE_URL", raising=False)
    app = smoke_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        lines = text.splitlines()
        for name in CHECKS:
            assert any(line.split()[:1] == [name] for line in lines), (name, text)
        bar = next(line for line in lines if "URL" in line)
        for label in ("URL", "key", "model", "soak turns"):
            assert label in bar, bar
        assert "http://127.0.0.1:8000" in bar  # the placeholder, whole


async def test_enter_on_a_check_shows_its_details_when_the_panel_has_no_room() -> None:
    app = smoke_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.query_one("#smoke-table")
        table.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TextScreen) and "plain-chat" in screen_text(app)
        assert "not run yet" in screen_text(app)
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, TextScreen) and not app._exit


async def test_a_tall_terminal_keeps_the_details_panel() -> None:
    app = smoke_app()
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        assert app.query_one("#smoke-details-scroll").display
        table = app.query_one("#smoke-table")
        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, TextScreen)
