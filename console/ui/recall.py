"""The areas' use of the remembered UI state (console/ui/state.py): what each keeps, read at
start where the environment says nothing, written when the operator chooses it.

Kept: the Chat endpoint and model, the Smoke endpoint, model and soak turns, the Metrics
endpoint, the bench settings. Never a key (keys live in files or the environment). Writing
can fail (a read-only config dir): the area says so once and goes on.
"""

from __future__ import annotations

from typing import Any

from textual.widget import Widget


def recalled(section: str) -> dict[str, Any]:
    from console.ui import state

    try:
        return state.remembered(section)
    except Exception:  # noqa: BLE001 - remembered state is a convenience: never a failure at start
        return {}


def keep(widget: Widget, section: str, **values: Any) -> None:
    """Remember ``values`` for ``section``; a failure is one warning, and nothing else changes."""
    from console.ui import state

    try:
        state.remember(section, **values)
    except (OSError, TypeError, ValueError) as exc:
        if not getattr(widget.app, "_said_state_failure", False):
            widget.app._said_state_failure = True  # type: ignore[attr-defined]
            widget.notify(f"could not remember the {section} settings: {exc}", title="Settings",
                          severity="warning", timeout=10)


def text(value: Any) -> str | None:
    """A remembered value as a field's text (None when absent or not plain)."""
    return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
