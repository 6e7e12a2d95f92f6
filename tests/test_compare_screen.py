"""The compare screen at 80×24, keyboard only: opened from the Smoke area and the palette, the CLI's
options as fields (same defaults, same messages), a run against SGLang-shaped servers, the final
table with the highlighted row's shapes and raw-replay verdicts, saving."""

from __future__ import annotations

import argparse
import os
import stat

from textual.app import App
from textual.widgets import DataTable, Footer, Input

from console.private_file import state_dir
from console.compare.options import OPTIONS, read_args
from console.ui.commands import pane_bindings
from console.ui.compare.screen import CompareScreen, field_id
from console.ui.smoke.pane import SmokePane
from tests.test_ui_chat_support import STYLES
from tests.ui_helpers import screen_text, until

QUICK = {"only": "tool-auto", "repeat": "1", "soak": "0", "agreement": "0", "prefix_tokens": "0"}


class SmokeApp(App):
    CSS_PATH = [str(STYLES / "app.tcss"), str(STYLES / "smoke.tcss")]

    def compose(self):
        yield SmokePane(id="pane-smoke")
        yield Footer()


async def open_compare(pilot, url: str = "") -> CompareScreen:
    pilot.app.query_one("#smoke-url", Input).value = url
    pilot.app.query_one(SmokePane).focus()
    await pilot.press("ctrl+b")
    return await until(pilot, lambda: isinstance(pilot.app.screen, CompareScreen) and pilot.app.screen,
                       "the compare screen")


async def fill(pilot, screen: CompareScreen, **values: str) -> None:
    """Tab to each field and type over it, as an operator does."""
    for dest, text in values.items():
        target = {"endpoints": "cmp-endpoints", "keys": "cmp-keys"}.get(dest) or field_id(
            next(o for o in OPTIONS if o.dest == dest))
        for _ in range(3 * len(OPTIONS)):
            if screen.focused is not None and screen.focused.id == target:
                break
            await pilot.press("tab")
        assert screen.focused is not None and screen.focused.id == target, f"Tab never reached {target}"
        await pilot.press("home", "ctrl+k", *text)
    await pilot.press("tab")
    await pilot.pause()


def status(screen: CompareScreen) -> str:
    return str(screen.query_one("#cmp-status").render())


def test_reachable_from_smoke_and_the_palette():
    assert [(b.key, b.action, b.description) for b in pane_bindings(SmokePane)] == [
        ("ctrl+b", "compare", "Compare engines")]  # the palette lists it as "Smoke: Compare engines"


async def test_opens_from_smoke_with_its_endpoint_and_the_cli_defaults():
    from console.cli import compare

    parser = argparse.ArgumentParser()
    compare.register(parser)
    args = parser.parse_args([])
    read_args(args)
    async with SmokeApp().run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot, "http://127.0.0.1:9")
        assert screen.query_one("#cmp-endpoints", Input).value == "smoke=http://127.0.0.1:9"
        endpoints, values = screen.read_form()
        assert [e.name for e in endpoints] == ["smoke"] and endpoints[0].endpoint.base_url == "http://127.0.0.1:9"
        assert values == {o.dest: getattr(args, o.dest) for o in OPTIONS}
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(pilot.app.screen, CompareScreen), "the screen to close")


async def test_bad_input_is_said_and_the_field_kept():
    async with SmokeApp().run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot)
        await fill(pilot, screen, endpoints="sglang http://127.0.0.1:9")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "is not NAME=URL" in status(screen), "the endpoint message")
        assert screen.focused.id == "cmp-endpoints" and not screen.running
        await fill(pilot, screen, endpoints="a=http://127.0.0.1:9", repeat="often")
        assert "Repeat wants a whole number" in status(screen)  # said as the field is left
        await pilot.press("ctrl+r")
        assert screen.focused.id == field_id(next(o for o in OPTIONS if o.dest == "repeat"))
        assert "Traceback" not in screen_text(pilot.app)


async def test_run_keyboard_only_and_read_the_verdicts(sglang_shaped_factory, tmp_path, monkeypatch):
    good, bad = sglang_shaped_factory(), sglang_shaped_factory(faults=["no_call"])
    monkeypatch.chdir(tmp_path)
    async with SmokeApp().run_test(size=(80, 24)) as pilot:
        screen = await open_compare(pilot, good.base_url)
        await fill(pilot, screen, endpoints=f"good={good.base_url} bad={bad.base_url}", **QUICK)
        focused = field_id(next(o for o in OPTIONS if o.dest == "no_bench"))
        while screen.focused.id != focused:
            await pilot.press("tab")
        await pilot.press("space")  # No bench
        await pilot.press("ctrl+r")
        await until(pilot, lambda: screen.result is not None, "the comparison", timeout=60)
        assert "an endpoint failed a conformance check" in status(screen)
        table = screen.query_one(DataTable)
        assert [str(c.label) for c in table.columns.values()] == ["measure", "good", "bad"]
        row = str(table.get_row("tool-auto"))
        assert "100 % [21–100] n=1" in row and "answered-in-text ×1 (model)" in row
        while table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value != "tool-auto":
            await pilot.press("down")
        await pilot.pause()
        details = str(screen.query_one("#cmp-details").render())
        assert "raw replay (sglang /generate): model — no call in the raw text" in details
        await pilot.press("ctrl+s")
        await until(pilot, lambda: list(state_dir("compare").glob("compare-*.md")), "the saved table")
        assert not list(tmp_path.glob("compare-*"))  # the state dir, never the working one
        for f in state_dir("compare").glob("compare-*"):
            assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
        await pilot.press("ctrl+e")  # the settings again, to run once more
        await until(pilot, lambda: screen.query_one("#cmp-form").display, "the form")


def test_snapshot_results_80x24(snap_compare, sglang_shaped_factory):
    good, bad = sglang_shaped_factory(), sglang_shaped_factory(faults=["missing_constrain"])

    async def run_before(pilot):
        screen = await open_compare(pilot)
        for w in screen.query(Input):
            w.cursor_blink = False
        screen.query_one("#cmp-endpoints", Input).value = f"sglang={good.base_url} flaky={bad.base_url}"
        for dest, text in QUICK.items():
            screen.query_one("#" + field_id(next(o for o in OPTIONS if o.dest == dest)), Input).value = text
        screen.query_one("#" + field_id(next(o for o in OPTIONS if o.dest == "no_bench"))).value = True
        await pilot.press("ctrl+r")
        await until(pilot, lambda: screen.result is not None, "the comparison", timeout=60)
        table = screen.query_one(DataTable)
        table.move_cursor(row=3)  # tool-auto
        await pilot.pause()

    assert snap_compare(SmokeApp(), terminal_size=(80, 24), run_before=run_before)
