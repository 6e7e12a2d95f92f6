"""The one quit policy: what `q`, ctrl+q and Esc do, wherever the operator is.

- In a screen pushed over the areas (bench, compare, the chat Inspector, connect card, help…)
  `q` closes that screen, as in less, k9s or lazydocker; it never quits the program from there.
- On the areas, `q` quits; ctrl+q quits from anywhere.
- Leaving asks first when it would interrupt work: a pane or a pushed screen says what with
  ``quit_warning() -> str | None``. On "yes" every holder's ``cancel_work()`` runs before the
  app exits (or the screen closes), so nothing is left streaming: a bench's requests are
  cancelled at once (``console.cancel``), not waited for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen


def holders(app: App) -> list[object]:
    """Whatever may run work: the areas' panes and every screen pushed over them."""
    panes = getattr(app, "panes", lambda: [])()
    return [*panes, *app.screen_stack[1:]]


def warnings_of(things: Iterable[object]) -> list[str]:
    said = []
    for thing in things:
        hook = getattr(thing, "quit_warning", None)
        if hook is None:
            continue
        try:
            text = hook()
        except Exception as exc:  # noqa: BLE001 - a broken hook must not block quitting
            text = f"could not ask {getattr(thing, 'id', thing)}: {exc}"
        if text:
            said.append(text)
    return said


def cancel_work(things: Iterable[object]) -> None:
    for thing in things:
        hook = getattr(thing, "cancel_work", None)
        if hook is not None:
            try:
                hook()
            except Exception:  # noqa: BLE001 - one holder failing to stop must not keep the others running
                pass


def is_pushed(app: App, screen: Screen) -> bool:
    """A screen over the areas (not the base screen, not a question about quitting)."""
    from console.ui.screens.confirm import QuitScreen

    return screen is not app.screen_stack[0] and not isinstance(screen, QuitScreen)


def close(screen: Screen) -> None:
    """Close a pushed screen the way its own Esc would when nothing runs."""
    if hasattr(screen, "action_close"):
        screen.action_close()  # type: ignore[attr-defined]
    else:
        screen.dismiss(None)
