"""The text field every form in the console uses.

Two differences from Textual's ``Input``, both for keys that arrive in bursts (over SSH they do):

* Its own editing keys (Backspace, ctrl+u, End, arrows, …) run where they arrive. Textual
  8 lets a bound key bubble up to the app before its action runs, so characters typed
  after it in the same burst were inserted first: ctrl+u then ``name`` left the old text,
  ``nc2-stale`` End ⌫×5 ``good`` became ``nc2``. (Textualize/textual issue 6605, PR 6631,
  both open at the time of writing; drop this once upstream runs them in order.)
* Focus does not select the text, so a digit typed into a field is a digit in it, not a
  replacement for the model name.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class TextField(Input):
    def __init__(self, *args, select_on_focus: bool = False, **kwargs) -> None:
        super().__init__(*args, select_on_focus=select_on_focus, **kwargs)

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                # Priority bindings were the app's to run before the key got here; the rest are
                # run now, in arrival order, instead of after a trip up the DOM.
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)
