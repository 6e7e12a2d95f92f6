"""Helpers for UI tests: read what is painted, and wait for a state rather than a time."""

from __future__ import annotations

import time

from textual.app import App


def screen_text(app: App) -> str:
    """The visible screen (topmost screen composited) as lines of plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


async def until(pilot, cond, what: str = "the condition", timeout: float = 20.0):
    """Pause until ``cond()`` is truthy and return it; past the deadline, fail naming
    ``what`` and showing the screen. Fixed pauses pass on a quiet machine and fail
    on a loaded CI one."""
    deadline = time.monotonic() + timeout
    while not (value := cond()):
        if time.monotonic() > deadline:
            what = what() if callable(what) else what  # a description can say what it saw
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)
    return value
