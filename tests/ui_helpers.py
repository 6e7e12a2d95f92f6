"""Helpers for UI tests: read what is painted, as plain text."""

from __future__ import annotations

from textual.app import App


def screen_text(app: App) -> str:
    """The visible screen (topmost screen composited) as lines of plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)
