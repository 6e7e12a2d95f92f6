"""LogView on its own: the scroll area grows without a screen layout, and while following a
flood it repaints at a bounded rate yet always shows the newest lines soon after."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

from console.logs.buffer import LogBuffer
from console.ui.logs.view import FLOOD_REPAINT_S, FLOOD_ROWS, LogView
from tests.ui_helpers import screen_text


class ViewApp(App):
    CSS = "LogView { height: 1fr; }"

    def __init__(self) -> None:
        super().__init__()
        self.buffer = LogBuffer()

    def compose(self) -> ComposeResult:
        yield LogView(self.buffer)


def _layouts(app: App) -> list[int]:
    """Counts full screen layouts (wraps the screen's layout pass)."""
    screen = app.screen
    count = [0]
    original = screen._refresh_layout

    def counting(*args, **kwargs):
        count[0] += 1
        return original(*args, **kwargs)

    screen._refresh_layout = counting
    return count


async def test_growth_needs_no_layout_and_scrollbars_follow() -> None:
    app = ViewApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(LogView)
        app.buffer.append([f"first {i}" for i in range(50)])  # past one screen: a scrollbar appears
        view.lines_changed()
        await pilot.pause(0.1)
        assert view.show_vertical_scrollbar
        layouts = _layouts(app)
        for k in range(5):
            app.buffer.append([f"more {k}"])
            view.lines_changed()
            # the new size is in effect at once: following reaches the true end immediately
            assert view.virtual_size.height == len(app.buffer)
            assert view.scroll_offset.y == view.max_scroll_y == len(app.buffer) - view.scrollable_content_region.height
            await pilot.pause(0.05)
        assert layouts[0] == 0
        assert "more 4" in screen_text(app)


async def test_flood_repaints_are_paced_but_the_end_always_shows() -> None:
    app = ViewApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(LogView)
        app.buffer.append(["start"])
        view.lines_changed()
        await pilot.pause(0.05)
        updates = [0]
        original = view._update

        def counting() -> None:
            updates[0] += 1
            original()

        view._update = counting
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 1.2:  # ~12 calls a second, each a flood's worth of rows
            n += 1
            app.buffer.append([f"flood {n} {i}" for i in range(FLOOD_ROWS + 1)])
            view.lines_changed()
            await pilot.pause(1 / 12)
        # at most one update per FLOOD_REPAINT_S (plus the first, undeferred one)
        assert updates[0] <= 1.2 / FLOOD_REPAINT_S + 2 < n
        await pilot.pause(FLOOD_REPAINT_S + 0.1)
        assert f"flood {n} {FLOOD_ROWS}" in screen_text(app)  # the burst's last line is shown
        assert view.scroll_offset.y == view.max_scroll_y


async def test_trickle_and_paused_views_update_at_once() -> None:
    app = ViewApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(LogView)
        for k in range(3):  # a readable pace: every call shows its line
            app.buffer.append([f"line {k}"])
            view.lines_changed()
            await pilot.pause(0.02)
            assert f"line {k}" in screen_text(app)
        view.follow = False  # paused: no pacing, the scrollbar tracks the buffer at once
        app.buffer.append([f"big {i}" for i in range(FLOOD_ROWS * 3)])
        view.lines_changed()
        assert view.virtual_size.height == len(app.buffer)
        view.follow = True  # End: the newest lines at once, flood or not
        await pilot.pause(0.05)
        assert f"big {FLOOD_ROWS * 3 - 1}" in screen_text(app)

