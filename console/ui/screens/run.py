"""What the bench and compare screens share: option fields checked as their CLI flags are, and a
run that Esc, `q` and quitting cancel at once (the quit policy, console/ui/quit.py)."""

from __future__ import annotations

import threading

from textual.validation import ValidationResult, Validator

from console.bench.options import Option, OptionError, read_field


def said(e: Exception) -> str:
    """An option error as one line: what is wrong — what to do."""
    hint = getattr(e, "hint", None)
    return getattr(e, "message", str(e)) + (f" — {hint}" if hint else "")


class Reads(Validator):
    """A field is valid when its option reads it: the same check, and message, as the CLI's flag."""

    def __init__(self, option: Option) -> None:
        super().__init__()
        self.option = option

    def validate(self, value: str) -> ValidationResult:
        try:
            read_field(self.option, value)
        except OptionError as e:
            return self.failure(said(e))
        return self.success()


class CancellableRun:
    """A screen running one piece of work in a worker: ``running`` while it does, ``_cancel`` set to
    stop it now. Subclasses say what runs (``RUN_WARNING``) and what cancelling closes
    (``CANCELLING``), and show it with their ``_status``."""

    RUN_WARNING = "work is running: quitting cancels it"
    CANCELLING = "cancelling…"

    def _init_run(self) -> None:
        self.running = False
        self._cancel = threading.Event()

    def action_close(self) -> None:
        if self.running:
            self.cancel_work()
            self._status(self.CANCELLING)  # type: ignore[attr-defined]
            return
        self.dismiss(self.result)  # type: ignore[attr-defined]

    def quit_warning(self) -> str | None:
        return self.RUN_WARNING if self.running else None

    def cancel_work(self) -> None:
        """Stop the run now: the worker's loop cancels the requests in flight (console.cancel)."""
        self._cancel.set()
